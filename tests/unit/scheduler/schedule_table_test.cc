#include "scheduler/schedule_table.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

using testing::At;
using testing::Iso;

Schedule S(std::string_view expr, std::string_view start = {}, std::string_view zone = {}) {
  return Schedule::Parse(expr, start, zone).value();
}
LevelSpec L(std::string_view text) { return ParseLevelSpec(text).value(); }

TEST(ScheduleTable, AddRemoveClear) {
  ScheduleTable t;
  EXPECT_TRUE(t.Add(L("rbd/"), S("1h")));
  EXPECT_FALSE(t.Add(L("rbd/"), S("60m")));  // equal schedule already there
  EXPECT_TRUE(t.Add(L("rbd/"), S("1d", "14:00")));
  EXPECT_EQ(t.At(L("rbd/")).size(), 2u);
  EXPECT_TRUE(t.At(L("other/")).empty());
  EXPECT_FALSE(t.Remove(L("rbd/"), S("2h")));
  EXPECT_FALSE(t.Remove(L("other/"), S("1h")));
  EXPECT_TRUE(t.Remove(L("rbd/"), S("1h")));
  EXPECT_EQ(t.At(L("rbd/")).size(), 1u);
  EXPECT_TRUE(t.Add(L("rbd/ns/"), S("5m")));
  EXPECT_EQ(t.level_count(), 2u);
  EXPECT_EQ(t.Clear(L("rbd/")), 1u);
  EXPECT_EQ(t.Clear(L("rbd/")), 0u);
  EXPECT_EQ(t.level_count(), 1u);
}

TEST(ScheduleTable, MostSpecificLevelWins) {
  ScheduleTable t;
  t.Add(L(""), S("1d"));
  t.Add(L("rbd/"), S("6h"));
  t.Add(L("rbd/ns/"), S("1h"));
  t.Add(L("rbd/ns/vip"), S("5m"));
  t.Add(L("rbd//"), S("2h"));
  auto level = [&](std::string_view p, std::string_view n, std::string_view i) {
    auto a = t.FindApplicable(p, n, i);
    return a ? a->level->ToString() : "none";
  };
  EXPECT_EQ(level("rbd", "ns", "vip"), "rbd/ns/vip");
  EXPECT_EQ(level("rbd", "ns", "plain"), "rbd/ns/");
  EXPECT_EQ(level("rbd", "other", "x"), "rbd/");
  EXPECT_EQ(level("rbd", "", "x"), "rbd//");
  EXPECT_EQ(level("pool2", "", "x"), "");
  t.Clear(L(""));
  EXPECT_EQ(level("pool2", "", "x"), "none");
  EXPECT_EQ(t.next_run("pool2", "", "x", At("2026-01-01T00:00:00Z")), std::nullopt);
  // An image level in the default namespace is written "pool/image".
  t.Add(L("rbd/x"), S("10m"));
  EXPECT_EQ(level("rbd", "", "x"), "rbd/x");
}

TEST(ScheduleTable, NextRunIsTheEarliestItemOfTheLevel) {
  ScheduleTable t;
  t.Add(L("rbd/"), S("1d", "14:00"));
  t.Add(L("rbd/"), S("0 9 * * *", {}, "Europe/Berlin"));
  EXPECT_EQ(Iso(*t.next_run("rbd", "", "a", At("2026-01-05T06:00:00Z"))), "2026-01-05T08:00:00Z");
  EXPECT_EQ(Iso(*t.next_run("rbd", "", "a", At("2026-01-05T09:00:00Z"))), "2026-01-05T14:00:00Z");
}

TEST(ScheduleTable, EqualSchedulesAreStoredOnce) {
  ScheduleTable t;
  for (int k = 0; k < 1000; ++k) t.Add(L("rbd/img" + std::to_string(k)), S("0 3 * * *", {}, "Europe/Berlin"));
  t.Add(L("rbd/"), S("1h"));
  EXPECT_EQ(t.level_count(), 1001u);
  EXPECT_EQ(t.distinct_schedule_count(), 2u);
  for (int k = 0; k < 1000; ++k) t.Clear(L("rbd/img" + std::to_string(k)));
  EXPECT_EQ(t.distinct_schedule_count(), 1u);
  t.Remove(L("rbd/"), S("1h"));
  EXPECT_EQ(t.distinct_schedule_count(), 0u);
}

TEST(ScheduleTable, CopiesAreIndependent) {
  ScheduleTable a;
  a.Add(L("rbd/x"), S("1h"));
  a.Add(L("rbd/y"), S("1h"));
  ScheduleTable b = a;
  b.Clear(L("rbd/x"));
  b.Clear(L("rbd/y"));
  EXPECT_EQ(b.distinct_schedule_count(), 0u);
  EXPECT_EQ(a.distinct_schedule_count(), 1u);
  EXPECT_EQ(a.At(L("rbd/x")).size(), 1u);
  ScheduleTable c = std::move(a);
  EXPECT_EQ(c.FindApplicable("rbd", "", "y")->level->ToString(), "rbd/y");
}

TEST(ScheduleTable, ForEachListsEveryLevel) {
  ScheduleTable t;
  t.Add(L(""), S("1d"));
  t.Add(L("a/b/"), S("1h"));
  t.Add(L("a/b/"), S("2h"));
  std::size_t levels = 0, items = 0;
  t.ForEach([&](const LevelSpec&, std::span<const Schedule> s) {
    ++levels;
    items += s.size();
  });
  EXPECT_EQ(levels, 2u);
  EXPECT_EQ(items, 3u);
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
