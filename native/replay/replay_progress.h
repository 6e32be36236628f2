// ReplayProgress: what one image's sync is doing right now, written by the
// syncing thread and read by status commands on other threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace mirror_snapshot {

struct ReplayProgressView {
  std::string phase = "idle";  // idle, connecting, scanning, copying, snapshotting
  uint64_t from_snap_id = 0;
  uint64_t to_snap_id = 0;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  double started = 0;  // unix seconds (with fraction) the current sync started
  double updated = 0;
};

class ReplayProgress {
 public:
  void Begin(uint64_t from_snap_id, uint64_t to_snap_id);
  void Phase(const std::string& phase);
  void Bytes(uint64_t done, uint64_t total);
  // The sync is alive though it has no bytes to count (scanning): moves
  // `updated`, which status and the stall check read.
  void Touch();
  void End();
  ReplayProgressView View() const;

  // Seconds spent in each phase since ResetPhaseTimes(), the current one
  // included: where the time of the last step went.
  void ResetPhaseTimes();
  std::map<std::string, double> PhaseSeconds() const;

  // Asks the sync using this progress to stop at its next chunk (and every
  // later sync to refuse to start) until cleared: how a role change gets the
  // image to itself.
  void SetCancelled(bool cancelled) { cancelled_.store(cancelled); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  void ClosePhase(double now);  // mutex_ held

  mutable std::mutex mutex_;
  ReplayProgressView view_;
  std::map<std::string, double> phase_seconds_;
  double phase_started_ = 0;
  std::atomic<bool> cancelled_{false};
};

double NowSeconds();

}  // namespace mirror_snapshot
