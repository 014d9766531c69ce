#include "corvid/live/secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "corvid/live/token.hpp"

namespace corvid::live {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_secret_file_bytes = 4096;

error io(const std::string& what, const fs::path& p) {
  return error{errc::io_error, what + " " + p.string() + ": " + std::strerror(errno)};
}

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// Creates the missing directories of `dir`, each 0700: a secret's directory is nobody else's business.
std::optional<error> make_dirs(const fs::path& dir) {
  fs::path at;
  for (const auto& part : dir) {
    at /= part;
    if (::mkdir(at.c_str(), 0700) != 0 && errno != EEXIST) return io("cannot create", at);
  }
  return std::nullopt;
}

std::optional<error> create_secret_file(const fs::path& file) {
  if (auto e = make_dirs(file.parent_path())) return e;
  std::string tmp = (file.parent_path() / ".secret.XXXXXX").string();
  int fd = ::mkstemp(tmp.data());  // mode 0600
  if (fd < 0) return io("cannot create a file in", file.parent_path());
  const std::string secret = token_signer::random_base64url(48) + "\n";
  bool ok = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) && ::fsync(fd) == 0;
  std::optional<error> err;
  if (!ok) err = io("cannot write", tmp);
  ::close(fd);
  // link() never replaces: if another process made the file meanwhile, both use that one
  if (ok && ::link(tmp.c_str(), file.c_str()) != 0 && errno != EEXIST) err = io("cannot create", file);
  ::unlink(tmp.c_str());
  return err;
}

result<std::string> read_secret(int fd, const fs::path& file) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return io("cannot stat", file);
  auto bad = [&](std::string why) { return error{errc::bad_secret, "secret file " + file.string() + " " + why}; };
  if (!S_ISREG(st.st_mode)) return bad("is not a regular file");
  if (st.st_uid != ::geteuid())
    return bad("belongs to uid " + std::to_string(st.st_uid) + ", not to this user (uid " + std::to_string(::geteuid()) + ")");
  if (st.st_mode & 077)
    return bad("has mode " + octal_mode(st.st_mode) + ": only its owner may read it (chmod 600 " + file.string() + ")");
  if (st.st_size > static_cast<off_t>(max_secret_file_bytes))
    return bad("is larger than " + std::to_string(max_secret_file_bytes) + " bytes");
  std::string s(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < s.size()) {
    auto n = ::read(fd, s.data() + got, s.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io("cannot read", file);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  s.resize(got);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.size() < min_secret_bytes)
    return bad("holds " + std::to_string(s.size()) + " bytes, fewer than the " + std::to_string(min_secret_bytes) +
               " a secret needs (delete it and a new one is made)");
  return s;
}

}  // namespace

result<fs::path> default_secret_file() {
  // XDG says a relative XDG_STATE_HOME is invalid and to be ignored
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x == '/') return fs::path(x) / "corvid" / "secret";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".local" / "state" / "corvid" / "secret";
  return error{errc::io_error, "no place for the secret file: neither XDG_STATE_HOME nor HOME is set "
                               "(set CORVID_SECRET or server_options.secret_file)"};
}

result<std::string> load_or_create_secret(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    if (auto e = create_secret_file(file)) return *e;
    fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0 && errno == ELOOP) return error{errc::bad_secret, "secret file " + file.string() + " is a symbolic link"};
  if (fd < 0) return io("cannot open", file);
  auto r = read_secret(fd, file);
  ::close(fd);
  return r;
}

result<std::string> check_secret(std::string secret, std::string_view source) {
  if (secret.size() < min_secret_bytes)
    return error{errc::bad_secret, std::string(source) + " has " + std::to_string(secret.size()) +
                                       " bytes: a secret needs at least " + std::to_string(min_secret_bytes) +
                                       " (e.g. openssl rand -base64 48)"};
  return secret;
}

}  // namespace corvid::live
