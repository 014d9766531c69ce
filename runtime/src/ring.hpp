#pragma once
// A growable ring buffer that allocates nothing until the first push and gives its memory
// back once drained, so an idle process costs no queue storage (std::deque always does).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace corvid::detail {

template <class T>
class ring {
public:
  ring() = default;
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring() { clear(); ::operator delete(buf_); }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  size_t capacity_bytes() const noexcept { return cap_ * sizeof(T); }

  T& operator[](size_t i) noexcept { return buf_[(head_ + i) & (cap_ - 1)]; }
  T& front() noexcept { return buf_[head_]; }

  void push_back(const T& x) { push_back(T(x)); }
  void push_back(T&& x) {
    if (size_ == cap_)
      grow();
    new (&buf_[(head_ + size_) & (cap_ - 1)]) T(std::move(x));
    ++size_;
  }
  T pop_front() {
    T x = std::move(buf_[head_]);
    buf_[head_].~T();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
    return x;
  }
  /// Moves the front element into uninitialized storage at `slot` and removes it.
  T* pop_front_to(void* slot) {
    T* x = ::new (slot) T(std::move(buf_[head_]));
    buf_[head_].~T();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
    return x;
  }
  /// Moves the front element into `out` (no temporary) and removes it.
  void pop_front_into(T& out) {
    out = std::move(buf_[head_]);
    buf_[head_].~T();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
  }
  /// Frees storage above `keep` slots when empty (after a flood drains).
  void shrink_if_empty(size_t keep) {
    if (size_ == 0 && cap_ > keep) {
      ::operator delete(buf_);
      buf_ = nullptr;
      cap_ = 0;
      head_ = 0;
    }
  }
  void clear() {
    while (size_ > 0)
      pop_front();
  }

private:
  void grow() {
    size_t ncap = cap_ == 0 ? 4 : cap_ * 2;
    T* nbuf = static_cast<T*>(::operator new(ncap * sizeof(T)));
    for (size_t i = 0; i < size_; ++i) {
      T& src = (*this)[i];
      new (&nbuf[i]) T(std::move(src));
      src.~T();
    }
    ::operator delete(buf_);
    buf_ = nbuf;
    cap_ = ncap;
    head_ = 0;
  }
  T* buf_ = nullptr;
  size_t cap_ = 0;  // always a power of two
  size_t head_ = 0;
  size_t size_ = 0;
};

} // namespace corvid::detail
