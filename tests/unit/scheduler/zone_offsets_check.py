#!/usr/bin/python3
"""Zone offsets of our TimeZone against Python's zoneinfo, for every zone.

Hinnant date 3.0.1 ignores the POSIX rule string at the end of TZif files, so
on its own it loses DST after a file's last explicit transition (2037 in
Debian's files). TimeZone applies that footer itself; zoneinfo applies it
too. This check compares, for every zone both know, the UTC offset changes
between --from-year and --to-year (default 1970..2100, which spans the 2037
seam), and fails on any difference.

Three checks per zone:
  * every offset change we report is one in zoneinfo (same instant, same
    offset before and after);
  * between two of our changes zoneinfo has our offset (at the midpoint);
  * every change a weekly zoneinfo scan finds (refined by bisection) is one
    of ours.
"""

import argparse
import subprocess
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, available_timezones

UTC = timezone.utc
WEEK = 7 * 86400


def offset(zone, t):
    return int(datetime.fromtimestamp(t, zone).utcoffset().total_seconds())


def zoneinfo_changes(name, start, end):
    z = ZoneInfo(name)
    changes = []
    t = start
    cur = offset(z, t)
    while t < end:
        t2 = min(t + WEEK, end)
        o2 = offset(z, t2)
        if o2 != cur:
            lo, hi = t, t2
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(z, mid) == cur:
                    lo = mid
                else:
                    hi = mid
            changes.append((hi, offset(z, hi)))
            cur = offset(z, hi)
            t = hi
        else:
            t = t2
    return offset(z, start), changes


def iso(t):
    return datetime.fromtimestamp(t, UTC).isoformat()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", required=True)
    ap.add_argument("--from-year", type=int, default=1970)
    ap.add_argument("--to-year", type=int, default=2100)
    args = ap.parse_args()
    start = int(datetime(args.from_year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(args.to_year, 1, 1, tzinfo=UTC).timestamp())

    began = time.time()
    names = sorted(n for n in available_timezones() if n not in ("Factory", "localtime", "posixrules"))
    requests = "".join("periods\t%s\t%d\t%d\n" % (n, start, end) for n in names)
    out = subprocess.run([args.probe, "--batch"], input=requests, capture_output=True, text=True, check=True)
    answers = out.stdout.splitlines()
    assert len(answers) == len(names)

    failures = []
    changes_checked = 0
    dst_zones = 0
    for name, answer in zip(names, answers):
        if not answer.startswith("ok"):
            failures.append("%s: %s" % (name, answer))
            continue
        periods = [tuple(int(x) for x in p.split(":")) for p in answer.split()[1:]]
        ours_first = periods[0][1]
        ours = []
        cur = ours_first
        for begin, off in periods[1:]:
            if off != cur:
                ours.append((begin, off))
                cur = off
        z = ZoneInfo(name)
        problems = []
        if offset(z, start) != ours_first:
            problems.append("offset at start: ours %d, zoneinfo %d" % (ours_first, offset(z, start)))
        prev = ours_first
        bounds = [start] + [t for t, _ in ours] + [end]
        offsets = [ours_first] + [o for _, o in ours]
        for (t, o) in ours:
            if offset(z, t) != o or offset(z, t - 1) != prev:
                problems.append("change at %s to %d not in zoneinfo (%d -> %d)" % (
                    iso(t), o, offset(z, t - 1), offset(z, t)))
            prev = o
        for k, o in enumerate(offsets):
            mid = (bounds[k] + bounds[k + 1]) // 2
            if offset(z, mid) != o:
                problems.append("at %s ours %d, zoneinfo %d" % (iso(mid), o, offset(z, mid)))
        _, theirs = zoneinfo_changes(name, start, end)
        missing = [c for c in theirs if c not in ours]
        if missing:
            problems.append("zoneinfo changes we lack: %s" % [(iso(t), o) for t, o in missing[:3]])
        if ours:
            dst_zones += 1
        changes_checked += len(ours)
        if problems:
            failures.append("%s: %s" % (name, "; ".join(problems[:3])))

    print("zones compared: %d (%d with offset changes), %d..%d; offset changes compared: %d; %.1f s" % (
        len(names), dst_zones, args.from_year, args.to_year, changes_checked, time.time() - began))
    if failures:
        print("%d MISMATCHES:" % len(failures))
        for f in failures[:30]:
            print("  " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
