#pragma once
// Puts other nodes' broadcasts back in order. Each origin numbers its broadcasts 1, 2, 3...
// per incarnation; a receiver that sees a hole holds what comes after it (bounded in count and
// time), asks the origin to resend the missing range, and delivers in order once it is filled.
// What cannot be repaired (the origin no longer has it, or the hold runs out) is reported as
// an exact range and delivery carries on. Pure logic: time is passed in; the hub drives it.
//
//   corvid::pubsub::sequencer s{{.hold_for = 2s}, /*can_resend=*/true};
//   corvid::pubsub::sequencer::step out;
//   s.arrived(b3, now, out);   // 1 and 2 delivered before: b3 is delivered (out.deliver)
//   s.arrived(b5, now, out);   // held; out.resend asks for [4, 4]
//   s.gone("a@h", inc, 4, 4, out);  // the origin lost 4: out.gaps has {4, 5}, out.deliver b5

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "corvid/pubsub/adapter.hpp"

namespace corvid::pubsub {

/// How long and how much a receiver holds behind a hole before it gives up on it.
struct sequencer_options {
  size_t max_held = 4096;                     ///< broadcasts held per origin
  std::chrono::milliseconds hold_for{2000};   ///< from noticing a hole to reporting it
  std::chrono::milliseconds ask_again{400};   ///< a resend not answered by then is asked for again
};

class sequencer {
public:
  using clock = std::chrono::steady_clock;
  /// What a call asks the caller to do, in this order: deliver, report gaps, request resends.
  struct step {
    std::vector<remote_broadcast> deliver;
    std::vector<sequence_gap> gaps;
    std::vector<resend_request> resend;
  };

  /// Without `can_resend` a hole is reported at once and nothing is held.
  explicit sequencer(sequencer_options o = {}, bool can_resend = false) : opts_(o), can_resend_(can_resend) {}

  /// A broadcast from another node (seq 0, unsequenced, passes straight through).
  void arrived(remote_broadcast b, clock::time_point now, step& out);
  /// The origin says its latest seq is `latest` (a lost tail shows as a hole up to it).
  void status(const std::string& origin, uint64_t incarnation, uint64_t latest, clock::time_point now, step& out);
  /// The origin cannot resend [from, to]: reported, and delivery goes on after it.
  void gone(const std::string& origin, uint64_t incarnation, uint64_t from, uint64_t to, step& out);
  /// Gives up on holes older than hold_for and asks again for unanswered resends; the owner
  /// calls it periodically (hub::tick), so arrivals never scan every origin.
  void expire(clock::time_point now, step& out);
  /// Broadcasts held now, all origins.
  size_t held() const;

private:
  struct origin_state {
    uint64_t incarnation = 0;
    uint64_t last = 0;       // delivered up to here
    uint64_t known = 0;      // the highest seq known to exist
    uint64_t asked_upto = 0; // resends requested up to here
    std::map<uint64_t, remote_broadcast> held;
    clock::time_point waiting_since{};
    clock::time_point asked_at{};
    bool waiting = false;
  };
  origin_state& state_of(const std::string& origin, uint64_t incarnation, uint64_t baseline, step& out);
  void drain(const std::string& origin, origin_state& o, clock::time_point now, step& out);
  void give_up(const std::string& origin, origin_state& o, clock::time_point now, step& out);
  void ask(const std::string& origin, origin_state& o, uint64_t upto, clock::time_point now, step& out);

  sequencer_options opts_;
  bool can_resend_;
  std::unordered_map<std::string, origin_state> origins_;
};

} // namespace corvid::pubsub
