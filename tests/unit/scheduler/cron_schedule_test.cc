// Cron schedules in time zones: next-run maths and the DST policy.
//
// Transitions used (all checked against Python's zoneinfo):
//   Europe/Berlin       2025-03-30 01:00Z  02:00 CET  -> 03:00 CEST (gap)
//                       2025-10-26 01:00Z  03:00 CEST -> 02:00 CET  (fold)
//   America/New_York    2025-03-09 07:00Z  02:00 EST  -> 03:00 EDT
//                       2025-11-02 06:00Z  02:00 EDT  -> 01:00 EST
//   Australia/Lord_Howe 2025-04-05 15:00Z  02:00 +11  -> 01:30 +1030 (30-minute fold)
//                       2025-10-04 15:30Z  02:00 +1030 -> 02:30 +11  (30-minute gap)
//   Australia/Sydney    2025-04-05 16:00Z  03:00 AEDT -> 02:00 AEST
//                       2025-10-04 16:00Z  02:00 AEST -> 03:00 AEDT
//   America/Santiago    2025-04-06 03:00Z  24:00 -03  -> 23:00 -04 (fold before midnight)
//                       2025-09-07 04:00Z  00:00 -04  -> 01:00 -03 (midnight is skipped)
#include "scheduler/cron_schedule.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

using testing::At;
using testing::Iso;

CronSchedule Cron(std::string_view expr, std::string_view zone = "UTC") {
  auto e = CronExpr::Parse(expr);
  auto z = TimeZone::Locate(zone);
  EXPECT_TRUE(e.ok() && z.ok());
  return CronSchedule(e.value(), z.value());
}

// The next `n` runs after `from`, as ISO UTC strings.
std::vector<std::string> Runs(std::string_view expr, std::string_view zone, std::string_view from, int n) {
  auto s = Cron(expr, zone);
  std::vector<std::string> out;
  Instant t = At(from);
  for (int k = 0; k < n; ++k) {
    auto next = s.NextAfter(t);
    if (!next.ok()) {
      out.push_back("error: " + next.status().message());
      break;
    }
    EXPECT_GT(next.value(), t);
    t = next.value();
    out.push_back(Iso(t));
  }
  return out;
}

using V = std::vector<std::string>;

TEST(CronScheduleUtc, StrictlyLater) {
  EXPECT_EQ(Runs("*/15 * * * *", "UTC", "2026-03-06T10:15:00Z", 2),
            (V{"2026-03-06T10:30:00Z", "2026-03-06T10:45:00Z"}));
  EXPECT_EQ(Runs("*/15 * * * *", "UTC", "2026-03-06T10:14:59Z", 1), (V{"2026-03-06T10:15:00Z"}));
  EXPECT_EQ(Runs("* * * * *", "UTC", "2026-03-06T10:15:00Z", 1), (V{"2026-03-06T10:16:00Z"}));
}

TEST(CronScheduleUtc, MonthAndYearEnds) {
  EXPECT_EQ(Runs("0 0 1 * *", "UTC", "2026-01-31T12:00:00Z", 2),
            (V{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"}));
  EXPECT_EQ(Runs("0 0 31 * *", "UTC", "2026-01-31T01:00:00Z", 2),
            (V{"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"}));
  EXPECT_EQ(Runs("0 0 1 1 *", "UTC", "2025-12-31T23:59:59Z", 1), (V{"2026-01-01T00:00:00Z"}));
  EXPECT_EQ(Runs("59 23 31 12 *", "UTC", "2025-12-31T23:59:00Z", 1), (V{"2026-12-31T23:59:00Z"}));
  EXPECT_EQ(Runs("@monthly", "UTC", "2024-02-29T00:00:00Z", 1), (V{"2024-03-01T00:00:00Z"}));
}

TEST(CronScheduleUtc, LeapDays) {
  EXPECT_EQ(Runs("0 0 29 2 *", "UTC", "2025-01-01T00:00:00Z", 2),
            (V{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}));
  // 2100 is not a leap year: eight years between runs, still found.
  EXPECT_EQ(Runs("0 0 29 2 *", "UTC", "2096-02-29T00:00:00Z", 1), (V{"2104-02-29T00:00:00Z"}));
  EXPECT_EQ(Runs("0 12 28-29 2 *", "UTC", "2024-02-28T12:00:00Z", 2),
            (V{"2024-02-29T12:00:00Z", "2025-02-28T12:00:00Z"}));
}

TEST(CronScheduleUtc, Weekdays) {
  // 2026-03-06 is a Friday.
  EXPECT_EQ(Runs("0 9 * * mon-fri", "UTC", "2026-03-06T09:00:00Z", 2),
            (V{"2026-03-09T09:00:00Z", "2026-03-10T09:00:00Z"}));
  EXPECT_EQ(Runs("@weekly", "UTC", "2026-03-06T00:00:00Z", 2), (V{"2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z"}));
  EXPECT_EQ(Runs("0 0 13 * fri", "UTC", "2026-03-06T00:00:00Z", 3),
            (V{"2026-03-13T00:00:00Z", "2026-03-20T00:00:00Z", "2026-03-27T00:00:00Z"}));
}

TEST(CronScheduleUtc, RangeLimits) {
  auto s = Cron("0 0 * * *");
  EXPECT_FALSE(s.NextAfter(Instant{std::chrono::seconds{-1}}).ok());
  EXPECT_FALSE(s.NextAfter(kLatestInstant).ok());
  EXPECT_TRUE(s.NextAfter(kEarliestInstant).ok());
  EXPECT_EQ(Iso(s.NextAfter(At("9999-12-30T12:00:00Z")).value()), "9999-12-31T00:00:00Z");
  auto r = s.NextAfter(At("9999-12-31T00:00:00Z"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("before year 10000"), std::string::npos);
}

TEST(CronScheduleZones, FixedOffsetZone) {
  // Etc/GMT+5 is UTC-5 (POSIX sign).
  EXPECT_EQ(Runs("0 9 * * *", "Etc/GMT+5", "2026-03-06T00:00:00Z", 1), (V{"2026-03-06T14:00:00Z"}));
  EXPECT_EQ(Runs("30 0 * * *", "Asia/Kolkata", "2026-03-06T00:00:00Z", 1), (V{"2026-03-06T19:00:00Z"}));
}

// ---- Europe/Berlin ----

TEST(CronDstBerlin, GapFixedTimeRunsOnceAtTheTransition) {
  EXPECT_EQ(Runs("30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 3),
            (V{"2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z", "2025-04-01T00:30:00Z"}));
  // Several skipped times, one run.
  EXPECT_EQ(Runs("*/15 2 * * *", "Europe/Berlin", "2025-03-30T00:00:00Z", 2),
            (V{"2025-03-30T01:00:00Z", "2025-03-31T00:00:00Z"}));
  // The skipped 02:00 and the real 03:00 land on the same instant: one run.
  EXPECT_EQ(Runs("0 2,3 * * *", "Europe/Berlin", "2025-03-29T23:00:00Z", 2),
            (V{"2025-03-30T01:00:00Z", "2025-03-31T00:00:00Z"}));
  // Times outside the gap are untouched.
  EXPECT_EQ(Runs("30 1 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 2),
            (V{"2025-03-30T00:30:00Z", "2025-03-30T23:30:00Z"}));
}

TEST(CronDstBerlin, FoldFixedTimeRunsOnFirstPassOnly) {
  EXPECT_EQ(Runs("30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", 2),
            (V{"2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"}));
  EXPECT_EQ(Runs("*/30 2 * * *", "Europe/Berlin", "2025-10-25T23:30:00Z", 3),
            (V{"2025-10-26T00:00:00Z", "2025-10-26T00:30:00Z", "2025-10-27T01:00:00Z"}));
  // Asked during the second pass: the repeated 02:30 is not run again.
  EXPECT_EQ(Runs("30 2 * * *", "Europe/Berlin", "2025-10-26T01:10:00Z", 1), (V{"2025-10-27T01:30:00Z"}));
  // 03:00 comes once (after the fold).
  EXPECT_EQ(Runs("0 3 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", 1), (V{"2025-10-26T02:00:00Z"}));
}

TEST(CronDstBerlin, EveryHourFollowsTheClock) {
  // Fold: 02:00 shows twice, so "0 * * * *" runs on both passes: once per real hour.
  EXPECT_EQ(Runs("0 * * * *", "Europe/Berlin", "2025-10-25T23:30:00Z", 3),
            (V{"2025-10-26T00:00:00Z", "2025-10-26T01:00:00Z", "2025-10-26T02:00:00Z"}));
  EXPECT_EQ(Runs("@hourly", "Europe/Berlin", "2025-10-25T23:30:00Z", 3),
            (V{"2025-10-26T00:00:00Z", "2025-10-26T01:00:00Z", "2025-10-26T02:00:00Z"}));
  EXPECT_EQ(Runs("*/30 * * * *", "Europe/Berlin", "2025-10-26T00:15:00Z", 4),
            (V{"2025-10-26T00:30:00Z", "2025-10-26T01:00:00Z", "2025-10-26T01:30:00Z", "2025-10-26T02:00:00Z"}));
  // Gap: 02:00 never shows; the runs stay one real hour apart.
  EXPECT_EQ(Runs("0 * * * *", "Europe/Berlin", "2025-03-29T23:30:00Z", 3),
            (V{"2025-03-30T00:00:00Z", "2025-03-30T01:00:00Z", "2025-03-30T02:00:00Z"}));
  EXPECT_EQ(Runs("30 * * * *", "Europe/Berlin", "2025-03-30T00:00:00Z", 2),
            (V{"2025-03-30T00:30:00Z", "2025-03-30T01:30:00Z"}));
}

TEST(CronDstBerlin, AfterTwentyThirtySevenDstStillApplies) {
  // Hinnant date 3.0.1 alone would keep CET (+01:00) forever after 2037.
  EXPECT_EQ(Runs("0 12 * * *", "Europe/Berlin", "2040-07-01T00:00:00Z", 1), (V{"2040-07-01T10:00:00Z"}));
  EXPECT_EQ(Runs("30 2 * * *", "Europe/Berlin", "2040-03-24T12:00:00Z", 2),
            (V{"2040-03-25T01:00:00Z", "2040-03-26T00:30:00Z"}));
  EXPECT_EQ(Runs("30 2 * * *", "Europe/Berlin", "2040-10-27T12:00:00Z", 2),
            (V{"2040-10-28T00:30:00Z", "2040-10-29T01:30:00Z"}));
}

// ---- America/New_York ----

TEST(CronDstNewYork, Gap) {
  EXPECT_EQ(Runs("30 2 * * *", "America/New_York", "2025-03-08T06:00:00Z", 3),
            (V{"2025-03-08T07:30:00Z", "2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"}));
  EXPECT_EQ(Runs("0 * * * *", "America/New_York", "2025-03-09T05:30:00Z", 3),
            (V{"2025-03-09T06:00:00Z", "2025-03-09T07:00:00Z", "2025-03-09T08:00:00Z"}));
}

TEST(CronDstNewYork, Fold) {
  EXPECT_EQ(Runs("30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z", 2),
            (V{"2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"}));
  EXPECT_EQ(Runs("15 * * * *", "America/New_York", "2025-11-02T04:30:00Z", 3),
            (V{"2025-11-02T05:15:00Z", "2025-11-02T06:15:00Z", "2025-11-02T07:15:00Z"}));
  // 2045, past the explicit transitions of the zone file.
  EXPECT_EQ(Runs("0 12 * * *", "America/New_York", "2045-07-04T00:00:00Z", 1), (V{"2045-07-04T16:00:00Z"}));
  EXPECT_EQ(Runs("30 1 * * *", "America/New_York", "2045-11-04T12:00:00Z", 2),
            (V{"2045-11-05T05:30:00Z", "2045-11-06T06:30:00Z"}));
}

// ---- Australia/Lord_Howe: 30-minute shifts ----

TEST(CronDstLordHowe, HalfHourGap) {
  // 02:00-02:30 is skipped on 2025-10-05.
  EXPECT_EQ(Runs("15 2 * * *", "Australia/Lord_Howe", "2025-10-04T12:00:00Z", 2),
            (V{"2025-10-04T15:30:00Z", "2025-10-05T15:15:00Z"}));
  EXPECT_EQ(Runs("30 2 * * *", "Australia/Lord_Howe", "2025-10-04T12:00:00Z", 1), (V{"2025-10-04T15:30:00Z"}));
  EXPECT_EQ(Runs("0 * * * *", "Australia/Lord_Howe", "2025-10-04T14:00:00Z", 2),
            (V{"2025-10-04T14:30:00Z", "2025-10-04T16:00:00Z"}));
}

TEST(CronDstLordHowe, HalfHourFold) {
  // 01:30-02:00 shows twice on 2025-04-06.
  EXPECT_EQ(Runs("45 1 * * *", "Australia/Lord_Howe", "2025-04-05T12:00:00Z", 2),
            (V{"2025-04-05T14:45:00Z", "2025-04-06T15:15:00Z"}));
  EXPECT_EQ(Runs("45 * * * *", "Australia/Lord_Howe", "2025-04-05T13:00:00Z", 4),
            (V{"2025-04-05T13:45:00Z", "2025-04-05T14:45:00Z", "2025-04-05T15:15:00Z", "2025-04-05T16:15:00Z"}));
}

// ---- Southern hemisphere ----

TEST(CronDstSydney, GapAndFold) {
  EXPECT_EQ(Runs("30 2 * * *", "Australia/Sydney", "2025-10-04T12:00:00Z", 2),
            (V{"2025-10-04T16:00:00Z", "2025-10-05T15:30:00Z"}));
  EXPECT_EQ(Runs("30 2 * * *", "Australia/Sydney", "2025-04-05T12:00:00Z", 2),
            (V{"2025-04-05T15:30:00Z", "2025-04-06T16:30:00Z"}));
}

TEST(CronDstSantiago, MidnightSkippedAndLateEveningRepeated) {
  // Midnight does not exist on 2025-09-07: the daily run happens at 01:00 -03.
  EXPECT_EQ(Runs("0 0 * * *", "America/Santiago", "2025-09-06T12:00:00Z", 2),
            (V{"2025-09-07T04:00:00Z", "2025-09-08T03:00:00Z"}));
  EXPECT_EQ(Runs("30 23 * * *", "America/Santiago", "2025-04-05T12:00:00Z", 2),
            (V{"2025-04-06T02:30:00Z", "2025-04-07T03:30:00Z"}));
}

// ---- Invariants ----

TEST(CronScheduleInvariants, EveryResultIsStrictlyLaterAndMatches) {
  const char* exprs[] = {"* * * * *", "0 * * * *", "30 2 * * *", "*/7 1-3 * * *", "0 0 13 * fri",
                         "15,45 */2 * * mon-fri", "0 0 29 2 *", "0 0 1 */4 *", "59 23 * * *", "30 1 * * sun"};
  const char* zones[] = {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
                         "Pacific/Chatham"};
  std::mt19937_64 rng(42);
  // Start instants spread over 2024..2045 plus the transition instants themselves.
  std::uniform_int_distribution<long long> When(1704067200, 2366841600);
  for (const char* zone : zones) {
    for (const char* expr : exprs) {
      auto s = Cron(expr, zone);
      for (int k = 0; k < 40; ++k) {
        Instant t{std::chrono::seconds{When(rng)}};
        auto p = s.zone().PeriodAt(t);
        if (k % 4 == 0 && p.end < kLatestInstant) t = p.end - std::chrono::seconds{1 + k};  // just before a change
        auto next = s.NextAfter(t);
        ASSERT_TRUE(next.ok()) << expr << " " << zone << " " << Iso(t);
        ASSERT_GT(next.value(), t) << expr << " " << zone << " " << Iso(t);
        ASSERT_LE(next.value() - t, std::chrono::days{3000}) << expr << " " << zone;
      }
    }
  }
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
