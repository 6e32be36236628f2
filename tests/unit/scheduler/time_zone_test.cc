#include "scheduler/time_zone.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::At;
using testing::FailsWith;
using testing::Iso;

TimeZone Z(std::string_view name) {
  auto r = TimeZone::Locate(name);
  EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.status().message());
  return r.ok() ? r.value() : TimeZone::Utc();
}

TEST(TimeZone, Utc) {
  auto utc = TimeZone::Utc();
  EXPECT_EQ(utc.name(), "UTC");
  EXPECT_EQ(utc.offset_at(At("2026-07-01T00:00:00Z")), seconds{0});
  EXPECT_EQ(Z("UTC"), utc);
  EXPECT_EQ(Z("Etc/UTC").offset_at(At("2040-07-01T00:00:00Z")), seconds{0});
}

TEST(TimeZone, RejectsUnknownAndUnsafeNames) {
  EXPECT_TRUE(FailsWith(TimeZone::Locate("Europe/Berln"), "unknown time zone 'Europe/Berln'"));
  EXPECT_TRUE(FailsWith(TimeZone::Locate("europe/berlin"), "unknown time zone"));
  EXPECT_TRUE(FailsWith(TimeZone::Locate(""), "time zone '': empty"));
  EXPECT_TRUE(FailsWith(TimeZone::Locate("../etc/passwd"), "not a zone name"));
  EXPECT_TRUE(FailsWith(TimeZone::Locate("/etc/localtime"), "not a zone name"));
  EXPECT_TRUE(FailsWith(TimeZone::Locate("localtime"), "not a zone name"));
  EXPECT_TRUE(FailsWith(TimeZone::Locate("posixrules"), "not a zone name"));
  EXPECT_TRUE(FailsWith(TimeZone::Locate("Europe/Berlin "), "not a zone name"));
  EXPECT_TRUE(FailsWith(TimeZone::Locate(std::string("Europe/Ber\0lin", 14)), "not a zone name"));
  EXPECT_TRUE(FailsWith(TimeZone::Locate(std::string(300, 'A')), "longer than 255"));
  EXPECT_TRUE(FailsWith(TimeZone::Locate("right/UTC"), "unknown time zone"));
  EXPECT_TRUE(FailsWith(TimeZone::Locate("zone.tab"), "unknown time zone"));
}

TEST(TimeZone, LinksKeepTheirName) {
  auto z = Z("US/Eastern");
  EXPECT_EQ(z.name(), "US/Eastern");
  EXPECT_EQ(z.offset_at(At("2026-01-15T00:00:00Z")), hours{-5});
}

TEST(TimeZone, OffsetsAcrossTheYear) {
  auto berlin = Z("Europe/Berlin");
  EXPECT_EQ(berlin.offset_at(At("2025-01-15T00:00:00Z")), hours{1});
  EXPECT_EQ(berlin.offset_at(At("2025-07-15T00:00:00Z")), hours{2});
  EXPECT_EQ(berlin.offset_at(At("2025-03-30T00:59:59Z")), hours{1});
  EXPECT_EQ(berlin.offset_at(At("2025-03-30T01:00:00Z")), hours{2});
  auto p = berlin.PeriodAt(At("2025-07-15T00:00:00Z"));
  EXPECT_EQ(Iso(p.begin), "2025-03-30T01:00:00Z");
  EXPECT_EQ(Iso(p.end), "2025-10-26T01:00:00Z");
  EXPECT_EQ(Z("Australia/Lord_Howe").offset_at(At("2025-01-15T00:00:00Z")), hours{11});
  EXPECT_EQ(Z("Australia/Lord_Howe").offset_at(At("2025-07-15T00:00:00Z")), hours{10} + minutes{30});
  EXPECT_EQ(Z("Asia/Kathmandu").offset_at(At("2025-07-15T00:00:00Z")), hours{5} + minutes{45});
}

TEST(TimeZone, DstContinuesAfterTwentyThirtySeven) {
  // Debian's zone files list transitions up to 2037; the POSIX footer takes over.
  auto berlin = Z("Europe/Berlin");
  EXPECT_TRUE(berlin.RulesComplete());
  EXPECT_EQ(berlin.offset_at(At("2038-07-01T00:00:00Z")), hours{2});
  EXPECT_EQ(berlin.offset_at(At("2040-01-01T00:00:00Z")), hours{1});
  auto p = berlin.PeriodAt(At("2040-07-01T00:00:00Z"));
  EXPECT_EQ(Iso(p.begin), "2040-03-25T01:00:00Z");
  EXPECT_EQ(Iso(p.end), "2040-10-28T01:00:00Z");
  EXPECT_EQ(berlin.offset_at(At("2999-07-01T00:00:00Z")), hours{2});
  EXPECT_EQ(Z("America/New_York").offset_at(At("2045-07-04T00:00:00Z")), hours{-4});
  EXPECT_EQ(Z("Australia/Lord_Howe").offset_at(At("2045-01-04T00:00:00Z")), hours{11});
  EXPECT_EQ(Z("Australia/Sydney").offset_at(At("2045-01-04T00:00:00Z")), hours{11});
  // Negative DST: Irish standard time is summer time.
  EXPECT_EQ(Z("Europe/Dublin").offset_at(At("2045-01-04T00:00:00Z")), hours{0});
  EXPECT_EQ(Z("Europe/Dublin").offset_at(At("2045-07-04T00:00:00Z")), hours{1});
  // Transition time -1:00 (TZif version 3 extension).
  EXPECT_EQ(Z("America/Nuuk").offset_at(At("2045-07-04T00:00:00Z")), hours{-1});
}

TEST(TimeZone, PeriodsTileTime) {
  for (const char* name : {"Europe/Berlin", "America/Santiago", "Australia/Lord_Howe", "Pacific/Apia", "UTC"}) {
    auto z = Z(name);
    Instant t = At("2030-01-01T00:00:00Z");
    int changes = 0;
    while (t < At("2045-01-01T00:00:00Z")) {
      auto p = z.PeriodAt(t);
      ASSERT_LE(p.begin, t) << name;
      ASSERT_GT(p.end, t) << name;
      ASSERT_EQ(z.PeriodAt(p.end - seconds{1}).offset, p.offset) << name;
      t = p.end;
      ++changes;
    }
    EXPECT_LT(changes, 40) << name;
  }
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
