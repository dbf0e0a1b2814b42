#pragma once
// Fixed-size rolling windows used by the indicator kernels. Storage is allocated
// once at construction; push() never allocates.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace te::ta {

// The last `n` values. push() returns the value that leaves the window, which is
// 0.0 while the window is still filling, so a running sum can always do
// `sum += in - out` without a branch.
class Window {
 public:
  explicit Window(std::size_t n) : buf_(n, 0.0) {}

  double push(double x) noexcept {
    const double out = buf_[pos_];
    buf_[pos_] = x;
    if (++pos_ == buf_.size()) pos_ = 0;
    return out;
  }

  std::size_t size() const noexcept { return buf_.size(); }
  // Slot j in storage order; the value pushed k-th (0-based) sits at k % size().
  double slot(std::size_t j) const noexcept { return buf_[j]; }
  // The slot the next push() writes.
  std::size_t next_slot() const noexcept { return pos_; }
  // A push() loop in locals: data() and next_slot() read once, the loop
  // writes the slots itself, set_next_slot() stores where it stopped.
  double* data() noexcept { return buf_.data(); }
  void set_next_slot(std::size_t pos) noexcept { pos_ = pos; }

  void reset() noexcept {
    for (double& v : buf_) v = 0.0;
    pos_ = 0;
  }

 private:
  std::vector<double> buf_;
  std::size_t pos_ = 0;
};

// Rolling maximum (kMax) or minimum over the last `n` values: a monotonic deque of
// (index, value) pairs in a power-of-two ring, amortised O(1) per push.
template <bool kMax>
class RollingExtreme {
 public:
  explicit RollingExtreme(std::size_t n) : n_(n) {
    std::size_t cap = 1;
    while (cap < n + 1) cap <<= 1;
    idx_.assign(cap, 0);
    val_.assign(cap, 0.0);
    mask_ = cap - 1;
  }

  void push(double x) noexcept {
    // Drop dominated values from the back: they can never be the extreme again.
    while (tail_ != head_) {
      const double back = val_[(tail_ - 1) & mask_];
      if (kMax ? back > x : back < x) break;
      --tail_;
    }
    idx_[tail_ & mask_] = t_;
    val_[tail_ & mask_] = x;
    ++tail_;
    if (idx_[head_ & mask_] + n_ <= t_) ++head_;  // at most one expires per push
    ++t_;
  }

  // The extreme of the values currently in the window (requires a prior push).
  double value() const noexcept { return val_[head_ & mask_]; }
  std::uint64_t pushed() const noexcept { return t_; }

  void reset() noexcept { head_ = tail_ = t_ = 0; }

 private:
  std::uint64_t n_;
  std::vector<std::uint64_t> idx_;
  std::vector<double> val_;
  std::uint64_t mask_ = 0;
  std::uint64_t head_ = 0, tail_ = 0, t_ = 0;
};

using RollingMax = RollingExtreme<true>;
using RollingMin = RollingExtreme<false>;

}  // namespace te::ta
