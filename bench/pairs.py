#!/usr/bin/env python3
"""pairs.py - times two commands in turn, pair by pair (bench/cli.sh).

    bench/pairs.py [-n RUNS] [--warmup N] [--out FILE] -- CMD_A... --vs CMD_B...

Runs A and B alternately (A B A B ...), RUNS times each after N warm-up
pairs that are not counted, each as a whole process with its stdout and
stderr to /dev/null (or to --out FILE: A's output of the last run, to
check it). Wall time is a monotonic clock around the child; user, system
and peak RSS are the kernel's accounting of the finished child (wait4).
The ratio A/B is taken pair by pair, so the machine drifting during the
run moves both sides alike. Prints min, median and max of each figure;
quote the median.

Public tools only (python3), so anyone can run it.
"""
import os
import resource
import statistics
import subprocess
import sys
import time


def run_once(argv, out):
    """One run of argv: (wall s, cpu s, peak RSS KiB, exit status)."""
    sink = open(out, "wb") if out else subprocess.DEVNULL
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sink,
                         stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if out:
        sink.close()
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, p.returncode


def row(name, values, unit, fmt):
    v = sorted(values)
    print(f"  {name:<14} {fmt.format(v[0])} {fmt.format(statistics.median(v))}"
          f" {fmt.format(v[-1])} {unit}")


def main():
    args = sys.argv[1:]
    runs, warmup, out = 10, 1, None
    while args and args[0] != "--":
        if args[0] == "-n":
            runs = int(args[1])
        elif args[0] == "--warmup":
            warmup = int(args[1])
        elif args[0] == "--out":
            out = args[1]
        else:
            sys.exit(f"pairs.py: unknown option {args[0]}")
        args = args[2:]
    if not args or "--vs" not in args:
        sys.exit(__doc__)
    cut = args.index("--vs")
    a, b = args[1:cut], args[cut + 1:]
    fig = {"A": [], "B": []}
    codes = {"A": set(), "B": set()}
    for i in range(warmup + runs):
        for side, argv in (("A", a), ("B", b)):
            r = run_once(argv, out if side == "A" else None)
            codes[side].add(r[3])
            if i >= warmup:
                fig[side].append(r)
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {runs} pairs after {warmup} warm-up; min / median / max "
          f"(a peak RSS cannot read below this script's own, {floor:.1f} MiB:"
          f" a child is forked from it before its exec)")
    for side, argv in (("A", a), ("B", b)):
        f = fig[side]
        print(f"  {side}: {' '.join(argv)[:100]}  (exit {sorted(codes[side])})")
        row("wall", [x[0] * 1000 for x in f], "ms", "{:9.1f}")
        row("cpu", [x[1] * 1000 for x in f], "ms", "{:9.1f}")
        row("peak RSS", [x[2] / 1024 for x in f], "MiB", "{:9.1f}")
    ratios = [x[0] / y[0] for x, y in zip(fig["A"], fig["B"])]
    row("A/B wall", ratios, "", "{:9.3f}")
    cpu = [(x[1], y[1]) for x, y in zip(fig["A"], fig["B"]) if y[1] > 0]
    if cpu:
        row("A/B cpu", [x / y for x, y in cpu], "", "{:9.3f}")


if __name__ == "__main__":
    main()
