#include "native/base/task_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
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
  std::mutex mutex;
  std::condition_variable changed;
  int running = 0;
  int most = 0;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 6; ++i) {
    done.push_back(pool.Submit([&] {
      std::unique_lock<std::mutex> lock(mutex);
      most = std::max(most, ++running);
      changed.notify_all();
      // Stay until a second job runs beside this one (or give up: a
      // 1-thread pool would never get there, and the check below says so).
      changed.wait_for(lock, std::chrono::seconds(5), [&] { return running >= 2 || most >= 2; });
      --running;
    }));
  }
  for (auto& d : done) d.get();
  EXPECT_EQ(most, 2);
}

TEST(WaitOnExit, AJobUsingTheCallersObjectsEndsBeforeAnExceptionLeavesTheScope) {
  TaskPool pool(1);
  std::atomic<bool> job_ended{false};
  try {
    auto future = pool.Submit([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      job_ended = true;
    });
    WaitOnExit wait(future);
    throw std::runtime_error("prune failed");
  } catch (const std::runtime_error&) {
    EXPECT_TRUE(job_ended.load());
  }
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
