// Scenarios: what one virtual user does, as a small C++ description.
//
//   scenario s{"counter"};
//   s.mount("/counter").wait_for("Count:")
//    .repeat(20, [](scenario& r) { r.click("inc").think(500ms, 1500ms); })
//    .leave();
//
// Values may hold "{user}" (the user's number), "{rand}" (a random number), "{now_ms}" (the wall clock
// in ms, for observe) and "{NAME}" for any --var NAME=VALUE, replaced when the step runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace corvid::load {

/// One thing a user does; a scenario is a list of them, with repeats expanded.
struct step {
  enum class kind {
    mount,     ///< GET `path`, upgrade to the LiveView socket, join (one mount time, split in three)
    click,     ///< a phx-click event with `values`; waits for its reply (an event round trip)
    submit,    ///< a form event (phx-submit or phx-change) with `values` url-encoded; waits for its reply
    wait_for,  ///< waits until a message from the server (join reply, reply or diff) carries `text`
    think,     ///< pauses a random time in [think_min, think_max]
    observe,   ///< for think_max, records how old each new "<text><13-digit ms>" token in server messages is
    leave,     ///< leaves the view and closes the socket; the user is done
    cookie,    ///< sets cookie `event`=`text` for the next mounts (a page's script would, say)
  };
  kind type = kind::think;
  std::string path;                           ///< mount
  std::string event;                          ///< click, submit
  std::map<std::string, std::string> values;  ///< click: phx-value-*; submit: form fields
  std::string text;                           ///< wait_for
  std::chrono::milliseconds think_min{0}, think_max{0};
  std::string seconds_var;  ///< think, observe: "--var NAME=S" replaces the time with [S, 1.1 S] seconds
  std::chrono::milliseconds timeout{10000};   ///< mount, click, submit, wait_for
  std::string label;  ///< "3. click inc": the definition's position, so repeats share one histogram
};

/// A named list of steps (repeats expanded).
class scenario {
public:
  explicit scenario(std::string name, std::string description = {})
    : name_(std::move(name)), description_(std::move(description)) {}

  scenario& mount(std::string path);
  scenario& click(std::string event, std::map<std::string, std::string> values = {});
  scenario& submit(std::string event, std::map<std::string, std::string> form = {});
  scenario& wait_for(std::string text);
  scenario& think(std::chrono::milliseconds min, std::chrono::milliseconds max);
  /// Watches the server's messages for `marker` followed by a 13-digit wall-clock time in ms (another
  /// user's "{now_ms}") and records each distinct one's age once: how long until this user saw it.
  scenario& observe(std::string marker, std::chrono::milliseconds for_how_long);
  /// The last think or observe step takes its time from --var `name`=SECONDS when given (a long
  /// run's users stay until every user has mounted, say).
  scenario& seconds_from(std::string name);
  scenario& leave();
  /// Holds cookie `name`=`value` from now on, sent with the next mounts' requests.
  scenario& cookie(std::string name, std::string value);
  /// The steps `body` adds, `n` times over.
  scenario& repeat(int n, const std::function<void(scenario&)>& body);
  /// The timeout of the steps added after this call (default 10 s).
  scenario& timeout(std::chrono::milliseconds t);

  const std::string& name() const noexcept { return name_; }
  const std::string& description() const noexcept { return description_; }
  const std::vector<step>& steps() const noexcept { return steps_; }
  /// The distinct step labels, in definition order (for reports).
  std::vector<std::string> labels() const;

private:
  step& add(step::kind k, std::string what);
  std::string name_, description_;
  std::vector<step> steps_;
  std::chrono::milliseconds timeout_{10000};
  int defined_ = 0;  // steps defined (a repeat's body counts once)
};

/// Values given with --var NAME=VALUE.
using variables = std::map<std::string, std::string>;
/// `text` with "{user}", "{rand}", "{now_ms}" and "{NAME}" (from `vars`) replaced; other braces stay.
std::string substitute(const std::string& text, std::uint64_t user, std::uint64_t rand, const variables& vars = {});

/// The scenarios corvid-load ships: one per page of examples/live_demo, and the convention's.
std::vector<scenario> builtin_scenarios();
/// One of them by name, or null.
std::shared_ptr<const scenario> find_scenario(const std::string& name);

} // namespace corvid::load
