#include "native/replay/replay_progress.h"

#include <chrono>

namespace mirror_snapshot {

double NowSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

void ReplayProgress::ClosePhase(double now) {
  if (view_.phase != "idle" && phase_started_ > 0) phase_seconds_[view_.phase] += now - phase_started_;
  phase_started_ = now;
}

void ReplayProgress::Begin(uint64_t from_snap_id, uint64_t to_snap_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const double now = NowSeconds();
  ClosePhase(now);
  view_ = ReplayProgressView{};
  view_.phase = "scanning";
  view_.from_snap_id = from_snap_id;
  view_.to_snap_id = to_snap_id;
  view_.started = view_.updated = now;
}

void ReplayProgress::Phase(const std::string& phase) {
  std::lock_guard<std::mutex> lock(mutex_);
  const double now = NowSeconds();
  ClosePhase(now);
  view_.phase = phase;
  view_.updated = now;
}

void ReplayProgress::Bytes(uint64_t done, uint64_t total) {
  std::lock_guard<std::mutex> lock(mutex_);
  view_.bytes_done = done;
  view_.bytes_total = total;
  view_.updated = NowSeconds();
}

void ReplayProgress::Touch() {
  std::lock_guard<std::mutex> lock(mutex_);
  view_.updated = NowSeconds();
}

void ReplayProgress::End() {
  std::lock_guard<std::mutex> lock(mutex_);
  ClosePhase(NowSeconds());
  view_ = ReplayProgressView{};
}

void ReplayProgress::ResetPhaseTimes() {
  std::lock_guard<std::mutex> lock(mutex_);
  phase_seconds_.clear();
  phase_started_ = NowSeconds();
}

std::map<std::string, double> ReplayProgress::PhaseSeconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, double> out = phase_seconds_;
  if (view_.phase != "idle" && phase_started_ > 0) out[view_.phase] += NowSeconds() - phase_started_;
  return out;
}

ReplayProgressView ReplayProgress::View() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return view_;
}

}  // namespace mirror_snapshot
