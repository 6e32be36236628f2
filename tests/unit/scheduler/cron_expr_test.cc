#include "scheduler/cron_expr.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

using std::chrono::local_seconds;
using testing::FailsWith;

CronExpr C(std::string_view text) {
  auto r = CronExpr::Parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.status().message());
  return r.ok() ? r.value() : CronExpr::Parse("* * * * *").value();
}

// Naive local date-time "2026-03-06T10:15" as local_seconds.
local_seconds L(std::string_view text) {
  auto t = ParseInstant(std::string(text) + "Z");
  EXPECT_TRUE(t.ok()) << text;
  return local_seconds{t.ok() ? t.value().time_since_epoch() : std::chrono::seconds{0}};
}

std::string Next(const CronExpr& e, std::string_view from) {
  auto hit = e.NextMatch(L(from), L("2040-01-01T00:00"));
  if (!hit) return "none";
  return FormatInstant(Instant{hit->time_since_epoch()}).substr(0, 16);
}

TEST(CronExpr, Wildcards) {
  auto e = C("* * * * *");
  EXPECT_TRUE(e.Matches(L("2026-03-06T10:15")));
  EXPECT_FALSE(e.Matches(L("2026-03-06T10:15:30")));  // only whole minutes
  EXPECT_EQ(Next(e, "2026-03-06T10:15"), "2026-03-06T10:15");
  EXPECT_EQ(Next(e, "2026-03-06T10:15:01"), "2026-03-06T10:16");
  EXPECT_TRUE(e.every_hour());
}

TEST(CronExpr, ValuesRangesStepsLists) {
  EXPECT_EQ(Next(C("*/15 * * * *"), "2026-03-06T10:01"), "2026-03-06T10:15");
  EXPECT_EQ(Next(C("*/15 * * * *"), "2026-03-06T10:46"), "2026-03-06T11:00");
  EXPECT_EQ(Next(C("5-10/2 * * * *"), "2026-03-06T10:08"), "2026-03-06T10:09");
  EXPECT_EQ(Next(C("5-10/2 * * * *"), "2026-03-06T10:10"), "2026-03-06T11:05");
  EXPECT_EQ(Next(C("10/20 * * * *"), "2026-03-06T10:31"), "2026-03-06T10:50");  // 10,30,50
  EXPECT_EQ(Next(C("10/20 * * * *"), "2026-03-06T10:51"), "2026-03-06T11:10");
  EXPECT_EQ(Next(C("1,2,58 * * * *"), "2026-03-06T10:03"), "2026-03-06T10:58");
  EXPECT_EQ(Next(C("0 9-17/4 * * *"), "2026-03-06T10:00"), "2026-03-06T13:00");  // 9,13,17
  EXPECT_EQ(Next(C("0 9-17/4 * * *"), "2026-03-06T17:01"), "2026-03-07T09:00");
  EXPECT_EQ(Next(C("0,30 8,20 * * *"), "2026-03-06T08:31"), "2026-03-06T20:00");
  EXPECT_EQ(Next(C("7 * * * *"), "2026-03-06T23:08"), "2026-03-07T00:07");
  EXPECT_EQ(Next(C("0 0 1-5,20 * *"), "2026-03-06T00:00"), "2026-03-20T00:00");
  EXPECT_EQ(Next(C("0 0 1 */3 *"), "2026-02-02T00:00"), "2026-04-01T00:00");  // 1,4,7,10
  EXPECT_EQ(Next(C("0 0 1 2/5 *"), "2026-03-01T00:00"), "2026-07-01T00:00");  // 2,7,12
}

TEST(CronExpr, NamesAnyCase) {
  EXPECT_EQ(Next(C("0 0 * * MON-fri"), "2026-03-07T00:00"), "2026-03-09T00:00");  // Sat -> Mon
  EXPECT_EQ(Next(C("0 0 * * sat,Sun"), "2026-03-02T00:00"), "2026-03-07T00:00");
  EXPECT_EQ(Next(C("0 0 1 JUL *"), "2026-03-02T00:00"), "2026-07-01T00:00");
  EXPECT_EQ(Next(C("0 0 1 jan-mar/2 *"), "2026-02-02T00:00"), "2026-03-01T00:00");
  EXPECT_EQ(Next(C("0 0 * * mon/2"), "2026-03-03T00:00"), "2026-03-04T00:00");  // mon,wed,fri,sun
  EXPECT_EQ(Next(C("0 0 * * mon/2"), "2026-03-07T00:00"), "2026-03-08T00:00");  // Sunday (7)
}

TEST(CronExpr, SundayIsZeroAndSeven) {
  // 2026-03-01 is a Sunday.
  EXPECT_EQ(Next(C("0 0 * * 0"), "2026-02-27T00:00"), "2026-03-01T00:00");
  EXPECT_EQ(Next(C("0 0 * * 7"), "2026-02-27T00:00"), "2026-03-01T00:00");
  EXPECT_EQ(Next(C("0 0 * * 5-7"), "2026-03-01T00:01"), "2026-03-06T00:00");
  EXPECT_EQ(Next(C("0 0 * * fri-sun"), "2026-03-07T00:01"), "2026-03-08T00:00");
  EXPECT_EQ(Next(C("0 0 * * 5-0"), "2026-03-07T00:01"), "2026-03-08T00:00");
  EXPECT_EQ(C("0 0 * * 0"), C("0 0 * * 0"));
}

TEST(CronExpr, Macros) {
  EXPECT_EQ(Next(C("@hourly"), "2026-03-06T10:01"), "2026-03-06T11:00");
  EXPECT_EQ(Next(C("@daily"), "2026-03-06T10:01"), "2026-03-07T00:00");
  EXPECT_EQ(Next(C("@midnight"), "2026-03-06T10:01"), "2026-03-07T00:00");
  EXPECT_EQ(Next(C("@weekly"), "2026-03-06T10:01"), "2026-03-08T00:00");  // Sunday
  EXPECT_EQ(Next(C("@monthly"), "2026-03-06T10:01"), "2026-04-01T00:00");
  EXPECT_EQ(Next(C("@yearly"), "2026-03-06T10:01"), "2027-01-01T00:00");
  EXPECT_EQ(Next(C("@annually"), "2026-03-06T10:01"), "2027-01-01T00:00");
  EXPECT_EQ(Next(C("@DAILY"), "2026-03-06T10:01"), "2026-03-07T00:00");
  EXPECT_EQ(Next(C("  @weekly\t"), "2026-03-06T10:01"), "2026-03-08T00:00");
  EXPECT_TRUE(C("@hourly").every_hour());
  EXPECT_FALSE(C("@daily").every_hour());
}

TEST(CronExpr, CanonicalText) {
  EXPECT_EQ(C("0  0\t* JAN MON").ToString(), "0 0 * jan mon");
  EXPECT_EQ(C("@midnight").ToString(), "@daily");
  EXPECT_EQ(C("@Annually").ToString(), "@yearly");
  EXPECT_EQ(C(" */5 * * * * ").ToString(), "*/5 * * * *");
  for (const char* t : {"0 0 * jan mon", "@daily", "@hourly", "*/5 1-3 1,15 */2 mon-fri", "0 0 29 2 *"})
    EXPECT_EQ(C(C(t).ToString()), C(t));
}

TEST(CronExpr, EveryHourMeansAllTwentyFourHours) {
  EXPECT_TRUE(C("0 * * * *").every_hour());
  EXPECT_TRUE(C("*/5 * * * *").every_hour());
  EXPECT_TRUE(C("0 */1 * * *").every_hour());
  EXPECT_TRUE(C("0 0-23 * * *").every_hour());
  EXPECT_FALSE(C("0 */2 * * *").every_hour());
  EXPECT_FALSE(C("0 2 * * *").every_hour());
  EXPECT_FALSE(C("* 2 * * *").every_hour());
}

TEST(CronExpr, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // Friday the 13th style: any 13th OR any Friday.
  auto e = C("0 0 13 * 5");
  EXPECT_TRUE(e.Matches(L("2026-03-06T00:00")));   // Friday, not the 13th
  EXPECT_TRUE(e.Matches(L("2026-03-13T00:00")));   // Friday the 13th
  EXPECT_TRUE(e.Matches(L("2026-04-13T00:00")));   // Monday the 13th
  EXPECT_FALSE(e.Matches(L("2026-03-03T00:00")));  // Tuesday the 3rd
  EXPECT_EQ(Next(e, "2026-03-06T00:01"), "2026-03-13T00:00");
}

TEST(CronExpr, OnlyExactStarIsUnrestricted) {
  // dom "*" -> weekday alone decides.
  EXPECT_FALSE(C("0 0 * * 1").Matches(L("2026-03-03T00:00")));
  // dow "*" -> day of month alone decides.
  EXPECT_FALSE(C("0 0 1 * *").Matches(L("2026-03-02T00:00")));
  // "*/2" is restricted: odd days OR Mondays.
  auto step = C("0 0 */2 * 1");
  EXPECT_TRUE(step.Matches(L("2026-03-03T00:00")));   // day 3
  EXPECT_TRUE(step.Matches(L("2026-03-02T00:00")));   // Monday the 2nd
  EXPECT_FALSE(step.Matches(L("2026-03-04T00:00")));  // Wednesday the 4th
  // "1-31" and "*/1" are restricted too, so OR with them is every day.
  EXPECT_TRUE(C("0 0 1-31 * 1").Matches(L("2026-03-04T00:00")));
  EXPECT_TRUE(C("0 0 */1 * 1").Matches(L("2026-03-04T00:00")));
  EXPECT_TRUE(C("0 0 4 * */1").Matches(L("2026-03-05T00:00")));
  // "*/2" day-of-week with "*" day-of-month: weekday alone (0,2,4,6).
  EXPECT_TRUE(C("0 0 * * */2").Matches(L("2026-03-03T00:00")));   // Tuesday
  EXPECT_FALSE(C("0 0 * * */2").Matches(L("2026-03-02T00:00")));  // Monday
}

TEST(CronExpr, MonthEndsAndLeapDays) {
  EXPECT_EQ(Next(C("0 0 31 * *"), "2026-04-01T00:00"), "2026-05-31T00:00");
  EXPECT_EQ(Next(C("0 0 30 * *"), "2026-01-31T00:00"), "2026-03-30T00:00");
  EXPECT_EQ(Next(C("0 0 29 2 *"), "2025-01-01T00:00"), "2028-02-29T00:00");
  auto leap = C("0 0 29 2 *").NextMatch(L("2096-03-01T00:00"), L("2110-01-01T00:00"));  // 2100 is no leap year
  ASSERT_TRUE(leap.has_value());
  EXPECT_EQ(FormatInstant(Instant{leap->time_since_epoch()}), "2104-02-29T00:00:00Z");
  EXPECT_EQ(Next(C("59 23 31 12 *"), "2026-12-31T23:59:30"), "2027-12-31T23:59");
  EXPECT_EQ(Next(C("0 0 1 1 *"), "2026-12-31T23:59"), "2027-01-01T00:00");
  EXPECT_EQ(Next(C("0 0 31 2 mon"), "2026-02-10T00:00"), "2026-02-16T00:00");  // OR: Mondays of February
}

TEST(CronExpr, SearchStopsAtTheBound) {
  auto e = C("0 0 1 1 *");
  EXPECT_EQ(e.NextMatch(L("2026-01-01T00:01"), L("2026-12-31T23:59")), std::nullopt);
  EXPECT_EQ(e.NextMatch(L("2026-01-01T00:00"), L("2026-01-01T00:00")), std::nullopt);
}

TEST(CronExpr, RejectsOutOfRangeValues) {
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * * 8"), "cron field 'day-of-week' value '8' out of range 0-7"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("60 * * * *"), "cron field 'minute' value '60' out of range 0-59"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("* 24 * * *"), "cron field 'hour' value '24' out of range 0-23"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("* * 0 * *"), "cron field 'day-of-month' value '0' out of range 1-31"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("* * 32 * *"), "'day-of-month' value '32' out of range 1-31"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("* * * 13 *"), "cron field 'month' value '13' out of range 1-12"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("* * * 0 *"), "'month' value '0' out of range 1-12"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("99999999999 * * * *"), "out of range 0-59"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("1-60 * * * *"), "value '60' out of range"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("-1 * * * *"), "negative numbers are not allowed"));
}

TEST(CronExpr, RejectsUnsupportedSyntax) {
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 L * *"), "'L' (last day) is not supported"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * * 5L"), "'L' (last day) is not supported"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * * L5"), "'L' (last day) is not supported"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 LW * *"), "'L' (last day) is not supported"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 15W * *"), "'W' (nearest weekday) is not supported"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * * 5#2"), "'#' (nth weekday of the month) is not supported"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 ? * *"), "'?' is not supported"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("H * * * *"), "'H' (hashed values) is not supported"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("H/5 * * * *"), "'H' (hashed values)"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("@reboot"), "@reboot is not a schedule"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("@every"), "@every is not supported"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("@every 5m"), "must stand alone"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("@fortnightly"), "unknown macro '@fortnightly'"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * * * *"), "got 6; seconds and year fields are not supported"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * * * * *"), "got 7"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * *"), "expected 5 fields"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse(""), "cron '': empty"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse(" \t "), "empty"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * * *\n"), "control character"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("a a a a a a a a a a a"), "too many fields"));
}

TEST(CronExpr, RejectsMalformedItems) {
  EXPECT_TRUE(FailsWith(CronExpr::Parse("*/0 * * * *"), "step '0' in '*/0' must be at least 1"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("*/61 * * * *"), "step '61' in '*/61' is larger than the field's range 0-59"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("*/x * * * *"), "step 'x' in '*/x' is not a positive number"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("*/ * * * *"), "step ''"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("5-1 * * * *"), "range '5-1' is reversed"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * * sat-mon"), "range 'sat-mon' is reversed"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("1,,2 * * * *"), "has an empty list item in '1,,2'"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("1, * * * *"), "empty list item"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("a * * * *"), "cron field 'minute' value 'a' is not a number"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("5x * * * *"), "value '5x' is not a number"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * foo *"), "'month' value 'foo' is not a number or a name (jan..dec)"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * * funday"), "is not a number or a name (sun..sat)"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 * mon *"), "'month' value 'mon'"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 jan * *"), "'day-of-month' value 'jan' is not a number"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("1-2-3 * * * *"), "is not a number"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("5- * * * *"), "is missing a value"));
}

TEST(CronExpr, RejectsExpressionsThatNeverFire) {
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 31 2 *"), "never fires"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 30 2 *"), "never fires"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 31 4,6,9,11 *"), "never fires"));
  EXPECT_TRUE(FailsWith(CronExpr::Parse("0 0 30,31 feb *"), "never fires"));
  EXPECT_TRUE(CronExpr::Parse("0 0 29 2 *").ok());
  EXPECT_TRUE(CronExpr::Parse("0 0 31 2,3 *").ok());
  EXPECT_TRUE(CronExpr::Parse("0 0 31 2 mon").ok());
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
