// The Schedule facade: parsing both kinds, canonical parts, interval
// next-run maths and catch-up.
#include "scheduler/schedule.h"

#include <gtest/gtest.h>

#include <vector>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

using std::chrono::seconds;
using testing::At;
using testing::FailsWith;
using testing::Iso;

Schedule S(std::string_view expr, std::string_view start = {}, std::string_view zone = {}) {
  auto r = Schedule::Parse(expr, start, zone);
  EXPECT_TRUE(r.ok()) << expr << ": " << (r.ok() ? "" : r.status().message());
  return r.ok() ? r.value() : Schedule::Parse("1h").value();
}

std::string Next(const Schedule& s, std::string_view after) {
  auto r = s.NextRunAfter(At(after));
  return r.ok() ? Iso(r.value()) : "error: " + r.status().message();
}

TEST(Schedule, ParseTellsIntervalsFromCron) {
  EXPECT_EQ(S("1h").kind(), Schedule::Kind::kInterval);
  EXPECT_EQ(S("90").kind(), Schedule::Kind::kInterval);
  EXPECT_EQ(S("0 2 * * *").kind(), Schedule::Kind::kCron);
  EXPECT_EQ(S("@daily").kind(), Schedule::Kind::kCron);
  EXPECT_TRUE(FailsWith(Schedule::Parse("*/5"), "cron '*/5': expected 5 fields"));
  EXPECT_TRUE(FailsWith(Schedule::Parse("1h30m"), "compound intervals"));
  EXPECT_TRUE(FailsWith(Schedule::Parse("0m"), "interval '0m': must be at least 1 minute"));
}

TEST(Schedule, CanonicalParts) {
  auto i = S("1440m", "14:00-05:00");
  EXPECT_EQ(i.expression(), "1d");
  EXPECT_EQ(i.start_time(), "14:00:00-05:00");
  EXPECT_EQ(i.time_zone(), "");
  EXPECT_EQ(i.canonical(), "every 1d starting at 14:00:00-05:00");
  EXPECT_EQ(S("6h").canonical(), "every 6h");
  EXPECT_EQ(S("6h").start_time(), "");
  auto c = S("0  2 * * MON", {}, "Europe/Berlin");
  EXPECT_EQ(c.expression(), "0 2 * * mon");
  EXPECT_EQ(c.start_time(), "");
  EXPECT_EQ(c.time_zone(), "Europe/Berlin");
  EXPECT_EQ(c.canonical(), "cron 0 2 * * mon in Europe/Berlin");
  EXPECT_EQ(S("@midnight").canonical(), "cron @daily in UTC");
}

TEST(Schedule, CanonicalPartsRoundTrip) {
  std::vector<Schedule> all = {S("1d", "14:00-05:00"), S("90"), S("7h", "2026-12-01 14:00+01:00"),
                               S("*/5 1-3 * * *", {}, "America/New_York"), S("@weekly"),
                               S("0 0 29 2 *", {}, "Australia/Lord_Howe")};
  for (const auto& s : all) {
    auto again = Schedule::Parse(s.expression(), s.start_time(), s.time_zone());
    ASSERT_TRUE(again.ok()) << s.canonical();
    EXPECT_EQ(again.value(), s) << s.canonical();
    EXPECT_EQ(again.value().canonical(), s.canonical());
  }
}

TEST(Schedule, Equality) {
  EXPECT_EQ(S("60m"), S("1h"));
  EXPECT_EQ(S("1h", "14:00"), S("1h", "14:00:00Z"));
  EXPECT_FALSE(S("1h") == S("1h", "00:00"));  // an explicit start is a different item, as in rbd_support
  EXPECT_FALSE(S("0 2 * * *") == S("0 2 * * *", {}, "Europe/Berlin"));
  EXPECT_EQ(S("0 2 * * *"), S("0 2 * * *", {}, "UTC"));
}

TEST(Schedule, RejectsMisplacedArguments) {
  EXPECT_TRUE(FailsWith(Schedule::Parse("0 2 * * *", "14:00"), "only interval schedules take a start time"));
  EXPECT_TRUE(FailsWith(Schedule::Parse("1h", {}, "Europe/Berlin"), "only cron schedules take a time zone"));
  EXPECT_TRUE(FailsWith(Schedule::Parse("1h", "25:00"), "start time '25:00': hour '25' out of range"));
  EXPECT_TRUE(FailsWith(Schedule::Parse("0 2 * * *", {}, "Europe/Berln"), "unknown time zone 'Europe/Berln'"));
}

// ---- Interval schedules ----

TEST(IntervalNextRun, NoStartTimeIsAlignedToTheEpoch) {
  EXPECT_EQ(Next(S("1h"), "2026-01-01T10:20:00Z"), "2026-01-01T11:00:00Z");
  EXPECT_EQ(Next(S("1h"), "2026-01-01T11:00:00Z"), "2026-01-01T12:00:00Z");  // strictly later
  EXPECT_EQ(Next(S("1h"), "2026-01-01T10:59:59Z"), "2026-01-01T11:00:00Z");
  EXPECT_EQ(Next(S("1d"), "2026-01-01T10:20:00Z"), "2026-01-02T00:00:00Z");
  // 7h does not divide a day: the grid runs from 1970-01-01T00:00Z.
  long long after = At("2026-01-01T00:07:00Z").time_since_epoch().count();
  long long expect = (after / 25200 + 1) * 25200;
  EXPECT_EQ(Next(S("7h"), "2026-01-01T00:07:00Z"), Iso(Instant{seconds{expect}}));
}

TEST(IntervalNextRun, TimeOfDayOffsetsOfBothSigns) {
  EXPECT_EQ(Next(S("1d", "14:00-05:00"), "2026-06-01T18:00:00Z"), "2026-06-01T19:00:00Z");
  EXPECT_EQ(Next(S("1d", "14:00-05:00"), "2026-06-01T19:00:00Z"), "2026-06-02T19:00:00Z");
  EXPECT_EQ(Next(S("1d", "14:00+02:00"), "2026-06-01T00:00:00Z"), "2026-06-01T12:00:00Z");
  EXPECT_EQ(Next(S("1d", "00:30+05:00"), "2026-06-01T00:00:00Z"), "2026-06-01T19:30:00Z");
  EXPECT_EQ(Next(S("12h", "14:00:30"), "2026-06-01T03:00:00Z"), "2026-06-01T14:00:30Z");
  EXPECT_EQ(Next(S("6h", "01:00+05:30"), "2026-06-01T00:00:00Z"), "2026-06-01T01:30:00Z");  // 19:30Z grid every 6h
  EXPECT_EQ(Next(S("1d", "14:00"), "1970-01-01T00:00:00Z"), "1970-01-01T14:00:00Z");
  EXPECT_EQ(Next(S("1d", "22:00-05:00"), "1970-01-01T00:00:00Z"), "1970-01-01T03:00:00Z");
}

TEST(IntervalNextRun, DateTimeAnchorInTheFutureIsTheFirstRun) {
  auto s = S("1h", "2026-12-01T14:00:00+01:00");
  EXPECT_EQ(Next(s, "2026-06-01T00:00:00Z"), "2026-12-01T13:00:00Z");
  EXPECT_EQ(Next(s, "2026-12-01T12:59:59Z"), "2026-12-01T13:00:00Z");
  EXPECT_EQ(Next(s, "2026-12-01T13:00:00Z"), "2026-12-01T14:00:00Z");
  EXPECT_EQ(Next(S("3650d", "2030-01-01T00:00Z"), "1970-01-01T00:00:00Z"), "2030-01-01T00:00:00Z");
}

TEST(IntervalNextRun, DateTimeAnchorInThePast) {
  auto s = S("1d", "2024-02-29T10:00Z");
  EXPECT_EQ(Next(s, "2025-03-01T09:00:00Z"), "2025-03-01T10:00:00Z");
  EXPECT_EQ(Next(s, "2025-03-01T10:00:00Z"), "2025-03-02T10:00:00Z");
  EXPECT_EQ(Next(S("7d", "2026-01-05T08:00-08:00"), "2026-03-01T00:00:00Z"), "2026-03-02T16:00:00Z");
}

TEST(IntervalNextRun, MonthEndsLeapDaysYearEnds) {
  auto daily = S("1d", "2024-02-28T23:30Z");
  EXPECT_EQ(Next(daily, "2024-02-28T23:30:00Z"), "2024-02-29T23:30:00Z");
  EXPECT_EQ(Next(daily, "2024-02-29T23:30:00Z"), "2024-03-01T23:30:00Z");
  EXPECT_EQ(Next(S("1h"), "2025-12-31T23:15:00Z"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(Next(S("30m", "00:15"), "2026-01-31T23:50:00Z"), "2026-02-01T00:15:00Z");
  EXPECT_EQ(Next(S("1d", "00:00-01:00"), "2028-02-28T12:00:00Z"), "2028-02-29T01:00:00Z");
  EXPECT_EQ(Next(S("1d", "23:00+01:00"), "2026-12-31T23:00:00Z"), "2027-01-01T22:00:00Z");
}

TEST(IntervalNextRun, RangeLimitsAndPurity) {
  EXPECT_TRUE(FailsWith(S("1h").NextRunAfter(Instant{seconds{-1}}), "out of range"));
  EXPECT_TRUE(FailsWith(S("1h").NextRunAfter(kLatestInstant), "before year 10000"));
  EXPECT_EQ(Next(S("1h"), "9999-12-31T22:59:59Z"), "9999-12-31T23:00:00Z");
  auto s = S("45m", "2026-03-01T00:07+03:00");
  EXPECT_EQ(Next(s, "2027-05-05T05:05:05Z"), Next(s, "2027-05-05T05:05:05Z"));
}

// ---- Catch-up ----

TEST(CatchUp, OneRunForAnyNumberOfMissedSlots) {
  auto hourly = S("1h");
  auto c = hourly.PlanCatchUp(At("2026-01-01T10:00:00Z"), At("2026-01-01T12:30:00Z")).value();
  EXPECT_TRUE(c.run_now);
  EXPECT_EQ(Iso(c.next_run), "2026-01-01T13:00:00Z");
  c = hourly.PlanCatchUp(At("2026-01-01T12:00:00Z"), At("2026-01-01T12:30:00Z")).value();
  EXPECT_FALSE(c.run_now);
  EXPECT_EQ(Iso(c.next_run), "2026-01-01T13:00:00Z");
}

TEST(CatchUp, SlotExactlyAtNowCounts) {
  auto c = S("1h").PlanCatchUp(At("2026-01-01T11:00:00Z"), At("2026-01-01T12:00:00Z")).value();
  EXPECT_TRUE(c.run_now);
  EXPECT_EQ(Iso(c.next_run), "2026-01-01T13:00:00Z");
}

TEST(CatchUp, NoLastRunOrLastRunInTheFuture) {
  auto c = S("1h").PlanCatchUp(std::nullopt, At("2026-01-01T12:30:00Z")).value();
  EXPECT_FALSE(c.run_now);
  EXPECT_EQ(Iso(c.next_run), "2026-01-01T13:00:00Z");
  c = S("1h").PlanCatchUp(At("2026-01-01T14:00:00Z"), At("2026-01-01T12:30:00Z")).value();
  EXPECT_FALSE(c.run_now);
}

TEST(CatchUp, CronAndLevels) {
  auto nightly = S("0 2 * * *", {}, "Europe/Berlin");
  auto c = nightly.PlanCatchUp(At("2026-03-01T01:00:00Z"), At("2026-03-04T12:00:00Z")).value();
  EXPECT_TRUE(c.run_now);
  EXPECT_EQ(Iso(c.next_run), "2026-03-05T01:00:00Z");
  c = nightly.PlanCatchUp(At("2026-03-04T01:00:00Z"), At("2026-03-04T12:00:00Z")).value();
  EXPECT_FALSE(c.run_now);
  // Items of one level are OR-ed.
  std::vector<Schedule> level = {nightly, S("6h")};
  c = PlanCatchUp(level, At("2026-03-04T01:00:00Z"), At("2026-03-04T12:00:00Z")).value();
  EXPECT_TRUE(c.run_now);  // 06:00Z and 12:00Z were missed
  EXPECT_EQ(Iso(c.next_run), "2026-03-04T18:00:00Z");
  EXPECT_EQ(Iso(NextRunAfter(level, At("2026-03-04T19:00:00Z")).value()), "2026-03-05T00:00:00Z");
  EXPECT_FALSE(NextRunAfter(std::span<const Schedule>(), At("2026-03-04T19:00:00Z")).ok());
  EXPECT_FALSE(PlanCatchUp(level, std::nullopt, kLatestInstant).ok());
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
