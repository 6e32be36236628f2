#!/usr/bin/python3
"""Differential test: our cron next-run sequences against python3-croniter.

Run by ctest (label "unit") with /usr/bin/python3, which has Debian's
python3-croniter 1.3.5. For seeded random cron expressions and start
instants, in UTC and in DST zones, it compares three things:

  ours      scheduler_probe (the C++ engine), next runs chained from the start
  model     an independent Python model of our documented rules (below)
  croniter  croniter(expr, aware start).get_next() at every step

ours must equal model at every step: any difference fails the test.

ours may differ from croniter only where croniter is known to differ from our
documented behaviour (docs/schedules.md, "Differences from croniter"). Each
such step is recognised by a precise check on the two results and counted by
kind; a difference that no check explains fails the test. The kinds:

  dom-dow-full-range   day-of-month or day-of-week is not "*" but covers its
                       whole range ("1-31", "*/1", "0-6"): croniter treats it
                       as "*" (AND), we as restricted (OR = every day). Such
                       cases are compared against croniter on the equivalent
                       expression with both day fields "*".
  gap-nonexistent      croniter returned the instant of a wall time that does
                       not exist (it converted the skipped wall time with the
                       offset before the change); we ran at the change instant.
  gap-skipped          a fixed-time entry's wall time fell into a gap: we ran
                       at the change instant, croniter ran later.
  fold-second-pass     croniter ran a fixed-time entry again on the second pass
                       of a repeated hour; we run it on the first pass only.
  fold-dropped-pass    an every-hour entry's wall time came round twice: we
                       ran on the second pass, croniter skipped it.
  croniter-wrong-wall  croniter's result, read in the zone, does not match the
                       expression at all (its DST "lag" correction shifts
                       results by the DST delta near changes).
  croniter-missed-run  croniter skipped a valid, unambiguous matching instant
                       that lies between the start and its result (near DST
                       changes, and in UTC around short months).
  croniter-not-later   croniter returned an instant not later than the start
                       (seen in folds).
  rejected-never-fires we reject expressions that can never fire ("0 0 31 2 *");
                       croniter accepts them (and searches 50 years).

Exit status 0 when everything is explained; the summary goes to stdout.
"""

import argparse
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

UTC = timezone.utc
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
FIELDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
MACROS = {
    "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
}
MAX_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


# ---------------------------------------------------------------------------
# Expression generator (the subset both dialects accept)

def gen_value(rng, idx):
    lo, hi = FIELDS[idx]
    if idx == 4:
        hi = 7
    v = rng.randint(lo, hi)
    if idx == 3 and rng.random() < 0.3:
        return MONTHS[v - 1].upper() if rng.random() < 0.3 else MONTHS[v - 1]
    if idx == 4 and v < 7 and rng.random() < 0.3:
        return DAYS[v].capitalize() if rng.random() < 0.3 else DAYS[v]
    return str(v)


def gen_item(rng, idx):
    lo, hi = FIELDS[idx]
    span = hi - lo + 1
    r = rng.random()
    if r < 0.25:
        return "*/%d" % rng.choice([n for n in (1, 2, 3, 4, 5, 6, 7, 10, 12, 15, 20, 30, span // 2) if 1 <= n <= span])
    if r < 0.5:
        return gen_value(rng, idx)
    a, b = sorted(rng.sample(range(lo, hi + 1), 2))
    if idx == 4 and rng.random() < 0.15:
        return "fri-sun"
    item = "%d-%d" % (a, b)
    if idx == 3 and rng.random() < 0.3:
        item = "%s-%s" % (MONTHS[a - 1], MONTHS[b - 1])
    if rng.random() < 0.3:
        item += "/%d" % rng.randint(1, max(1, (b - a) // 2 + 1))
    elif rng.random() < 0.1:
        item = "%d/%d" % (a, rng.randint(1, min(10, span)))
    return item


def gen_field(rng, idx, star_bias):
    if rng.random() < star_bias:
        return "*"
    if idx == 1 and rng.random() < 0.3:  # hours around DST changes
        return rng.choice(["2", "1-3", "0,2,3", "2/6", "*/2", "1", "3"])
    if idx == 2 and rng.random() < 0.1:
        return rng.choice(["1-31", "*/1", "29", "30", "31"])
    if idx == 4 and rng.random() < 0.1:
        return rng.choice(["0-6", "*/1", "0-7", "sun-sat"])
    items = [gen_item(rng, idx) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    return ",".join(items)


def gen_expr(rng):
    if rng.random() < 0.01:  # can never fire: we refuse these
        return "%d %d %s %s *" % (rng.randint(0, 59), rng.randint(0, 23), rng.choice(["30", "31", "30,31"]),
                                  rng.choice(["2", "feb", "4,6", "9,11", "2,4"]))
    if rng.random() < 0.05:
        m = rng.choice(list(MACROS))
        return m.upper() if rng.random() < 0.2 else m
    bias = [0.15, 0.35, 0.7, 0.8, 0.7]
    return " ".join(gen_field(rng, k, bias[k]) for k in range(5))


# ---------------------------------------------------------------------------
# Independent model of our documented semantics

def expand_field(text, idx):
    lo, hi = FIELDS[idx]
    names = MONTHS if idx == 3 else DAYS if idx == 4 else None
    out = set()

    def value(tok):
        tok = tok.lower()
        if names and tok in names:
            return names.index(tok) + (1 if idx == 3 else 0)
        return int(tok)

    for item in text.split(","):
        step = 1
        has_step = "/" in item
        if has_step:
            item, s = item.split("/")
            step = int(s)
        if item == "*":
            a, b = lo, hi
        elif "-" in item:
            x, y = item.split("-")
            a, b = value(x), value(y)
            if idx == 4 and b == 0 and a > 0:
                b = 7
        else:
            a = value(item)
            b = hi if has_step else a
        out.update(range(a, b + 1, step))
    if idx == 4 and 7 in out:
        out.discard(7)
        out.add(0)
    return out


class Model:
    def __init__(self, expr, zone):
        text = MACROS.get(expr.strip().lower(), expr)
        parts = text.split()
        self.sets = [expand_field(p, k) for k, p in enumerate(parts)]
        self.dom_restricted = parts[2] != "*"
        self.dow_restricted = parts[4] != "*"
        self.every_hour = len(self.sets[1]) == 24
        self.zone = ZoneInfo(zone)
        self.minutes = sorted(self.sets[0])
        self.hours = sorted(self.sets[1])

    def never_fires(self):
        if not (self.dom_restricted and not self.dow_restricted):
            return False
        return not any(d <= MAX_DAYS[m] for m in self.sets[3] for d in self.sets[2])

    def day_matches(self, d):
        if d.month not in self.sets[3]:
            return False
        dom = d.day in self.sets[2]
        dow = (d.isoweekday() % 7) in self.sets[4]
        if self.dom_restricted and self.dow_restricted:
            return dom or dow
        return dom and dow

    def matches_wall(self, w):
        return (w.second == 0 and self.day_matches(w.date()) and w.hour in self.sets[1]
                and w.minute in self.sets[0])

    def instants(self, wall):
        """Firing instants (epoch seconds) of one matching naive wall time."""
        u0 = int(wall.replace(tzinfo=self.zone, fold=0).timestamp())
        u1 = int(wall.replace(tzinfo=self.zone, fold=1).timestamp())
        if u0 == u1:
            return [u0]
        if u0 < u1:  # fold: u0 first pass, u1 second pass
            return [u0, u1] if self.every_hour else [u0]
        # gap: the change happens in (u1, u0]
        if self.every_hour:
            return []
        return [transition_in(self.zone, u1, u0)]

    def next_after(self, after):
        start = datetime.fromtimestamp(after, self.zone).replace(tzinfo=None).date() - timedelta(days=1)
        best = None
        day = start
        limit = start + timedelta(days=366 * 11)
        found_day = None
        while day < limit:
            if self.day_matches(day):
                midnight = datetime(day.year, day.month, day.day)
                steady = (midnight.replace(tzinfo=self.zone).utcoffset() ==
                          (midnight + timedelta(days=1)).replace(tzinfo=self.zone).utcoffset())
                for h in self.hours:
                    for m in self.minutes:
                        for t in self.instants(midnight.replace(hour=h, minute=m)):
                            if t > after and (best is None or t < best):
                                best = t
                        if steady and best is not None:
                            break  # no offset change today: instants follow wall order
                    if steady and best is not None:
                        break
                if best is not None and found_day is None:
                    found_day = day
            if found_day is not None and day > found_day:
                return best
            day += timedelta(days=1)
        return best


def transition_in(zone, lo, hi):
    """The first instant in (lo, hi] whose UTC offset differs from lo's."""
    off = datetime.fromtimestamp(lo, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == off:
            lo = mid
        else:
            hi = mid
    return hi


def wall_of(t, zone):
    return datetime.fromtimestamp(t, zone)


# ---------------------------------------------------------------------------
# croniter side

def croniter_restricted(field_text, idx):
    """croniter treats a day field as '*' when it expands to the whole range."""
    values = expand_field(field_text, idx)
    full = 31 if idx == 2 else 7
    return len(values) != full


def croniter_next(expr, zone, after):
    tz = UTC if zone == "UTC" else ZoneInfo(zone)
    start = datetime.fromtimestamp(after, tz)
    try:
        return int(croniter(expr, start).get_next(float))
    except Exception as e:  # pragma: no cover - reported as a mismatch
        return "exception: %r" % (e,)


def classify(model, zone, after, ours, theirs):
    """Why croniter's `theirs` differs from our `ours` (both after `after`), or None."""
    z = model.zone
    if not isinstance(theirs, int):
        return None
    if theirs <= after:
        return "croniter-not-later"
    # croniter converted a nonexistent wall time with the offset before the change.
    before = datetime.fromtimestamp(theirs - 7200, z).utcoffset()
    naive = (datetime.fromtimestamp(theirs, UTC) + before).replace(tzinfo=None)
    u0 = int(naive.replace(tzinfo=z, fold=0).timestamp())
    u1 = int(naive.replace(tzinfo=z, fold=1).timestamp())
    if u0 > u1 and model.matches_wall(naive):
        if ours <= theirs:
            return "gap-nonexistent"
    wall_theirs = wall_of(theirs, z)
    if not model.matches_wall(wall_theirs.replace(tzinfo=None)):
        return "croniter-wrong-wall"
    naive_t = wall_theirs.replace(tzinfo=None)
    f0 = int(naive_t.replace(tzinfo=z, fold=0).timestamp())
    f1 = int(naive_t.replace(tzinfo=z, fold=1).timestamp())
    if f0 < f1 and theirs == f1 and not model.every_hour and ours > theirs:
        return "fold-second-pass"
    if theirs > ours:
        naive_o = wall_of(ours, z).replace(tzinfo=None)
        g0 = int(naive_o.replace(tzinfo=z, fold=0).timestamp())
        g1 = int(naive_o.replace(tzinfo=z, fold=1).timestamp())
        if g0 < g1 and ours == g1 and model.every_hour and model.matches_wall(naive_o):
            return "fold-dropped-pass"
        # ours is a change instant standing in for a skipped matching wall time
        prev_off = datetime.fromtimestamp(ours - 1, z).utcoffset()
        new_off = datetime.fromtimestamp(ours, z).utcoffset()
        if new_off > prev_off and not model.every_hour:
            w = (datetime.fromtimestamp(ours, UTC) + prev_off).replace(tzinfo=None)
            end = (datetime.fromtimestamp(ours, UTC) + new_off).replace(tzinfo=None)
            while w < end:
                if model.matches_wall(w):
                    return "gap-skipped"
                w += timedelta(minutes=1)
        if g0 == g1 and model.matches_wall(naive_o) and after < ours < theirs:
            return "croniter-missed-run"
    return None


# ---------------------------------------------------------------------------

def transitions(zone, year0, year1):
    z = ZoneInfo(zone)
    out = []
    t = int(datetime(year0, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year1, 1, 1, tzinfo=UTC).timestamp())
    off = datetime.fromtimestamp(t, z).utcoffset()
    while t < end:
        t2 = t + 6 * 3600
        o2 = datetime.fromtimestamp(t2, z).utcoffset()
        if o2 != off:
            out.append(transition_in(z, t, t2))
            off = o2
        t = t2
    return out


def bump(counts, kind, zone):
    per_zone = counts.setdefault(kind, {})
    per_zone[zone] = per_zone.get(zone, 0) + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", required=True)
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    lo = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())
    hi = int(datetime(2045, 1, 1, tzinfo=UTC).timestamp())
    near = {z: transitions(z, 2020, 2045) for z in ZONES if z != "UTC"}

    cases = []
    for k in range(args.cases):
        zone = ZONES[k % len(ZONES)]
        expr = gen_expr(rng)
        if zone != "UTC" and rng.random() < 0.5:
            start = rng.choice(near[zone]) + rng.randint(-36 * 3600, 36 * 3600)
        else:
            start = rng.randint(lo, hi)
        cases.append((expr, zone, start))

    began = time.time()
    requests = "".join("next\t%s\t%d\t%d\t%s\n" % (z, s, args.steps, e) for e, z, s in cases)
    out = subprocess.run([args.probe, "--batch"], input=requests, capture_output=True, text=True, check=True)
    answers = out.stdout.splitlines()
    assert len(answers) == len(cases), "probe answered %d of %d" % (len(answers), len(cases))

    counts = {}
    failures = []
    compared = 0
    agreed = 0
    model_agreed = 0
    for (expr, zone, start), answer in zip(cases, answers):
        model = Model(expr, zone)
        if model.never_fires():
            if answer.startswith("err") and "never fires" in answer:
                bump(counts, "rejected-never-fires", zone)
            else:
                failures.append("%r %s: expected rejection (never fires), got %s" % (expr, zone, answer))
            continue
        if not answer.startswith("ok "):
            failures.append("%r %s %d: probe said %s" % (expr, zone, start, answer))
            continue
        ours_seq = [int(x) for x in answer.split()[1:]]
        if len(ours_seq) != args.steps:
            failures.append("%r %s %d: short answer %s" % (expr, zone, start, answer))
            continue

        cron_expr = expr
        parts = MACROS.get(expr.strip().lower(), expr).split()
        if (parts[2] != "*" and parts[4] != "*") and not (croniter_restricted(parts[2], 2) and croniter_restricted(parts[4], 4)):
            # We OR the day fields, croniter ANDs them; with one covering all
            # days the OR is every day, i.e. both fields "*".
            bump(counts, "dom-dow-full-range", zone)
            cron_expr = " ".join(parts[:2] + ["*", parts[3], "*"])

        after = start
        for ours in ours_seq:
            compared += 1
            expect = model.next_after(after)
            if ours != expect:
                failures.append("%r %s after %s: ours %s, model %s" % (
                    expr, zone, datetime.fromtimestamp(after, UTC).isoformat(),
                    datetime.fromtimestamp(ours, UTC).isoformat(),
                    expect and datetime.fromtimestamp(expect, UTC).isoformat()))
                break
            model_agreed += 1
            theirs = croniter_next(cron_expr, zone, after)
            if theirs == ours:
                agreed += 1
            else:
                kind = classify(model, zone, after, ours, theirs)
                if kind is None:
                    failures.append("%r %s after %s: ours %s, croniter %s (unexplained)" % (
                        expr, zone, datetime.fromtimestamp(after, UTC).isoformat(),
                        datetime.fromtimestamp(ours, UTC).isoformat(),
                        theirs if not isinstance(theirs, int) else datetime.fromtimestamp(theirs, UTC).isoformat()))
                    break
                bump(counts, kind, zone)
                if args.verbose:
                    print("%-20s %r %s after %s: ours %s croniter %s" % (
                        kind, expr, zone, datetime.fromtimestamp(after, UTC).isoformat(),
                        datetime.fromtimestamp(ours, UTC).isoformat(),
                        datetime.fromtimestamp(theirs, UTC).isoformat()))
            after = ours

    elapsed = time.time() - began
    print("cases: %d (%s), seed %d, %d steps each" % (len(cases), ", ".join(ZONES), args.seed, args.steps))
    print("next-run steps compared: %d; ours == model: %d; ours == croniter: %d" % (
        compared, model_agreed, agreed))
    print("deliberate differences by kind (steps; dom-dow-full-range and rejected-never-fires count cases):")
    print("  %-22s %7s  %s" % ("kind", "total", "  ".join("%s" % z for z in ZONES)))
    for kind in sorted(counts):
        per_zone = counts[kind]
        print("  %-22s %7d  %s" % (kind, sum(per_zone.values()),
                                   "  ".join("%*d" % (len(z), per_zone.get(z, 0)) for z in ZONES)))
    print("elapsed: %.1f s" % elapsed)
    if failures:
        print("\n%d UNEXPLAINED:" % len(failures))
        for f in failures[:40]:
            print("  " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
