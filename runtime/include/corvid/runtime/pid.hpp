#pragma once
// A process identifier: a plain value (copy, compare, hash, print), like an Erlang pid.
// Holding a pid never keeps a process alive; sending to a dead pid fails with errc::down.
// A pid is (node, incarnation, id): the node and its incarnation are interned into the top
// bits of the 64-bit id (0 = this runtime's own node), so local pids stay one integer plus
// the control block pointer, and comparing or hashing any pid is one integer operation.

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>

namespace corvid {

namespace detail {
struct process_block;
} // namespace detail

/// Identifies one process of a runtime or of a node connected to it. Default-constructed
/// pids are "none".
class pid {
public:
  /// Bits of id() that hold the process's number on its own node; the rest name the node.
  static constexpr int local_bits = 40;

  pid() = default;
  explicit pid(std::shared_ptr<detail::process_block> b);
  /// A pid that names a process only by id (e.g. one that already exited).
  explicit pid(uint64_t id) : id_(id) {}

  uint64_t id() const noexcept { return id_; }
  /// The process's number on its own node.
  uint64_t local_id() const noexcept { return id_ & ((uint64_t{1} << local_bits) - 1); }
  /// The interned (node, incarnation) of a remote pid; 0 for this runtime's own processes.
  uint32_t node_index() const noexcept { return static_cast<uint32_t>(id_ >> local_bits); }
  /// True for a process on another node (see transport.hpp).
  bool is_remote() const noexcept { return node_index() != 0; }
  explicit operator bool() const noexcept { return id_ != 0; }
  /// True while the process runs (false for none or exited).
  bool alive() const noexcept;

  friend bool operator==(const pid& a, const pid& b) noexcept { return a.id_ == b.id_; }
  friend auto operator<=>(const pid& a, const pid& b) noexcept { return a.id_ <=> b.id_; }

  /// Erlang-style text, e.g. "<0.42.0>"; "<none>" for an empty pid.
  std::string to_string() const;

  /// Internal: the control block (may be null).
  const std::shared_ptr<detail::process_block>& block() const noexcept { return blk_; }

private:
  uint64_t id_ = 0;
  std::shared_ptr<detail::process_block> blk_;
};

inline std::ostream& operator<<(std::ostream& os, const pid& p) { return os << p.to_string(); }
inline std::string to_string(const pid& p) { return p.to_string(); }

} // namespace corvid

template <>
struct std::hash<corvid::pid> {
  size_t operator()(const corvid::pid& p) const noexcept { return std::hash<uint64_t>{}(p.id()); }
};

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::pid)
