#include "scheduler/posix_tz.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::At;
using testing::Iso;

PosixTz P(std::string_view spec) {
  auto tz = PosixTz::Parse(spec);
  EXPECT_TRUE(tz.has_value()) << spec;
  return tz ? *tz : *PosixTz::Parse("UTC0");
}

TEST(PosixTz, AcceptsFooterForms) {
  for (const char* spec :
       {"UTC0", "JST-9", "<+00>0", "<+0330>-3:30", "CET-1CEST,M3.5.0,M10.5.0/3", "EST5EDT,M3.2.0,M11.1.0",
        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "<-04>4<-03>,M9.1.6/24,M4.1.6/24", "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
        "IST-1GMT0,M10.5.0,M3.5.0/1", "IST-2IDT,M3.4.4/26,M10.5.0", "EST5EDT,0/0,J365/25", "XXX3YYY,J60/2,J300/2",
        "XXX3YYY,59,299", "AAA+3:30:15BBB", "EST5EDT"})
    EXPECT_TRUE(PosixTz::Parse(spec).has_value()) << spec;
}

TEST(PosixTz, RejectsGarbage) {
  for (const char* spec : {"", "CE-1", "CET", "CET-", "CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.5.0",
                           "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,J0,J100",
                           "CET-1CEST,366,100", "CET-1CEST,M3.5.0/168,M10.5.0", "<+01-1", "<>1", "CET-1CEST,M3.5.0,M10.5.0x",
                           "CET-25", "CET-1:60"})
    EXPECT_FALSE(PosixTz::Parse(spec).has_value()) << spec;
}

TEST(PosixTz, NorthernRules) {
  auto berlin = P("CET-1CEST,M3.5.0,M10.5.0/3");
  EXPECT_TRUE(berlin.has_dst());
  EXPECT_EQ(berlin.standard_offset(), hours{1});
  auto summer = berlin.PeriodAt(At("2040-07-01T00:00:00Z"));
  EXPECT_EQ(Iso(summer.begin), "2040-03-25T01:00:00Z");
  EXPECT_EQ(Iso(summer.end), "2040-10-28T01:00:00Z");
  EXPECT_EQ(summer.offset, hours{2});
  auto winter = berlin.PeriodAt(At("2041-01-01T00:00:00Z"));
  EXPECT_EQ(Iso(winter.begin), "2040-10-28T01:00:00Z");
  EXPECT_EQ(Iso(winter.end), "2041-03-31T01:00:00Z");
  EXPECT_EQ(winter.offset, hours{1});
  auto ny = P("EST5EDT,M3.2.0,M11.1.0");
  EXPECT_EQ(Iso(ny.PeriodAt(At("2045-07-04T00:00:00Z")).begin), "2045-03-12T07:00:00Z");
  EXPECT_EQ(Iso(ny.PeriodAt(At("2045-07-04T00:00:00Z")).end), "2045-11-05T06:00:00Z");
}

TEST(PosixTz, SouthernAndHalfHourRules) {
  auto lh = P("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
  auto summer = lh.PeriodAt(At("2040-01-01T00:00:00Z"));
  EXPECT_EQ(summer.offset, hours{11});
  EXPECT_EQ(Iso(summer.end), "2040-03-31T15:00:00Z");  // 02:00 +11 on the first Sunday of April
  auto winter = lh.PeriodAt(At("2040-07-01T00:00:00Z"));
  EXPECT_EQ(winter.offset, hours{10} + minutes{30});
  EXPECT_EQ(Iso(winter.end), "2040-10-06T15:30:00Z");  // 02:00 +1030 on the first Sunday of October
  auto santiago = P("<-04>4<-03>,M9.1.6/24,M4.1.6/24");
  EXPECT_EQ(Iso(santiago.PeriodAt(At("2040-07-01T00:00:00Z")).end), "2040-09-02T04:00:00Z");
}

TEST(PosixTz, ExtendedTimesAndNegativeDst) {
  auto nuuk = P("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
  EXPECT_EQ(Iso(nuuk.PeriodAt(At("2040-07-01T00:00:00Z")).begin), "2040-03-25T01:00:00Z");
  auto jerusalem = P("IST-2IDT,M3.4.4/26,M10.5.0");
  EXPECT_EQ(Iso(jerusalem.PeriodAt(At("2040-07-01T00:00:00Z")).begin), "2040-03-23T00:00:00Z");
  auto dublin = P("IST-1GMT0,M10.5.0,M3.5.0/1");
  EXPECT_EQ(dublin.PeriodAt(At("2040-07-01T00:00:00Z")).offset, hours{1});
  EXPECT_EQ(dublin.PeriodAt(At("2040-01-01T00:00:00Z")).offset, hours{0});
}

TEST(PosixTz, AllYearDaylightTime) {
  auto always = P("EST5EDT,0/0,J365/25");
  for (const char* t : {"2040-01-01T00:00:00Z", "2040-01-01T05:00:00Z", "2040-06-01T00:00:00Z", "2040-12-31T23:59:59Z"})
    EXPECT_EQ(always.PeriodAt(At(t)).offset, hours{-4}) << t;
}

TEST(PosixTz, NoDst) {
  auto tokyo = P("JST-9");
  EXPECT_FALSE(tokyo.has_dst());
  EXPECT_EQ(tokyo.PeriodAt(At("2040-01-01T00:00:00Z")).offset, hours{9});
  EXPECT_EQ(P("<+0330>-3:30").PeriodAt(At("2040-01-01T00:00:00Z")).offset, hours{3} + minutes{30});
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
