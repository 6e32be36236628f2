// scheduler_fuzz: seeded random inputs for every parser of the schedule
// engine, and next-run / catch-up computation for the inputs that parse.
//
//   scheduler_fuzz [--iterations N] [--seed S] [--max-call-ms M]
//
// ctest runs 100,000 inputs (label "unit"); for a long run:
//   build-sched/tests/fuzz/scheduler_fuzz --iterations 1000000 --seed 1
//
// Inputs are grammar-aware mutations of valid specs (character edits from
// the grammar's alphabet, boundary numbers, splices of two seeds, field
// swaps, case flips, truncation) and plain random bytes. Checked for every
// input: no exception escapes; errors are one line of bounded length; what
// parses round-trips through its canonical text; every next run is strictly
// later than its input and within range; catch-up agrees with next-run; no
// single call takes longer than --max-call-ms (default 250). Exit status 1
// on the first violation, with the input that caused it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/cron_expr.h"
#include "scheduler/instant.h"
#include "scheduler/interval.h"
#include "scheduler/level_spec.h"
#include "scheduler/schedule.h"
#include "scheduler/start_time.h"
#include "scheduler/time_zone.h"

namespace ms = mirror_snapshot::scheduler;

namespace {

const std::vector<std::string> kLevelSeeds = {"", "rbd/", "rbd/ns/", "rbd//", "rbd/img", "rbd//img", "rbd/ns/img",
                                              "pool-1/tenant_a/vm disk", "a/b/c/d", "rbd/img@snap"};
const std::vector<std::string> kIntervalSeeds = {"1", "5m", "90", "1h", "24h", "1d", "1440m", "3650d", "0m",
                                                 "1h30m", "7d", "5256000", "-1m", "1.5h"};
const std::vector<std::string> kStartSeeds = {"14:00", "14:00:00", "14:00Z", "14:00-05:00", "14:00:00+01:00",
                                              "00:30+0530", "23:59:59-12:00", "2026-12-01T14:00:00+01:00",
                                              "2026-12-01 14:00", "2024-02-29T00:00Z", "9999-12-31T23:59:59Z",
                                              "1970-01-01T00:00Z"};
const std::vector<std::string> kCronSeeds = {
    "* * * * *", "0 * * * *", "30 2 * * *", "*/15 * * * *", "0 0 1 * *", "0 0 * * 0", "0 0 * * 7",
    "5-10/2 1-3 * * *", "0 9 * * mon-fri", "0 0 13 * fri", "0 0 29 2 *", "0 0 1 jan,jul *", "@hourly", "@daily",
    "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "10/20 */2 1-31 * *", "0 0 * * fri-sun",
    "59 23 31 12 *", "0 0 */2 * 1", "0 0 31 2 *", "0 0 L * *", "0 0 * * 5#2"};
const std::vector<std::string> kZoneSeeds = {
    "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Australia/Sydney", "America/Santiago",
    "Pacific/Chatham", "Asia/Kathmandu", "Asia/Gaza", "Europe/Dublin", "America/Nuuk", "Africa/Casablanca",
    "Pacific/Apia", "Pacific/Kiritimati", "America/St_Johns", "Asia/Tehran", "Etc/GMT+12", "Etc/GMT-14",
    "US/Eastern", "Antarctica/Troll", "Europe/Berln", "", "localtime"};

const std::string kAlphabet = "0123456789*/-,@ :TtZz+.LW#?HhjanfebmrpyulgsoctvdwiJANMONSUNFRI\t/_";
const char* const kNumbers[] = {"0", "1", "2", "7", "12", "13", "23", "24", "29", "30", "31", "59", "60",
                                "99", "3650", "5256001", "4294967296", "99999999999999999999"};

class Fuzzer {
 public:
  Fuzzer(std::uint64_t seed, double max_call_ms) : rng_(seed), max_call_ms_(max_call_ms) {}

  bool run(long long iterations) {
    // Loading the zone database and each zone file happens once per process;
    // do it up front so the per-call bound measures computation only.
    for (const auto& name : kZoneSeeds) {
      if (auto z = ms::TimeZone::Locate(name); z.ok()) {
        (void)z.value().PeriodAt(ms::kEarliestInstant);
        (void)z.value().PeriodAt(ms::kLatestInstant);
      }
    }
    for (long long k = 0; k < iterations; ++k) {
      if (!one()) return false;
    }
    return true;
  }

  long long valid_levels() const { return valid_levels_; }
  long long valid_schedules() const { return valid_schedules_; }
  long long next_runs() const { return next_runs_; }
  double slowest_ms() const { return slowest_ms_; }

 private:
  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
  const std::string& from(const std::vector<std::string>& v) { return v[pick(v.size())]; }

  std::string random_bytes() {
    std::size_t len = pick(8) == 0 ? pick(5000) : pick(40);
    std::string s(len, '\0');
    for (char& c : s) c = static_cast<char>(rng_() & 0xff);
    return s;
  }

  std::string mutate(std::string s) {
    int edits = 1 + static_cast<int>(pick(4));
    for (int e = 0; e < edits; ++e) {
      std::size_t pos = s.empty() ? 0 : pick(s.size() + 1);
      switch (pick(9)) {
        case 0: s.insert(pos, 1, kAlphabet[pick(kAlphabet.size())]); break;
        case 1: if (!s.empty() && pos < s.size()) s.erase(pos, 1 + pick(3)); break;
        case 2: if (!s.empty() && pos < s.size()) s[pos] = kAlphabet[pick(kAlphabet.size())]; break;
        case 3: s.insert(pos, kNumbers[pick(std::size(kNumbers))]); break;
        case 4: if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(rng_() & 0xff); break;
        case 5: s = s.substr(0, pos); break;
        case 6: if (!s.empty()) s += s.substr(pick(s.size())); break;
        case 7:
          for (char& c : s)
            if (pick(3) == 0) c = static_cast<char>((c >= 'a' && c <= 'z') ? c - 32 : (c >= 'A' && c <= 'Z') ? c + 32 : c);
          break;
        default: {
          // Swap two whitespace-separated fields (cron) or glue on another seed.
          std::size_t a = s.find(' '), b = s.rfind(' ');
          if (a != std::string::npos && b != a) s = s.substr(b + 1) + s.substr(a, b - a + 1) + s.substr(0, a);
          else s += from(kCronSeeds);
        }
      }
    }
    return s;
  }

  std::string input(const std::vector<std::string>& seeds) {
    switch (pick(10)) {
      case 0: return random_bytes();
      case 1: case 2: case 3: return from(seeds);
      case 4: return mutate(from(seeds) + from(seeds));
      default: return mutate(from(seeds));
    }
  }

  ms::Instant random_instant() {
    switch (pick(6)) {
      case 0: return ms::kEarliestInstant + std::chrono::seconds{static_cast<long long>(pick(100000))};
      case 1: return ms::kLatestInstant - std::chrono::seconds{static_cast<long long>(pick(400 * 86400))};
      case 2: return ms::Instant{std::chrono::seconds{static_cast<long long>(rng_() % 2000000000000ULL) - 1000000000000LL}};
      default: return ms::Instant{std::chrono::seconds{1577836800 + static_cast<long long>(pick(2524608000ULL))}};
    }
  }

  bool fail(const std::string& what, std::string_view in) {
    std::string shown;
    for (unsigned char c : in) {
      char buf[8];
      if (c < 0x20 || c >= 0x7f) std::snprintf(buf, sizeof buf, "\\x%02x", c);
      else std::snprintf(buf, sizeof buf, "%c", c);
      shown += buf;
    }
    std::fprintf(stderr, "FAIL: %s\n  input: \"%s\"\n", what.c_str(), shown.c_str());
    return false;
  }

  template <typename T>
  bool check_error(const ms::Result<T>& r, std::string_view in) {
    if (r.ok()) return true;
    const std::string& e = r.status().message();
    if (e.empty() || e.find('\n') != std::string::npos || e.size() > 600) return fail("bad error text: " + e, in);
    return true;
  }

  template <typename F>
  double timed(F&& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (ms > slowest_ms_) slowest_ms_ = ms;
    return ms;
  }

  bool check_schedule(const ms::Schedule& s, std::string_view in) {
    // Canonical parts round-trip.
    auto again = ms::Schedule::Parse(s.expression(), s.start_time(), s.time_zone());
    if (!again.ok() || !(again.value() == s)) return fail("schedule does not round-trip: " + s.canonical(), in);
    for (int k = 0; k < 4; ++k) {
      ms::Instant t = random_instant();
      if (k == 3 && s.time_zone() != "" && s.time_zone() != "UTC") {
        auto z = ms::TimeZone::Locate(s.time_zone());
        if (z.ok() && ms::InSupportedRange(t)) {
          auto p = z.value().PeriodAt(t);
          if (p.end < ms::kLatestInstant) t = p.end - std::chrono::seconds{static_cast<long long>(pick(7200))};
        }
      }
      ms::Result<ms::Instant> next = ms::BadInput{""};
      double took = timed([&] { next = s.NextRunAfter(t); });
      if (took > max_call_ms_) return fail("NextRunAfter took " + std::to_string(took) + " ms", in);
      if (!check_error(next, in)) return false;
      ++next_runs_;
      if (!ms::InSupportedRange(t)) {
        if (next.ok()) return fail("next run for an out-of-range instant", in);
        continue;
      }
      if (next.ok()) {
        if (next.value() <= t) return fail("next run " + ms::FormatInstant(next.value()) + " not after " + ms::FormatInstant(t), in);
        if (next.value() > ms::kLatestInstant) return fail("next run out of range", in);
        // Catch-up agrees: a run fell in (t, next] exactly at next.
        auto c = s.PlanCatchUp(t, next.value());
        if (c.ok() && !c.value().run_now) return fail("PlanCatchUp missed the run at " + ms::FormatInstant(next.value()), in);
        if (next.value() > t + std::chrono::seconds{1}) {
          auto c2 = s.PlanCatchUp(t, next.value() - std::chrono::seconds{1});
          if (c2.ok() && c2.value().run_now) return fail("PlanCatchUp saw a run before " + ms::FormatInstant(next.value()), in);
        }
      } else if (t < ms::kLatestInstant - std::chrono::hours{24 * 366 * 11}) {
        return fail("no next run at " + ms::FormatInstant(t) + ": " + next.status().message(), in);
      }
    }
    return true;
  }

  bool one() {
    std::string level = input(kLevelSeeds), interval = input(kIntervalSeeds), start = input(kStartSeeds),
                cron = input(kCronSeeds), zone = input(kZoneSeeds);
    try {
      auto l = ms::ParseLevelSpec(level);
      if (!check_error(l, level)) return false;
      if (l.ok()) {
        ++valid_levels_;
        auto again = ms::ParseLevelSpec(l.value().ToString());
        if (!again.ok() || !(again.value() == l.value())) return fail("level spec does not round-trip", level);
      }
      auto i = ms::Interval::Parse(interval);
      if (!check_error(i, interval)) return false;
      if (i.ok() && !(ms::Interval::Parse(i.value().ToString()).value() == i.value()))
        return fail("interval does not round-trip", interval);
      auto st = ms::StartTime::Parse(start);
      if (!check_error(st, start)) return false;
      if (st.ok() && !(ms::StartTime::Parse(st.value().ToString()).value() == st.value()))
        return fail("start time does not round-trip", start);
      auto inst = ms::ParseInstant(start);
      if (!check_error(inst, start)) return false;
      if (inst.ok() && ms::ParseInstant(ms::FormatInstant(inst.value())).value() != inst.value())
        return fail("instant does not round-trip", start);
      ms::Result<ms::CronExpr> c = ms::BadInput{""};
      double took = timed([&] { c = ms::CronExpr::Parse(cron); });
      if (took > max_call_ms_) return fail("cron parse took " + std::to_string(took) + " ms", cron);
      if (!check_error(c, cron)) return false;
      if (c.ok() && !(ms::CronExpr::Parse(c.value().ToString()).value() == c.value()))
        return fail("cron does not round-trip", cron);
      auto z = ms::TimeZone::Locate(zone);
      if (!check_error(z, zone)) return false;

      // Whole schedules: interval (+ start) and cron (+ zone), valid or not.
      auto a = ms::Schedule::Parse(interval, pick(2) ? start : "", "");
      if (!check_error(a, interval + " | " + start)) return false;
      if (a.ok()) {
        ++valid_schedules_;
        if (!check_schedule(a.value(), interval + " | " + start)) return false;
      }
      auto b = ms::Schedule::Parse(cron, "", pick(3) ? zone : "");
      if (!check_error(b, cron + " | " + zone)) return false;
      if (b.ok()) {
        ++valid_schedules_;
        if (!check_schedule(b.value(), cron + " | " + zone)) return false;
      }
      auto mixed = ms::Schedule::Parse(cron, start, zone);  // a cron schedule never takes a start time
      if (mixed.ok() && mixed.value().kind() == ms::Schedule::Kind::kCron && !start.empty())
        return fail("cron accepted a start time", cron + " | " + start);
      if (!check_error(mixed, cron)) return false;
    } catch (const std::exception& e) {
      return fail(std::string("exception escaped: ") + e.what(), cron + " | " + interval + " | " + start + " | " + zone);
    } catch (...) {
      return fail("unknown exception escaped", cron + " | " + interval + " | " + start + " | " + zone);
    }
    return true;
  }

  std::mt19937_64 rng_;
  double max_call_ms_;
  long long valid_levels_ = 0;
  long long valid_schedules_ = 0;
  long long next_runs_ = 0;
  double slowest_ms_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  long long iterations = 100000;
  std::uint64_t seed = 1;
  double max_call_ms = 250;
  for (int k = 1; k + 1 < argc; k += 2) {
    std::string flag = argv[k];
    if (flag == "--iterations") iterations = std::atoll(argv[k + 1]);
    else if (flag == "--seed") seed = std::strtoull(argv[k + 1], nullptr, 10);
    else if (flag == "--max-call-ms") max_call_ms = std::atof(argv[k + 1]);
    else {
      std::fprintf(stderr, "usage: scheduler_fuzz [--iterations N] [--seed S] [--max-call-ms M]\n");
      return 2;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  Fuzzer f(seed, max_call_ms);
  bool ok = f.run(iterations);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "%s: %lld inputs (seed %llu): %lld valid level specs, %lld valid schedules, %lld next-run computations, "
      "slowest call %.2f ms, %.1f s\n",
      ok ? "ok" : "FAILED", iterations, static_cast<unsigned long long>(seed), f.valid_levels(), f.valid_schedules(),
      f.next_runs(), f.slowest_ms(), secs);
  return ok ? 0 : 1;
}
