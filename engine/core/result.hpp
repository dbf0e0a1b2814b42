#pragma once
// Expected failures (I/O, parsing external input, config, venue rejects) travel as
// te::Result<T>; invariant violations abort through TE_ASSERT (see docs/error-policy.md).
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "engine/core/assert.hpp"

namespace te {

enum class Errc : std::uint8_t {
  invalid_argument,  // caller passed something malformed
  parse,             // external input could not be parsed
  io,                // file or socket failure
  not_found,
  unsupported,
  limit,             // a configured budget or cap was reached
  denied,            // refused by policy (risk, sandbox)
  internal,
};

struct Error {
  Errc code = Errc::internal;
  std::string message;  // lowercase, with context: "load data/x.csv:12:3: ..."
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { TE_ASSERT(ok(), "value() on an error result: %s", std::get<1>(v_).message.c_str()); return std::get<0>(v_); }
  const T& value() const& { TE_ASSERT(ok(), "value() on an error result: %s", std::get<1>(v_).message.c_str()); return std::get<0>(v_); }
  T&& value() && { TE_ASSERT(ok(), "value() on an error result: %s", std::get<1>(v_).message.c_str()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { TE_ASSERT(!ok(), "error() on an ok result"); return std::get<1>(v_); }
  Error&& error() && { TE_ASSERT(!ok(), "error() on an ok result"); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT(implicit)

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const& { TE_ASSERT(!ok_, "error() on an ok result"); return err_; }
  Error&& error() && { TE_ASSERT(!ok_, "error() on an ok result"); return std::move(err_); }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace te

// Propagates an error from an expression returning Result<...>.
#define TE_TRY(expr)                                     \
  do {                                                   \
    auto te_try_r_ = (expr);                             \
    if (!te_try_r_.ok()) return std::move(te_try_r_).error(); \
  } while (0)
