#pragma once
// One lane's bounded outbound queue. Any thread may push (it never blocks on the socket);
// the connection's writer takes pieces from the front.

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "corvid/cluster/error.hpp"
#include "corvid/cluster/lane_stats.hpp"
#include "corvid/cluster/options.hpp"

namespace corvid::cluster::detail {

class outbound_queue {
public:
  outbound_queue(lane l, lane_limits limits) : lane_(l), limits_(limits) {}

  /// Queues one message (its wire pieces: one frame, or the frames of its chunks), or
  /// refuses it with `overloaded` if either cap would be exceeded.
  error push(std::vector<std::string> pieces);

  /// Moves pieces from the front into `out` until about `budget` bytes (at least one piece
  /// if any is waiting). Returns the bytes moved.
  size_t take(std::vector<std::string>& out, size_t budget);

  /// True while anything waits.
  bool waiting() const;

  /// True while the queue holds at least `ratio` of either cap.
  bool above(double ratio) const;

  /// Discards everything (connection closed), counting it as dropped.
  void drop_all();

  lane_stats stats() const;

private:
  struct entry {
    std::vector<std::string> pieces;
    size_t next = 0;
  };

  const lane lane_;
  const lane_limits limits_;
  mutable std::mutex mu_;
  std::deque<entry> q_;
  lane_stats st_;
};

} // namespace corvid::cluster::detail
