// Browser end-to-end tests of examples/live_demo: Debian's chromium driven by playwright-core.
// Started by run.sh with LIVE_DEMO_BIN, E2E_PORT, E2E_PIDFILE and E2E_PROFILE set. Prints one line
// per test and, last, "N passed, N failed". Waits on page conditions only, never fixed sleeps.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { chromiumOptions, fail, finish, freePort, test } from "./harness.mjs";

const bin = process.env.LIVE_DEMO_BIN;
const port = process.env.E2E_PORT;
const pidfile = process.env.E2E_PIDFILE;
const profile = process.env.E2E_PROFILE;
const base = `http://127.0.0.1:${port}`;
const T = 20000; // generous: the box is shared and slow

let demo = null;
let dashToken = null; // the main demo's dashboard token (printed at start-up)

// extra: more demo flags; onPort(n, token) learns the port (and dashboard token) when `extra` holds "--port 0".
function startDemo(extra = [], onPort = null) {
  return new Promise((resolve, reject) => {
    const args = extra.includes("--port") ? extra : ["--port", port, ...extra];
    if (process.env.E2E_TEMPLATES) args.push("--templates", process.env.E2E_TEMPLATES);
    const p = spawn(bin, [...args, "--address", "127.0.0.1"], { stdio: ["ignore", "pipe", "pipe"] });
    if (!onPort) writeFileSync(pidfile, String(p.pid));
    let out = "";
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${out}`)), T);
    p.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/corvid live demo on http:\/\/[^:]+:(\d+)\//);
      const t = out.match(/dashboard: http:\S+\?token=(\S+)\n/);
      if (m && t) {
        if (onPort) onPort(m[1], t[1]);
        else dashToken = t[1];
        clearTimeout(timer);
        resolve(p);
      }
    });
    p.stderr.on("data", (d) => {
      out += d;
      if (process.env.E2E_VERBOSE) process.stderr.write(d);
    });
    p.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`demo exited early (${code}): ${out}`));
    });
  });
}

function stopDemo(p, signal) {
  return new Promise((resolve) => {
    if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
    const timer = setTimeout(() => p.kill("SIGKILL"), 10000);
    p.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    p.kill(signal);
  });
}

const connected = (page) => page.waitForSelector("[data-phx-main].phx-connected", { timeout: T });
// Live sessions on the server now (its /metrics gauge).
const liveSessions = async () => {
  const r = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${dashToken}` } });
  const m = /^corvid_live_sessions (\d+)$/m.exec(await r.text());
  if (!m) throw new Error("no corvid_live_sessions in /metrics");
  return Number(m[1]);
};
// Waits (up to 30 s) until the server holds at most `n` live sessions.
const settledSessions = async (n) => {
  const deadline = Date.now() + 30000;
  let now;
  while ((now = await liveSessions()) > n) {
    if (Date.now() > deadline) throw new Error(`${now} live sessions, expected at most ${n}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};
const textIs = (page, sel, want) =>
  page.waitForFunction(
    ([s, w]) => document.querySelector(s) && document.querySelector(s).textContent.trim() === w,
    [sel, want],
    { timeout: T },
  );

async function main() {
  demo = await startDemo();
  const ctx = await chromium.launchPersistentContext(profile, {
    ...chromiumOptions,
  });
  const errors = [];
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(e.message));

  await test("counter: clicks update #count", async () => {
    await page.goto(`${base}/counter`);
    await connected(page);
    await textIs(page, "#count", "0");
    for (const want of ["1", "2", "3"]) {
      await page.click("#inc");
      await textIs(page, "#count", want);
    }
    await page.click("#dec");
    await textIs(page, "#count", "2");
  });

  await test("counter: phx-value-* and a live patch (handle_params, URL changes, no reload)", async () => {
    await page.evaluate(() => (window.__corvidMarker = "patch"));
    await page.click("#step-10");
    await textIs(page, "#step", "10");
    await page.waitForFunction(() => location.search === "?step=10", null, { timeout: T });
    await page.click("#add");
    await textIs(page, "#count", "12");
    if ((await page.evaluate(() => window.__corvidMarker)) !== "patch") throw new Error("page reloaded");
  });

  await test("counter: phx-window-keyup", async () => {
    await page.keyboard.press("ArrowUp");
    await textIs(page, "#count", "13");
  });

  await test("counter: an event the view does not know ends the view, which rejoins unlocked", async () => {
    await page.goto(`${base}/counter`);
    await connected(page);
    await page.click("#inc");
    await textIs(page, "#count", "1");
    await page.click("#nope");
    // Phoenix's answer to a handler failure: the view crashes, the client rejoins with a fresh mount
    // and drops every element lock of the old join
    await textIs(page, "#count", "0");
    await connected(page);
    await page.waitForFunction(
      () => !document.querySelector("#nope").hasAttribute("data-phx-ref-lock") &&
        !document.querySelector("#nope").classList.contains("phx-click-loading"),
      null, { timeout: T });
    await page.click("#inc");
    await textIs(page, "#count", "1");
  });

  await test("counter: a client-chosen phx-value-by that would overflow the count ends the view instead of wrapping", async () => {
    await page.goto(`${base}/counter`);
    await connected(page);
    await page.evaluate(() => document.querySelector("#add").setAttribute("phx-value-by", "9223372036854775807"));
    await page.click("#add");
    await textIs(page, "#count", "9223372036854775807");
    await page.evaluate(() => document.querySelector("#add").setAttribute("phx-value-by", "9223372036854775807"));
    await page.click("#add");
    await textIs(page, "#count", "0"); // the view ended (status::error) and rejoined with a fresh mount
    await connected(page);
  });

  await test("flash: #flash-info shows a flash in #flash, its close button (lv:clear-flash) clears it; #flash-nav carries one to /counter", async () => {
    await page.goto(`${base}/flash`);
    await connected(page);
    await page.click("#flash-info");
    await page.waitForFunction(() => document.querySelector("#flash")?.textContent.includes("Saved."), null, { timeout: T });
    await page.click("#flash-close");
    await page.waitForFunction(() => !document.querySelector("#flash"), null, { timeout: T });
    await page.evaluate(() => (window.__corvidMarker = "flash"));
    await page.click("#flash-nav");
    await page.waitForFunction(() => location.pathname === "/counter", null, { timeout: T });
    await page.waitForFunction(
      () => document.querySelector("#flash")?.textContent.includes("came along with a live navigation"), null, { timeout: T });
    await connected(page);
    if ((await page.evaluate(() => window.__corvidMarker)) !== "flash") throw new Error("page reloaded");
    await page.click("#inc");
    await textIs(page, "#count", "1");
  });

  await test("hooks: push_event reaches a hook that marks #target-N; a hook's pushEvent resolves with the reply's pong in #pong", async () => {
    await page.goto(`${base}/hooks`);
    await connected(page);
    await page.click("#highlight-2");
    await page.waitForFunction(() => document.querySelector("#target-2").classList.contains("highlighted"), null, { timeout: T });
    await page.click("#highlight-3");
    await page.waitForFunction(() => document.querySelector("#target-3").classList.contains("highlighted") &&
      !document.querySelector("#target-2").classList.contains("highlighted"), null, { timeout: T });
    await page.click("#ping");
    await textIs(page, "#pong", "pong #1");
    await textIs(page, "#pings", "1");
    await page.click("#ping");
    await textIs(page, "#pong", "pong #2");
  });

  await test("components: each #card-N counts on its own (phx-target), the reply carries only that card's diff; send_update resets; a removed card is destroyed and comes back fresh", async () => {
    const received = [];
    let destroyAsk = null; // the client's cids_destroyed push, then the server's answer to it
    let onDestroyed;
    const destroyedRoundTrip = new Promise((resolve) => (onDestroyed = resolve));
    const onWs = (ws) => {
      ws.on("framereceived", (f) => {
        received.push(String(f.payload));
        const m = JSON.parse(String(f.payload));
        if (destroyAsk && m[3] === "phx_reply" && m[1] === destroyAsk[1]) onDestroyed([destroyAsk, m]);
      });
      ws.on("framesent", (f) => {
        const m = JSON.parse(String(f.payload));
        if (m[3] === "cids_destroyed") destroyAsk = m;
      });
    };
    page.on("websocket", onWs);
    try {
      await page.goto(`${base}/components`);
      await connected(page);
      for (const n of [1, 2, 3]) await textIs(page, `#card-${n} .count`, "0");
      await textIs(page, "#cards-panel h2", "Stateful components"); // a function component with a block
      if (!(await page.$("#cards-panel #cards #card-2"))) throw new Error("the panel's block is not inside it");
      received.length = 0;
      await page.click("#card-2-inc");
      await textIs(page, "#card-2 .count", "1");
      await textIs(page, "#card-1 .count", "0");
      await textIs(page, "#card-3 .count", "0");
      const replies = received.map((f) => JSON.parse(f)).filter((m) => m[3] === "phx_reply" && m[4].response?.diff);
      if (replies.length !== 1) throw new Error(`${replies.length} replies with a diff: ${received.join(" ")}`);
      const diff = replies[0][4].response.diff;
      if (Object.keys(diff).join() !== "c" || Object.keys(diff.c).length !== 1 || JSON.stringify(diff).includes('"s"'))
        throw new Error("the click's diff is not that card's alone: " + JSON.stringify(diff));
      await page.click("#card-2-inc");
      await textIs(page, "#card-2 .count", "2");
      await page.click("#card-1-inc");
      await textIs(page, "#card-1 .count", "1");
      await page.click("#reset");
      await textIs(page, "#card-1 .count", "0");
      await textIs(page, "#card-2 .count", "0");
      await page.click("#card-3-inc");
      await textIs(page, "#card-3 .count", "1");
      await page.click("#toggle");
      await page.waitForFunction(() => !document.querySelector("#card-3"), null, { timeout: T });
      // the client confirms the removal; the server answers with the cids it dropped
      let timer;
      const [ask, answer] = await Promise.race([
        destroyedRoundTrip,
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("no cids_destroyed round trip")), T))),
      ]);
      clearTimeout(timer);
      if (JSON.stringify(answer[4].response.cids) !== JSON.stringify(ask[4].cids))
        throw new Error(`cids_destroyed ${JSON.stringify(ask[4])} answered ${JSON.stringify(answer[4])}`);
      await page.click("#toggle");
      await textIs(page, "#card-3 .count", "0"); // a fresh mount: the old card was dropped
      await page.click("#card-3-inc");
      await textIs(page, "#card-3 .count", "1");
      await textIs(page, "#card-1 .count", "0");
      // a keyed comprehension: reversing the cards travels as moves (km), the cards keep their state
      received.length = 0;
      await page.click("#reverse");
      await page.waitForFunction(() => [...document.querySelectorAll("#cards .card")].map((e) => e.id).join() ===
        "card-3,card-2,card-1", null, { timeout: T });
      await textIs(page, "#card-3 .count", "1");
      const moved = received.map((f) => JSON.parse(f)).find((m) => m[3] === "phx_reply" && m[4].response?.diff);
      if (!JSON.stringify(moved).includes('"km":true')) throw new Error("no moves: " + JSON.stringify(moved));
      await page.click("#card-1-inc");
      await textIs(page, "#card-1 .count", "1");
    } finally {
      page.off("websocket", onWs);
    }
  });

  await test("live_session: /private without a user goes to /login; logged in, its on_mount lets the user in; a live link out of the session is a full page load", async () => {
    await page.context().clearCookies();
    await page.goto(`${base}/private`);
    await page.waitForFunction(() => location.pathname === "/login", null, { timeout: T });
    await connected(page);
    await page.click("#login");
    await page.waitForFunction(() => location.pathname === "/private", null, { timeout: T });
    await connected(page);
    await textIs(page, "#whoami", "ann");
    await page.evaluate(() => (window.__corvidMarker = "private"));
    await page.click("#private-counter");
    await page.waitForFunction(() => location.pathname === "/counter", null, { timeout: T });
    await connected(page);
    await page.click("#inc");
    await textIs(page, "#count", "1");
    if ((await page.evaluate(() => window.__corvidMarker)) === "private")
      throw new Error("live navigation crossed into another live_session without a page load");
    await page.goto(`${base}/private`);
    await connected(page);
    await page.click("#logout");
    await page.waitForFunction(() => location.pathname === "/login", null, { timeout: T });
  });

  await test("nested: the child view in #child joins over the same socket and counts on its own (#child .count)", async () => {
    await page.goto(`${base}/nested`);
    await connected(page);
    await page.waitForSelector("#child.phx-connected", { timeout: T });
    await textIs(page, "#child .count", "0");
    await page.click("#child .inc");
    await textIs(page, "#child .count", "1");
    await page.click("#child .inc");
    await textIs(page, "#child .count", "2");
    await textIs(page, "#parent-count", "0");
    await page.click("#parent-inc");
    await textIs(page, "#parent-count", "1");
    await textIs(page, "#child .count", "2"); // the parent's re-render keeps the child as it is
  });

  await test("sticky: a sticky view (#sticky-counter) keeps its state across live navigation from /nested to /upload", async () => {
    await page.goto(`${base}/nested`);
    await connected(page);
    await page.waitForSelector("#sticky-counter.phx-connected", { timeout: T });
    await page.click("#sticky-counter .inc");
    await textIs(page, "#sticky-counter .count", "1");
    await page.evaluate(() => (window.__corvidMarker = "sticky"));
    await page.click("#nested-to-upload");
    await page.waitForFunction(() => location.pathname === "/upload", null, { timeout: T });
    await connected(page);
    await textIs(page, "#sticky-counter .count", "1"); // not mounted again
    await page.click("#sticky-counter .inc");
    await textIs(page, "#sticky-counter .count", "2");
    if ((await page.evaluate(() => window.__corvidMarker)) !== "sticky") throw new Error("page reloaded");
  });

  await test("upload: two files go up in chunks and #uploaded lists each as name (N bytes); an oversized one shows too_large in #upload-errors", async () => {
    await page.goto(`${base}/upload`);
    await connected(page);
    const input = "#upload-form input[type=file]";
    await page.setInputFiles(input, [
      { name: "a.txt", mimeType: "text/plain", buffer: Buffer.alloc(10240, "a") },
      { name: "b.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(200000, 7) },
    ]);
    await page.waitForFunction(() => document.querySelectorAll("#upload-entries li").length === 2, null, { timeout: T });
    await page.click("#upload-save");
    await page.waitForFunction(() => {
      const t = document.querySelector("#uploaded")?.textContent || "";
      return t.includes("a.txt (10240 bytes)") && t.includes("b.bin (200000 bytes)");
    }, null, { timeout: T });
    await page.waitForFunction(() => document.querySelectorAll("#upload-entries li").length === 0, null, { timeout: T });
    await page.setInputFiles(input, [{ name: "big.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(1500000, 1) }]);
    await page.waitForFunction(() => (document.querySelector("#upload-errors")?.textContent || "").includes("big.bin: too_large"),
      null, { timeout: T });
  });

  await test("upload: a component's own upload (#note-form) goes to the component; a wrong type shows not_accepted in #note-errors", async () => {
    await page.goto(`${base}/upload`);
    await connected(page);
    const input = "#note-form input[type=file]";
    await page.setInputFiles(input, [{ name: "wrong.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(10, 1) }]);
    await page.waitForFunction(() => (document.querySelector("#note-errors")?.textContent || "").includes("wrong.bin: not_accepted"),
      null, { timeout: T });
    await page.setInputFiles(input, [{ name: "note.txt", mimeType: "text/plain", buffer: Buffer.alloc(70000, "n") }]);
    await page.click("#note-save");
    await page.waitForFunction(() => (document.querySelector("#note-uploaded")?.textContent || "").includes("note.txt (70000 bytes)"),
      null, { timeout: T });
    // the page's own upload list is the view's, untouched
    if ((await page.textContent("#uploaded")).includes("note.txt")) throw new Error("the view got the component's file");
  });

  await test("form: user[name], user[email] and tags[] arrive nested as Phoenix gives them (echoed in #params)", async () => {
    await page.goto(`${base}/form`);
    await connected(page);
    await page.fill("#user-name", "Ann");
    await page.check("#tag-a");
    await page.check("#tag-c");
    await page.click("#save");
    await page.waitForFunction(() => document.querySelector("#params").textContent.trim() !== "", null, { timeout: T });
    const got = JSON.parse(await page.textContent("#params"));
    if (got.user?.name !== "Ann") throw new Error("user[name]: " + JSON.stringify(got));
    if (got.user?.email !== "") throw new Error("user[email]: " + JSON.stringify(got));
    if (JSON.stringify(got.tags) !== JSON.stringify(["a", "c"])) throw new Error("tags[]: " + JSON.stringify(got));
  });

  await test("navigation: live redirect to /chat and back keeps the page (no reload)", async () => {
    await page.evaluate(() => (window.__corvidMarker = "nav"));
    await page.click("#nav-chat");
    await page.waitForSelector("#messages", { timeout: T });
    await page.waitForFunction(() => location.pathname === "/chat", null, { timeout: T });
    await connected(page);
    await page.click("#nav-counter");
    await page.waitForSelector("#count", { timeout: T });
    await connected(page);
    if ((await page.evaluate(() => window.__corvidMarker)) !== "nav") throw new Error("page reloaded");
  });

  await test("chat: a message sent in one page appears in another", async () => {
    const a = page;
    const b = await ctx.newPage();
    await a.goto(`${base}/chat`);
    await b.goto(`${base}/chat`);
    await connected(a);
    await connected(b);
    const text = `hello from a ${Date.now()}`;
    await a.fill("#body", text);
    await a.click("#send");
    const seen = (p) =>
      p.waitForFunction((t) => document.querySelector("#messages").textContent.includes(t), text, { timeout: T });
    await seen(b);
    await seen(a);
    const reply = `and back from b ${Date.now()}`;
    await b.fill("#body", reply);
    await b.press("#body", "Enter");
    await a.waitForFunction((t) => document.querySelector("#messages").textContent.includes(t), reply, { timeout: T });
    await b.close();
  });

  await test("long-poll: a page whose websocket never works falls back, clicks, chats with a websocket page and uploads", async () => {
    const lp = await ctx.newPage();
    const ws = await ctx.newPage();
    try {
      // the websocket "opens" but nothing ever answers on it, as behind a proxy that breaks them
      await lp.routeWebSocket(/\/live\/websocket/, () => {});
      const polls = [];
      lp.on("request", (r) => { if (r.url().includes("/live/longpoll")) polls.push(r.method()); });
      await lp.goto(`${base}/counter`);
      await connected(lp);
      if (!(await lp.evaluate(() => window.liveSocket.getSocket().transport === Phoenix.LongPoll)))
        throw new Error("not on long-poll");
      await lp.click("#inc");
      await textIs(lp, "#count", "1");
      await lp.click("#inc");
      await textIs(lp, "#count", "2");
      if (!polls.includes("GET") || !polls.includes("POST")) throw new Error(`requests: ${polls.join(",")}`);
      // pushes from elsewhere reach it through its held poll
      await lp.goto(`${base}/chat`);
      await ws.goto(`${base}/chat`);
      await connected(lp);
      await connected(ws);
      const text = `over websocket ${Date.now()}`;
      await ws.fill("#body", text);
      await ws.click("#send");
      await lp.waitForFunction((t) => document.querySelector("#messages").textContent.includes(t), text, { timeout: T });
      const back = `over long-poll ${Date.now()}`;
      await lp.fill("#body", back);
      await lp.click("#send");
      await ws.waitForFunction((t) => document.querySelector("#messages").textContent.includes(t), back, { timeout: T });
      // upload chunks travel base64 in the POSTs
      await lp.goto(`${base}/upload`);
      await connected(lp);
      await lp.setInputFiles("#upload-form input[type=file]",
        [{ name: "lp.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(150000, 9) }]);
      await lp.waitForFunction(() => document.querySelectorAll("#upload-entries li").length === 1, null, { timeout: T });
      await lp.click("#upload-save");
      await lp.waitForFunction(() => (document.querySelector("#uploaded")?.textContent || "").includes("lp.bin (150000 bytes)"),
        null, { timeout: T });
    } finally {
      await lp.close();
      await ws.close();
    }
  });

  await test("chat: a message cut at 500 bytes inside a character keeps every page connected", async () => {
    const a = page;
    await a.goto(`${base}/chat`);
    await connected(a);
    const head = `cut ${Date.now()} `;
    const body = head + "x".repeat(499 - head.length) + "\u00e9 the rest"; // é spans bytes 500 and 501
    await a.fill("#body", body);
    await a.click("#send");
    const cut = head + "x".repeat(499 - head.length);
    const shows = (p) =>
      p.waitForFunction((t) => [...document.querySelectorAll("#messages li")].some((li) => li.textContent.endsWith(t)),
        cut, { timeout: T });
    await shows(a);
    const b = await ctx.newPage(); // a later page gets the message in its join (the history)
    await b.goto(`${base}/chat`);
    await connected(b);
    await shows(b);
    const after = `still here ${Date.now()}`;
    await b.fill("#body", after);
    await b.click("#send");
    await a.waitForFunction((t) => document.querySelector("#messages").textContent.includes(t), after, { timeout: T });
    if (await a.$("[data-phx-main].phx-error")) throw new Error("the first page lost its socket");
    await b.close();
  });

  await test("bench: inc updates #count; bcast reaches every /bench page (one shared render)", async () => {
    const a = page;
    const sessionsBefore = await liveSessions();
    const others = [await ctx.newPage(), await ctx.newPage(), await ctx.newPage()];
    const all = [a, ...others];
    for (const p of all) await p.goto(`${base}/bench`);
    for (const p of all) await connected(p);
    await textIs(a, "#count", "0");
    if ((await a.$$("#items li")).length !== 20) throw new Error("expected 20 items");
    for (const want of ["1", "2"]) {
      await a.click("#inc");
      await textIs(a, "#count", want);
    }
    const [b] = others;
    await textIs(b, "#count", "0"); // counts are per session
    // markup, quotes and non-ASCII travel in the body every page shares, as text
    const text = `bench <b>&amp;"é✓ ${Date.now()}`;
    await a.fill("#value", text);
    await a.click("#bcast");
    for (const p of all) await textIs(p, "#last", text);
    if (await b.$("#last b")) throw new Error("the broadcast text became markup");
    // a session's own change after the shared one: only its count moves
    await b.click("#inc");
    await textIs(b, "#count", "1");
    await textIs(b, "#last", text);
    await textIs(a, "#count", "2");
    const again = `second ${Date.now()}`;
    await b.fill("#value", again);
    await b.click("#bcast");
    for (const p of all) await textIs(p, "#last", again);
    await textIs(b, "#count", "1");
    for (const p of others) await p.close();
    await settledSessions(sessionsBefore); // the closed pages' sessions end
  });

  await test("dashboard: an unauthenticated request is refused (pages, /metrics, a wrong token)", async () => {
    for (const path of ["/dashboard", "/dashboard/processes", "/metrics", "/dashboard?token=wrong"]) {
      const r = await fetch(`${base}${path}`, { redirect: "manual" });
      if (r.status !== 401) throw new Error(`${path}: ${r.status}`);
    }
    const ok = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${dashToken}` } });
    if (ok.status !== 200) throw new Error(`/metrics with the token: ${ok.status}`);
  });

  await test("dashboard: ?token= logs in (cookie), the URL loses the token, process rows render", async () => {
    await page.goto(`${base}/dashboard/processes?token=${dashToken}`);
    await connected(page);
    if (page.url().includes("token=")) throw new Error(`token left in ${page.url()}`);
    await page.waitForSelector("#process-rows tr.proc", { timeout: T });
    const total = async () => Number(await page.textContent("#total-processes"));
    // Sessions of pages earlier tests closed end on their own time (a long-poll one after 15 s):
    // count only once no session is left but this context's pages'.
    await settledSessions(ctx.pages().length);
    await page.waitForTimeout(1500); // the table's next refresh counts the same processes
    const before = await total();
    if (!(before > 0)) throw new Error(`total ${before}`);
    const other = await ctx.newPage();
    await other.goto(`${base}/counter`);
    await connected(other);
    await page.waitForFunction(
      (n) => Number(document.querySelector("#total-processes").textContent) > n, before, { timeout: T });
    await other.close();
    await page.waitForFunction(
      (n) => Number(document.querySelector("#total-processes").textContent) <= n, before, { timeout: T });
  });

  await test("dashboard: home charts grow points over a few seconds", async () => {
    await page.goto(`${base}/dashboard`);
    await connected(page);
    const points = (id) => page.$eval(id, (e) => Number(e.getAttribute("data-points")));
    await page.waitForSelector("#chart-processes", { timeout: T });
    const first = await points("#chart-processes");
    await page.waitForFunction(
      (n) => Number(document.querySelector("#chart-processes").getAttribute("data-points")) >= n + 2, first, { timeout: T });
    const poly = await page.$eval("#chart-processes polyline", (e) => e.getAttribute("points").trim().split(/\s+/).length);
    if (poly < first + 2) throw new Error(`polyline has ${poly} points, chart said ${first}+`);
    for (const id of ["#chart-mailbox", "#chart-handled", "#chart-rss", "#chart-estimate", "#chart-sessions", "#chart-broadcasts"])
      if (!(await page.$(id))) throw new Error(`${id} missing`);
    if (!/^0\.17\./.test((await page.textContent("#fact-caf")).trim())) throw new Error("no CAF version");
    if (!/ \/ /.test(await page.textContent("#fact-fds"))) throw new Error("no fd usage");
  });

  await test("dashboard: sorting the processes table by name, both ways", async () => {
    await page.click("#dash-nav-processes");
    await page.waitForSelector("#process-rows tr.proc", { timeout: T });
    const sortedBy = (dir) =>
      page.waitForFunction((d) => {
        const t = document.querySelector("#processes");
        if (t.dataset.sort !== "name" || t.dataset.dir !== d) return false;
        const names = [...document.querySelectorAll("#process-rows td.name")].map((e) => e.textContent);
        if (names.length < 3) return false;
        for (let i = 1; i < names.length; i++)
          if (d === "asc" ? names[i - 1] > names[i] : names[i - 1] < names[i]) return false;
        return true;
      }, dir, { timeout: T });
    await page.click("#sort-name");
    await sortedBy("asc");
    await page.click("#sort-name");
    await sortedBy("desc");
    if (!page.url().includes("sort=name&dir=desc")) throw new Error(`url ${page.url()}`);
  });

  await test("dashboard: opening a process shows its links (a supervised worker: its supervisor)", async () => {
    await page.fill("#filter", "demo_worker_1");
    await page.waitForFunction(() => {
      const rows = document.querySelectorAll("#process-rows tr.proc");
      return rows.length === 1 && rows[0].querySelector("td.name").textContent === "demo_worker_1";
    }, null, { timeout: T });
    await page.click("#process-rows tr.proc a.open");
    await page.waitForSelector("#dash-process #proc-links", { timeout: T });
    await textIs(page, "#proc-name", "demo_worker_1");
    await page.waitForFunction(
      () => [...document.querySelectorAll("#proc-links li.link")].some((l) => /demo_sup/.test(l.textContent) && /supervisor/.test(l.textContent)),
      null, { timeout: T });
    if (!/demo_sup/.test(await page.textContent("#proc-chain"))) throw new Error("supervisor chain without demo_sup");
  });

  await test("dashboard: killing a supervised child (after a confirmation) restarts it, its restart count goes up", async () => {
    const before = Number(await page.textContent("#proc-restarts"));
    const pidBefore = (await page.textContent("#proc-pid")).trim();
    await page.click("#kill");
    await page.waitForSelector("#confirm", { timeout: T });
    if ((await page.textContent("#proc-status")).trim() !== "running") throw new Error("killed before confirming");
    await page.click("#confirm-yes");
    await page.waitForFunction(() => /^ended: .*kill/.test(document.querySelector("#proc-status").textContent), null, { timeout: T });
    await page.goto(`${base}/dashboard/processes?filter=demo_worker_1`);
    await connected(page);
    await page.waitForFunction((b) => {
      const rows = document.querySelectorAll("#process-rows tr.proc");
      return rows.length === 1 && Number(rows[0].querySelector("td.restarts").textContent) === b + 1;
    }, before, { timeout: T });
    const pidAfter = (await page.textContent("#process-rows tr.proc a.open")).trim();
    if (pidAfter === pidBefore) throw new Error("same pid after the restart");
    // the new process's page: its restart history names the killed pid and why it ended
    await page.click("#process-rows tr.proc a.open");
    await page.waitForSelector("#dash-process #proc-history", { timeout: T });
    await page.waitForFunction((old) => [...document.querySelectorAll("#proc-history tr.restart")].some(
      (r) => r.children[1].textContent === old && /kill/.test(r.querySelector("td.reason").textContent)), pidBefore, { timeout: T });
  });

  await test("dashboard: the supervision tree shows demo_sup with its workers under it, and links to them", async () => {
    await page.click("#dash-nav-tree");
    await page.waitForSelector("#dash-tree", { timeout: T });
    await page.waitForFunction(() => {
      const sup = document.querySelector('#tree li[data-name="demo_sup"]');
      const w = document.querySelector('#tree li[data-name="demo_worker_1"]');
      return sup && w && sup.classList.contains("supervisor") && parseFloat(w.style.marginLeft) > parseFloat(sup.style.marginLeft) &&
        [...document.querySelectorAll("#tree li")].indexOf(w) > [...document.querySelectorAll("#tree li")].indexOf(sup);
    }, null, { timeout: T });
    if (!(await page.$('#tree li[data-name="live_sessions"].supervisor'))) throw new Error("no live_sessions supervisor");
    await page.click('#tree li[data-name="demo_worker_1"] a.open');
    await page.waitForSelector("#dash-process", { timeout: T });
    await textIs(page, "#proc-name", "demo_worker_1");
  });

  await test("dashboard: the sessions page shows /counter's mounts, events and latencies, and the slowest events", async () => {
    await page.click("#dash-nav-sessions");
    await page.waitForSelector("#dash-sessions", { timeout: T });
    await page.waitForFunction(() => {
      const tr = document.querySelector('#view-rows tr[data-view="/counter"]');
      return tr && Number(tr.querySelector("td.mounts").textContent) >= 1 && Number(tr.querySelector("td.events").textContent) >= 3 &&
        /s$/.test(tr.querySelector("td.p50").textContent) && Number(tr.querySelector("td.bytes").textContent) > 0;
    }, null, { timeout: T });
    if ((await page.$$("#slow-rows tr.slow")).length < 1) throw new Error("no slowest events");
    await page.waitForSelector('#view-rows tr[data-view="/dashboard/sessions"]', { timeout: T });  // itself, after its mount
  });

  await test("dashboard: the pubsub page lists the chat's topic with its subscriber and presence, and broadcasts/s", async () => {
    const chat = await ctx.newPage();
    try {
      await chat.goto(`${base}/chat`);
      await connected(chat);
      await page.click("#dash-nav-pubsub");
      await page.waitForSelector("#dash-pubsub", { timeout: T });
      const row = '#topic-rows tr[data-topic="chat:lobby"]';
      await page.waitForFunction((r) => {
        const tr = document.querySelector(r);
        return tr && Number(tr.querySelector("td.subscribers").textContent) >= 2 &&  // the page and the room's keeper
          Number(tr.querySelector("td.presences").textContent) >= 1;
      }, row, { timeout: T });
      // a burst of messages: the topic's rate is counted while they flow
      const stop = Date.now() + 15000;
      let seen = false;
      for (let i = 0; !seen && Date.now() < stop; i++) {
        await chat.fill("#body", `rate ${i}`);
        await chat.press("#body", "Enter");
        seen = await page.evaluate((r) => Number(document.querySelector(r)?.querySelector("td.rate").textContent) > 0, row);
      }
      if (!seen) throw new Error("no broadcasts/s while messages were sent");
    } finally {
      await chat.close();
    }
  });

  await test("restart: the page reconnects by itself after the server restarts, and works", async () => {
    await page.goto(`${base}/counter`);
    await connected(page);
    await page.click("#inc");
    await textIs(page, "#count", "1");
    await page.evaluate(() => (window.__corvidMarker = "survives"));
    await stopDemo(demo, "SIGKILL");
    await page.waitForSelector("[data-phx-main].phx-error", { timeout: T });
    demo = await startDemo();
    await connected(page);
    await textIs(page, "#count", "0"); // a fresh mount: the rejoin got a full render
    await page.click("#inc");
    await textIs(page, "#count", "1");
    if ((await page.evaluate(() => window.__corvidMarker)) !== "survives") throw new Error("page reloaded");
  });

  await test("chat: a 70 kB form change is accepted with the default limits", async () => {
    const opens = [];
    const onWs = (ws) => opens.push(ws.url());
    page.on("websocket", onWs);
    await page.goto(`${base}/chat`);
    await connected(page);
    await page.fill("#body", "y".repeat(70 * 1024));
    await textIs(page, "#hint", "too long: only the first 500 bytes are kept");
    await connected(page);
    page.off("websocket", onWs);
    if (opens.length !== 1) throw new Error(`${opens.length} websocket opens`);
    if (await page.$("#corvid-error")) throw new Error("an error banner is shown");
  });

  await test("chat: a form change over --max-frame-bytes shows an error and does not loop", async () => {
    let smallPort = null;
    const small = await startDemo(["--port", "0", "--max-frame-bytes", "16384"], (p) => (smallPort = p));
    const p = await ctx.newPage();
    try {
      const opens = [];
      p.on("websocket", (ws) => opens.push(ws.url()));
      await p.goto(`http://127.0.0.1:${smallPort}/chat`);
      await connected(p);
      await p.fill("#body", "z".repeat(70 * 1024));
      await p.waitForFunction(
        () => /too large/.test(document.querySelector("#corvid-error")?.textContent || ""), null, { timeout: T });
      // the client rejoins (its form recovery resends the change once, then gives the form up) and
      // stays connected on the same socket
      await connected(p);
      await p.waitForFunction(() => !document.querySelector("[data-phx-main].phx-error"), null, { timeout: T });
      await p.fill("#body", "short");
      await p.click("#send");
      await p.waitForFunction(() => document.querySelector("#messages").textContent.includes("short"), null,
        { timeout: T });
      if (opens.length > 2) throw new Error(`${opens.length} websocket opens`);
      if (!(await p.$("#corvid-error"))) throw new Error("the error banner went away");
    } finally {
      await p.close();
      await stopDemo(small, "SIGTERM");
    }
  });

  await test("a join over --max-frame-bytes (a long URL) is refused at once with words in #corvid-error", async () => {
    let smallPort = null;
    const small = await startDemo(["--port", "0", "--max-frame-bytes", "8192"], (p) => (smallPort = p));
    const p = await ctx.newPage();
    try {
      const started = Date.now();
      await p.goto(`http://127.0.0.1:${smallPort}/counter?pad=${"x".repeat(10000)}`);
      await p.waitForFunction(
        () => /join was too large/.test(document.querySelector("#corvid-error")?.textContent || ""), null, { timeout: T });
      // answered, not left to the client's 10 s join timeout
      if (Date.now() - started > 8000) throw new Error(`took ${Date.now() - started} ms`);
    } finally {
      await p.close();
      await stopDemo(small, "SIGTERM");
    }
  });

  await test("cluster: chat and who is online span two nodes' pages; the dashboard lists the nodes", async () => {
    const secret = `${profile}-cluster.secret`;
    writeFileSync(secret, "a cluster secret for the browser test, long enough\n");
    const [ca, cb] = [await freePort(), await freePort()];
    let portA = null;
    let portB = null;
    let tokenA = null;
    const nodeA = await startDemo(["--port", "0", "--node", `a@127.0.0.1:${ca}`, "--secret-file", secret],
      (p, t) => { portA = p; tokenA = t; });
    let nodeB = null;
    const pa = await ctx.newPage();
    const pb = await ctx.newPage();
    try {
      nodeB = await startDemo(["--port", "0", "--node", `b@127.0.0.1:${cb}`, "--secret-file", secret,
        "--seed", `a@127.0.0.1:${ca}`], (p) => (portB = p));
      // Another host name: another cookie, so another session and user on b's page.
      await pa.goto(`http://127.0.0.1:${portA}/chat`);
      await pb.goto(`http://localhost:${portB}/chat`);
      await connected(pa);
      await connected(pb);
      if ((await pa.textContent("#node")) !== "a" || (await pb.textContent("#node")) !== "b")
        throw new Error("pages are not on nodes a and b");
      const users = (p) => p.$$eval("#online .user", (els) => els.map((e) => e.textContent).sort().join(","));
      const both = [await pa.textContent("#me"), await pb.textContent("#me")].sort().join(",");
      const online = (p) =>
        p.waitForFunction(
          (want) => [...document.querySelectorAll("#online .user")].map((e) => e.textContent).sort().join(",") === want,
          both, { timeout: T });
      await online(pa).catch(async () => { throw new Error(`a lists ${await users(pa)}, want ${both}`); });
      await online(pb).catch(async () => { throw new Error(`b lists ${await users(pb)}, want ${both}`); });
      const fromA = `across from a ${Date.now()}`;
      await pa.fill("#body", fromA);
      await pa.click("#send");
      const seen = (p, t) =>
        p.waitForFunction((x) => document.querySelector("#messages").textContent.includes(x), t, { timeout: T });
      await seen(pb, fromA);
      const fromB = `and back from b ${Date.now()}`;
      await pb.fill("#body", fromB);
      await pb.press("#body", "Enter");
      await seen(pa, fromB);
      // a's dashboard lists b as a member that is up
      const pd = await ctx.newPage();
      await pd.goto(`http://127.0.0.1:${portA}/dashboard/nodes?token=${tokenA}`);
      await connected(pd);
      await textIs(pd, "#node-b .state", "up");
      await pd.close();
      // b's page leaves: a's page sees it go from the online list
      await pb.close();
      await pa.waitForFunction(() => document.querySelectorAll("#online .user").length === 1, null, { timeout: T });
    } finally {
      if (!pb.isClosed()) await pb.close();
      await pa.close();
      await stopDemo(nodeB, "SIGTERM");
      await stopDemo(nodeA, "SIGTERM");
    }
  });

  await test("no JavaScript errors on the pages", async () => {
    if (errors.length) throw new Error(errors.join("; "));
  });

  await ctx.close();
}

try {
  await main();
} catch (e) {
  fail("setup", e);
} finally {
  await stopDemo(demo, "SIGTERM");
}
finish();
