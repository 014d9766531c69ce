// A started convention app on 127.0.0.1 with free ports, stopped at the end of the scope.
#pragma once

#include <doctest/doctest.h>

#include "app.hpp"
#include "page_client.hpp"

namespace convention::test {

inline const std::string admin_token = "test-admin-token-0123456789";

inline app_options test_options(bool naive = false) {
  app_options o;
  o.port = 0;
  o.stats_port = 0;
  o.interval = std::chrono::milliseconds(50);
  o.naive = naive;
  o.admin_token = admin_token;
  o.secret = "convention test secret, at least thirty-two bytes";
  o.threads = 2;
  return o;
}

struct app_env {
  explicit app_env(app_options o) : a(std::move(o)) { REQUIRE(a.start() == ""); }
  ~app_env() { a.stop(); }
  app a;
};

inline header_list admin_headers() { return {{"Authorization", "Bearer " + admin_token}}; }

}  // namespace convention::test
