// Internal: one upload in progress on an lvu: topic (channel_uploads.cpp), complete here so that the
// channel can own them.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "corvid/live/channel.hpp"

namespace corvid::live {

// One upload in progress: its file, what the client declared and what has arrived.
struct channel::upload_stream {
  std::optional<std::string> join_ref;
  std::string view_topic, config, entry;
  std::int64_t cid = 0;  // a component's upload (0: the view's)
  std::filesystem::path path;
  int fd = -1;
  std::uint64_t size = 0;      // declared (and reserved in the byte budget)
  std::uint64_t written = 0;
  std::atomic<std::uint64_t>* budget = nullptr;

  ~upload_stream() {
    if (fd >= 0) ::close(fd);
    if (budget) budget->fetch_sub(size);
  }
};

}  // namespace corvid::live
