#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>

#include "load_util.hpp"

using namespace live_load;

TEST_CASE("extract_page: corvid's dead render") {
  const char* html = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="csrf-token" content="abc.DEF&amp;x">
<title data-suffix=" · corvid">Counter · corvid</title>
<script defer phx-track-static src="/assets/phoenix.min.js"></script>
<script>var s = '<div id="fake" data-phx-session="nope">';</script>
</head><body>
<!-- <div id="commented" data-phx-session="nope"> -->
<div id="phx-Ab9_x" data-phx-main data-phx-session="SFMy.tok-en_1" data-phx-static=""><p>hi</p></div>
</body></html>)";
  auto p = extract_page(html);
  REQUIRE(p);
  CHECK(p->id == "phx-Ab9_x");
  CHECK(p->session == "SFMy.tok-en_1");
  CHECK(p->static_.empty());
  CHECK(p->csrf_token == "abc.DEF&x");
}

TEST_CASE("extract_page: Phoenix's shape, attribute order and quotes, nested views") {
  const char* html = R"(<html><head>
<META content='tok&#39;en' name="csrf-token"/>
</head><body>
<div data-phx-session="CHILD" id="phx-child" data-phx-parent-id="phx-root" data-phx-static="S2"></div>
<main DATA-PHX-SESSION="ROOT" data-phx-static="STAT&#x3D;" ID=phx-root data-phx-main>x</main>
</body></html>)";
  auto p = extract_page(html);
  REQUIRE(p);
  CHECK(p->id == "phx-root");
  CHECK(p->session == "ROOT");
  CHECK(p->static_ == "STAT=");
  CHECK(p->csrf_token == "tok'en");
}

TEST_CASE("extract_page: missing pieces") {
  CHECK_FALSE(extract_page("<html><body><div id=\"x\"></div></body></html>"));
  CHECK_FALSE(extract_page("<div data-phx-session=\"s\"></div>"));  // no id
  CHECK_FALSE(extract_page(""));
  auto p = extract_page("<div id=a data-phx-session=s>");  // no meta: empty token
  REQUIRE(p);
  CHECK(p->csrf_token.empty());
}

TEST_CASE("html_unescape, url_encode, cookie_pair") {
  CHECK(html_unescape("a&amp;b&lt;&gt;&quot;&#39;&#x41;&bogus;&") == "a&b<>\"'A&bogus;&");
  CHECK(url_encode("a+b/c=d.e_f~-") == "a%2Bb%2Fc%3Dd.e_f~-");
  CHECK(cookie_pair("_app_key=SFMy; path=/; HttpOnly; SameSite=Lax") == "_app_key=SFMy");
  CHECK(cookie_pair("garbage").empty());
}

TEST_CASE("percentile: nearest rank") {
  CHECK(std::isnan(percentile({}, 50)));
  CHECK(percentile({7}, 50) == 7);
  CHECK(percentile({7}, 99) == 7);
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // unsorted on purpose
  CHECK(percentile(v, 50) == 50);
  CHECK(percentile(v, 99) == 99);
  CHECK(percentile(v, 100) == 100);
  CHECK(percentile(v, 0) == 1);
  CHECK(percentile({1, 2, 3, 4}, 50) == 2);
  CHECK(percentile({1, 2, 3, 4}, 99) == 4);
}

TEST_CASE("scan_header: V2 frames") {
  auto h = scan_header(R"(["4","8","lv:phx-F1","phx_reply",{"status":"ok","response":{"diff":{"0":"1"}}}])");
  REQUIRE(h);
  CHECK(*h->join_ref == "4");
  CHECK(*h->ref == "8");
  CHECK(h->topic == "lv:phx-F1");
  CHECK(h->event == "phx_reply");
  CHECK(h->payload == R"({"status":"ok","response":{"diff":{"0":"1"}}})");

  auto d = scan_header(R"([ "4" , null , "lv:x" , "diff" , {"0":"a\"]"} ])");
  REQUIRE(d);
  CHECK_FALSE(d->ref);
  CHECK(d->event == "diff");
  CHECK(d->payload == R"({"0":"a\"]"})");

  auto hb = scan_header(R"([null,"9","phoenix","phx_reply",{"status":"ok","response":{}}])");
  REQUIRE(hb);
  CHECK_FALSE(hb->join_ref);

  CHECK_FALSE(scan_header("{}"));
  CHECK_FALSE(scan_header(R"(["4","8","t"])"));
  CHECK_FALSE(scan_header(R"(["4","8",null,"e",{}])"));
  CHECK_FALSE(scan_header(R"(["4","8","t","e",])"));
}

TEST_CASE("prom_sum: plain and labelled samples, prefixes, comments") {
  const char* text =
      "# HELP corvid_mailbox_messages Messages queued in all mailboxes.\n"
      "# TYPE corvid_mailbox_messages gauge\n"
      "corvid_mailbox_messages 12\n"
      "corvid_mailbox_messages_max 999\n"
      "corvid_live_inbound_queued_bytes 4096\n"
      "corvid_live_rejections_total{kind=\"rate\"} 3\n"
      "corvid_live_rejections_total{kind=\"host\"} 4 1700000000\n"
      "corvid_live_rejections_total_x{kind=\"host\"} 100\n"
      "corvid_bad NaNx\n";
  CHECK(prom_sum(text, "corvid_mailbox_messages") == 12);
  CHECK(prom_sum(text, "corvid_live_inbound_queued_bytes") == 4096);
  CHECK(prom_sum(text, "corvid_live_rejections_total") == 7);
  CHECK_FALSE(prom_sum(text, "corvid_live_sessions"));
  CHECK_FALSE(prom_sum(text, "corvid_bad"));
  CHECK_FALSE(prom_sum("", "x"));
  CHECK(prom_sum("x 1", "x") == 1);  // no final newline
}

TEST_CASE("least_squares: slope, mean, missing values, degenerate input") {
  auto f = least_squares({1, 2, 3, 4}, {10, 12, 14, 16});
  CHECK(f.n == 4);
  CHECK(f.slope == doctest::Approx(2));
  CHECK(f.mean == doctest::Approx(13));

  auto flat = least_squares({1, 2, 3}, {5, 5, 5});
  CHECK(flat.slope == doctest::Approx(0));

  auto noisy = least_squares({0, 1, 2, 3}, {1, 3, 2, 4});  // sxy = 4, sxx = 5
  CHECK(noisy.slope == doctest::Approx(0.8));

  auto gap = least_squares({1, 2, 3}, {1, std::nan(""), 3});
  CHECK(gap.n == 2);
  CHECK(gap.slope == doctest::Approx(1));

  CHECK(std::isnan(least_squares({1}, {1}).slope));
  CHECK(std::isnan(least_squares({2, 2}, {1, 3}).slope));
  CHECK(std::isnan(least_squares({}, {}).mean));
}
