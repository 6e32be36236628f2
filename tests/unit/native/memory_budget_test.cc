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

}  // namespace
}  // namespace mirror_snapshot
