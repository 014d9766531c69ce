// Stateful components (Phoenix's LiveComponent): a part of a view with its own assigns, template and
// events, rendered by the view's template and diffed on its own.
//
//   struct card : corvid::live::component {
//     corvid::live::html_template render() const override { return tpl; }  // one root element
//     status handle_event(const std::string& ev, const event_value&, socket& s) override {
//       if (ev != "inc") return status::unknown_event(ev);
//       auto* n = s["count"].get_if<std::int64_t>();
//       s.assign("count", (n ? *n : 0) + 1);
//       return status::ok();
//     }
//   };
//   // template of card:  <div id="card-{{ id }}"><b class="count">{{ count }}</b>
//   //                      <button phx-click="inc" phx-target="{{ myself }}">+1</button></div>
//   // the view's:        {% for c in cards %}{% live_component card id=c.id count=c.start %}{% endfor %}
//   opts.components["card"] = corvid::live::make_component<card>;  // parse_options of the view's template
//
// Life cycle, as in Phoenix: the first time the view renders a component with a new id, mount() and
// then update(args) run; whenever the view re-renders that call (one of its arguments changed) update
// runs again. Events from elements with phx-target="{{ myself }}" go to the component's
// handle_event, and its reply carries only the component's diff. send_update() runs update() from
// the view or from any process. A component whose elements left the page is dropped once the client
// confirms it (cids_destroyed); its cid is never reused.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <caf/error.hpp>

#include "corvid/live/view.hpp"

namespace corvid::live {

/// A stateful component. Its socket holds its own assigns ("id" and "myself", the cid for
/// phx-target, are set before mount); push_event and navigation requests act for its view.
class component {
 public:
  virtual ~component() = default;
  /// The component's template; asked once per instance. It must render exactly one HTML element.
  virtual html_template render() const = 0;
  /// Runs once, before the first update.
  virtual void mount(socket& sock) { (void)sock; }
  /// The arguments of the {% live_component %} call (or of send_update); by default each becomes an assign.
  virtual void update(const value::map& args, socket& sock) {
    for (const auto& [k, v] : args) sock.assign(k, v);
  }
  /// An event sent with phx-target="{{ myself }}"; see view::handle_event for what to return when.
  virtual status handle_event(const std::string& event, const event_value& v, socket& sock) {
    (void)v, (void)sock;
    return status::unknown_event(event);
  }
};

/// A factory for a default-constructible component: `opts.components["card"] = make_component<card>`.
template <class T>
std::unique_ptr<component> make_component() {
  return std::make_unique<T>();
}

/// Asks the session process `session` (a view's socket.self()) to run update(args) on the component
/// `name` with that id, as Phoenix's send_update; the diff follows. A component that is not there
/// is skipped (it may have left the page). An error if the message could not be delivered.
caf::error send_update(const corvid::pid& session, std::string name, value id, value::map args);

/// The message send_update() sends; a view never sees it in handle_info.
struct component_update {
  std::string name;
  value id;
  value::map args;
};

}  // namespace corvid::live

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::component_update)
