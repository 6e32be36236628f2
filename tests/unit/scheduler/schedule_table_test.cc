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
LevelSpec L(std::string_view text) { return parse_level_spec(text).value(); }

TEST(ScheduleTable, AddRemoveClear) {
  ScheduleTable t;
  EXPECT_TRUE(t.add(L("rbd/"), S("1h")));
  EXPECT_FALSE(t.add(L("rbd/"), S("60m")));  // equal schedule already there
  EXPECT_TRUE(t.add(L("rbd/"), S("1d", "14:00")));
  EXPECT_EQ(t.at(L("rbd/")).size(), 2u);
  EXPECT_TRUE(t.at(L("other/")).empty());
  EXPECT_FALSE(t.remove(L("rbd/"), S("2h")));
  EXPECT_FALSE(t.remove(L("other/"), S("1h")));
  EXPECT_TRUE(t.remove(L("rbd/"), S("1h")));
  EXPECT_EQ(t.at(L("rbd/")).size(), 1u);
  EXPECT_TRUE(t.add(L("rbd/ns/"), S("5m")));
  EXPECT_EQ(t.level_count(), 2u);
  EXPECT_EQ(t.clear(L("rbd/")), 1u);
  EXPECT_EQ(t.clear(L("rbd/")), 0u);
  EXPECT_EQ(t.level_count(), 1u);
}

TEST(ScheduleTable, MostSpecificLevelWins) {
  ScheduleTable t;
  t.add(L(""), S("1d"));
  t.add(L("rbd/"), S("6h"));
  t.add(L("rbd/ns/"), S("1h"));
  t.add(L("rbd/ns/vip"), S("5m"));
  t.add(L("rbd//"), S("2h"));
  auto level = [&](std::string_view p, std::string_view n, std::string_view i) {
    auto a = t.applicable(p, n, i);
    return a ? a->level->to_string() : "none";
  };
  EXPECT_EQ(level("rbd", "ns", "vip"), "rbd/ns/vip");
  EXPECT_EQ(level("rbd", "ns", "plain"), "rbd/ns/");
  EXPECT_EQ(level("rbd", "other", "x"), "rbd/");
  EXPECT_EQ(level("rbd", "", "x"), "rbd//");
  EXPECT_EQ(level("pool2", "", "x"), "");
  t.clear(L(""));
  EXPECT_EQ(level("pool2", "", "x"), "none");
  EXPECT_EQ(t.next_run("pool2", "", "x", At("2026-01-01T00:00:00Z")), std::nullopt);
  // An image level in the default namespace is written "pool/image".
  t.add(L("rbd/x"), S("10m"));
  EXPECT_EQ(level("rbd", "", "x"), "rbd/x");
}

TEST(ScheduleTable, NextRunIsTheEarliestItemOfTheLevel) {
  ScheduleTable t;
  t.add(L("rbd/"), S("1d", "14:00"));
  t.add(L("rbd/"), S("0 9 * * *", {}, "Europe/Berlin"));
  EXPECT_EQ(Iso(*t.next_run("rbd", "", "a", At("2026-01-05T06:00:00Z"))), "2026-01-05T08:00:00Z");
  EXPECT_EQ(Iso(*t.next_run("rbd", "", "a", At("2026-01-05T09:00:00Z"))), "2026-01-05T14:00:00Z");
}

TEST(ScheduleTable, EqualSchedulesAreStoredOnce) {
  ScheduleTable t;
  for (int k = 0; k < 1000; ++k) t.add(L("rbd/img" + std::to_string(k)), S("0 3 * * *", {}, "Europe/Berlin"));
  t.add(L("rbd/"), S("1h"));
  EXPECT_EQ(t.level_count(), 1001u);
  EXPECT_EQ(t.distinct_schedule_count(), 2u);
  for (int k = 0; k < 1000; ++k) t.clear(L("rbd/img" + std::to_string(k)));
  EXPECT_EQ(t.distinct_schedule_count(), 1u);
  t.remove(L("rbd/"), S("1h"));
  EXPECT_EQ(t.distinct_schedule_count(), 0u);
}

TEST(ScheduleTable, CopiesAreIndependent) {
  ScheduleTable a;
  a.add(L("rbd/x"), S("1h"));
  a.add(L("rbd/y"), S("1h"));
  ScheduleTable b = a;
  b.clear(L("rbd/x"));
  b.clear(L("rbd/y"));
  EXPECT_EQ(b.distinct_schedule_count(), 0u);
  EXPECT_EQ(a.distinct_schedule_count(), 1u);
  EXPECT_EQ(a.at(L("rbd/x")).size(), 1u);
  ScheduleTable c = std::move(a);
  EXPECT_EQ(c.applicable("rbd", "", "y")->level->to_string(), "rbd/y");
}

TEST(ScheduleTable, ForEachListsEveryLevel) {
  ScheduleTable t;
  t.add(L(""), S("1d"));
  t.add(L("a/b/"), S("1h"));
  t.add(L("a/b/"), S("2h"));
  std::size_t levels = 0, items = 0;
  t.for_each([&](const LevelSpec&, std::span<const Schedule> s) {
    ++levels;
    items += s.size();
  });
  EXPECT_EQ(levels, 2u);
  EXPECT_EQ(items, 3u);
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
