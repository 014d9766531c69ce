#!/usr/bin/env python3
"""Side-by-side table of benchmark figures.

Usage: bench_table.py CORVID_TSV [--erlang ERLANG_TSV] [--base BASE_TSV]

Both files hold lines "figure<TAB>value<TAB>unit" (other lines are ignored). In the corvid file,
a figure named rawcaf_<figure> is the raw-CAF baseline of <figure>. Prints one row per figure:
corvid, raw CAF, Erlang, corvid/rawcaf and corvid/erlang (ratios of the values as printed; for
"per_s" figures a ratio above 1 means corvid is faster, for the others below 1 does).
With --base (an earlier commit's figures, from bench.sh --compare): also "base" and "this/base".
"""
import sys


def read_figures(path):
    figures = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 3 or not parts[0] or " " in parts[0]:
                    continue
                try:
                    value = float(parts[1])
                except ValueError:
                    continue
                figures[parts[0]] = (value, parts[1], parts[2])
    except OSError:
        pass
    return figures


def ratio(a, b):
    if a is None or b is None or b[0] == 0:
        return ""
    return f"{a[0] / b[0]:.2f}"


def main(argv):
    args = argv[1:]
    def option(name):
        if name not in args:
            return None
        i = args.index(name)
        if i + 1 >= len(args):
            return None
        value = args[i + 1]
        del args[i:i + 2]
        return value

    erlang_path = option("--erlang")
    base_path = option("--base")
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    corvid_all = read_figures(args[0])
    erlang = read_figures(erlang_path) if erlang_path else {}
    rawcaf = {k[len("rawcaf_"):]: v for k, v in corvid_all.items() if k.startswith("rawcaf_")}
    corvid = {k: v for k, v in corvid_all.items() if not k.startswith("rawcaf_")}

    names = list(corvid)  # in the order the benchmarks printed them
    names += [n for n in rawcaf if n not in names]
    names += [n for n in erlang if n not in names]
    base = read_figures(base_path) if base_path else None  # raw CAF's rows too: they show the noise

    header = ["figure", "unit", "corvid", "raw CAF", "Erlang", "corvid/rawcaf", "corvid/erlang"]
    if base is not None:
        header += ["base", "this/base", "base rawcaf", "rawcaf this/base"]
    rows = []
    for n in names:
        c, r, e = corvid.get(n), rawcaf.get(n), erlang.get(n)
        unit = next((x[2] for x in (c, r, e) if x), "")
        row = [n, unit, c[1] if c else "-", r[1] if r else "-", e[1] if e else "-",
               ratio(c, r), ratio(c, e)]
        if base is not None:
            b, br = base.get(n), base.get("rawcaf_" + n)
            row += [b[1] if b else "-", ratio(c, b), br[1] if br else "-", ratio(r, br)]
        rows.append(row)
    # Columns with nothing in any row (no raw-CAF or Erlang twins, as for live_load's figures) go.
    keep = [i for i in range(len(header))
            if i < 2 or any(row[i] not in ("", "-") for row in rows)]
    header = [header[i] for i in keep]
    rows = [[row[i] for i in keep] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(header)]

    def fmt(row):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(w) for cell, w in zip(row[2:], widths[2:])]
        return "  ".join(cells).rstrip()

    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(fmt(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
