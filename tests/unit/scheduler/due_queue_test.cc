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
  EXPECT_EQ(q.peek(), std::nullopt);
  q.upsert("c", T(30));
  q.upsert("b", T(10));
  q.upsert("a", T(10));
  q.upsert("d", T(20));
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(q.peek(), (DueQueue::Due{"a", T(10)}));
  auto due = q.pop_due(T(20));
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(due[0], (DueQueue::Due{"a", T(10)}));
  EXPECT_EQ(due[1], (DueQueue::Due{"b", T(10)}));
  EXPECT_EQ(due[2], (DueQueue::Due{"d", T(20)}));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_TRUE(q.pop_due(T(29)).empty());
  EXPECT_EQ(q.pop_due(T(30)).size(), 1u);
  EXPECT_TRUE(q.empty());
}

TEST(DueQueue, UpsertMovesAnEntry) {
  DueQueue q;
  q.upsert("a", T(10));
  q.upsert("b", T(20));
  q.upsert("a", T(30));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.peek()->key, "b");
  q.upsert("a", T(5));
  EXPECT_EQ(q.peek()->key, "a");
  EXPECT_EQ(q.when("a"), T(5));
  EXPECT_EQ(q.when("zz"), std::nullopt);
}

TEST(DueQueue, Remove) {
  DueQueue q;
  for (int k = 0; k < 10; ++k) q.upsert("img" + std::to_string(k), T(100 - k));
  EXPECT_TRUE(q.remove("img5"));
  EXPECT_FALSE(q.remove("img5"));
  EXPECT_FALSE(q.contains("img5"));
  EXPECT_TRUE(q.remove("img9"));  // the earliest
  EXPECT_EQ(q.peek()->key, "img8");
  EXPECT_EQ(q.size(), 8u);
  auto all = q.pop_due(T(1000));
  ASSERT_EQ(all.size(), 8u);
  for (std::size_t k = 1; k < all.size(); ++k) EXPECT_LE(all[k - 1].when, all[k].when);
  q.upsert("again", T(1));
  EXPECT_EQ(q.size(), 1u);
  q.clear();
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
        q.upsert(key, T(when));
        break;
      }
      case 2: {
        bool had = ref_time.count(key) > 0;
        if (had) {
          ref_order.erase({ref_time[key], key});
          ref_time.erase(key);
        }
        ASSERT_EQ(q.remove(key), had);
        break;
      }
      default: {
        now += static_cast<long long>(rng() % 50);
        auto due = q.pop_due(T(now));
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
      ASSERT_EQ(q.peek()->key, ref_order.begin()->second);
    }
  }
}

TEST(DueQueue, TenThousandImagesFitInAKibibyteEach) {
  DueQueue q;
  for (int k = 0; k < 10000; ++k) q.upsert("17/tenant-" + std::to_string(k % 7) + "/10b6e8a2c4d" + std::to_string(k), T(k));
  EXPECT_EQ(q.size(), 10000u);
  EXPECT_LT(q.memory_bytes() / q.size(), 256u);
}

}  // namespace
}  // namespace mirror_snapshot::scheduler
