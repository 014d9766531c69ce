#include "recorder.hpp"

#include "wire.hpp"

namespace corvid::load {

using wire::put_str;
using wire::put_varint;
using wire::take_str;
using wire::take_varint;

namespace {

void put_hist(std::string& out, const histogram& h) { put_str(out, h.encode()); }

bool take_hist(std::string_view& in, histogram& h) {
  std::string bytes;
  if (!take_str(in, bytes))
    return false;
  auto d = histogram::decode(bytes);
  if (!d)
    return false;
  h = std::move(*d);
  return true;
}

void put_hist_map(std::string& out, const std::map<std::string, histogram>& m) {
  put_varint(out, m.size());
  for (auto& [k, h] : m) {
    put_str(out, k);
    put_hist(out, h);
  }
}

bool take_hist_map(std::string_view& in, std::map<std::string, histogram>& m) {
  std::uint64_t n = 0;
  if (!take_varint(in, n) || n > in.size())
    return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string k;
    histogram h;
    if (!take_str(in, k) || !take_hist(in, h))
      return false;
    m[std::move(k)] = std::move(h);
  }
  return true;
}

} // namespace

void measurements::merge(const measurements& o) {
  for (std::size_t i = 0; i < phase_count; ++i)
    phases[i].merge(o.phases[i]);
  for (auto& [k, h] : o.steps)
    steps[k].merge(h);
  for (auto& [k, h] : o.diff_bytes)
    diff_bytes[k].merge(h);
  for (auto& [k, n] : o.errors)
    errors[k] += n;
  started += o.started;
  completed += o.completed;
  failed += o.failed;
  reconnects += o.reconnects;
}

std::string measurements::encode() const {
  std::string out;
  for (auto& h : phases)
    put_hist(out, h);
  put_hist_map(out, steps);
  put_hist_map(out, diff_bytes);
  put_varint(out, errors.size());
  for (auto& [k, n] : errors) {
    put_str(out, k);
    put_varint(out, n);
  }
  for (auto v : {started, completed, failed, reconnects})
    put_varint(out, v);
  return out;
}

std::optional<measurements> measurements::decode(std::string_view in) {
  measurements m;
  for (auto& h : m.phases)
    if (!take_hist(in, h))
      return std::nullopt;
  if (!take_hist_map(in, m.steps) || !take_hist_map(in, m.diff_bytes))
    return std::nullopt;
  std::uint64_t n = 0;
  if (!take_varint(in, n) || n > in.size())
    return std::nullopt;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string k;
    std::uint64_t c = 0;
    if (!take_str(in, k) || !take_varint(in, c))
      return std::nullopt;
    m.errors[std::move(k)] = c;
  }
  for (auto* v : {&m.started, &m.completed, &m.failed, &m.reconnects})
    if (!take_varint(in, *v))
      return std::nullopt;
  if (!in.empty())
    return std::nullopt;
  return m;
}

void recorder::record(phase p, std::uint64_t us) {
  std::lock_guard g{m_};
  interval_.phases[static_cast<std::size_t>(p)].record(us);
}

void recorder::record_step(const std::string& label, std::uint64_t us) {
  std::lock_guard g{m_};
  interval_.steps[label].record(us);
}

void recorder::record_bytes(const char* kind, std::uint64_t bytes) {
  std::lock_guard g{m_};
  interval_.diff_bytes[kind].record(bytes);
}

void recorder::error(std::string_view kind) {
  std::lock_guard g{m_};
  ++interval_.errors[std::string(kind)];
}

void recorder::user_started() {
  std::lock_guard g{m_};
  ++interval_.started;
}

void recorder::user_completed() {
  std::lock_guard g{m_};
  ++interval_.completed;
}

void recorder::user_failed() {
  std::lock_guard g{m_};
  ++interval_.failed;
}

void recorder::reconnected() {
  std::lock_guard g{m_};
  ++interval_.reconnects;
}

measurements recorder::take_interval() {
  std::lock_guard g{m_};
  measurements out = std::move(interval_);
  interval_ = measurements{};
  total_.merge(out);
  return out;
}

measurements recorder::totals() const {
  std::lock_guard g{m_};
  measurements t = total_;
  t.merge(interval_);
  return t;
}

} // namespace corvid::load
