// corvid's convention demo (issue 12): the party convention of the post-mortem "Failing Big
// with Elixir and LiveView", built the safe way by default and the post-mortem's way with
// --naive. See README.md and `convention --help`.
//
//   convention --port 4000
//   convention --port 4001 --node a@127.0.0.1:7101 --secret-file conv.secret
//   convention --port 4002 --node b@127.0.0.1:7102 --secret-file conv.secret --seed a@127.0.0.1:7101

#include <iostream>

#include "app.hpp"
#include "flags.hpp"

int main(int argc, char** argv) {
  auto f = convention::parse_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (f.help) {
    std::cout << convention::usage();
    return 0;
  }
  if (!f.error.empty()) {
    std::cerr << "convention: " << f.error << "\n" << convention::usage();
    return 2;
  }
  convention::app a{f.app};
  if (auto err = a.start(true); !err.empty()) {
    std::cerr << "convention: " << err << "\n";
    return 1;
  }
  std::cout << a.banner() << std::flush;
  a.wait();
  std::cout << "convention: stopping" << std::endl;
  a.stop();
  return 0;
}
