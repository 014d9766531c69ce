#!/usr/bin/env python3
"""Turn the results of a scripts/test.sh run into one closing line: "N passed, N failed".

Usage: summarize.py LEDGER

LEDGER is a tab-separated file written by scripts/test.sh, one line per item:

    meson <TAB> LABEL <TAB> path/to/meson-logs/testlog.json <TAB> EXIT_CODE_OF_MESON_TEST
    stage <TAB> LABEL <TAB> path/to/captured-output.log      <TAB> EXIT_CODE
    step  <TAB> LABEL <TAB> -                                <TAB> EXIT_CODE

Counting:
  meson  every test in testlog.json (one JSON object per line). If its output holds doctest
         summaries ("[doctest] test cases: T | P passed | F failed | ..."), P and F are added up;
         a test whose result is not OK but whose doctest summaries report no failure (a crash, a
         timeout, a sanitizer report after the summary) adds 1 failure. Without a doctest summary
         the test counts as 1 passed or 1 failed by its result. SKIP counts as neither.
         A missing testlog, or a non-zero exit code with no failure counted, adds 1 failure.
  stage  the last line "N passed, N failed" of the captured output if there is one (plus 1
         failure if the exit code is non-zero yet no failure was reported), else 1 passed or
         1 failed by exit code.
  step   (setup, configure, compile) counts only when it failed: 1 failure.

Prints a breakdown, then the closing line as the very last line. Exit code 0 when nothing
failed, 1 otherwise.
"""
import json
import re
import sys

DOCTEST_RE = re.compile(
    r"^\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")
PLAIN_RE = re.compile(r"^\s*(?:\w+:\s*)?(\d+) passed, (\d+) failed\b")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
PASS_RESULTS = {"OK", "EXPECTEDFAIL"}
SKIP_RESULTS = {"SKIP"}


def doctest_counts(text):
    """Sum of (passed, failed) over doctest summary lines in text, or None if there are none."""
    found = False
    passed = failed = 0
    for line in ANSI_RE.sub("", text).splitlines():
        m = DOCTEST_RE.match(line.strip())
        if m:
            found = True
            passed += int(m.group(2))
            failed += int(m.group(3))
    return (passed, failed) if found else None


def failure_lines(text, limit=3):
    """The first `limit` doctest failures in text, each as "test case: file:line: ERROR ... values",
    so that the summary at the end of a CI log says what failed without the whole log."""
    out, case, lines = [], "", ANSI_RE.sub("", text).splitlines()
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith("TEST CASE:"):
            case = s[len("TEST CASE:"):].strip()
        elif "ERROR:" in s:
            j = next((j for j in range(i + 1, min(i + 4, len(lines)))
                      if lines[j].strip().startswith("values:")), None)
            detail = "" if j is None else lines[j].strip()[len("values:"):].strip()
            if j is not None and not detail and j + 1 < len(lines):
                detail = lines[j + 1].strip()
            out.append(f"{case}: {s}" + (f" [{detail}]" if detail else ""))
            if len(out) == limit:
                break
    return out


def count_meson(path, rc):
    """Returns (passed, failed, notes) for one meson testlog.json."""
    passed = failed = 0
    notes = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return 0, 1, [f"no test log {path}: meson test did not run"]
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            t = json.loads(line)
        except json.JSONDecodeError:
            failed += 1
            notes.append(f"{path}:{n}: unreadable test record")
            continue
        name = t.get("name", "?")
        result = str(t.get("result", "")).upper()
        if result.startswith("TESTRESULT."):  # tolerate an enum spelled out
            result = result.split(".", 1)[1]
        output = (t.get("stdout") or "") + "\n" + (t.get("stderr") or "")
        dt = doctest_counts(output)
        if result in SKIP_RESULTS:
            notes.append(f"skipped: {name}")
            continue
        ok = result in PASS_RESULTS
        if dt is not None:
            p, f = dt
            if not ok and f == 0:
                f = 1
                notes.append(f"FAILED: {name} ({result} with no failed doctest case: crash or timeout?)")
                notes.extend(f"        {w}" for w in ANSI_RE.sub("", output).strip().splitlines()[-3:])
            elif f:
                notes.append(f"FAILED: {name} ({f} doctest case(s) failed)")
                notes.extend(f"        {w}" for w in failure_lines(output))
            passed += p
            failed += f
        elif ok:
            passed += 1
        else:
            failed += 1
            notes.append(f"FAILED: {name} ({result})")
    if rc != 0 and failed == 0:
        failed += 1
        notes.append(f"meson test exited {rc} with no failed test recorded")
    return passed, failed, notes


def count_stage(path, rc):
    last = None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = PLAIN_RE.match(ANSI_RE.sub("", line))
                if m:
                    last = (int(m.group(1)), int(m.group(2)))
    except OSError:
        pass
    if last is None:
        return (1, 0, []) if rc == 0 else (0, 1, [f"exited {rc}"])
    passed, failed = last
    notes = []
    if rc != 0 and failed == 0:
        failed = 1
        notes.append(f"exited {rc} although it reported no failure")
    return passed, failed, notes


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    total_p = total_f = 0
    print("---- summary ----")
    with open(argv[1], encoding="utf-8") as ledger:
        for raw in ledger:
            raw = raw.rstrip("\n")
            if not raw.strip():
                continue
            kind, label, path, rc = (raw.split("\t") + ["", "", "", ""])[:4]
            try:
                rc = int(rc)
            except ValueError:
                rc = 1
            if kind == "meson":
                p, f, notes = count_meson(path, rc)
            elif kind == "stage":
                p, f, notes = count_stage(path, rc)
            elif kind == "step":
                p, f, notes = (0, 0, []) if rc == 0 else (0, 1, [f"exited {rc}"])
            else:
                p, f, notes = 0, 1, [f"unknown ledger entry {raw!r}"]
            if kind != "step" or f:
                print(f"  [{label}] passed={p} failed={f}")
            for note in notes:
                print(f"      {note}")
            total_p += p
            total_f += f
    print(f"{total_p} passed, {total_f} failed")
    return 0 if total_f == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
