// A connection's outbound bounds (live/src/outbound_budget.hpp): frames and bytes, both at once.

#include <doctest/doctest.h>

#include "outbound_budget.hpp"

using corvid::live::detail::outbound_budget;

TEST_SUITE("live.outbound_budget") {
  TEST_CASE("a refusal for the frame count leaves the byte count as it was (it used to underflow)") {
    outbound_budget b{2, 1000};
    CHECK(b.reserve(10));
    CHECK(b.reserve(10));
    CHECK_FALSE(b.reserve(10));  // the third frame
    CHECK(b.frames() == 2);
    CHECK(b.bytes() == 20);
    b.release(10);
    b.release(10);
    CHECK(b.frames() == 0);
    CHECK(b.bytes() == 0);
  }

  TEST_CASE("a refusal for the bytes leaves the frame count as it was") {
    outbound_budget b{100, 25};
    CHECK(b.reserve(20));
    CHECK_FALSE(b.reserve(6));
    CHECK(b.frames() == 1);
    CHECK(b.bytes() == 20);
    CHECK(b.reserve(5));  // exactly at the bound
    CHECK(b.bytes() == 25);
  }
}
