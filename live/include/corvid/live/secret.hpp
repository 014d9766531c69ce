// The secret that signs sessions and CSRF tokens when the application configures none: random,
// made once and kept in a file only its user can read, so pages still rejoin after a restart.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "corvid/live/result.hpp"

namespace corvid::live {

/// Secrets shorter than this many bytes are refused.
inline constexpr std::size_t min_secret_bytes = 32;

/// $XDG_STATE_HOME/corvid/secret, else $HOME/.local/state/corvid/secret; io_error if neither is set.
result<std::filesystem::path> default_secret_file();

/// The secret kept in `file` (a trailing newline is not part of it). A missing file is made first:
/// 64 random characters, mode 0600, in directories made with mode 0700, written aside and linked into
/// place, so a reader never sees half a file and concurrent starts agree on one secret. bad_secret if
/// the file is not a regular file of this user, others may read or write it, or it is shorter than
/// min_secret_bytes; io_error if it cannot be read or made.
result<std::string> load_or_create_secret(const std::filesystem::path& file);

/// `secret` if it has at least min_secret_bytes; else bad_secret naming `source` (e.g. "CORVID_SECRET").
result<std::string> check_secret(std::string secret, std::string_view source);

}  // namespace corvid::live
