#!/usr/bin/env python3
"""Runs `casegrid bench --json` of two builds in turn and prints medians.

    scripts/bench_compare.py OLD_BINARY NEW_BINARY [--runs 5] [--cases 20000]

On a shared machine wall-clock figures swing between runs; alternating the
two binaries and comparing medians holds better. Per run it reports the CPU
time of the whole bench process (getrusage of the child: user + system),
the bytes it wrote (ru_oublock, 512-byte blocks), and the bench's own
figures. docs/PERFORMANCE.md quotes its output.
"""
import argparse
import json
import resource
import statistics
import subprocess


def run_once(binary, cases):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([binary, "bench", "--cases", str(cases), "--json"],
                         capture_output=True, text=True, cwd="/tmp", check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads(out.stdout)
    figures = {f["name"]: f for f in report["figures"]}
    events = report["journal_events"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "cpu_us_per_event": cpu * 1e6 / events,
        "bytes_written_per_event": (after.ru_oublock - before.ru_oublock) * 512 / events,
        "e2e_fsync_events_per_s": figures["events/s end to end, fsync per batch"]["casegrid"],
        "e2e_sync_off_events_per_s": figures["events/s end to end, sync off"]["casegrid"],
        "rebuild_ratio": figures["projection rebuild"]["ratio"],
        "replay_p50_us": report["replay_one_case_micros"]["p50"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cases", type=int, default=20000)
    args = parser.parse_args()
    rows = {"old": [], "new": []}
    for i in range(args.runs):
        for name, binary in (("old", args.old), ("new", args.new)):
            row = run_once(binary, args.cases)
            rows[name].append(row)
            print(f"run {i + 1} {name}: " + ", ".join(f"{k} {v:.4g}" for k, v in row.items()),
                  flush=True)
    print(f"\nmedians of {args.runs} alternating runs, {args.cases} case lifecycles each")
    print(f"{'figure':28} {'old':>12} {'new':>12} {'new/old':>8}")
    for key in rows["old"][0]:
        old = statistics.median(r[key] for r in rows["old"])
        new = statistics.median(r[key] for r in rows["new"])
        print(f"{key:28} {old:12.4g} {new:12.4g} {new / old:8.3f}")


if __name__ == "__main__":
    main()
