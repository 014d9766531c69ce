// Writes the seeds that only the library can make: tokens signed by the fuzz fixture's signers, a join
// frame carrying one, and cluster byte streams from the cluster's own encoders.
//
//   fuzz_corpus_gen fuzz/corpus      (build target fuzz/fuzz_corpus_gen; not built by default)
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "chunking.hpp"
#include "corvid/cluster/options.hpp"
#include "corvid/live/protocol.hpp"
#include "framing.hpp"
#include "token_fixture.hpp"

namespace fs = std::filesystem;
using namespace corvid;

namespace {

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string framed(const cluster::v1::Frame& f) {
  std::string out;
  if (cluster::detail::encode_frame(f, 1u << 20, out)) std::abort();
  return out;
}

void tokens(const fs::path& root) {
  int i = 0;
  for (auto& c : corvid_fuzz::known_sessions()) {
    write(root / "token", "session-" + std::to_string(i), corvid_fuzz::session_signer().sign(c));
    write(root / "token", "csrf-" + std::to_string(i), corvid_fuzz::csrf_signer().sign(corvid_fuzz::csrf_claims_for(c)));
    ++i;
  }
}

void join_frame(const fs::path& root) {
  const auto& s = corvid_fuzz::known_sessions()[0];
  boost::json::object payload{
      {"url", "http://localhost:4000/counter?start=3"},
      {"params", {{"_csrf_token", corvid_fuzz::csrf_signer().sign(corvid_fuzz::csrf_claims_for(s))}, {"_mounts", 0}}},
      {"session", corvid_fuzz::session_signer().sign(s)},
      {"static", nullptr}};
  write(root / "live_frame", "join-with-token", live::encode_frame("4", "4", "lv:phx-F_counter", "phx_join", payload));
}

void cluster_streams(const fs::path& root) {
  using namespace cluster;
  // First byte of each seed: how the target cuts the stream into reads (0: all at once).
  v1::Frame hello;
  auto* h = hello.mutable_hello();
  h->set_protocol_major(1);
  h->set_node_name("a@127.0.0.1");
  h->set_incarnation(0x1234567890);
  h->set_listen_address("127.0.0.1:4370");
  h->set_nonce(std::string(32, '\x5a'));
  v1::Frame challenge;
  *challenge.mutable_challenge()->mutable_hello() = *h;
  v1::Frame proof;
  proof.mutable_proof()->set_digest(std::string(32, '\x11'));
  v1::Frame welcome;
  welcome.mutable_welcome();
  const std::string handshake = framed(hello) + framed(challenge) + framed(proof) + framed(welcome);

  v1::Frame hb;
  hb.set_lane(v1::CONTROL);
  hb.mutable_heartbeat()->set_seq(7);
  hb.mutable_heartbeat()->set_send_time_ns(123456789);
  v1::Frame send;
  send.set_lane(v1::DATA);
  auto* s = send.mutable_send();
  s->set_to_id(42);
  s->mutable_from()->set_node("a@127.0.0.1");
  s->mutable_from()->set_incarnation(9);
  s->mutable_from()->set_id(7);
  auto* t = s->add_elements();
  t->set_type("std::string");
  t->set_data("hello");
  s->set_call_ref(5);
  v1::Frame exit;
  exit.mutable_exit()->mutable_to()->set_id(1);
  exit.mutable_exit()->mutable_reason()->set_category("corvid");
  exit.mutable_exit()->mutable_reason()->set_code(3);
  exit.mutable_exit()->mutable_reason()->set_context("boom");
  v1::Frame bc;
  bc.set_lane(v1::DATA);
  bc.mutable_broadcast()->set_topic("room:lobby");
  bc.mutable_broadcast()->set_origin("b@127.0.0.1");
  bc.mutable_broadcast()->set_seq(1);
  bc.mutable_broadcast()->add_elements()->set_data(std::string(300, 'x'));
  std::vector<std::string> pieces;
  if (detail::encode_data_message(bc, 128, 1u << 20, 1u << 20, pieces)) std::abort();
  std::string chunked;
  for (auto& p : pieces) chunked += p;

  const fs::path dir = root / "cluster_frames";
  write(dir, "handshake", std::string(1, '\0') + handshake);
  write(dir, "handshake-split-3", std::string(1, '\3') + handshake);
  write(dir, "session", std::string(1, '\0') + handshake + framed(hb) + framed(send) + framed(exit));
  write(dir, "chunked-broadcast", std::string(1, '\7') + handshake + chunked + framed(hb));
  write(dir, "oversized-header", std::string(1, '\0') + std::string("\x7f\xff\xff\xff", 4));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path root = argv[1];
  tokens(root);
  join_frame(root);
  cluster_streams(root);
  return 0;
}
