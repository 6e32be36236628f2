// "Every <interval> starting at <start time>": a fixed grid of instants.
#pragma once

#include <optional>

#include "scheduler/instant.h"
#include "scheduler/interval.h"
#include "scheduler/result.h"
#include "scheduler/start_time.h"

namespace mirror_snapshot::scheduler {

class IntervalSchedule {
 public:
  IntervalSchedule(Interval interval, std::optional<StartTime> start)
      : interval_(interval), start_(std::move(start)) {}

  const Interval& interval() const { return interval_; }
  const std::optional<StartTime>& start() const { return start_; }

  // The grid is anchor + k * interval, where the anchor is the start time's
  // anchor (StartTime::anchor) or 1970-01-01T00:00:00Z without one. A
  // date-time start is the first run (k >= 0); a time-of-day grid extends
  // both ways. Returns the first grid instant strictly after `after`: a
  // pure function of the schedule and `after`, so restarts change nothing.
  Result<Instant> NextAfter(Instant after) const;

 private:
  Interval interval_;
  std::optional<StartTime> start_;
};

}  // namespace mirror_snapshot::scheduler
