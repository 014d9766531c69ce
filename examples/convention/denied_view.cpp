// Where /admin without the token is sent: a page that says what is missing instead of a bare 401.

#include "views.hpp"

namespace convention {

namespace {

class denied_view : public corvid::live::view {
 public:
  explicit denied_view(const page_templates& t) : t_(t) {}
  corvid::live::html_template render() const override { return t_.denied; }
  void mount(const corvid::live::params&, const corvid::live::session&, corvid::live::socket& s) override {
    s.assign("page_title", "Admin token needed");
  }

 private:
  const page_templates& t_;
};

}  // namespace

std::unique_ptr<corvid::live::view> make_denied_view(const page_templates& t) { return std::make_unique<denied_view>(t); }

}  // namespace convention
