#include "flash_token.hpp"

#include <boost/json.hpp>

namespace corvid::live::detail {

namespace json = boost::json;

std::optional<std::string> sign_flash(const token_signer* signer, const value::map& flash) {
  if (!signer || flash.empty()) return std::nullopt;
  json::object o;
  for (auto& [k, v] : flash)
    if (auto* t = v.get_if<std::string>()) o[k] = *t;
  return signer->sign("flash", json::serialize(o));
}

value::map verify_flash(const token_signer* signer, std::string_view token) {
  value::map out;
  if (!signer || token.empty()) return out;
  auto c = signer->verify(token, flash_max_age);
  if (!c || c->view != "flash") return out;
  boost::system::error_code ec;
  auto v = json::parse(c->route, ec);
  if (ec || !v.is_object()) return out;
  for (auto& kv : v.get_object())
    if (kv.value().is_string()) out.emplace(std::string(kv.key()), value(std::string(kv.value().get_string())));
  return out;
}

}  // namespace corvid::live::detail
