#include "scheduler/cron_schedule.h"

#include <algorithm>

namespace mirror_snapshot::scheduler {

namespace {

using std::chrono::local_seconds;
using std::chrono::seconds;

// A zone changes offset at most a few times a year; this only stops a
// corrupt zone from making the walk long.
constexpr int kMaxPeriods = 2000;

local_seconds wall(Instant t, seconds offset) { return local_seconds{t.time_since_epoch() + offset}; }

}  // namespace

Result<Instant> CronSchedule::NextAfter(Instant after) const {
  if (!InSupportedRange(after))
    return BadInput{"instant " + FormatInstant(after) + " out of range 1970-01-01T00:00:00Z..9999-12-31T23:59:59Z"};
  const Instant horizon = std::min(after + kSearchHorizon, kLatestInstant);
  const bool follows_clock = expr_.every_hour();

  // Walk the zone's stretches of constant offset from `after` on. Within one,
  // wall time is UTC + offset and increases with it.
  Instant t = after;
  for (int guard = 0; guard < kMaxPeriods && t <= horizon; ++guard) {
    const ZonePeriod p = zone_.PeriodAt(t);
    const seconds offset = p.offset;
    const seconds before = p.begin > kFarPast ? zone_.offset_at(p.begin - seconds{1}) : offset;

    // Spring forward: wall times in [begin+before, begin+offset) never show.
    // A fixed-time entry matching one of them runs once, at the change.
    if (!follows_clock && offset > before && p.begin > after && p.begin <= horizon) {
      if (expr_.NextMatch(wall(p.begin, before), wall(p.begin, offset))) return p.begin;
    }

    const local_seconds after_next_minute =
        std::chrono::floor<std::chrono::minutes>(wall(after, offset)) + std::chrono::minutes{1};
    local_seconds from = std::max(wall(p.begin, offset), after_next_minute);
    // Fall back: wall times in [begin+offset, begin+before) show a second
    // time. A fixed-time entry already ran on the first pass.
    if (!follows_clock && offset < before) from = std::max(from, wall(p.begin, before));
    const Instant end = std::min(p.end, horizon + seconds{1});
    const local_seconds until = wall(end, offset);
    if (from < until) {
      if (auto hit = expr_.NextMatch(from, until)) return Instant{hit->time_since_epoch() - offset};
    }
    t = p.end;
  }
  return BadInput{"cron '" + expr_.ToString() + "' in " + zone_.name() + ": no run after " + FormatInstant(after) +
               (horizon == kLatestInstant ? " before year 10000" : " within 10 years")};
}

}  // namespace mirror_snapshot::scheduler
