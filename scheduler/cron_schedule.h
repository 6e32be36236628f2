// A cron expression evaluated in the wall-clock time of an IANA zone.
//
// DST policy (docs/schedules.md has worked examples):
//  * Fixed-time entries (hour field not all 24 hours, e.g. "30 2 * * *"):
//    each matching wall time fires once, at the first instant the zone's
//    clock reaches or passes it. So a time skipped by a spring-forward gap
//    fires at the transition instant (several skipped times: one run), and a
//    time repeated by a fall-back fold fires on its first pass only.
//  * Every-hour entries (hour field matches all 24 hours, e.g. "0 * * * *",
//    "*/15 * * * *", @hourly) follow the clock: they fire whenever the clock
//    shows a matching time, i.e. on both passes of a fold, and not for times
//    the clock never shows. This keeps "every hour" one run per real hour.
#pragma once

#include "scheduler/cron_expr.h"
#include "scheduler/instant.h"
#include "scheduler/result.h"
#include "scheduler/time_zone.h"

namespace mirror_snapshot::scheduler {

class CronSchedule {
 public:
  // Every valid expression fires at least once in 8 years (Feb 29 across a
  // non-leap century year), so this bound never hides a real run.
  static constexpr std::chrono::days kSearchHorizon{3660};

  CronSchedule(CronExpr expr, TimeZone zone) : expr_(std::move(expr)), zone_(std::move(zone)) {}

  const CronExpr& expr() const { return expr_; }
  const TimeZone& zone() const { return zone_; }

  // The first run strictly after `after`. Errors only for instants outside
  // the supported range or when no run exists before year 10000.
  Result<Instant> NextAfter(Instant after) const;

 private:
  CronExpr expr_;
  TimeZone zone_;
};

}  // namespace mirror_snapshot::scheduler
