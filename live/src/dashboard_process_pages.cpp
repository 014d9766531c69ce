// The dashboard's process pages: the sortable, filterable, paged table of every process, and
// one process with its links, monitors, queued messages, restart history and kill/exit actions.

#include "dashboard_page.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>

#include "corvid/live/log.hpp"
#include "corvid/runtime/error.hpp"

namespace corvid::live::detail {

namespace {

// ---- processes -------------------------------------------------------------------------------------------


const html_template& processes_template() {
  static const html_template t = parse_or_throw(R"({{ style | safe }}<main class="corvid-dash" id="dash-processes">
  {{ nav | safe }}
  <h1>Processes</h1>
  <form id="proc-filter" phx-change="filter" phx-submit="filter"><input id="filter" name="filter" type="search" placeholder="filter by name or pid" value="{{ filter }}" phx-debounce="200"></form>
  <p id="proc-summary"><span id="total-processes">{{ total }}</span> processes, <span id="matching">{{ matching }}</span> matching · page <span id="page">{{ page }}</span> of <span id="pages">{{ pages }}</span>
   {% if has_prev %}<a id="prev" href="{{ prev }}" data-phx-link="patch" data-phx-link-state="push">previous</a>{% endif %}
   {% if has_next %}<a id="next" href="{{ next }}" data-phx-link="patch" data-phx-link-state="push">next</a>{% endif %}</p>
  <table id="processes" data-sort="{{ sort }}" data-dir="{{ dir }}">
    <thead><tr><th>pid</th>{% for c in cols %}<th><a id="sort-{{ c.key }}" href="{{ c.href }}" data-phx-link="patch" data-phx-link-state="replace">{{ c.label }}{{ c.mark }}</a></th>{% endfor %}<th>high-water</th><th>policy</th></tr></thead>
    <tbody id="process-rows" phx-update="stream">{% stream id, r in rows %}<tr id="{{ id }}" class="proc" data-id="{{ r.id }}"><td><a class="open" href="{{ r.href }}" data-phx-link="redirect" data-phx-link-state="push">{{ r.pid }}</a></td><td class="name">{{ r.name }}</td><td class="mailbox">{{ r.mailbox }}</td><td class="memory">{{ r.memory }}</td><td class="handled">{{ r.handled }}</td><td class="restarts">{{ r.restarts }}</td><td>{{ r.high_water }}</td><td>{{ r.policy }}</td></tr>{% endstream %}</tbody>
  </table>
</main>)", "corvid/live/dashboard/processes");
  return t;
}

class processes_page final : public dash_page {
 public:
  using dash_page::dash_page;
  html_template render() const override { return processes_template(); }

  void handle_params(const params& q, const std::string&, socket& s) override {
    auto get = [&](const char* k, std::string d) { auto it = q.find(k); return it == q.end() ? d : it->second; };
    sort_ = get("sort", "mailbox");
    if (sort_ != "mailbox" && sort_ != "memory" && sort_ != "handled" && sort_ != "restarts" && sort_ != "name")
      sort_ = "mailbox";
    desc_ = get("dir", sort_ == "name" ? "asc" : "desc") != "asc";
    filter_ = get("filter", "");
    page_ = std::max<std::int64_t>(1, std::atoll(get("page", "1").c_str()));
    refresh(s);
  }

  status handle_event(const std::string& ev, const event_value& v, socket& s) override {
    if (ev != "filter") return status::unknown_event(ev);
    auto it = v.values.find("filter");
    filter_ = it == v.values.end() ? "" : it->second;
    page_ = 1;
    s.push_patch(url(sort_, desc_, 1), nav_kind::replace);
    return status::ok();
  }

 protected:
  void on_mount(const params&, socket& s) override {
    s.assign("page_title", "Processes");
    s.stream_configure("rows", [](const value& item) {
      auto* id = item.member("id");
      auto* n = id ? id->get_if<std::int64_t>() : nullptr;
      return "proc-" + std::to_string(n ? *n : 0);
    });
  }

  void refresh(socket& s) override {
    auto all = processes(sh_->rt);
    const std::size_t total = all.size();
    if (!filter_.empty())
      std::erase_if(all, [&](const process_info& p) {
        return display_name(p).find(filter_) == std::string::npos && p.id.to_string().find(filter_) == std::string::npos;
      });
    const std::size_t per = std::max<std::size_t>(1, sh_->opts.rows);
    const std::size_t pages = std::max<std::size_t>(1, (all.size() + per - 1) / per);
    const std::size_t page = std::min<std::size_t>(static_cast<std::size_t>(page_), pages);
    const std::size_t first = (page - 1) * per, last = std::min(all.size(), first + per);
    auto key = [&](const process_info& a, const process_info& b) {  // true if a goes first
      auto num = [&](const process_info& p) -> std::uint64_t {
        if (sort_ == "memory") return p.memory;
        if (sort_ == "handled") return p.mailbox.handled;
        if (sort_ == "restarts") return p.restarts;
        return p.mailbox.length;
      };
      if (sort_ == "name") {
        auto na = display_name(a), nb = display_name(b);
        if (na != nb) return desc_ ? na > nb : na < nb;
      } else if (num(a) != num(b)) {
        return desc_ ? num(a) > num(b) : num(a) < num(b);
      }
      return a.id.id() < b.id.id();
    };
    // only the page's rows are ordered fully (100k processes: no full sort)
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(last), all.end(), key);
    value::list rows;
    for (std::size_t i = first; i < last; ++i) {
      auto& p = all[i];
      rows.emplace_back(value::map{{"id", static_cast<std::int64_t>(p.id.id())},
                                   {"pid", p.id.to_string()},
                                   {"href", sh_->base + "/process/" + std::to_string(p.id.id())},
                                   {"name", display_name(p)},
                                   {"mailbox", p.mailbox.length},
                                   {"memory", p.memory},
                                   {"handled", p.mailbox.handled},
                                   {"restarts", p.restarts},
                                   {"high_water", p.mailbox.high_water},
                                   {"policy", policy_name(p.mailbox.policy)}});
    }
    s.stream("rows", rows, true);  // the rows go out once; the view keeps none of them
    s.assign("total", total);
    s.assign("matching", all.size());
    s.assign("page", page);
    s.assign("pages", pages);
    s.assign("has_prev", page > 1);
    s.assign("has_next", page < pages);
    s.assign("prev", url(sort_, desc_, static_cast<std::int64_t>(page) - 1));
    s.assign("next", url(sort_, desc_, static_cast<std::int64_t>(page) + 1));
    s.assign("filter", filter_);
    s.assign("sort", sort_);
    s.assign("dir", desc_ ? "desc" : "asc");
    value::list cols;
    for (auto [k, label] : {std::pair{"name", "name"}, {"mailbox", "mailbox"}, {"memory", "memory"},
                            {"handled", "handled"}, {"restarts", "restarts"}}) {
      const bool on = sort_ == k;
      const bool next_desc = on ? !desc_ : std::string(k) != "name";
      cols.emplace_back(value::map{{"key", k}, {"label", label}, {"href", url(k, next_desc, 1)},
                                   {"mark", on ? (desc_ ? " ▼" : " ▲") : ""}});
    }
    s.assign("cols", std::move(cols));
  }

 private:
  std::string url(const std::string& sort, bool desc, std::int64_t page) const {
    std::string u = sh_->base + "/processes?sort=" + sort + "&dir=" + (desc ? "desc" : "asc") + "&page=" + std::to_string(page);
    if (!filter_.empty()) {
      u += "&filter=";
      for (unsigned char c : filter_) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.') u += static_cast<char>(c);
        else {
          char b[4];
          std::snprintf(b, sizeof b, "%%%02X", c);
          u += b;
        }
      }
    }
    return u;
  }
  std::string sort_ = "mailbox", filter_;
  bool desc_ = true;
  std::int64_t page_ = 1;
};

// ---- one process -------------------------------------------------------------------------------------------

const html_template& process_template() {
  static const html_template t = parse_or_throw(R"({{ style | safe }}<main class="corvid-dash" id="dash-process">
  {{ nav | safe }}
  {% if found %}<h1>Process <span id="proc-pid">{{ p.pid }}</span> <span id="proc-name">{{ p.name }}</span></h1>
  <dl id="proc-facts">
    <dt>status</dt><dd id="proc-status">{{ p.status }}</dd>
    <dt>label</dt><dd id="proc-label">{{ p.label }}</dd>
    <dt>supervisor chain</dt><dd id="proc-chain">{% for c in chain %}<a class="sup" href="{{ c.href }}" data-phx-link="redirect" data-phx-link-state="push">{{ c.text }}</a> ← {% endfor %}this process</dd>
    <dt>mailbox</dt><dd id="proc-mailbox">{{ p.mailbox }} of {{ p.capacity }} ({{ p.policy }}), high-water {{ p.high_water }}, handled {{ p.handled }}, dropped {{ p.dropped }}</dd>
    <dt>memory</dt><dd id="proc-memory">{{ p.memory }} B</dd>
    <dt>restarts</dt><dd id="proc-restarts">{{ p.restarts }}</dd>
  </dl>
  <h2>Links</h2>
  <ul id="proc-links">{% for l in links %}<li class="link"><a href="{{ l.href }}" data-phx-link="redirect" data-phx-link-state="push">{{ l.text }}</a> <i>{{ l.why }}</i></li>{% endfor %}</ul>
  <h2>Monitors</h2>
  <ul id="proc-monitors">{% for l in monitors %}<li class="monitor"><a href="{{ l.href }}" data-phx-link="redirect" data-phx-link-state="push">{{ l.text }}</a> <i>{{ l.why }}</i></li>{% endfor %}</ul>
  <h2>Queued messages</h2>
  <ol id="proc-queued">{% for q in queued %}<li class="queued"><code>{{ q }}</code></li>{% endfor %}</ol>{% if more_queued %}<p id="proc-queued-more">and {{ more_queued }} more</p>{% endif %}
  <h2>Restart history</h2>
  <table id="proc-history"><thead><tr><th>at (UTC)</th><th>ended</th><th>reason</th></tr></thead>
  <tbody>{% for r in history %}<tr class="restart"><td>{{ r.at }}</td><td>{{ r.ended }}</td><td class="reason">{{ r.reason }}</td></tr>{% endfor %}</tbody></table>
  <h2>Actions</h2>
  {% if alive %}{% if confirm %}<p id="confirm">{{ confirm }} <button id="confirm-yes" phx-click="confirm">Yes</button> <button id="confirm-no" phx-click="cancel">Cancel</button></p>{% else %}
  <p><button id="kill" phx-click="ask-kill">Kill</button></p>
  <form id="exit-form" phx-submit="ask-exit"><input id="exit-reason" name="reason" value="shutdown" placeholder="normal, shutdown, kill or a text"> <button id="exit" type="submit">Send exit</button></form>{% endif %}{% endif %}
  <p id="action-result">{{ result }}</p>
  {% else %}<h1>No such process</h1><p id="proc-gone">Process {{ id }} is not running.</p>{% endif %}
</main>)", "corvid/live/dashboard/process");
  return t;
}

class process_page final : public dash_page {
 public:
  using dash_page::dash_page;
  html_template render() const override { return process_template(); }

  status handle_event(const std::string& ev, const event_value& v, socket& s) override {
    if (ev == "ask-kill") {
      action_ = "kill";
      s.assign("confirm", "Kill " + target_.to_string() + "? It cannot trap this.");
    } else if (ev == "ask-exit") {
      auto it = v.values.find("reason");
      reason_ = it == v.values.end() || it->second.empty() ? "shutdown" : it->second.substr(0, 200);
      action_ = "exit";
      s.assign("confirm", "Send " + target_.to_string() + " an exit with reason \"" + reason_ + "\"?");
    } else if (ev == "cancel") {
      action_.clear();
      s.assign("confirm", "");
    } else if (ev == "confirm") {
      if (action_.empty()) return status::ok();
      caf::error why = action_ == "kill"       ? reason::kill()
                       : reason_ == "normal"   ? reason::normal()
                       : reason_ == "shutdown" ? reason::shutdown()
                       : reason_ == "kill"     ? reason::kill()
                                               : reason::error(reason_);
      const std::string what = action_ == "kill" ? std::string("kill") : "exit (" + reason_ + ")";
      log(log_kind::system, "dashboard action: " + what + " sent to " + target_.to_string() + " " + name_ +
                                " from session " + session_id_);
      corvid::exit(target_, why);
      s.assign("result", what + " sent to " + target_.to_string());
      action_.clear();
      s.assign("confirm", "");
      refresh(s);
    } else {
      return status::unknown_event(ev);
    }
    return status::ok();
  }

  void mount(const params& q, const session& ses, socket& s) override {
    if (auto it = ses.find("id"); it != ses.end()) session_id_ = it->second;
    dash_page::mount(q, ses, s);
  }

 protected:
  void on_mount(const params& q, socket& s) override {
    auto it = q.find("id");
    id_ = it == q.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 10);
    s.assign("id", std::to_string(id_));
    s.assign("page_title", "Process " + std::to_string(id_));
    s.assign("confirm", "");
    s.assign("result", "");
    target_ = find_process(sh_->rt, id_);
  }

  void refresh(socket& s) override {
    auto p = target_ ? info(target_) : process_info{};
    const bool alive = static_cast<bool>(p.id);
    s.assign("alive", alive);
    if (!alive && !found_once_) {
      s.assign("found", false);
      return;
    }
    found_once_ = true;
    s.assign("found", true);
    if (!alive) {
      auto why = exit_reason(target_);
      s.assign("p", value::map{{"pid", target_.to_string()}, {"name", name_},
                               {"status", "ended: " + (why ? describe(*why) : std::string("?"))}});
      for (auto* k : {"links", "monitors", "queued", "history"}) s.assign(k, value::list{});
      s.assign("more_queued", 0);
      return;
    }
    auto d = details(target_, queued_peek);
    if (!d) return;  // it ended between the two looks: the next tick says so
    name_ = display_name(p);
    auto href = [&](const corvid::pid& x) { return sh_->base + "/process/" + std::to_string(x.id()); };
    value::list chain;
    {
      auto sup = p.supervisor;
      for (int depth = 0; sup && depth < 32; ++depth) {
        auto si = info(sup);
        chain.emplace_back(value::map{{"href", href(sup)}, {"text", sup.to_string() + " " + display_name(si)}});
        sup = si.supervisor;
      }
    }
    // A remote pid has no page here: its row links nowhere.
    auto row = [&](const corvid::pid& x, const process_info& xi, std::string why) {
      return value::map{{"href", x.is_remote() ? std::string("#") : href(x)},
                        {"text", x.to_string() + " " + display_name(xi)},
                        {"why", std::move(why)}};
    };
    auto info_of = [](const corvid::pid& x) { return x.is_remote() ? process_info{} : info(x); };
    value::list links, monitors, queued, history;
    for (auto& l : d->links) {
      auto xi = info_of(l);
      links.emplace_back(row(l, xi, l == p.supervisor ? "supervisor"
                                    : xi.supervisor == p.id ? "child"
                                    : l.is_remote()         ? "remote"
                                                            : ""));
    }
    for (auto& m : d->monitors) monitors.emplace_back(row(m, info_of(m), "monitored by this process"));
    for (auto& m : d->monitored_by) monitors.emplace_back(row(m, info_of(m), "monitors this process"));
    for (auto& q : d->queued) queued.emplace_back(q);
    for (auto it = d->restart_history.rbegin(); it != d->restart_history.rend(); ++it) {  // latest first
      history.emplace_back(value::map{{"at", utc_text(it->at)},
                                      {"ended", it->ended ? it->ended.to_string() : std::string("(did not start)")},
                                      {"reason", it->reason}});
    }
    s.assign("chain", std::move(chain));
    s.assign("links", std::move(links));
    s.assign("monitors", std::move(monitors));
    s.assign("queued", std::move(queued));
    s.assign("history", std::move(history));
    s.assign("more_queued", p.mailbox.length > d->queued.size() ? p.mailbox.length - d->queued.size() : 0);
    s.assign("p", value::map{{"pid", p.id.to_string()},
                             {"name", name_},
                             {"label", p.label},
                             {"status", "running"},
                             {"mailbox", p.mailbox.length},
                             {"capacity", p.mailbox.capacity},
                             {"policy", policy_name(p.mailbox.policy)},
                             {"high_water", p.mailbox.high_water},
                             {"handled", p.mailbox.handled},
                             {"dropped", p.mailbox.dropped},
                             {"memory", p.memory},
                             {"restarts", p.restarts}});
  }

 private:
  static constexpr std::size_t queued_peek = 10;
  std::uint64_t id_ = 0;
  corvid::pid target_;
  std::string name_, action_, reason_, session_id_;
  bool found_once_ = false;
};


}  // namespace

std::unique_ptr<view> make_processes_page(std::shared_ptr<dash_shared> sh) {
  return std::make_unique<processes_page>(std::move(sh));
}

std::unique_ptr<view> make_process_page(std::shared_ptr<dash_shared> sh) {
  return std::make_unique<process_page>(std::move(sh));
}

}  // namespace corvid::live::detail
