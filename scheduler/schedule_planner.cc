#include "scheduler/schedule_planner.h"

#include <unordered_set>

namespace mirror_snapshot {

PlanStats SchedulePlanner::Plan(const std::vector<PlannedImage>& images,
                                const std::unordered_map<std::string, sched::Instant>& last_runs,
                                sched::Instant now, bool catch_up) {
  PlanStats stats;
  std::unordered_map<std::string, PlannedImage> next_images;
  next_images.reserve(images.size());
  for (const auto& image : images) {
    const auto applicable = table_.FindApplicable(image.pool, image.ns, image.image);
    if (!applicable) {
      ++stats.uncovered;
      queue_.Remove(image.key);
      continue;
    }
    ++stats.covered;
    next_images.emplace(image.key, image);
    const auto queued = queue_.When(image.key);
    if (queued && *queued <= now) continue;  // already due: keep it

    std::optional<sched::Instant> when;
    const auto last = last_runs.find(image.key);
    if (catch_up && last != last_runs.end()) {
      const auto result = sched::PlanCatchUp(applicable->schedules, last->second, now);
      if (result.ok()) {
        when = result.value().run_now ? now : result.value().next_run;
        if (result.value().run_now) ++stats.catch_ups;
      }
    } else {
      const auto next = sched::NextRunAfter(applicable->schedules, now);
      if (next.ok()) when = next.value();
    }
    if (when) {
      queue_.Upsert(image.key, *when);
    } else {
      queue_.Remove(image.key);  // nothing runs before the end of the supported range
    }
  }
  // Images that disappeared (deleted, mirroring disabled) leave the queue.
  for (const auto& [key, image] : images_) {
    if (next_images.find(key) == next_images.end()) queue_.Remove(key);
  }
  images_ = std::move(next_images);
  return stats;
}

std::optional<sched::Instant> SchedulePlanner::Reschedule(const std::string& key, sched::Instant after) {
  const auto applicable = FindApplicable(key);
  if (!applicable) {
    queue_.Remove(key);
    return std::nullopt;
  }
  const auto next = sched::NextRunAfter(applicable->schedules, after);
  if (!next.ok()) {
    queue_.Remove(key);
    return std::nullopt;
  }
  queue_.Upsert(key, next.value());
  return next.value();
}

void SchedulePlanner::RetryAt(const std::string& key, sched::Instant when) {
  const auto queued = queue_.When(key);
  if (!queued || when < *queued) queue_.Upsert(key, when);
}

std::optional<sched::ScheduleTable::Applicable> SchedulePlanner::FindApplicable(const std::string& key) const {
  const auto image = images_.find(key);
  if (image == images_.end()) return std::nullopt;
  return table_.FindApplicable(image->second.pool, image->second.ns, image->second.image);
}

}  // namespace mirror_snapshot
