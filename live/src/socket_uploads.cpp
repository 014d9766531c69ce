// The socket's side of uploads: configs and entries as the view sees them. The channel moves the bytes.
#include <system_error>

#include "corvid/live/token.hpp"
#include "corvid/live/view.hpp"

namespace corvid::live {

void socket::allow_upload(std::string name, upload_options o) {
  auto& r = rare();
  if (auto old = r.uploads.find(name); old != r.uploads.end()) {
    for (auto& e : old->second.entries) {
      r.dropped_uploads.push_back(e.ref);
      if (!e.path.empty()) {
        std::error_code ec;
        std::filesystem::remove(e.path, ec);
      }
    }
  }
  upload_config c;
  c.name = name;
  c.ref = "phx-" + token_signer::random_base64url(9);
  c.options = std::move(o);
  r.uploads.insert_or_assign(std::move(name), std::move(c));
  sync_uploads();
}

const std::vector<upload_entry>* socket::upload_entries(std::string_view name) const {
  if (!rare_) return nullptr;
  auto it = rare_->uploads.find(name);
  return it == rare_->uploads.end() ? nullptr : &it->second.entries;
}

std::size_t socket::consume_uploaded_entries(std::string_view name, const std::function<void(const upload_entry&)>& fn) {
  if (!rare_) return 0;
  auto it = rare_->uploads.find(name);
  if (it == rare_->uploads.end()) return 0;
  std::size_t n = 0;
  auto& entries = it->second.entries;
  for (auto e = entries.begin(); e != entries.end();) {
    if (!e->done) {
      ++e;
      continue;
    }
    fn(*e);
    std::error_code ec;
    std::filesystem::remove(e->path, ec);
    rare_->dropped_uploads.push_back(e->ref);
    e = entries.erase(e);
    ++n;
  }
  if (entries.size() <= it->second.options.max_entries) it->second.errors.clear();
  sync_uploads();
  return n;
}

void socket::cancel_upload(std::string_view name, std::string_view entry_ref) {
  if (!rare_) return;
  auto it = rare_->uploads.find(name);
  if (it == rare_->uploads.end()) return;
  auto& entries = it->second.entries;
  for (auto e = entries.begin(); e != entries.end(); ++e) {
    if (e->ref != entry_ref) continue;
    if (!e->path.empty()) {
      std::error_code ec;
      std::filesystem::remove(e->path, ec);
    }
    rare_->dropped_uploads.push_back(e->ref);
    entries.erase(e);
    break;
  }
  if (entries.size() <= it->second.options.max_entries) it->second.errors.clear();
  sync_uploads();
}

void socket::sync_uploads() {
  value::map all;
  if (rare_)
    for (const auto& [name, c] : rare_->uploads) all.emplace(name, upload_value(c));
  assigns_.assign("uploads", value(std::move(all)));
}

}  // namespace corvid::live
