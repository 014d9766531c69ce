#include <doctest/doctest.h>

#include "corvid/live/assigns.hpp"

using namespace corvid::live;

TEST_SUITE("live.assigns") {
  TEST_CASE("a new name is a change; assigning an equal value is not") {
    assigns a;
    CHECK(a.assign("count", 1));
    CHECK(a.is_changed("count"));
    a.clear_changes();
    CHECK(a.changed().empty());

    CHECK_FALSE(a.assign("count", 1));
    CHECK(a.changed().empty());
    CHECK(a.assign("count", 2));
    CHECK(a.changed() == change_set{"count"});
  }

  TEST_CASE("equality is deep and type-aware") {
    assigns a;
    value::map m{{"title", "a"}, {"tags", value::list{"x", "y"}}};
    a.assign("item", m);
    a.clear_changes();
    CHECK_FALSE(a.assign("item", value::map{{"tags", value::list{"x", "y"}}, {"title", "a"}}));
    CHECK(a.assign("item", value::map{{"title", "a"}, {"tags", value::list{"x"}}}));
    a.clear_changes();
    a.assign("n", 1);
    a.clear_changes();
    CHECK(a.assign("n", 1.0));  // int 1 and double 1.0 are different values
    a.clear_changes();
    a.assign("s", "<b>");
    a.clear_changes();
    CHECK(a.assign("s", safe_html{"<b>"}));  // marking text safe is a change in how it renders
  }

  TEST_CASE("update mutates in place and always marks the name") {
    assigns a;
    a.assign("items", value::list{1, 2});
    a.clear_changes();
    a.update("items", [](value& v) { v.get_if<value::list>()->push_back(3); });
    CHECK(a.is_changed("items"));
    CHECK(a["items"] == value(value::list{1, 2, 3}));
  }

  TEST_CASE("missing names read as null") {
    assigns a;
    CHECK(a.find("nope") == nullptr);
    CHECK(a["nope"].is_null());
    CHECK(a.size() == 0);
  }

  TEST_CASE("value text and truthiness") {
    std::string out;
    value(nullptr).append_text(out);
    value(true).append_text(out);
    value(-42).append_text(out);
    value(2.5).append_text(out);
    value(value::list{1, "a"}).append_text(out);
    CHECK(out == "true-422.5[1,\"a\"]");
    CHECK_FALSE(value().truthy());
    CHECK_FALSE(value(0).truthy());
    CHECK_FALSE(value("").truthy());
    CHECK_FALSE(value(value::list{}).truthy());
    CHECK(value("x").truthy());
    CHECK(value(value::list{1}).member("0")->truthy());
    CHECK(value(value::list{1}).member("1") == nullptr);
  }
}
