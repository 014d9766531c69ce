// Internal: render once, send to many. When a change reaches many sessions of one template alike (a
// broadcast assigning the same value everywhere), each changed slot is rendered once per distinct
// input and each distinct diff is serialized once; every session then sends its own frame head
// around that shared body. Sessions whose inputs differ get their own entries, so nothing is lost.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <shared_mutex>
#include <string>
#include <vector>

#include "corvid/live/assigns.hpp"
#include "corvid/live/rendered.hpp"
#include "corvid/live/template.hpp"

namespace corvid::live::detail {

/// A diff body many frames share: the JSON object of changed slots, valid UTF-8.
using shared_body = std::shared_ptr<const std::string>;

/// What a client holds of a top-level comprehension over a shared list: the same for every
/// session that rendered that list, so they keep one copy (render_state::rows_).
struct shared_rows {
  value::shared_list_ptr list;    // the list they were rendered from (kept: its address is the key)
  std::vector<node_state> states;  // one per entry, as render_slot() makes them
};

/// One template's shared renders and bodies; every html_template holds one (thread-safe).
class diff_memo {
 public:
  explicit diff_memo(const template_node& root);

  /// A top-level text slot's rendered text and fingerprint for the current assigns, from the memo
  /// when another session rendered it from equal inputs.
  struct slot_text {
    std::uint64_t hash = 0;
    std::shared_ptr<const std::string> text;
  };
  slot_text text_of(std::uint32_t slot, const dynamic_part& d, const assigns& a);

  /// One slot a diff sends, and what the client then holds.
  struct pick {
    std::uint32_t slot = 0;
    std::uint64_t hash = 0;
    std::shared_ptr<const std::string> text;
  };
  /// The serialized diff of exactly these slots, made once for every session that sends them.
  shared_body body_of(std::span<const pick> picks);

  /// Root slots that print an assign's text, by the names they read; other root slots' names.
  const std::map<std::string, std::vector<std::uint32_t>, std::less<>>& text_slots_of() const noexcept {
    return text_slots_of_;
  }
  bool read_elsewhere(std::string_view name) const noexcept { return other_names_.find(name) != other_names_.end(); }
  /// Whether the template places stateful components or nested views anywhere (a view without
  /// them needs no component table).
  bool places_components() const noexcept { return places_components_; }

  /// Top-level comprehensions whose entries read nothing but their item: their state depends on
  /// the list alone.
  const std::vector<std::uint32_t>& row_slots() const noexcept { return row_slots_; }
  /// The shared state of slot `slot` rendered from `list`, if a session published it.
  std::shared_ptr<const shared_rows> rows_of(std::uint32_t slot, const value::shared_list_ptr& list) const;
  /// Publishes `states` as slot `slot`'s state for `list`; returns what sessions should hold (an
  /// earlier equal publication wins).
  std::shared_ptr<const shared_rows> publish_rows(std::uint32_t slot, const value::shared_list_ptr& list,
                                                  std::vector<node_state>&& states);

  void count_shared_rows() noexcept { rows_shared_.fetch_add(1, std::memory_order_relaxed); }
  /// Renders and bodies made (misses) and reused (hits) so far, for tests and benchmarks.
  struct counts {
    std::uint64_t renders = 0, render_hits = 0, bodies = 0, body_hits = 0, rows_shared = 0;
  };
  counts stats() const;

 private:
  static constexpr std::size_t texts_per_slot = 4;  // a few values in flight at once, e.g. two rooms
  static constexpr std::size_t bodies_kept = 16;
  static constexpr std::size_t rows_per_slot = 4;
  struct text_entry {
    std::vector<value> inputs;  // the slot's deps' values it was rendered from
    slot_text out;
  };
  struct body_entry {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> key;
    shared_body body;
  };

  std::map<std::string, std::vector<std::uint32_t>, std::less<>> text_slots_of_;
  std::set<std::string, std::less<>> other_names_;
  bool places_components_ = false;
  std::vector<std::uint32_t> row_slots_;
  mutable std::shared_mutex mu_;
  std::vector<std::vector<text_entry>> texts_;  // by root slot
  std::vector<std::size_t> next_text_;          // by root slot: the entry to replace next
  std::vector<body_entry> bodies_;
  std::size_t next_body_ = 0;
  std::vector<std::vector<std::shared_ptr<const shared_rows>>> rows_;  // by root slot
  std::vector<std::size_t> next_rows_;
  std::atomic<std::uint64_t> renders_{0}, render_hits_{0}, bodies_made_{0}, body_hits_{0}, rows_shared_{0};
};

/// The diff of `changed` as a shared body when every changed name is read only by top-level text
/// slots ({{ name }}, {{ fn() }}); updates `st` like diff(). nullopt: the change needs diff() (a
/// list, branch, component or stream reads a changed name, or `st` is for another tree; `st` is
/// then untouched). A null body: nothing to send.
std::optional<shared_body> shared_diff(const html_template& t, const assigns& a, const change_set& changed,
                                       render_state& st);

/// After a render or diff: top-level comprehensions of a shared list drop their own entry state
/// for the one every session of the template holds (see shared_rows).
void share_rows(const html_template& t, const assigns& a, render_state& st);
/// Before a diff: the slots `changed` reaches get their own copy back, to diff and update.
void unshare_rows(const html_template& t, const change_set& changed, render_state& st);

/// diff_memo::places_components of `t`.
bool places_components(const html_template& t);

/// The counts of `t`'s memo (diff_memo::stats).
diff_memo::counts memo_stats(const html_template& t);

}  // namespace corvid::live::detail
