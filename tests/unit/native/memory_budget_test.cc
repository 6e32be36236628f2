#include "native/base/memory_budget.h"

#include <gtest/gtest.h>

namespace mirror_snapshot {
namespace {

constexpr uint64_t kMiB = 1 << 20;

TEST(MemoryBudget, TakesWhatFitsAndRefusesTheRest) {
  MemoryBudget budget(16 * kMiB);
  EXPECT_TRUE(budget.TryTake(8 * kMiB, false));
  EXPECT_TRUE(budget.TryTake(8 * kMiB, false));
  EXPECT_FALSE(budget.TryTake(1, false));
  EXPECT_EQ(budget.used(), 16 * kMiB);
  budget.Give(4 * kMiB);
  EXPECT_TRUE(budget.TryTake(4 * kMiB, false));
  EXPECT_FALSE(budget.TryTake(4 * kMiB, false));
}

TEST(MemoryBudget, ASyncWithNothingInFlightIsNeverRefused) {
  MemoryBudget budget(4 * kMiB);
  EXPECT_TRUE(budget.TryTake(4 * kMiB, false));
  EXPECT_TRUE(budget.TryTake(4 * kMiB, true));  // over the limit by one chunk
  EXPECT_EQ(budget.used(), 8 * kMiB);
  budget.Give(8 * kMiB);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(MemoryBudget, NewLimitAppliesToTheNextTake) {
  MemoryBudget budget(4 * kMiB);
  EXPECT_FALSE(budget.TryTake(8 * kMiB, false));
  budget.SetLimit(8 * kMiB);
  EXPECT_TRUE(budget.TryTake(8 * kMiB, false));
  budget.Give(16 * kMiB);  // more than taken: clamps at zero
  EXPECT_EQ(budget.used(), 0u);
}

TEST(MemoryHold, GivesBackWhatItTookWhenItEnds) {
  MemoryBudget budget(4 * kMiB);
  {
    MemoryHold hold(&budget);
    EXPECT_TRUE(hold.TryTake(3 * kMiB, false));
    EXPECT_FALSE(hold.TryTake(2 * kMiB, false));  // refused: not counted
    EXPECT_TRUE(hold.TryTake(2 * kMiB, true));
    EXPECT_EQ(hold.bytes(), 5 * kMiB);
    EXPECT_EQ(budget.used(), 5 * kMiB);
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(MemoryHold, AMovedHoldGivesBackOnce) {
  MemoryBudget budget(4 * kMiB);
  MemoryHold other(&budget);
  EXPECT_TRUE(other.TryTake(1 * kMiB, false));
  {
    MemoryHold hold(&budget);
    EXPECT_TRUE(hold.TryTake(2 * kMiB, false));
    MemoryHold moved(std::move(hold));
    EXPECT_EQ(budget.used(), 3 * kMiB);
    moved = std::move(other);  // moved's own 2 MiB go back now
    EXPECT_EQ(budget.used(), 1 * kMiB);
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(MemoryHold, GivesBackPartOfWhatItHoldsAndNoMore) {
  MemoryBudget budget(8 * kMiB);
  MemoryBudget other(8 * kMiB);
  EXPECT_TRUE(other.TryTake(1 * kMiB, false));  // not the hold's: never given back by it
  MemoryHold hold(&budget);
  EXPECT_TRUE(hold.TryTake(3 * kMiB, false));
  hold.Give(1 * kMiB);
  EXPECT_EQ(hold.bytes(), 2 * kMiB);
  EXPECT_EQ(budget.used(), 2 * kMiB);
  EXPECT_TRUE(budget.TryTake(1 * kMiB, false));  // someone else's share of the same budget
  hold.Give(5 * kMiB);                           // more than it holds: only its own 2 MiB go back
  EXPECT_EQ(hold.bytes(), 0u);
  EXPECT_EQ(budget.used(), 1 * kMiB);
  EXPECT_EQ(other.used(), 1 * kMiB);
}

TEST(MemoryHold, WithoutABudgetEverythingFits) {
  MemoryHold hold;
  EXPECT_TRUE(hold.TryTake(UINT64_MAX, false));
}

}  // namespace
}  // namespace mirror_snapshot
