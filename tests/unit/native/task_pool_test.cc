#include "native/task_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>

namespace mirror_snapshot {
namespace {

TEST(TaskPool, RunsEveryJobOnItsOwnFixedThreads) {
  TaskPool pool(3);
  EXPECT_EQ(pool.threads(), 3u);
  std::mutex mutex;
  std::set<std::thread::id> ran_on;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 60; ++i) {
    done.push_back(pool.Submit([&] {
      std::lock_guard<std::mutex> lock(mutex);
      ran_on.insert(std::this_thread::get_id());
    }));
  }
  for (auto& d : done) d.get();
  EXPECT_LE(ran_on.size(), 3u);  // no thread per job
  EXPECT_GE(ran_on.size(), 1u);
  EXPECT_EQ(ran_on.count(std::this_thread::get_id()), 0u);
}

TEST(TaskPool, JobsRunSideBySideUpToThePoolSize) {
  TaskPool pool(2);
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::vector<std::future<void>> done;
  for (int i = 0; i < 6; ++i) {
    done.push_back(pool.Submit([&] {
      const int now = ++running;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      --running;
    }));
  }
  for (auto& d : done) d.get();
  EXPECT_EQ(most.load(), 2);
}

TEST(TaskPool, AJobsExceptionReachesItsWaiterAndTheThreadLivesOn) {
  TaskPool pool(1);
  auto failed = pool.Submit([] { throw std::runtime_error("boom"); });
  EXPECT_THROW(failed.get(), std::runtime_error);
  bool ran = false;
  pool.Submit([&] { ran = true; }).get();
  EXPECT_TRUE(ran);
}

TEST(TaskPool, DestructionRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    TaskPool pool(1);
    for (int i = 0; i < 5; ++i) {
      pool.Submit([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ++ran;
      });
    }
  }
  EXPECT_EQ(ran.load(), 5);
}

TEST(TaskPool, ZeroThreadsMeansOne) {
  TaskPool pool(0);
  EXPECT_EQ(pool.threads(), 1u);
  bool ran = false;
  pool.Submit([&] { ran = true; }).get();
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace mirror_snapshot
