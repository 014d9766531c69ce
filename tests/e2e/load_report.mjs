// Browser check of corvid-load's HTML report: Debian's chromium (playwright-core, no browser
// download) opens the report file and checks that a person would see every chart drawn.
//   build-rep/tools/corvid_load/corvid_load_report_sample /tmp/load-report.html
//   LOAD_REPORT_HTML=/tmp/load-report.html node tests/e2e/load_report.mjs
// LOAD_REPORT_HTML: a path or a file:// URL. LOAD_REPORT_SCREENSHOT: also save a full-page PNG there.
// A report of a real run (tests/e2e/run.sh makes one with corvid-load against the demo) names its charts
// in LOAD_REPORT_EXPECT (comma-separated) and its scenario in LOAD_REPORT_TITLE; without them the
// sample program's report is expected.
// Prints one line per check and, last, "N passed, N failed"; exits non-zero on any failure.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { chromiumOptions, fail, finish, test } from "./harness.mjs";

// The charts of a report with server samples, five phases and two steps (the sample program's).
const sample = !process.env.LOAD_REPORT_EXPECT;
const expected = sample
  ? ["latency", "users", "server_cpu", "server_rss",
     "hist-get", "hist-upgrade", "hist-join", "hist-mount", "hist-event", "hist-step-1", "hist-step-2"]
  : process.env.LOAD_REPORT_EXPECT.split(",");
const title = process.env.LOAD_REPORT_TITLE ?? "counter <inc & dec>";
const lineCharts = new Set(["latency", "users", "server_cpu", "server_rss"]);

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const given = process.env.LOAD_REPORT_HTML;
if (!given) {
  fail("load_report", "set LOAD_REPORT_HTML to the report (a path or a file:// URL)");
  finish();
}
const url = given.startsWith("file://") ? given : pathToFileURL(resolve(given)).href;
const profile = mkdtempSync(join(tmpdir(), "corvid-load-report."));
let ctx = null;
try {
  ctx = await chromium.launchPersistentContext(profile, {
    ...chromiumOptions,
    viewport: { width: 1280, height: 900 },
  });
  const page = await ctx.newPage();
  const pageErrors = [];
  const fetched = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => m.type() === "error" && pageErrors.push(m.text()));
  page.on("request", (r) => fetched.push(r.url()));
  await page.goto(url, { waitUntil: "load" });

  await test("the page loads on its own: no scripts, no requests but itself, no errors", async () => {
    assert((await page.locator("script").count()) === 0, "the page has a script");
    const others = fetched.filter((u) => u !== url);
    assert(others.length === 0, `requested ${others.join(", ")}`);
    assert(pageErrors.length === 0, `errors: ${pageErrors.join("; ")}`);
  });

  await test("user strings show as text, not markup", async () => {
    const h1 = await page.locator("h1").textContent();
    assert(h1.includes(title), `heading reads ${JSON.stringify(h1)}`);
    if (sample) assert((await page.locator("h1 inc").count()) === 0, "the scenario name became an element");
  });

  const figures = await page.locator("figure[data-chart]").evaluateAll((fs) => fs.map((f) => f.dataset.chart));
  await test("exactly the expected charts are there", async () => {
    const missing = expected.filter((c) => !figures.includes(c));
    const extra = figures.filter((c) => !expected.includes(c));
    assert(missing.length === 0 && extra.length === 0, `missing [${missing}] extra [${extra}]`);
  });

  for (const name of expected) {
    await test(`chart ${name} is drawn`, async () => {
      const fig = page.locator(`figure[data-chart="${name}"]`);
      assert((await fig.count()) === 1, "no such figure");
      const caption = (await fig.locator("figcaption").textContent()).trim();
      assert(caption.length > 0, "empty caption");
      const svg = fig.locator("svg");
      assert((await svg.count()) === 1, "no svg");
      await svg.scrollIntoViewIfNeeded();
      const box = await svg.boundingBox();
      assert(box && box.width > 200 && box.height > 50, `svg box ${JSON.stringify(box)}`);
      assert(await svg.isVisible(), "svg not visible");
      // What the marks measure in the browser: each drawn element's own box (getBBox) and paint.
      const marks = await svg.evaluate((s, line) => {
        const sel = line ? "polyline.series" : "rect.bar";
        return [...s.querySelectorAll(sel)].map((e) => {
          const b = e.getBBox();
          const cs = getComputedStyle(e);
          return {
            w: b.width, h: b.height,
            points: line ? e.points.numberOfItems : 0,
            paint: line ? cs.stroke : cs.fill,
            display: cs.display, visibility: cs.visibility,
          };
        });
      }, lineCharts.has(name));
      assert(marks.length > 0, lineCharts.has(name) ? "no polyline" : "no bars");
      for (const m of marks) {
        assert(m.display !== "none" && m.visibility !== "hidden", "a mark is hidden");
        assert(m.paint && m.paint !== "none" && m.paint !== "rgba(0, 0, 0, 0)", `a mark has no paint (${m.paint})`);
        // A real run's series may have one point (every mount in the first second): drawn, not a line.
        if (lineCharts.has(name)) assert(m.points >= (sample ? 2 : 1) && m.points <= 600, `a line of ${m.points} points`);
        else assert(m.w > 0 && m.h > 0, `an empty bar ${m.w}x${m.h}`);
      }
      // A series may cover only part of the run (mounts happen during the ramp); one spans the chart.
      if (lineCharts.has(name)) assert(Math.max(...marks.map((m) => m.w)) > 100, "no line spans the chart");
      if (lineCharts.has(name)) assert(Math.max(...marks.map((m) => m.points)) >= 2, "no series has two points");
      const ticks = await svg.locator("text.tick").count();
      assert(ticks >= 4, `only ${ticks} tick labels`);
      assert((await svg.locator("text.axis").count()) >= 2, "axis labels missing");
      // Every label is inside the svg's box: a label drawn off the edge is not seen (nor clipped text).
      const outside = await svg.evaluate((s) => {
        const o = s.getBoundingClientRect();
        return [...s.querySelectorAll("text")]
          .filter((t) => {
            const r = t.getBoundingClientRect();
            return r.width === 0 || r.left < o.left - 1 || r.right > o.right + 1 || r.top < o.top - 1 || r.bottom > o.bottom + 1;
          })
          .map((t) => t.textContent);
      });
      assert(outside.length === 0, `labels outside the chart: [${outside}]`);
      if (name === "latency" || name === "users") {
        const legend = await svg.locator(".legend text").allTextContents();
        assert(legend.length >= 2, `legend: [${legend}]`);
      }
    });
  }

  await test("charts sit side by side without overlapping", async () => {
    const boxes = [];
    for (const name of expected) boxes.push(await page.locator(`figure[data-chart="${name}"] svg`).boundingBox());
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i], b = boxes[j];
        const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
        assert(!overlap, `${expected[i]} overlaps ${expected[j]}`);
      }
  });

  await test("tables: summary, phases, steps, bytes and errors", async () => {
    const tables = ["table.summary", "#phases + table.pct", "#steps + table.pct", "#diff-bytes + table.pct"];
    if (sample) tables.push("table.errors");  // a real run may have none
    for (const sel of tables) {
      const rows = await page.locator(`${sel} tbody tr`).count();
      assert(rows > 0, `${sel} has no rows`);
    }
  });

  if (process.env.LOAD_REPORT_SCREENSHOT) await page.screenshot({ path: process.env.LOAD_REPORT_SCREENSHOT, fullPage: true });
} catch (e) {
  fail("load_report", e);
} finally {
  if (ctx) await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
finish();
