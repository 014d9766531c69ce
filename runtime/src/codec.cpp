// The codec registry and the built-in codecs (fixed-width little-endian numbers, raw
// strings, pids as node name + incarnation + id).

#include "corvid/runtime/codec.hpp"

#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>

#include <caf/all.hpp>

#include "corvid/runtime/runtime.hpp"
#include "corvid/runtime/transport.hpp"
#include "runtime_state.hpp"

namespace corvid {

namespace detail {

namespace {

struct registry {
  std::mutex m;
  std::deque<codec_entry> entries;  // stable addresses: lookups use an entry after unlocking
  std::unordered_map<uint16_t, size_t> by_nr;  // CAF's built-in types have a number...
  std::unordered_map<std::type_index, size_t> by_type;  // ...the others only their type_info
  std::unordered_map<std::string, size_t> by_name;
};

template <class T>
void put_fixed(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // the byte order of every platform we build on
  out.append(b, sizeof(T));
}

template <class T>
bool get_fixed(std::string_view& in, T& v) {
  if (in.size() < sizeof(T))
    return false;
  std::memcpy(&v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

void put_string(std::string& out, std::string_view s) {
  put_fixed<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

bool get_string(std::string_view& in, std::string& s) {
  uint32_t n = 0;
  if (!get_fixed(in, n) || in.size() < n)
    return false;
  s.assign(in.data(), n);
  in.remove_prefix(n);
  return true;
}

template <class T>
void fixed_codec(registry& r, const char* name) {
  codec_entry e;
  e.name = name;
  e.encode = [](runtime&, const void* v, std::string& out) { put_fixed(out, *static_cast<const T*>(v)); };
  e.decode = [](runtime&, std::string_view in, caf::message_builder& mb) {
    T v{};
    if (!get_fixed(in, v) || !in.empty())
      return false;
    mb.append(v);
    return true;
  };
  auto i = r.entries.size();
  r.entries.push_back(std::move(e));
  r.by_nr[caf::type_nr<T>::value] = i;
  r.by_type.emplace(std::type_index(typeid(T)), i);
  r.by_name[name] = i;
}

void add_locked(registry& r, uint16_t nr, std::type_index type, codec_entry e) {
  auto i = r.entries.size();
  r.by_name[e.name] = i;
  r.entries.push_back(std::move(e));
  if (nr != 0)
    r.by_nr[nr] = i;
  r.by_type.emplace(type, i);
}

void add_builtins(registry& r) {
  fixed_codec<bool>(r, "bool");
  fixed_codec<int8_t>(r, "i8");
  fixed_codec<int16_t>(r, "i16");
  fixed_codec<int32_t>(r, "i32");
  fixed_codec<int64_t>(r, "i64");
  fixed_codec<uint8_t>(r, "u8");
  fixed_codec<uint16_t>(r, "u16");
  fixed_codec<uint32_t>(r, "u32");
  fixed_codec<uint64_t>(r, "u64");
  fixed_codec<float>(r, "f32");
  fixed_codec<double>(r, "f64");
  fixed_codec<caf::atom_value>(r, "atom");

  codec_entry str{"str",
                  [](runtime&, const void* v, std::string& out) { out = *static_cast<const std::string*>(v); },
                  [](runtime&, std::string_view in, caf::message_builder& mb) {
                    mb.append(std::string{in});
                    return true;
                  }};
  add_locked(r, caf::type_nr<std::string>::value, typeid(std::string), std::move(str));

  codec_entry strvec{"strvec",
                     [](runtime&, const void* v, std::string& out) {
                       for (auto& s : *static_cast<const std::vector<std::string>*>(v))
                         put_string(out, s);
                     },
                     [](runtime&, std::string_view in, caf::message_builder& mb) {
                       std::vector<std::string> v;
                       while (!in.empty()) {
                         if (!get_string(in, v.emplace_back()))
                           return false;
                       }
                       mb.append(std::move(v));
                       return true;
                     }};
  add_locked(r, caf::type_nr<std::vector<std::string>>::value, typeid(std::vector<std::string>), std::move(strvec));

  codec_entry unit{"unit", [](runtime&, const void*, std::string&) {},
                   [](runtime&, std::string_view in, caf::message_builder& mb) {
                     mb.append(caf::unit);
                     return in.empty();
                   }};
  add_locked(r, caf::type_nr<caf::unit_t>::value, typeid(caf::unit_t), std::move(unit));

  // Errors keep their category, code and (corvid's convention) a context string.
  codec_entry err{"error",
                  [](runtime&, const void* v, std::string& out) {
                    auto& e = *static_cast<const caf::error*>(v);
                    put_fixed(out, static_cast<uint64_t>(e.category()));
                    put_fixed(out, e.code());
                    const auto& ctx = e.context();
                    std::string text;
                    if (ctx.size() == 1 && ctx.match_element<std::string>(0))
                      text = ctx.get_as<std::string>(0);
                    else if (!ctx.empty())
                      text = caf::to_string(ctx);
                    put_string(out, text);
                  },
                  [](runtime&, std::string_view in, caf::message_builder& mb) {
                    uint64_t cat = 0;
                    uint8_t code = 0;
                    std::string text;
                    if (!get_fixed(in, cat) || !get_fixed(in, code) || !get_string(in, text) || !in.empty())
                      return false;
                    if (code == 0)
                      mb.append(caf::error{});
                    else if (text.empty())
                      mb.append(caf::error{code, static_cast<caf::atom_value>(cat)});
                    else
                      mb.append(caf::error{code, static_cast<caf::atom_value>(cat), caf::make_message(std::move(text))});
                    return true;
                  }};
  add_locked(r, caf::type_nr<caf::error>::value, typeid(caf::error), std::move(err));

  // A pid travels as (node name, incarnation, id), so every node resolves it to its own view.
  codec_entry p{"pid",
                [](runtime& rt, const void* v, std::string& out) {
                  auto& x = *static_cast<const pid*>(v);
                  node_id n = x.is_remote() ? node_of(x).value_or(node_id{}) : local_node(rt);
                  if (!x)
                    n = {};
                  put_string(out, n.name);
                  put_fixed(out, n.incarnation);
                  put_fixed(out, x.local_id());
                },
                [](runtime& rt, std::string_view in, caf::message_builder& mb) {
                  node_id n;
                  uint64_t id = 0;
                  if (!get_string(in, n.name) || !get_fixed(in, n.incarnation) || !get_fixed(in, id) || !in.empty())
                    return false;
                  mb.append(id == 0 ? pid{} : remote_pid(rt, n, id));
                  return true;
                }};
  add_locked(r, 0, typeid(pid), std::move(p));
}

registry& codecs() {
  static registry r;
  static std::once_flag once;
  std::call_once(once, [] { add_builtins(r); });
  return r;
}

} // namespace

caf::error add_codec(uint16_t type_nr, std::type_index type, codec_entry e) {
  auto& r = codecs();
  std::lock_guard<std::mutex> g{r.m};
  if (r.by_name.count(e.name))
    return make_error(errc::already_registered, "codec name " + e.name);
  if (r.by_type.count(type) || (type_nr != 0 && r.by_nr.count(type_nr)))
    return make_error(errc::already_registered, "a codec for this type exists (" + std::string{type.name()} + ")");
  add_locked(r, type_nr, type, std::move(e));
  return caf::none;
}

} // namespace detail

caf::expected<std::vector<wire_term>> encode_message(runtime& rt, const caf::message& m) {
  auto& r = detail::codecs();
  std::vector<wire_term> out;
  out.reserve(m.size());
  for (size_t i = 0; i < m.size(); ++i) {
    auto [nr, ti] = m.type(i);
    const detail::codec_entry* e = nullptr;
    {
      std::lock_guard<std::mutex> g{r.m};
      if (nr != 0) {
        if (auto j = r.by_nr.find(nr); j != r.by_nr.end())
          e = &r.entries[j->second];
      } else if (ti) {
        if (auto j = r.by_type.find(std::type_index(*ti)); j != r.by_type.end())
          e = &r.entries[j->second];
      }
    }
    if (!e) {
      std::string what = nr != 0 ? caf::numbered_type_names[nr - 1] : (ti ? ti->name() : "?");
      return make_error(errc::no_codec, "element " + std::to_string(i) + " has type " + what
                                          + ", which has no codec: register one with corvid::register_codec");
    }
    auto& t = out.emplace_back();
    t.type = e->name;
    e->encode(rt, m.get(i), t.data);
  }
  return out;
}

caf::expected<caf::message> decode_message(runtime& rt, const std::vector<wire_term>& terms) {
  auto& r = detail::codecs();
  caf::message_builder mb;
  for (auto& t : terms) {
    const detail::codec_entry* e = nullptr;
    {
      std::lock_guard<std::mutex> g{r.m};
      if (auto j = r.by_name.find(t.type); j != r.by_name.end())
        e = &r.entries[j->second];
    }
    if (!e)
      return make_error(errc::no_codec, "no codec named " + t.type + " on this node");
    if (!e->decode(rt, t.data, mb))
      return make_error(errc::bad_argument, "malformed " + t.type + " value");
  }
  return mb.to_message();
}

} // namespace corvid
