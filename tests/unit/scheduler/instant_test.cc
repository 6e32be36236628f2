#include "scheduler/instant.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

using testing::FailsWith;

TEST(Instant, FormatsAsIsoUtc) {
  EXPECT_EQ(FormatInstant(kEarliestInstant), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatInstant(kLatestInstant), "9999-12-31T23:59:59Z");
  EXPECT_EQ(FormatInstant(Instant{std::chrono::seconds{1796130000}}), "2026-12-01T13:00:00Z");
  EXPECT_EQ(FormatInstant(Instant{std::chrono::seconds{-1}}), "1969-12-31T23:59:59Z");
}

TEST(Instant, ParsesWithAndWithoutOffset) {
  EXPECT_EQ(ParseInstant("2026-12-01T13:00:00Z").value().time_since_epoch().count(), 1796130000);
  EXPECT_EQ(ParseInstant("2026-12-01T14:00:00+01:00").value(), ParseInstant("2026-12-01T13:00:00Z").value());
  EXPECT_EQ(ParseInstant("2026-12-01 08:00-05:00").value(), ParseInstant("2026-12-01T13:00:00Z").value());
  EXPECT_EQ(ParseInstant("2026-12-01T13:00").value(), ParseInstant("2026-12-01T13:00:00Z").value());
}

TEST(Instant, RoundTrips) {
  for (long long s : {0LL, 1LL, 951782400LL, 1796130000LL, 4102444800LL, 253402300799LL}) {
    Instant t{std::chrono::seconds{s}};
    EXPECT_EQ(ParseInstant(FormatInstant(t)).value(), t);
  }
}

TEST(Instant, RejectsBadText) {
  EXPECT_TRUE(FailsWith(ParseInstant("14:00"), "instant '14:00': a date is required"));
  EXPECT_TRUE(FailsWith(ParseInstant("1970-01-01T00:00:00+01:00"), "out of range"));
  EXPECT_TRUE(FailsWith(ParseInstant("2026-02-30T00:00Z"), "day '30' does not exist"));
  EXPECT_TRUE(FailsWith(ParseInstant("yesterday"), "instant 'yesterday'"));
  EXPECT_TRUE(ParseInstant("9999-12-31T23:59:59Z").ok());
  EXPECT_TRUE(FailsWith(ParseInstant("9999-12-31T23:59:59-00:01"), "out of range"));
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
