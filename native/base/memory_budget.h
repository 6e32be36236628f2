// MemoryBudget: the replayer's data buffers, shared by every sync in the
// process. A sync takes bytes for each chunk it reads and returns them when
// the chunk is written, so one sync alone may use the whole budget and
// several share it.
#pragma once

#include <cstdint>
#include <mutex>

namespace mirror_snapshot {

// What one image's copy keeps in flight by default (the module's option
// replay_image_in_flight_bytes has the same default).
inline constexpr uint64_t kDefaultInFlightBytes = 64ull << 20;

class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t limit_bytes) : limit_(limit_bytes) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Takes `bytes` if they fit. `force` takes them anyway: a sync with
  // nothing in flight must progress, so the whole may exceed the limit by
  // one chunk per sync.
  bool TryTake(uint64_t bytes, bool force) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!force && used_ + bytes > limit_) return false;
    used_ += bytes;
    return true;
  }
  void Give(uint64_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    used_ -= bytes < used_ ? bytes : used_;
  }
  void SetLimit(uint64_t limit_bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = limit_bytes;
  }
  uint64_t used() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return used_;
  }

 private:
  mutable std::mutex mutex_;
  uint64_t limit_;
  uint64_t used_ = 0;
};

}  // namespace mirror_snapshot
