#pragma once
// A fixed-capacity array of trivially copyable values in its own anonymous
// mapping, advised for transparent huge pages. For per-bar outputs of long runs
// (the equity curve): filling tens of megabytes of fresh 4 KiB pages costs one
// page fault each, which on virtual machines dominated the run loop.
#include <cstddef>
#include <span>
#include <type_traits>

#include "engine/core/assert.hpp"

namespace te {

namespace detail {
void* map_huge(std::size_t bytes, std::size_t& mapped) noexcept;
void unmap_huge(void* p, std::size_t mapped) noexcept;
}  // namespace detail

template <class T>
class HugeVector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  HugeVector() = default;
  explicit HugeVector(std::size_t capacity) { reserve(capacity); }
  ~HugeVector() { detail::unmap_huge(data_, mapped_); }
  HugeVector(HugeVector&& o) noexcept { swap(o); }
  HugeVector& operator=(HugeVector&& o) noexcept {
    swap(o);
    return *this;
  }
  HugeVector(const HugeVector&) = delete;
  HugeVector& operator=(const HugeVector&) = delete;

  // Only before the first push_back.
  void reserve(std::size_t capacity) {
    TE_ASSERT(size_ == 0, "HugeVector::reserve after push_back");
    detail::unmap_huge(data_, mapped_);
    data_ = static_cast<T*>(detail::map_huge(capacity * sizeof(T), mapped_));
    capacity_ = capacity;
  }
  void push_back(const T& v) noexcept {
    TE_ASSERT(size_ < capacity_, "HugeVector full (capacity %zu)", capacity_);
    data_[size_++] = v;
  }
  // For writers that fill the array directly: the capacity is writable, and
  // set_size() then declares how much of it holds values.
  T* writable() noexcept { return data_; }
  void set_size(std::size_t n) noexcept {
    TE_ASSERT(n <= capacity_, "HugeVector::set_size %zu beyond capacity %zu", n, capacity_);
    size_ = n;
  }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  const T& front() const noexcept { return data_[0]; }
  const T& back() const noexcept { return data_[size_ - 1]; }
  const T* data() const noexcept { return data_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  operator std::span<const T>() const noexcept { return {data_, size_}; }  // NOLINT(implicit)

 private:
  void swap(HugeVector& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
    std::swap(mapped_, o.mapped_);
  }
  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::size_t mapped_ = 0;
};

}  // namespace te
