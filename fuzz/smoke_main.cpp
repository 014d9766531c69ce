// A few seconds of fuzzing without libFuzzer, for the test command: every corpus file, then cheap
// random mutations of them (bit flips, truncations, splices, dictionary tokens) until the time is up.
// The inputs tried are a pure function of the seed (printed) and their count (--runs fixes it); on a
// crash the input is also written to fuzz-crash-<pid> in the working directory.
//
//   fuzz_<target> CORPUS_DIR [--dict FILE] [--seconds S] [--seed N] [--runs N]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size);
extern "C" void __sanitizer_set_death_callback(void (*)(void));

namespace {

using bytes = std::string;

constexpr std::size_t max_len = 8192;

// The input being run, where the crash handlers can reach it without allocating.
const char* current_data = nullptr;
std::size_t current_size = 0;
char crash_path[64];

void dump_current() {
  if (!current_data) return;
  int fd = ::open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  std::size_t off = 0;
  while (off < current_size) {
    auto n = ::write(fd, current_data + off, current_size - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
  static const char msg[] = "fuzz smoke: the failing input was written to ";
  (void)!::write(2, msg, sizeof msg - 1);
  (void)!::write(2, crash_path, std::strlen(crash_path));
  (void)!::write(2, "\n", 1);
}

void on_signal(int sig) {
  dump_current();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run(const bytes& in) {
  current_data = in.data();
  current_size = in.size();
  LLVMFuzzerTestOneInput(reinterpret_cast<const unsigned char*>(in.data()), in.size());
}

bytes read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// libFuzzer's dictionary format: one `name="value"` or `"value"` per line, \\ \" \xNN escapes.
std::vector<bytes> read_dict(const std::string& path) {
  std::vector<bytes> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    auto q = line.find('"');
    auto e = line.rfind('"');
    if (line.empty() || line[0] == '#' || q == std::string::npos || e <= q) continue;
    bytes v;
    for (std::size_t i = q + 1; i < e; ++i) {
      if (line[i] != '\\' || i + 1 >= e) {
        v += line[i];
      } else if (line[i + 1] == 'x' && i + 3 < e) {
        v += static_cast<char>(std::stoi(line.substr(i + 2, 2), nullptr, 16));
        i += 3;
      } else {
        v += line[++i];
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

class mutator {
 public:
  mutator(std::uint64_t seed, const std::vector<bytes>& corpus, const std::vector<bytes>& dict)
      : rng_(seed), corpus_(corpus), dict_(dict) {}

  bytes next() {
    bytes b = corpus_[pick(corpus_.size())];
    const auto rounds = 1 + pick(4);
    for (std::size_t r = 0; r < rounds; ++r) mutate(b);
    if (b.size() > max_len) b.resize(max_len);
    return b;
  }

 private:
  std::size_t pick(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  void mutate(bytes& b) {
    switch (pick(8)) {
      case 0:  // flip a bit
        if (!b.empty()) b[pick(b.size())] ^= static_cast<char>(1u << pick(8));
        break;
      case 1:  // set a byte to an interesting value
        if (!b.empty()) {
          static const char vals[] = {0, '\x7f', '\x80', '\xff', '"', '\\', '%', '{', '}', '[', ']', ',', '\n'};
          b[pick(b.size())] = vals[pick(sizeof vals)];
        }
        break;
      case 2:  // truncate
        b.resize(pick(b.size() + 1));
        break;
      case 3:  // erase a range
        if (!b.empty()) {
          auto at = pick(b.size());
          b.erase(at, 1 + pick(std::min<std::size_t>(16, b.size() - at)));
        }
        break;
      case 4:  // duplicate a range
        if (!b.empty()) {
          auto at = pick(b.size());
          b.insert(pick(b.size() + 1), b.substr(at, 1 + pick(16)));
        }
        break;
      case 5:  // splice: our head, another input's tail
        if (const bytes& o = corpus_[pick(corpus_.size())]; !o.empty()) {
          b = b.substr(0, pick(b.size() + 1)) + o.substr(pick(o.size()));
        }
        break;
      case 6:  // insert a dictionary token
        if (!dict_.empty()) b.insert(pick(b.size() + 1), dict_[pick(dict_.size())]);
        break;
      default:  // insert random bytes
        for (auto n = 1 + pick(4); n > 0; --n) b.insert(b.begin() + static_cast<long>(pick(b.size() + 1)), static_cast<char>(pick(256)));
        break;
    }
  }

  std::mt19937_64 rng_;
  const std::vector<bytes>& corpus_;
  const std::vector<bytes>& dict_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [--dict FILE] [--seconds S] [--seed N] [--runs N]\n", argv[0]);
    return 2;
  }
  std::string dict_path;
  double seconds = 2.5;
  std::uint64_t seed = 0;
  long long runs = -1;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dict") dict_path = argv[i + 1];
    else if (a == "--seconds") seconds = std::stod(argv[i + 1]);
    else if (a == "--seed") seed = std::stoull(argv[i + 1]);
    else if (a == "--runs") runs = std::stoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  // A fixed default: every test run tries the same inputs, so a failure in CI fails again locally.
  if (seed == 0) seed = 20261130;

  std::snprintf(crash_path, sizeof crash_path, "fuzz-crash-%d", static_cast<int>(::getpid()));
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_signal);
  __sanitizer_set_death_callback(dump_current);

  std::vector<std::filesystem::path> files;
  for (auto& e : std::filesystem::directory_iterator(argv[1]))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<bytes> corpus;
  for (auto& f : files) {
    corpus.push_back(read_file(f));
    std::fprintf(stderr, "fuzz smoke: seed input %s\n", f.filename().c_str());
    run(corpus.back());
  }
  if (corpus.empty()) corpus.emplace_back();
  const auto dict = dict_path.empty() ? std::vector<bytes>{} : read_dict(dict_path);

  std::printf("fuzz smoke: %zu corpus files, %zu dictionary tokens, seed %llu\n", files.size(), dict.size(),
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  mutator m{seed, corpus, dict};
  const auto t0 = std::chrono::steady_clock::now();
  const auto budget = std::chrono::duration<double>(seconds);
  long long n = 0;
  for (; runs < 0 ? std::chrono::steady_clock::now() - t0 < budget : n < runs; ++n) {
    run(m.next());
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("fuzz smoke: %lld mutated inputs in %.2f s (seed %llu), no failure\n", n, took,
              static_cast<unsigned long long>(seed));
  return 0;
}
