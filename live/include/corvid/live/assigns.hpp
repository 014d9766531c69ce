// A view's state: named values plus the set of names changed since the last render.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "corvid/live/stream.hpp"
#include "corvid/live/value.hpp"

namespace corvid::live {

/// Names of assigns changed since the last clear_changes(); the diff re-renders only what reads them.
using change_set = std::set<std::string, std::less<>>;

/// name -> value with change tracking. Assigning an equal value changes nothing.
class assigns {
 public:
  /// Stores `v`; marks `name` changed only if it is new or differs. Returns whether it changed.
  bool assign(std::string_view name, value v);
  /// Mutates in place (no copy of large lists) and marks `name` changed unconditionally.
  template <class F>
  void update(std::string_view name, F&& f) {
    f(slot(name));
    touch(name);
  }
  /// Marks `name` changed without touching its value (e.g. after an in-place edit).
  void touch(std::string_view name);
  /// Stores `v` without marking a change: nothing is rendered or sent for it (temporary assigns
  /// going back to their default after a render).
  void set_untracked(std::string_view name, value v) { slot(name) = std::move(v); }

  /// The value, or nullptr if `name` was never assigned.
  const value* find(std::string_view name) const noexcept;
  /// The value, or a null value if `name` was never assigned.
  const value& operator[](std::string_view name) const noexcept;
  std::size_t size() const noexcept { return values_.size(); }

  const change_set& changed() const noexcept { return changed_; }
  bool is_changed(std::string_view name) const noexcept { return changed_.find(name) != changed_.end(); }
  /// Called after a render or diff was sent: forgets the changes and every stream's pending operations.
  void clear_changes() noexcept;

  // ---- streams (see stream.hpp); each operation marks `name` changed ----
  /// Sets how item DOM ids are made (default "<name>-<item.id>").
  void stream_configure(std::string_view name, stream_dom_id f);
  /// Inserts or, if the client has its dom id, updates an item. An earlier pending insert of the same
  /// dom id is replaced in place. Throws std::invalid_argument when the default dom id finds no "id" member.
  void stream_insert(std::string_view name, value item, std::int64_t at = stream_at::append,
                     std::optional<std::int64_t> limit = std::nullopt, bool update_only = false);
  /// Inserts many items in order; with `reset`, the client drops the stream's items first.
  void stream(std::string_view name, const value::list& items, bool reset = false,
              std::int64_t at = stream_at::append, std::optional<std::int64_t> limit = std::nullopt);
  /// Removes an item (by its dom id) from the client; a pending insert of it is dropped.
  void stream_delete(std::string_view name, const value& item);
  void stream_delete_by_dom_id(std::string_view name, std::string dom_id);
  /// Drops every item of the stream on the client (and any pending operation).
  void stream_reset(std::string_view name);
  /// The dom id the stream gives `item`.
  std::string stream_dom_id_of(std::string_view name, const value& item) const;
  /// The operations waiting for the next render/diff, or nullptr if none (the items sent are never kept).
  const stream_ops* stream_pending(std::string_view name) const noexcept;

 private:
  value& slot(std::string_view name);
  struct stream_state {
    stream_dom_id dom_id;
    stream_ops pending;
    // Positions of pending inserts and the pending deletes, by dom id: a reload of N items is
    // O(N), not a scan of the pending inserts for each one.
    std::unordered_map<std::string, std::size_t> insert_at;
    std::unordered_set<std::string> deleting;
    void clear_pending();
    void drop_insert(const std::string& dom_id);
  };
  stream_state& stream_slot(std::string_view name);

  std::map<std::string, value, std::less<>> values_;
  change_set changed_;
  std::unique_ptr<std::map<std::string, stream_state, std::less<>>> streams_;  // only views with streams pay
};

}  // namespace corvid::live
