// The motion under vote, replicated as a last-writer-wins register: every node keeps the record
// it believes current in its chair's presence meta, and the greatest (version, node) wins
// everywhere, so a motion opened on any node reaches all of them, also nodes that join later.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "corvid/pubsub/crdt.hpp"
#include "corvid/pubsub/presence.hpp"

namespace convention {

/// One motion: `version` counts the motions opened so far in the cluster; `node` breaks ties
/// between two nodes that opened one at the same time. Version 0 means "none opened yet".
struct motion_record {
  std::uint64_t version = 0;
  std::string node;
  std::string text;

  /// What votes are cast for ("3@a@host"): a vote for an older motion counts for nothing.
  std::string id() const { return std::to_string(version) + "@" + node; }
  bool open() const noexcept { return version > 0; }
  friend bool operator==(const motion_record&, const motion_record&) = default;
};

/// Whether `a` supersedes `b`: higher version, then the greater node name (the same on every node).
bool newer(const motion_record& a, const motion_record& b);

/// The record after `current` when `node` opens a motion with `text`.
motion_record next_motion(const motion_record& current, std::string node, std::string text);

/// The record as presence meta, and back (nullopt for meta that is not a motion record).
corvid::pubsub::meta to_meta(const motion_record& m);
std::optional<motion_record> motion_from_meta(const corvid::pubsub::meta& m);

/// The winning record among every node's entry of the motions topic (version 0 if none).
motion_record winner(const corvid::pubsub::presence_list& entries);

/// Longest motion text kept, in bytes (cut at a character boundary).
inline constexpr std::size_t max_motion_bytes = 500;

}  // namespace convention
