#include "scheduler/due_queue.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "test_support.h"

namespace mirror_snapshot::scheduler {
namespace {

Instant T(long long s) { return Instant{std::chrono::seconds{s}}; }

TEST(DueQueue, OrdersByTimeThenKey) {
  DueQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.Peek(), std::nullopt);
  q.Upsert("c", T(30));
  q.Upsert("b", T(10));
  q.Upsert("a", T(10));
  q.Upsert("d", T(20));
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(q.Peek(), (DueQueue::Due{"a", T(10)}));
  auto due = q.PopDue(T(20));
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(due[0], (DueQueue::Due{"a", T(10)}));
  EXPECT_EQ(due[1], (DueQueue::Due{"b", T(10)}));
  EXPECT_EQ(due[2], (DueQueue::Due{"d", T(20)}));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_TRUE(q.PopDue(T(29)).empty());
  EXPECT_EQ(q.PopDue(T(30)).size(), 1u);
  EXPECT_TRUE(q.empty());
}

TEST(DueQueue, UpsertMovesAnEntry) {
  DueQueue q;
  q.Upsert("a", T(10));
  q.Upsert("b", T(20));
  q.Upsert("a", T(30));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.Peek()->key, "b");
  q.Upsert("a", T(5));
  EXPECT_EQ(q.Peek()->key, "a");
  EXPECT_EQ(q.When("a"), T(5));
  EXPECT_EQ(q.When("zz"), std::nullopt);
}

TEST(DueQueue, Remove) {
  DueQueue q;
  for (int k = 0; k < 10; ++k) q.Upsert("img" + std::to_string(k), T(100 - k));
  EXPECT_TRUE(q.Remove("img5"));
  EXPECT_FALSE(q.Remove("img5"));
  EXPECT_FALSE(q.Contains("img5"));
  EXPECT_TRUE(q.Remove("img9"));  // the earliest
  EXPECT_EQ(q.Peek()->key, "img8");
  EXPECT_EQ(q.size(), 8u);
  auto all = q.PopDue(T(1000));
  ASSERT_EQ(all.size(), 8u);
  for (std::size_t k = 1; k < all.size(); ++k) EXPECT_LE(all[k - 1].when, all[k].when);
  q.Upsert("again", T(1));
  EXPECT_EQ(q.size(), 1u);
  q.Clear();
  EXPECT_TRUE(q.empty());
}

TEST(DueQueue, MatchesAReferenceUnderRandomOperations) {
  std::mt19937_64 rng(7);
  DueQueue q;
  std::map<std::string, long long> ref_time;
  std::set<std::pair<long long, std::string>> ref_order;
  long long now = 0;
  for (int step = 0; step < 20000; ++step) {
    std::string key = "pool/ns/image-" + std::to_string(rng() % 500);
    switch (rng() % 4) {
      case 0:
      case 1: {
        long long when = now + static_cast<long long>(rng() % 1000);
        if (auto it = ref_time.find(key); it != ref_time.end()) ref_order.erase({it->second, key});
        ref_time[key] = when;
        ref_order.insert({when, key});
        q.Upsert(key, T(when));
        break;
      }
      case 2: {
        bool had = ref_time.count(key) > 0;
        if (had) {
          ref_order.erase({ref_time[key], key});
          ref_time.erase(key);
        }
        ASSERT_EQ(q.Remove(key), had);
        break;
      }
      default: {
        now += static_cast<long long>(rng() % 50);
        auto due = q.PopDue(T(now));
        for (const auto& d : due) {
          ASSERT_FALSE(ref_order.empty());
          auto first = *ref_order.begin();
          ASSERT_EQ(d.key, first.second);
          ASSERT_EQ(d.when, T(first.first));
          ref_order.erase(ref_order.begin());
          ref_time.erase(d.key);
        }
        if (!ref_order.empty()) {
          ASSERT_GT(ref_order.begin()->first, now);
        }
      }
    }
    ASSERT_EQ(q.size(), ref_order.size());
    if (!ref_order.empty()) {
      ASSERT_EQ(q.Peek()->key, ref_order.begin()->second);
    }
  }
}

TEST(DueQueue, TenThousandImagesFitInAKibibyteEach) {
  DueQueue q;
  for (int k = 0; k < 10000; ++k) q.Upsert("17/tenant-" + std::to_string(k % 7) + "/10b6e8a2c4d" + std::to_string(k), T(k));
  EXPECT_EQ(q.size(), 10000u);
  EXPECT_LT(q.memory_bytes() / q.size(), 256u);
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
