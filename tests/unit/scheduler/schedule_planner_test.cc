#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "scheduler/level_spec.h"
#include "scheduler/schedule.h"
#include "scheduler/schedule_planner.h"

namespace mirror_snapshot {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
sched::Instant At(int64_t s) { return sched::Instant{seconds{s}}; }

sched::ScheduleTable Table(const std::string& level, const std::string& expression) {
  sched::ScheduleTable table;
  table.Add(sched::ParseLevelSpec(level).value(), sched::Schedule::Parse(expression).value());
  return table;
}

const std::vector<PlannedImage> kImages{{"k1", "rbd", "", "a"}, {"k2", "rbd", "", "b"},
                                         {"k3", "other", "", "c"}};

TEST(SchedulePlanner, QueuesOnlyCoveredImagesAtTheirNextRun) {
  SchedulePlanner planner;
  planner.SetSchedules(Table("rbd/", "1h"));
  const auto stats = planner.Plan(kImages, {}, At(3600 * 10 + 5), false);
  EXPECT_EQ(stats.covered, 2u);
  EXPECT_EQ(stats.uncovered, 1u);
  EXPECT_EQ(planner.queued(), 2u);
  EXPECT_EQ(planner.NextRun("k1"), At(3600 * 11));
  EXPECT_FALSE(planner.NextRun("k3"));
}

TEST(SchedulePlanner, MissedRunsAreCaughtUpOnceOnlyWhenAsked) {
  SchedulePlanner planner;
  planner.SetSchedules(Table("rbd/", "1h"));
  // Last run at 10:00; now 13:30: three slots missed, one catch-up now.
  const std::unordered_map<std::string, sched::Instant> last{{"k1", At(3600 * 10)}};
  auto stats = planner.Plan(kImages, last, At(3600 * 13 + 1800), true);
  EXPECT_EQ(stats.catch_ups, 1u);
  EXPECT_EQ(planner.NextRun("k1"), At(3600 * 13 + 1800));
  EXPECT_EQ(planner.NextRun("k2"), At(3600 * 14));  // no record: nothing counts as missed
  auto due = planner.PopDue(At(3600 * 13 + 1800));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, "k1");
  // After the run, back on the grid.
  EXPECT_EQ(planner.Reschedule("k1", At(3600 * 13 + 1801)), At(3600 * 14));
}

TEST(SchedulePlanner, ReplanningKeepsWhatIsAlreadyDue) {
  SchedulePlanner planner;
  planner.SetSchedules(Table("rbd/", "1h"));
  planner.Plan(kImages, {}, At(3600 * 10 - 1), false);  // due at 10:00
  planner.SetSchedules(Table("rbd/", "1d"));
  planner.Plan(kImages, {}, At(3600 * 10 + 30), false);  // 10:00 not yet popped
  EXPECT_EQ(planner.NextRun("k1"), At(3600 * 10));
}

TEST(SchedulePlanner, ImagesThatDisappearLeaveTheQueue) {
  SchedulePlanner planner;
  planner.SetSchedules(Table("rbd/", "1h"));
  planner.Plan(kImages, {}, At(0), false);
  planner.Plan({kImages[1]}, {}, At(1), false);
  EXPECT_EQ(planner.queued(), 1u);
  EXPECT_FALSE(planner.NextRun("k1"));
  EXPECT_FALSE(planner.Reschedule("k1", At(2)));
}

TEST(SchedulePlanner, MostSpecificLevelWins) {
  sched::ScheduleTable table = Table("rbd/", "1h");
  table.Add(sched::ParseLevelSpec("rbd/a").value(), sched::Schedule::Parse("1d").value());
  SchedulePlanner planner;
  planner.SetSchedules(std::move(table));
  planner.Plan(kImages, {}, At(60), false);
  EXPECT_EQ(planner.NextRun("k1"), At(86400));
  EXPECT_EQ(planner.NextRun("k2"), At(3600));
  const auto applicable = planner.FindApplicable("k1");
  ASSERT_TRUE(applicable);
  EXPECT_EQ(applicable->level->ToString(), "rbd/a");
}

TEST(SchedulePlanner, RetryComesBeforeTheNextRegularRunOnly) {
  SchedulePlanner planner;
  planner.SetSchedules(Table("rbd/", "1h"));
  planner.Plan(kImages, {}, At(10), false);
  planner.RetryAt("k1", At(40));
  EXPECT_EQ(planner.NextRun("k1"), At(40));
  planner.RetryAt("k2", At(7200));  // later than the regular 01:00 run
  EXPECT_EQ(planner.NextRun("k2"), At(3600));
}

}  // namespace
}  // namespace mirror_snapshot
