#include "native/base/task_pool.h"

#include <utility>

namespace mirror_snapshot {

TaskPool::TaskPool(unsigned threads) {
  if (threads == 0) threads = 1;
  workers_.reserve(threads);
  try {
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  } catch (...) {
    // Out of threads (EAGAIN): a joinable std::thread destroyed would abort
    // the whole process, so stop those started before letting go.
    StopAndJoin();
    throw;
  }
}

TaskPool::~TaskPool() { StopAndJoin(); }

void TaskPool::StopAndJoin() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

std::future<void> TaskPool::Submit(std::function<void()> job) {
  std::packaged_task<void()> task(std::move(job));
  std::future<void> done = task.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return done;
}

void TaskPool::Work() {
  for (;;) {
    std::packaged_task<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace mirror_snapshot
