#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "corvid/live/secret.hpp"

using namespace corvid::live;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string t = (fs::temp_directory_path() / "corvid-secret-test.XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void write_file(const fs::path& p, const std::string& text, mode_t mode) {
  std::ofstream(p) << text;
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

}  // namespace

TEST_SUITE("live.secret") {
  TEST_CASE("a missing file is made: random, 64 characters, mode 0600 in 0700 directories; kept afterwards") {
    temp_dir d;
    auto file = d.path / "state" / "corvid" / "secret";
    auto s = load_or_create_secret(file);
    REQUIRE(s.ok());
    CHECK(s->size() == 64);
    CHECK(mode_of(file) == 0600);
    CHECK(mode_of(file.parent_path()) == 0700);
    CHECK(mode_of(d.path / "state") == 0700);
    auto again = load_or_create_secret(file);  // the next start: the same secret
    REQUIRE(again.ok());
    CHECK(*again == *s);
    temp_dir other;
    CHECK(*load_or_create_secret(other.path / "secret") != *s);
    for (auto& e : fs::directory_iterator(file.parent_path())) CHECK(e.path().filename() == "secret");  // no temp left
  }

  TEST_CASE("a file of its owner's making is read; its trailing newline is not part of the secret") {
    temp_dir d;
    const std::string mine(40, 'k');
    write_file(d.path / "secret", mine + "\n", 0600);
    CHECK(*load_or_create_secret(d.path / "secret") == mine);
    write_file(d.path / "ro", mine, 0400);
    CHECK(*load_or_create_secret(d.path / "ro") == mine);
  }

  TEST_CASE("refused with a clear error: readable by others, too short, a symlink, a directory") {
    temp_dir d;
    auto refused = [](const fs::path& p) {
      auto r = load_or_create_secret(p);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == errc::bad_secret);
      return r.error().message;
    };
    write_file(d.path / "open", std::string(40, 'k'), 0644);
    auto m = refused(d.path / "open");
    CHECK(m.find("mode 0644") != std::string::npos);
    CHECK(m.find("chmod 600") != std::string::npos);
    write_file(d.path / "group", std::string(40, 'k'), 0620);
    refused(d.path / "group");
    write_file(d.path / "short", std::string(31, 'k') + "\n", 0600);
    CHECK(refused(d.path / "short").find("31 bytes") != std::string::npos);
    fs::create_symlink(d.path / "open", d.path / "link");
    CHECK(refused(d.path / "link").find("symbolic link") != std::string::npos);
    fs::create_directory(d.path / "dir");
    ::chmod((d.path / "dir").c_str(), 0700);
    CHECK(refused(d.path / "dir").find("not a regular file") != std::string::npos);
  }

  TEST_CASE("a file that cannot be made is an io_error, not a crash") {
    temp_dir d;
    write_file(d.path / "plain", "x", 0600);
    auto r = load_or_create_secret(d.path / "plain" / "secret");  // a file where a directory should be
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::io_error);
  }

  TEST_CASE("check_secret: at least 32 bytes") {
    CHECK(check_secret(std::string(32, 'x'), "CORVID_SECRET").ok());
    auto r = check_secret("short", "CORVID_SECRET");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::bad_secret);
    CHECK(r.error().message.find("CORVID_SECRET has 5 bytes") != std::string::npos);
  }

  TEST_CASE("default_secret_file: $XDG_STATE_HOME/corvid/secret, else ~/.local/state/corvid/secret") {
    const char* xdg = std::getenv("XDG_STATE_HOME");
    const char* home = std::getenv("HOME");
    std::string old_xdg = xdg ? xdg : "", old_home = home ? home : "";
    ::setenv("XDG_STATE_HOME", "/x/state", 1);
    ::setenv("HOME", "/home/u", 1);
    CHECK(*default_secret_file() == fs::path("/x/state/corvid/secret"));
    ::setenv("XDG_STATE_HOME", "relative", 1);  // invalid by the XDG spec: ignored
    CHECK(*default_secret_file() == fs::path("/home/u/.local/state/corvid/secret"));
    ::unsetenv("XDG_STATE_HOME");
    ::unsetenv("HOME");
    CHECK(default_secret_file().error().code == errc::io_error);
    if (xdg) ::setenv("XDG_STATE_HOME", old_xdg.c_str(), 1);
    if (home) ::setenv("HOME", old_home.c_str(), 1);
  }
}
