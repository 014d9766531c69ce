#pragma once
// What one node received of a broadcast storm, and the check that nothing was lost silently:
// per origin incarnation, numbers arrive strictly increasing (in order, no duplicate), and
// every number skipped between the first and the last received lies in a reported gap.

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace corvid::test {

class storm_ledger {
public:
  /// A message "origin/incarnation/seq" arrived.
  void received(const std::string& origin_inc, uint64_t seq) {
    std::lock_guard<std::mutex> g{m_};
    got_[origin_inc].push_back(seq);
  }
  /// The hub reported [from, to) of `origin_inc` as lost.
  void gap(const std::string& origin_inc, uint64_t from, uint64_t to) {
    std::lock_guard<std::mutex> g{m_};
    gaps_[origin_inc].emplace_back(from, to);
  }
  /// The last number received from `origin_inc` (0 if none).
  uint64_t last(const std::string& origin_inc) const {
    std::lock_guard<std::mutex> g{m_};
    auto i = got_.find(origin_inc);
    return i == got_.end() || i->second.empty() ? 0 : i->second.back();
  }
  /// "ok RECEIVED GAPS" or "violation: ..." (the first one found).
  std::string check() const {
    std::lock_guard<std::mutex> g{m_};
    uint64_t total = 0, gap_count = 0;
    for (auto& [o, gs] : gaps_)
      gap_count += gs.size();
    for (auto& [o, seqs] : got_) {
      total += seqs.size();
      for (size_t i = 1; i < seqs.size(); ++i) {
        if (seqs[i] <= seqs[i - 1]) {
          std::ostringstream s;
          s << "violation: " << o << " delivered " << seqs[i] << " after " << seqs[i - 1];
          return s.str();
        }
        for (auto k = seqs[i - 1] + 1; k < seqs[i]; ++k)
          if (!reported(o, k)) {
            std::ostringstream s;
            s << "violation: " << o << " lost " << k << " silently (between " << seqs[i - 1] << " and " << seqs[i]
              << ")";
            return s.str();
          }
      }
    }
    return "ok " + std::to_string(total) + " " + std::to_string(gap_count);
  }

private:
  bool reported(const std::string& o, uint64_t k) const {
    auto i = gaps_.find(o);
    if (i == gaps_.end())
      return false;
    return std::any_of(i->second.begin(), i->second.end(), [k](auto& r) { return k >= r.first && k < r.second; });
  }
  mutable std::mutex m_;
  std::map<std::string, std::vector<uint64_t>> got_;
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> gaps_;
};

} // namespace corvid::test
