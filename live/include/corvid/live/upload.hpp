// File uploads (Phoenix's allow_upload): the client sends files in chunks over upload channels on the
// page's socket; the view sees entries with progress and errors and consumes the finished files.
//
//   void mount(const params&, const session&, socket& s) override {
//     s.allow_upload("avatar", {.max_entries = 2, .max_file_size = 1'000'000});
//   }
//   // template: <form id="f" phx-change="validate" phx-submit="save">{{ uploads.avatar.input }}
//   //   {% for e in uploads.avatar.entries %}{{ e.name }} {{ e.progress }}%{% endfor %}</form>
//   status handle_event(const std::string& ev, const event_value&, socket& s) override {
//     if (ev == "save") s.consume_uploaded_entries("avatar", [&](const upload_entry& e) { keep(e.path); });
//     return status::ok();
//   }
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "corvid/live/value.hpp"

namespace corvid::live {

class socket;
struct upload_entry;

/// What an external upload's presign gives one entry (Phoenix's `external:`): the meta the page's JS
/// uploader gets as entry.meta, whose "uploader" names it in window.corvidUploaders; or an error
/// (the entry shows it, the client drops the file).
struct external_upload {
  value::map meta;
  std::string error;
};

/// What allow_upload accepts.
struct upload_options {
  std::vector<std::string> accept;            ///< ".png", "image/*", "image/png"; empty = any file
  std::size_t max_entries = 1;                ///< files at once (1: a new file replaces the old one)
  std::uint64_t max_file_size = 8'000'000;    ///< bytes per file
  std::size_t chunk_size = 64'000;            ///< bytes per websocket message
  std::chrono::milliseconds chunk_timeout{10'000};  ///< the client waits this long for a chunk's ack
  bool auto_upload = false;                   ///< upload as soon as files are chosen (else on submit)
  /// Set: files go elsewhere (e.g. straight to object storage), not to this server. Called at the
  /// preflight for each entry; the page's uploader reports progress, and 100 makes the entry done.
  std::function<external_upload(const upload_entry&, socket&)> external;
};

/// One chosen file, as the view and the template see it.
struct upload_entry {
  std::string ref;    ///< the client's entry ref
  std::string name;   ///< the file name the browser gave
  std::string type;   ///< its MIME type ("" if the browser does not know)
  std::uint64_t size = 0;
  int progress = 0;   ///< 0-100
  bool preflighted = false;
  bool done = false;  ///< every byte is here: consume_uploaded_entries hands it over
  std::vector<std::string> errors;  ///< "too_large", "not_accepted", "too_many_files"
  std::filesystem::path path;       ///< where its bytes are (in the server's upload area), once uploading
  value::map meta;                  ///< an external upload's meta (options.external), e.g. its object key
};

/// One allow_upload: its options, the client's config ref and its entries.
struct upload_config {
  std::string name;
  std::string ref;  ///< the file input's id and data-phx-upload-ref (new per allow_upload)
  upload_options options;
  std::vector<upload_entry> entries;
  std::vector<std::string> errors;  ///< errors of the whole config ("too_many_files")
};

/// Whether a file of this name and MIME type passes `accept` (extensions and MIME types, "type/*").
bool upload_accepts(const upload_options& o, std::string_view file_name, std::string_view mime);

/// The <input type="file"> the client's upload hook drives, with every data-phx-* attribute it reads.
std::string upload_input_html(const upload_config& c);

/// What the template reads under uploads.<name>: {"ref", "input" (the element, as safe HTML),
/// "entries": [{"ref", "name", "type", "size", "progress", "done", "errors": [...]}], "errors": [...]}.
value upload_value(const upload_config& c);

}  // namespace corvid::live
