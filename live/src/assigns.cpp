#include "corvid/live/assigns.hpp"

#include <algorithm>
#include <stdexcept>

namespace corvid::live {

bool assigns::assign(std::string_view name, value v) {
  auto it = values_.find(name);
  if (it == values_.end()) {
    values_.emplace(std::string(name), std::move(v));
  } else {
    if (it->second == v) return false;
    it->second = std::move(v);
  }
  touch(name);
  return true;
}

void assigns::touch(std::string_view name) {
  if (changed_.find(name) == changed_.end()) changed_.emplace(name);
}

const value* assigns::find(std::string_view name) const noexcept {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

const value& assigns::operator[](std::string_view name) const noexcept {
  static const value null_value;
  auto* v = find(name);
  return v ? *v : null_value;
}

void assigns::clear_changes() noexcept {
  changed_.clear();
  if (streams_)
    for (auto& [name, s] : *streams_) s.clear_pending();
}

assigns::stream_state& assigns::stream_slot(std::string_view name) {
  if (!streams_) streams_ = std::make_unique<std::map<std::string, stream_state, std::less<>>>();
  auto it = streams_->find(name);
  if (it == streams_->end()) it = streams_->emplace(std::string(name), stream_state{}).first;
  touch(name);
  return it->second;
}

void assigns::stream_configure(std::string_view name, stream_dom_id f) { stream_slot(name).dom_id = std::move(f); }

std::string assigns::stream_dom_id_of(std::string_view name, const value& item) const {
  if (streams_) {
    auto it = streams_->find(name);
    if (it != streams_->end() && it->second.dom_id) return it->second.dom_id(item);
  }
  auto* id = item.member("id");
  if (!id || id->is_null())
    throw std::invalid_argument("stream \"" + std::string(name) + "\": item has no \"id\" (use stream_configure)");
  std::string out(name);
  out += '-';
  id->append_text(out);
  return out;
}

void assigns::stream_state::clear_pending() {
  // Fresh objects free the buffers: nothing sent is kept.
  pending = stream_ops{};
  insert_at = {};
  deleting = {};
}

void assigns::stream_state::drop_insert(const std::string& dom_id) {
  auto it = insert_at.find(dom_id);
  if (it == insert_at.end()) return;
  auto pos = it->second;
  insert_at.erase(it);
  pending.inserts.erase(pending.inserts.begin() + static_cast<std::ptrdiff_t>(pos));
  for (auto& [id, at] : insert_at)
    if (at > pos) --at;  // rare: an item inserted and deleted between two renders
}

void assigns::stream_insert(std::string_view name, value item, std::int64_t at, std::optional<std::int64_t> limit,
                            bool update_only) {
  auto dom_id = stream_dom_id_of(name, item);
  auto& st = stream_slot(name);
  // Again before the next render: replaced where it was. The client would have updated the
  // element in place at the second insert anyway, so the page shows the same.
  if (auto it = st.insert_at.find(dom_id); it != st.insert_at.end()) {
    st.pending.inserts[it->second] = live::stream_insert{std::move(dom_id), std::move(item), at, limit, update_only};
    return;
  }
  st.insert_at.emplace(dom_id, st.pending.inserts.size());
  st.pending.inserts.push_back(live::stream_insert{std::move(dom_id), std::move(item), at, limit, update_only});
}

void assigns::stream(std::string_view name, const value::list& items, bool reset, std::int64_t at,
                     std::optional<std::int64_t> limit) {
  if (reset) stream_reset(name);
  for (const auto& item : items) stream_insert(name, item, at, limit);
  if (items.empty()) stream_slot(name);
}

void assigns::stream_delete(std::string_view name, const value& item) {
  stream_delete_by_dom_id(name, stream_dom_id_of(name, item));
}

void assigns::stream_delete_by_dom_id(std::string_view name, std::string dom_id) {
  auto& st = stream_slot(name);
  st.drop_insert(dom_id);
  if (st.deleting.insert(dom_id).second) st.pending.deletes.push_back(std::move(dom_id));
}

void assigns::stream_reset(std::string_view name) {
  auto& st = stream_slot(name);
  st.clear_pending();
  st.pending.reset = true;
}

const stream_ops* assigns::stream_pending(std::string_view name) const noexcept {
  if (!streams_) return nullptr;
  auto it = streams_->find(name);
  return it == streams_->end() || it->second.pending.empty() ? nullptr : &it->second.pending;
}

value& assigns::slot(std::string_view name) {
  auto it = values_.find(name);
  if (it == values_.end()) it = values_.emplace(std::string(name), value{}).first;
  return it->second;
}

}  // namespace corvid::live
