// What the browser tests share: the test runner and its tally, Chromium's flags, a free port.
import { createServer } from "node:net";

const tally = { passed: 0, failed: 0 };
const firstLine = (e) => (e && e.message ? e.message : String(e)).split("\n")[0];

/// Runs one named test: "ok   - name", or "FAIL - name: the error's first line".
export async function test(name, fn) {
  try {
    await fn();
    tally.passed++;
    console.log(`ok   - ${name}`);
  } catch (e) {
    fail(name, e);
  }
}

/// Counts a failure outside a test (a setup step).
export function fail(what, e) {
  tally.failed++;
  console.log(`FAIL - ${what}: ${firstLine(e)}`);
}

/// Prints the summary line run.sh reads, "N passed, N failed", and exits non-zero on any failure.
export function finish() {
  console.log(`${tally.passed} passed, ${tally.failed} failed`);
  process.exit(tally.failed ? 1 : 0);
}

/// Debian's chromium, headless, with nothing downloaded or phoned home.
export const chromiumOptions = {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
};

/// A port free on 127.0.0.1 now.
export const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
