// Browser end-to-end tests of examples/convention: participants and the chair's page in Debian's
// chromium (playwright-core), the unmodified LiveView client on both sides. Started by run.sh with
// CONVENTION_BIN and E2E_WORK (a scratch directory) set. Prints one line per test and, last,
// "N passed, N failed". Waits on page conditions only, never fixed sleeps.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { chromiumOptions, fail, finish, freePort, test } from "./harness.mjs";

const bin = process.env.CONVENTION_BIN;
const work = process.env.E2E_WORK;
const T = 20000; // generous: the box is shared and slow
const token = "e2e-admin-token-" + randomBytes(8).toString("hex");

const servers = [];

// Starts a convention server with `extra` flags on any free port; resolves with its base URL once
// it printed its banner.
function startConvention(extra = []) {
  return new Promise((resolve, reject) => {
    const args = ["--host", "127.0.0.1", "--port", "0", "--admin-token", token, "--interval-ms", "50", ...extra];
    const p = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    servers.push(p);
    let out = "";
    const timer = setTimeout(() => reject(new Error(`convention did not start: ${out}`)), T);
    const seen = (d) => {
      out += d;
      if (process.env.E2E_VERBOSE) process.stderr.write(d);
      const m = out.match(/participants: (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    p.stdout.on("data", seen);
    p.stderr.on("data", seen);
    p.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`convention exited early (${code}): ${out}`));
    });
  });
}

function stopAll() {
  for (const p of servers) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
}

// Waits for a page condition; a timeout names what was awaited and what the page showed.
async function waitText(page, sel, want, exact) {
  try {
    await page.waitForFunction(
      ([s, w, x]) => {
        const e = document.querySelector(s);
        return e && (x ? e.textContent.trim() === w : e.textContent.includes(w));
      },
      [sel, want, exact],
      { timeout: T },
    );
  } catch (e) {
    const now = await page.evaluate((s) => document.querySelector(s)?.textContent.trim() ?? "(none)", sel).catch(() => "?");
    throw new Error(`${sel} ${exact ? "is" : "has"} "${want}" not seen within ${T} ms; it shows "${now.slice(0, 200)}"`);
  }
}
const connected = (page) => page.waitForSelector("[data-phx-main].phx-connected", { timeout: T });
const textIs = (page, sel, want) => waitText(page, sel, want, true);
const textHas = (page, sel, want) => waitText(page, sel, want, false);
const rowCount = (page, sel, n) =>
  page.waitForFunction(([s, k]) => document.querySelectorAll(s).length === k, [sel, n], { timeout: T });

async function join(ctx, base, name, errors) {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
  await page.goto(`${base}/`);
  await connected(page);
  await page.fill("#name", name);
  await page.click("#join");
  await textIs(page, "#me", name);
  return page;
}

async function openMotion(admin, text) {
  await admin.fill("#motion-input", text);
  await admin.click("#open-motion");
  await textIs(admin, "#motion-text", text);
}

async function main() {
  const browser = await chromium.launch(chromiumOptions); // a fresh temporary profile of its own
  const errors = [];
  // every participant gets a context of its own (its own cookies), as separate browsers would
  const fresh = () => browser.newContext();

  const safe = await startConvention(["--admin-rows", "2"]);
  const adminCtx = await fresh();
  const admin = await adminCtx.newPage();
  admin.on("pageerror", (e) => errors.push(`admin: ${e.message}`));
  let ada = null;
  let bob = null;

  await test("convention: /admin without the token shows the denied page, not the chair's", async () => {
    const ctx = await fresh();
    const p = await ctx.newPage();
    await p.goto(`${safe}/admin`);
    await p.waitForSelector("#denied", { timeout: T });
    if (await p.$("#motion-form")) throw new Error("the chair's form is on the denied page");
    await ctx.close();
  });

  await test("convention: the chair's page with the token drops it from the address bar and counts nobody", async () => {
    await admin.goto(`${safe}/admin?token=${token}`);
    await connected(admin);
    await textIs(admin, "#t-present", "0");
    if (admin.url().includes("token=")) throw new Error(`token still in the URL: ${admin.url()}`);
  });

  await test("convention: a participant joins by name; the chair sees the row, the count and a join event", async () => {
    ada = await join(await fresh(), safe, "Ada", errors);
    await textIs(ada, "#motion-text", "No motion is open yet. It will appear here as soon as the chair opens one.");
    await textIs(admin, "#t-present", "1");
    await rowCount(admin, "#participants tr", 1);
    await textHas(admin, "#participants", "Ada");
    await textHas(admin, "#events", "Ada joined on");
  });

  await test("convention: a motion the chair opens reaches the participant; a vote reaches the tally and the feed", async () => {
    await openMotion(admin, "Adopt the agenda");
    await textIs(ada, "#motion-text", "Adopt the agenda");
    await ada.click("#vote-yes");
    await ada.waitForFunction(() => document.querySelector("#vote-yes").classList.contains("chosen"), null, { timeout: T });
    await textHas(ada, "#my-vote", "Your vote: yes");
    await textIs(admin, "#t-yes", "1");
    await textIs(admin, "#t-none", "0");
    await textHas(admin, "#events", "Ada voted yes");
  });

  await test("convention: a participant changes the vote; the tally moves it, it is not counted twice", async () => {
    await ada.click("#vote-abstain");
    await textIs(admin, "#t-abstain", "1");
    await textIs(admin, "#t-yes", "0");
    await textHas(ada, "#my-vote", "Your vote: abstain");
  });

  await test("convention: --admin-rows 2 keeps the latest two participants in the browser, and the counts are everyone's", async () => {
    bob = await join(await fresh(), safe, "Bob", errors);
    const cy = await join(await fresh(), safe, "Cy", errors);
    await textIs(admin, "#t-present", "3");
    await textHas(admin, "#participants", "Cy");
    await rowCount(admin, "#participants tr", 2);
    await textHas(admin, "#rows-note", "2");
    await bob.click("#vote-no");
    await textIs(admin, "#t-no", "1");
    await textIs(admin, "#t-none", "1");
    await cy.context().close(); // Cy leaves: the count drops and the feed says so
    await textIs(admin, "#t-present", "2");
    await textHas(admin, "#events", "Cy left");
  });

  await test("convention: a new motion starts the count over and every participant's vote buttons reset", async () => {
    await openMotion(admin, "Elect the board");
    await textIs(ada, "#motion-text", "Elect the board");
    await textIs(bob, "#motion-text", "Elect the board");
    await textIs(admin, "#t-none", "2");
    await textIs(admin, "#t-no", "0");
    await textHas(bob, "#my-vote", "You have not voted on this motion.");
    if (await bob.evaluate(() => document.querySelector("#vote-no").classList.contains("chosen")))
      throw new Error("Bob's old vote is still marked");
  });

  await test("convention: a reloaded chair's page gets the current motion, tally and rows back", async () => {
    await admin.reload();
    await connected(admin);
    await textIs(admin, "#motion-text", "Elect the board");
    await textIs(admin, "#t-present", "2");
    await rowCount(admin, "#participants tr", 2);
  });

  await test("convention --naive: the post-mortem's design still works in a browser (join, motion, vote, tally)", async () => {
    const naive = await startConvention(["--naive"]);
    const ctx = await fresh();
    const chair = await ctx.newPage();
    chair.on("pageerror", (e) => errors.push(`naive admin: ${e.message}`));
    await chair.goto(`${naive}/admin?token=${token}`);
    await connected(chair);
    const dee = await join(await fresh(), naive, "Dee", errors);
    await textIs(chair, "#t-present", "1");
    await openMotion(chair, "Naive motion");
    await textIs(dee, "#motion-text", "Naive motion");
    await dee.click("#vote-yes");
    await textIs(chair, "#t-yes", "1");
    await textHas(chair, "body", "Dee");
    await dee.waitForSelector("#polled", { timeout: T }); // it polls: the page says when it refreshed
  });

  await test("convention on two nodes: a participant on node a, the chair on node b sees the row with node a, and the vote", async () => {
    const secret = `${work}/conv.secret`;
    writeFileSync(secret, randomBytes(48).toString("base64"));
    const [pa, pb] = [await freePort(), await freePort()];
    const nodeA = await startConvention(["--node", `a@127.0.0.1:${pa}`, "--secret-file", secret]);
    const nodeB = await startConvention(["--node", `b@127.0.0.1:${pb}`, "--secret-file", secret, "--seed", `a@127.0.0.1:${pa}`]);
    const ctx = await fresh();
    const chair = await ctx.newPage();
    chair.on("pageerror", (e) => errors.push(`node b admin: ${e.message}`));
    await chair.goto(`${nodeB}/admin?token=${token}`);
    await connected(chair);
    const eve = await join(await fresh(), nodeA, "Eve", errors);
    await textIs(eve, "#node", "a");
    await textIs(chair, "#t-present", "1");
    await textHas(chair, "#participants", "Eve");
    await chair.waitForFunction(() => [...document.querySelectorAll("#participants tr")].some((r) => r.cells[1]?.textContent.trim() === "a"), null, { timeout: T });
    await openMotion(chair, "Motion from b");
    await textIs(eve, "#motion-text", "Motion from b");
    await eve.click("#vote-yes");
    await textIs(chair, "#t-yes", "1");
  });

  await test("convention: no page raised a JavaScript error", async () => {
    if (errors.length) throw new Error(errors.join("; "));
  });

  await browser.close();
}

try {
  await main();
} catch (e) {
  fail("convention e2e setup", e);
} finally {
  stopAll();
}
finish();
