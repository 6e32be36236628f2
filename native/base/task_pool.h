// TaskPool: a fixed set of threads that run short side jobs of a sync (the
// release of the primary's older snapshots) while the sync goes on with its
// own part. The caller waits for the job's future before it reports the step
// done, so the order of what a step does is unchanged; the pool only keeps
// the process from starting a thread per step (the thread count stays flat,
// and no short-lived thread takes a malloc arena of its own).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace mirror_snapshot {

class TaskPool {
 public:
  // Throws std::system_error when a thread cannot be started (those started
  // are stopped and joined first).
  explicit TaskPool(unsigned threads);
  ~TaskPool();  // runs what is queued, then joins
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // Queues `job`; its future becomes ready when it has run. An exception
  // the job throws is kept in the future.
  std::future<void> Submit(std::function<void()> job);

  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }

 private:
  void Work();
  void StopAndJoin();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// Waits for a job's future when the scope ends, as std::async's future does
// by itself: a job that uses the caller's objects must end before they do,
// also when the caller leaves by an exception.
class WaitOnExit {
 public:
  explicit WaitOnExit(std::future<void>& future) : future_(future) {}
  ~WaitOnExit() {
    if (future_.valid()) future_.wait();
  }
  WaitOnExit(const WaitOnExit&) = delete;
  WaitOnExit& operator=(const WaitOnExit&) = delete;

 private:
  std::future<void>& future_;
};

}  // namespace mirror_snapshot
