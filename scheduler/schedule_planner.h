// SchedulePlanner: the primary-side scheduler's memory. It holds the schedule
// table (levels and their schedules) and the due-queue of every covered
// image, and answers "what runs next, and when". Pure logic over the
// scheduler library; the module's scheduler thread owns it.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/due_queue.h"
#include "scheduler/instant.h"
#include "scheduler/schedule_table.h"

namespace mirror_snapshot {

namespace sched = mirror_snapshot::scheduler;

struct PlannedImage {
  std::string key;  // the caller's stable id for the image
  std::string pool;
  std::string ns;
  std::string image;  // name
};

struct PlanStats {
  size_t covered = 0;     // images some level's schedule applies to
  size_t uncovered = 0;   // images without any applicable schedule
  size_t catch_ups = 0;   // images due now because a run was missed
};

class SchedulePlanner {
 public:
  // Replaces every schedule; image next runs are recomputed on the next Plan.
  void SetSchedules(sched::ScheduleTable table) { table_ = std::move(table); }
  const sched::ScheduleTable& schedules() const { return table_; }

  // Makes the due-queue hold exactly `images` (those with a schedule).
  // Entries already due (time <= now) are kept, so nothing due is lost.
  // With `catch_up`, an image whose last run (from `last_runs`) was followed
  // by a missed slot is due now, once; otherwise its next regular run is
  // queued.
  PlanStats Plan(const std::vector<PlannedImage>& images,
                 const std::unordered_map<std::string, sched::Instant>& last_runs,
                 sched::Instant now, bool catch_up);

  std::vector<sched::DueQueue::Due> PopDue(sched::Instant now) { return queue_.PopDue(now); }
  std::optional<sched::DueQueue::Due> Peek() const { return queue_.Peek(); }
  std::optional<sched::Instant> NextRun(const std::string& key) const { return queue_.When(key); }

  // After a run: queue the image's next regular run strictly after `after`.
  // Returns it, or nullopt if the image is no longer covered.
  std::optional<sched::Instant> Reschedule(const std::string& key, sched::Instant after);
  // After a failure: run again at `when` (backoff), unless a regular run
  // comes first.
  void RetryAt(const std::string& key, sched::Instant when);

  // The level whose schedules apply to the image, and those schedules.
  std::optional<sched::ScheduleTable::Applicable> FindApplicable(const std::string& key) const;

  size_t queued() const { return queue_.size(); }
  size_t memory_bytes() const { return queue_.memory_bytes(); }

 private:
  sched::ScheduleTable table_;
  sched::DueQueue queue_;
  std::unordered_map<std::string, PlannedImage> images_;  // by key
};

}  // namespace mirror_snapshot
