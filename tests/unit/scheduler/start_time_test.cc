#include "scheduler/start_time.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

using testing::At;
using testing::FailsWith;
using testing::Iso;

StartTime S(std::string_view text) {
  auto r = StartTime::Parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.status().message());
  return r.ok() ? r.value() : StartTime::Parse("00:00").value();
}

TEST(StartTime, TimeOfDayForms) {
  EXPECT_EQ(S("14:00").ToString(), "14:00:00+00:00");
  EXPECT_EQ(S("14:00:00").ToString(), "14:00:00+00:00");
  EXPECT_EQ(S("14:00Z").ToString(), "14:00:00+00:00");
  EXPECT_EQ(S("14:00z").ToString(), "14:00:00+00:00");
  EXPECT_EQ(S("14:00-05:00").ToString(), "14:00:00-05:00");
  EXPECT_EQ(S("14:00:00+01:00").ToString(), "14:00:00+01:00");
  EXPECT_EQ(S("14:00:30+0530").ToString(), "14:00:30+05:30");
  EXPECT_EQ(S("14:00+05").ToString(), "14:00:00+05:00");
  EXPECT_EQ(S("14:00-00:00").ToString(), "14:00:00+00:00");
  EXPECT_EQ(S("23:59:59+18:00").ToString(), "23:59:59+18:00");
  EXPECT_FALSE(S("14:00").has_date());
}

TEST(StartTime, OffsetIsHonouredWithTheRightSign) {
  // rbd_support adds the offset and fires "14:00-05:00" at 09:00; it is 19:00 UTC.
  EXPECT_EQ(Iso(S("14:00-05:00").Anchor()), "1970-01-01T19:00:00Z");
  EXPECT_EQ(Iso(S("14:00+02:00").Anchor()), "1970-01-01T12:00:00Z");
  EXPECT_EQ(Iso(S("14:00").Anchor()), "1970-01-01T14:00:00Z");
  EXPECT_EQ(Iso(S("00:30+05:00").Anchor()), "1969-12-31T19:30:00Z");
  EXPECT_EQ(Iso(S("22:00-05:00").Anchor()), "1970-01-02T03:00:00Z");
  EXPECT_EQ(Iso(S("14:00:45").Anchor()), "1970-01-01T14:00:45Z");  // seconds are kept
}

TEST(StartTime, DateTimeForms) {
  EXPECT_EQ(S("2026-12-01T14:00:00+01:00").ToString(), "2026-12-01T14:00:00+01:00");
  EXPECT_EQ(Iso(S("2026-12-01T14:00:00+01:00").Anchor()), "2026-12-01T13:00:00Z");
  EXPECT_EQ(S("2026-12-01 14:00").ToString(), "2026-12-01T14:00:00+00:00");
  EXPECT_EQ(S("2026-12-01t14:00:05Z").ToString(), "2026-12-01T14:00:05+00:00");
  EXPECT_EQ(Iso(S("2026-12-01T02:00-05:00").Anchor()), "2026-12-01T07:00:00Z");
  EXPECT_EQ(Iso(S("2026-01-01T00:30+01:00").Anchor()), "2025-12-31T23:30:00Z");  // date is kept, not dropped
  EXPECT_EQ(Iso(S("2024-02-29T12:00Z").Anchor()), "2024-02-29T12:00:00Z");
  EXPECT_EQ(Iso(S("9999-12-31T23:59:59Z").Anchor()), "9999-12-31T23:59:59Z");
  EXPECT_TRUE(S("2026-12-01T14:00").has_date());
}

TEST(StartTime, CanonicalRoundTrips) {
  for (const char* text : {"00:00", "14:00", "14:00:01-05:00", "23:59:59+18:00", "00:00-18:00", "12:34+05:45",
                           "2026-12-01T14:00", "2024-02-29 23:59:59-12:00", "1970-01-01T00:00Z",
                           "2030-06-15T08:15:30+09:30"}) {
    StartTime s = S(text);
    StartTime again = S(s.ToString());
    EXPECT_EQ(again, s) << text;
    EXPECT_EQ(again.ToString(), s.ToString());
    EXPECT_EQ(again.Anchor(), s.Anchor());
  }
}

TEST(StartTime, RejectsBadTimes) {
  EXPECT_TRUE(FailsWith(StartTime::Parse(""), "start time '': empty"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("24:00"), "start time '24:00': hour '24' out of range 00-23"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:60"), "minute '60' out of range 00-59"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:00:60"), "second '60' out of range"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:00:00.5"), "fractional seconds are not supported"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:00+25:00"), "offset '+25:00' out of range -18:00..+18:00"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:00+18:01"), "out of range -18:00..+18:00"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:00+05:60"), "out of range"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:00-5"), "offset '-5' must be Z, +HH:MM or -HH:MM"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("2pm"), "expected HH:MM[:SS][offset]"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14"), "expected HH:MM"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("1400"), "hour '1400' must be two digits"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("4:00"), "hour '4' must be two digits"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:0"), "minute '0' must be two digits"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:00 "), "unexpected text ' '"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:00 -05:00"), "unexpected text ' -05:00'"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:00Zjunk"), "unexpected text 'junk'"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("14:00:"), "expected two digits of seconds"));
}

TEST(StartTime, RejectsBadDates) {
  EXPECT_TRUE(FailsWith(StartTime::Parse("2026-12-01"), "missing time of day after the date"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("2025-02-29T00:00"), "day '29' does not exist in 2025-02"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("2026-04-31T00:00"), "day '31' does not exist in 2026-04"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("2026-13-01T00:00"), "month '13' out of range 01-12"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("2026-00-01T00:00"), "month '00' out of range"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("1969-12-31T00:00"), "year '1969' out of range 1970-9999"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("2026-1-01T00:00"), "date must be written YYYY-MM-DD"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("2026-12-01X14:00"), "expected 'T' or ' ' between date and time"));
  EXPECT_TRUE(FailsWith(StartTime::Parse("2026-12-01T"), "expected HH:MM"));
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
