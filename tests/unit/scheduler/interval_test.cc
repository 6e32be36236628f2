#include "scheduler/interval.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

using std::chrono::minutes;
using testing::FailsWith;

std::string Canon(std::string_view text) {
  auto r = Interval::Parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.status().message());
  return r.ok() ? r.value().ToString() : "";
}

TEST(Interval, ParsesEveryUnit) {
  EXPECT_EQ(Interval::Parse("5").value().length(), minutes{5});
  EXPECT_EQ(Interval::Parse("5m").value().length(), minutes{5});
  EXPECT_EQ(Interval::Parse("5h").value().length(), minutes{300});
  EXPECT_EQ(Interval::Parse("5d").value().length(), minutes{7200});
  EXPECT_EQ(Interval::Parse("007m").value().length(), minutes{7});
}

TEST(Interval, CanonicalIsLargestExactUnit) {
  EXPECT_EQ(Canon("1440m"), "1d");
  EXPECT_EQ(Canon("90"), "90m");
  EXPECT_EQ(Canon("60"), "1h");
  EXPECT_EQ(Canon("120m"), "2h");
  EXPECT_EQ(Canon("24h"), "1d");
  EXPECT_EQ(Canon("25h"), "25h");
  EXPECT_EQ(Canon("1m"), "1m");
  EXPECT_EQ(Canon("3650d"), "3650d");
  EXPECT_EQ(Canon("5256000"), "3650d");
  for (const char* t : {"1m", "59m", "61m", "1h", "23h", "1d", "7d", "3650d"}) EXPECT_EQ(Canon(Canon(t)), Canon(t));
}

TEST(Interval, RejectsZeroNegativeAndHuge) {
  EXPECT_TRUE(FailsWith(Interval::Parse("0m"), "interval '0m': must be at least 1 minute"));
  EXPECT_TRUE(FailsWith(Interval::Parse("0"), "must be at least 1 minute"));
  EXPECT_TRUE(FailsWith(Interval::Parse("0d"), "must be at least 1 minute"));
  EXPECT_TRUE(FailsWith(Interval::Parse("-5m"), "interval '-5m': must be positive"));
  EXPECT_TRUE(FailsWith(Interval::Parse("+5m"), "expected a number"));
  EXPECT_TRUE(FailsWith(Interval::Parse("3651d"), "must be at most 3650d"));
  EXPECT_TRUE(FailsWith(Interval::Parse("87601h"), "must be at most 3650d"));
  EXPECT_TRUE(FailsWith(Interval::Parse("5256001"), "must be at most 3650d"));
  EXPECT_TRUE(FailsWith(Interval::Parse("99999999999999999999999999m"), "must be at most 3650d"));
}

TEST(Interval, RejectsOtherForms) {
  EXPECT_TRUE(FailsWith(Interval::Parse(""), "interval '': empty"));
  EXPECT_TRUE(FailsWith(Interval::Parse("m"), "expected a number"));
  EXPECT_TRUE(FailsWith(Interval::Parse("1w"), "unknown unit 'w'"));
  EXPECT_TRUE(FailsWith(Interval::Parse("30s"), "unknown unit 's'"));
  EXPECT_TRUE(FailsWith(Interval::Parse("1H"), "units are lower case"));
  EXPECT_TRUE(FailsWith(Interval::Parse("1M"), "units are lower case"));
  EXPECT_TRUE(FailsWith(Interval::Parse("1h30m"), "compound intervals are not supported"));
  EXPECT_TRUE(FailsWith(Interval::Parse("1d12h"), "compound intervals are not supported"));
  EXPECT_TRUE(FailsWith(Interval::Parse("1.5h"), "fractions are not supported"));
  EXPECT_TRUE(FailsWith(Interval::Parse("1 h"), "no spaces"));
  EXPECT_TRUE(FailsWith(Interval::Parse(" 1h"), "expected a number"));
  EXPECT_TRUE(FailsWith(Interval::Parse("1h "), "unexpected text ' '"));
  EXPECT_TRUE(FailsWith(Interval::Parse("1hh"), "unexpected text 'h'"));
  EXPECT_TRUE(FailsWith(Interval::Parse(std::string("1\0h", 3)), "unknown unit '\\x00'"));
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
