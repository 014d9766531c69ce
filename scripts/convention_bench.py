#!/usr/bin/env python3
"""The convention benchmark (issue 12's proof; not part of CI): the post-mortem's scenario, measured.

  scripts/convention_bench.py [--participants N] [--nodes K] [--admins A] [--rate R] [--workers W]
                              [--naive] [--motions K] [--interval-ms MS] [--net-ticktime S] [--no-build] [--out DIR]

Builds build-release/ (examples/convention/convention and tools/corvid_load/corvid-load), starts K
convention nodes on 127.0.0.1 (a cluster when K > 1), then on the same machine:
  - A admins (corvid-load scenario convention_admin) on the last node, watching joins arrive;
  - N participants (scenario convention: join, vote, change the vote, stay until N/R + 60 s) spread
    over the nodes, started at R per second, by corvid-load (over W worker nodes of its own with --workers).
Every second it reads each node's GET /convention/stats (participants, mailbox high-water and
bound, RSS). At the end it prints one table:
  mount p99, vote round trip p99, time until an admin sees a join p99 (and p50), memory per session,
  the largest mailbox against its bound, RSS growth while everyone is connected (before the admins' new
  motion at N/R + 15 s, and from 15 s after it), errors.
--motions K: K-1 more motions, 30 s apart (a one-user chair each), and RSS per motion's stretch.
--naive runs the nodes in the post-mortem's design (polling, unthrottled, unbounded, full re-renders).
Raw results (corvid-load JSON and HTML reports, stats samples) stay in --out (default build-release/convention-bench).
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build-release")
CONVENTION = os.path.join(BUILD, "examples", "convention", "convention")
LOAD = os.path.join(BUILD, "tools", "corvid_load", "corvid-load")
TOKEN = "convention-bench-admin-token-0123"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get_json(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def build():
    if os.path.exists(os.path.join(BUILD, "meson-private", "coredata.dat")):
        subprocess.run(["meson", "setup", "--reconfigure", BUILD, "--buildtype=release"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    else:
        subprocess.run(["meson", "setup", BUILD, "--buildtype=release"], cwd=ROOT, check=True)
    subprocess.run(["meson", "compile", "-C", BUILD, "examples/convention/convention", "tools/corvid_load/corvid-load"],
                   cwd=ROOT, check=True)


def start_nodes(args, out):
    nodes = []
    secret = os.path.join(out, "cluster.secret")
    with open(secret, "w") as f:
        f.write(os.urandom(36).hex())
    os.chmod(secret, 0o600)
    cluster_ports = [free_port() for _ in range(args.nodes)]
    for i in range(args.nodes):
        port, stats = free_port(), free_port()
        cmd = [CONVENTION, "--port", str(port), "--stats-port", str(stats), "--admin-token", TOKEN,
               "--interval-ms", str(args.interval_ms), "--max-connections", "19000"]
        if args.naive:
            cmd.append("--naive")
        if args.nodes > 1:
            cmd += ["--node", f"c{i + 1}@127.0.0.1:{cluster_ports[i]}", "--secret-file", secret]
            if i > 0:
                cmd += ["--seed", f"c1@127.0.0.1:{cluster_ports[0]}"]
            if args.net_ticktime:
                cmd += ["--net-ticktime", str(args.net_ticktime)]
        log = open(os.path.join(out, f"node{i + 1}.log"), "w")
        env = dict(os.environ, XDG_STATE_HOME=os.path.join(out, f"state{i + 1}"))
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        nodes.append({"proc": p, "port": port, "stats": f"http://127.0.0.1:{stats}/convention/stats"})
    deadline = time.time() + 30
    for n in nodes:
        while True:
            try:
                get_json(n["stats"])
                break
            except Exception:
                if time.time() > deadline or n["proc"].poll() is not None:
                    raise SystemExit(f"convention_bench: a node did not come up (see {out}/node*.log)")
                time.sleep(0.1)  # waiting for a server to listen, not a test's synchronization
    return nodes


class Sampler(threading.Thread):
    """Reads every node's stats once a second."""

    def __init__(self, nodes):
        super().__init__(daemon=True)
        self.nodes, self.samples, self.stop = nodes, [], threading.Event()

    def run(self):
        t0 = time.time()
        while not self.stop.is_set():
            row = {"t": time.time() - t0, "nodes": []}
            for n in self.nodes:
                try:
                    row["nodes"].append(get_json(n["stats"]))
                except Exception as e:  # a node too busy to answer in 2 s says something too
                    row["nodes"].append({"error": str(e)})
            self.samples.append(row)
            self.stop.wait(1.0)


def pct(h, key):
    return h.get(key, 0) / 1000.0 if h else 0.0


def rss_growth(rss_series, peak_sessions):
    """RSS growth while everyone is connected, from (t, sessions, rss, motion version) samples."""
    # The admins' new motion re-renders every page and reloads the admins' lists at once: a step, not
    # a leak. Growth is given within each stretch of one motion, and the step between them.
    # Within a stretch, the first 15 s after a new motion are its settling (every page's diff, the admins'
    # reload of the whole list); growth is measured after that.
    full = [(t, rss, m) for t, s, rss, m in rss_series if peak_sessions and s >= 0.995 * peak_sessions]
    stretches = []
    for t, rss, m in full:
        if not stretches or stretches[-1][0] != m:
            stretches.append((m, []))
        stretches[-1][1].append((t, rss))
    parts, steps = [], []
    for i, (m, v) in enumerate(stretches):
        settled = [x for x in v if x[0] >= v[0][0] + 15] if i > 0 else v
        if i > 0:
            steps.append(f"{((settled[0][1] if settled else v[-1][1]) - stretches[i - 1][1][-1][1]) / 2**20:+.0f} MiB")
        if len(settled) >= 2:
            parts.append(f"{(settled[-1][1] - settled[0][1]) / settled[0][1] * 100:+.1f}% over {settled[-1][0] - settled[0][0]:.0f} s"
                         + (" (before the motion)" if i == 0 and len(stretches) > 1 else " (settled after the motion)" if i else ""))
    growth = "; ".join(parts) + (f"; each new motion's step: {', '.join(steps)}" if steps else "")
    return growth


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--participants", type=int, default=3000)
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--admins", type=int, default=2)
    ap.add_argument("--rate", type=float, default=300)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--naive", action="store_true")
    # More motions show whether the first one's RSS step is a page's new state (once) or growth (each time).
    ap.add_argument("--motions", type=int, default=1)
    ap.add_argument("--interval-ms", type=int, default=200)
    # Erlang's default. Six nodes and their load on two cores delay heartbeats by seconds; the phi
    # detector (0 here) then ends members that are only slow, and the cluster churns.
    ap.add_argument("--net-ticktime", type=int, default=60)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--out", default=os.path.join(BUILD, "convention-bench"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if not args.no_build:
        build()
    nodes = start_nodes(args, args.out)
    sampler = Sampler(nodes)
    sampler.start()
    rss0 = sum(s.get("rss_bytes", 0) for s in [get_json(n["stats"]) for n in nodes])
    admin_json = os.path.join(args.out, "admins.json")
    part_json = os.path.join(args.out, "participants.json")
    # Everyone stays connected until the last participant has mounted (and 30 s more); the admins watch
    # the joins for the whole ramp.
    ramp = args.participants / args.rate if args.rate > 0 else 0
    gap = 30  # between motions: 15 s to settle, then 15 s measured
    hold, watch = ramp + 60 + gap * (args.motions - 1), ramp + 15
    admin = subprocess.Popen([LOAD, "--port", str(nodes[-1]["port"]), "--scenario", "convention_admin", "--users",
                              str(args.admins), "--var", f"token={TOKEN}", "--var", f"watch={watch:.0f}", "--quiet",
                              "--json", admin_json])
    time.sleep(2)  # the admins are on their pages before the first participant joins (a benchmark's script)
    cmd = [LOAD, "--port", ",".join(str(n["port"]) for n in nodes), "--scenario", "convention", "--users",
           str(args.participants), "--rate", str(args.rate), "--var", f"hold={hold:.0f}", "--json", part_json,
           "--html", os.path.join(args.out, "participants.html"), "--max-mounting", "500"]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    # From several loopback addresses: past ~60,000 connections from one, the kernel's search for a
    # free port took a core of its own and the last workers stalled.
    cmd += ["--source", ",".join(f"127.0.0.{10 + i}" for i in range(8))]
    if args.nodes == 1:
        cmd += ["--server-pid", str(nodes[0]["proc"].pid)]
    t_start = time.time()
    part = subprocess.Popen(cmd)
    # Motions after the first: one more chair each, which opens its motion a second after it mounted.
    extra = []
    for i in range(1, args.motions):
        at = t_start - 2 + watch + gap * i
        while part.poll() is None and time.time() < at:
            time.sleep(0.2)
        extra.append(subprocess.Popen([LOAD, "--port", str(nodes[-1]["port"]), "--scenario", "convention_admin",
                                       "--users", "1", "--var", f"token={TOKEN}", "--var", "watch=1", "--quiet",
                                       "--json", os.path.join(args.out, f"motion{i + 1}.json")]))
    part.wait()
    admin.wait(timeout=300)
    for e in extra:
        e.wait(timeout=60)
    sampler.stop.set()
    sampler.join()
    for n in nodes:
        n["proc"].send_signal(signal.SIGTERM)
    for n in nodes:
        try:
            n["proc"].wait(timeout=10)
        except subprocess.TimeoutExpired:
            n["proc"].kill()
    with open(os.path.join(args.out, "stats.json"), "w") as f:
        json.dump(sampler.samples, f)

    pj = json.load(open(part_json)) if os.path.exists(part_json) else {}
    aj = json.load(open(admin_json)) if os.path.exists(admin_json) else {}
    steps = {s["name"]: s["histogram"] for s in pj.get("steps", [])}
    vote = [h for name, h in steps.items() if "click vote" in name]
    seen = [s["histogram"] for s in aj.get("steps", []) if "observe" in s["name"]]
    ok_samples = [r for r in sampler.samples if all("error" not in n for n in r["nodes"])]
    peak_sessions, peak_rss, max_hw, bound, chair_hw, chair_bound = 0, 0, 0, 0, 0, 0
    rss_series = []
    for r in ok_samples:
        sessions = sum(n["sessions"]["processes"] for n in r["nodes"])
        rss = sum(n["rss_bytes"] for n in r["nodes"])
        motion = max(n["motion"]["version"] for n in r["nodes"])
        rss_series.append((r["t"], sessions, rss, motion))
        if sessions > peak_sessions:
            peak_sessions, peak_rss = sessions, rss
        for n in r["nodes"]:
            max_hw = max(max_hw, n["mailbox"]["max_high_water"])
            bound = max(bound, n["mailbox"]["capacity"])
            chair_hw = max(chair_hw, n.get("chair", {}).get("max_high_water", 0))
            chair_bound = max(chair_bound, n.get("chair", {}).get("capacity", 0))
    # Flat once ramped: RSS over the samples where at least 95% of the peak sessions are connected.
    growth = rss_growth(rss_series, peak_sessions)
    # The cluster as the nodes saw it: a member seen down, and presence resyncs (whole states).
    formed = next((i for i, r in enumerate(ok_samples)
                   if all(n.get("cluster", {}).get("members_up", 0) == args.nodes - 1 for n in r["nodes"])), None)
    up_min = min((n.get("cluster", {}).get("members_up", 0) for r in ok_samples[formed or 0:] for n in r["nodes"]),
                 default=0) if formed is not None else 0
    last = ok_samples[-1]["nodes"] if ok_samples else []
    csum = {k: sum(n.get("cluster", {}).get(k, 0) for n in last)
            for k in ("resyncs", "full_states_sent", "lane_refused", "lane_dropped")}
    errors = sum(pj.get("errors", {}).values()) + sum(aj.get("errors", {}).values())
    unanswered = sum(1 for r in sampler.samples for n in r["nodes"] if "error" in n)

    mode = "naive" if args.naive else "safe"
    print(f"# convention bench: {args.participants} participants, {args.admins} admins, {args.nodes} node(s), "
          f"{mode}, rate {args.rate}/s, corvid-load workers {args.workers}; {time.time() - t_start:.0f} s")
    rows = [
        ("mount p99 (participants)", f"{pct(pj.get('phases', {}).get('mount'), 'p99'):.1f} ms"),
        ("vote round trip p99", f"{max((pct(h, 'p99') for h in vote), default=0):.1f} ms"),
        ("admin sees a join p50 / p99",
         f"{max((pct(h, 'p50') for h in seen), default=0):.0f} / {max((pct(h, 'p99') for h in seen), default=0):.0f} ms"
         f" ({sum(h.get('count', 0) for h in seen)} sightings)"),
        ("peak sessions (stats)", f"{peak_sessions}"),
        ("memory per session", f"{(peak_rss - rss0) / max(1, peak_sessions) / 1024:.1f} KiB"
                               f" (RSS {rss0 / 2**20:.0f} -> {peak_rss / 2**20:.0f} MiB)"),
        ("largest mailbox / bound (pages and inboxes)", f"{max_hw} / {bound}"),
        ("largest chair mailbox / bound", f"{chair_hw} / {chair_bound}"),
        ("RSS growth while all connected", growth or "n/a"),
        ("cluster: fewest members up seen by a node once formed", f"{up_min} of {args.nodes - 1}" if args.nodes > 1 else "n/a"),
        ("cluster: presence resyncs / whole states / frames refused / lost", " / ".join(str(csum[k]) for k in csum)
         if args.nodes > 1 else "n/a"),
        ("errors (participants + admins)", f"{errors} {dict(pj.get('errors', {}), **aj.get('errors', {}))}"),
        ("stats requests unanswered in 2 s", f"{unanswered}"),
    ]
    print("| figure | value |\n| --- | --- |")
    for k, v in rows:
        print(f"| {k} | {v} |")
    return 0 if part.returncode == 0 and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
