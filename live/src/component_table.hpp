// Internal: one view's stateful components, by cid: who they are, what the client holds of each,
// and which changed since the last diff.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "corvid/live/component.hpp"
#include "corvid/live/rendered.hpp"

namespace corvid::live::detail {

class component_table final : public component_host {
 public:
  /// Components of a connected view (they get `self` and `proc`), or of a dead render (`connected` false).
  component_table(bool connected, corvid::pid self, corvid::process* proc, std::size_t max_components);
  ~component_table() override;

  std::int64_t place(const dynamic_part& slot, value::map args) override;
  void place_html(const dynamic_part& slot, value::map args, std::string& out) override;
  /// {% live_render %} goes to the placer the owner sets (the channel's container, the dead render's child).
  using view_placer = std::function<void(const dynamic_part&, const value::map&, std::string&)>;
  void set_view_placer(view_placer p) { placer_ = std::move(p); }
  void place_view(const dynamic_part& slot, value::map args, std::string& out) override {
    if (placer_) placer_(slot, args, out);
  }

  /// The "c" section of a render or diff: new components in full (statics, r: 1), changed ones as
  /// diffs; empty when none changed. Components the renders place meanwhile are included.
  boost::json::object take_diffs();
  /// Whether a component changed since take_diffs.
  bool dirty() const noexcept { return !dirty_.empty(); }

  /// The socket and handler of component `cid`, for its events; null if there is none.
  component* find(std::int64_t cid, socket*& sock) noexcept;
  /// Marks `cid` changed if its assigns did (after an event or a send_update).
  void touched(std::int64_t cid);
  /// Runs update(args) on the component `name` with that id; false if there is none.
  bool update(const std::string& name, const value& id, const value::map& args);

  /// cids_will_destroy: these may go, unless a render places them again first.
  void will_destroy(const std::vector<std::int64_t>& cids);
  /// cids_destroyed: drops those still doomed; returns them (the client forgets exactly those).
  std::vector<std::int64_t> destroyed(const std::vector<std::int64_t>& cids);
  std::size_t size() const noexcept { return by_cid_.size(); }
  /// Every component's socket, by cid (the channel settles their uploads).
  void for_each_socket(const std::function<void(std::int64_t, socket&)>& fn);

 private:
  struct entry;
  entry& make(const dynamic_part& slot, const value& id, std::int64_t cid);
  static std::string key_of(const std::string& name, const value& id);

  bool connected_;
  corvid::pid self_;
  corvid::process* proc_;
  std::size_t max_;
  std::int64_t next_cid_ = 1;
  std::map<std::int64_t, std::unique_ptr<entry>> by_cid_;
  std::map<std::string, std::int64_t, std::less<>> by_key_;  // name + id -> cid
  std::set<std::int64_t> dirty_;
  view_placer placer_;
};

/// Removes the files of `sock`'s upload entries (its view or component is going).
void remove_upload_files(socket& sock) noexcept;

}  // namespace corvid::live::detail
