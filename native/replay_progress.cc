#include "native/replay_progress.h"

#include <chrono>

namespace mirror_snapshot {

double NowSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

void ReplayProgress::Begin(uint64_t from_snap_id, uint64_t to_snap_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  view_ = ReplayProgressView{};
  view_.phase = "scanning";
  view_.from_snap_id = from_snap_id;
  view_.to_snap_id = to_snap_id;
  view_.started = view_.updated = NowSeconds();
}

void ReplayProgress::Phase(const std::string& phase) {
  std::lock_guard<std::mutex> lock(mutex_);
  view_.phase = phase;
  view_.updated = NowSeconds();
}

void ReplayProgress::Bytes(uint64_t done, uint64_t total) {
  std::lock_guard<std::mutex> lock(mutex_);
  view_.bytes_done = done;
  view_.bytes_total = total;
  view_.updated = NowSeconds();
}

void ReplayProgress::End() {
  std::lock_guard<std::mutex> lock(mutex_);
  view_ = ReplayProgressView{};
}

ReplayProgressView ReplayProgress::View() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return view_;
}

}  // namespace mirror_snapshot
