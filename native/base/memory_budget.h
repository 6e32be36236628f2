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

// Bytes taken from a budget (none when it is null) and given back when the
// hold ends: what a journal pass keeps of the journal's objects, or what
// its applier keeps in flight.
class MemoryHold {
 public:
  explicit MemoryHold(MemoryBudget* budget = nullptr) : budget_(budget) {}
  ~MemoryHold() { Release(); }
  MemoryHold(MemoryHold&& other) noexcept : budget_(other.budget_), bytes_(other.bytes_) { other.bytes_ = 0; }
  MemoryHold& operator=(MemoryHold&& other) noexcept {
    if (this != &other) {
      Release();
      budget_ = other.budget_;
      bytes_ = other.bytes_;
      other.bytes_ = 0;
    }
    return *this;
  }
  MemoryHold(const MemoryHold&) = delete;
  MemoryHold& operator=(const MemoryHold&) = delete;

  // MemoryBudget::TryTake, kept until the hold ends; always true without a budget.
  bool TryTake(uint64_t bytes, bool force) {
    if (budget_ == nullptr) return true;
    if (!budget_->TryTake(bytes, force)) return false;
    bytes_ += bytes;
    return true;
  }
  // Gives back part of what was taken (no more than is held).
  void Give(uint64_t bytes) {
    if (bytes > bytes_) bytes = bytes_;
    if (budget_ != nullptr && bytes != 0) budget_->Give(bytes);
    bytes_ -= bytes;
  }
  uint64_t bytes() const { return bytes_; }

 private:
  void Release() {
    if (budget_ != nullptr && bytes_ != 0) budget_->Give(bytes_);
    bytes_ = 0;
  }

  MemoryBudget* budget_;
  uint64_t bytes_ = 0;
};

}  // namespace mirror_snapshot
