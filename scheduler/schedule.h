// Schedule: the value the mgr module stores per level and asks "when next?".
//
// Two kinds, both immutable and cheap to copy (copies share one body):
//   interval  "every <interval> [starting at <start time>]"  (rbd_support's kind)
//   cron      "<cron expression> in <IANA zone>"             (default zone UTC)
//
// For storage keep the three canonical parts; Parse(expression(),
// start_time(), time_zone()) gives back an equal Schedule.
//
// Thread safety: a Schedule is immutable; any number of threads may use
// copies of it (or the same object) at once.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "scheduler/instant.h"
#include "scheduler/result.h"

namespace mirror_snapshot::scheduler {

// What to do after a pause (mgr restart, failover, long snapshot): run once
// now if any slot was missed, then continue on the regular grid.
struct CatchUp {
  bool run_now = false;  // a run fell due in (last_run, now]: fire once (not once per missed slot)
  Instant next_run;      // the next regular run, strictly after now
};

class Schedule {
 public:
  enum class Kind { kInterval, kCron };

  // `interval_or_cron` is a cron expression if it starts with '@' or
  // contains a space or any of "*,/"; otherwise an interval. `start_time`
  // only goes with intervals, `time_zone` only with cron; empty = not given.
  static Result<Schedule> Parse(std::string_view interval_or_cron, std::string_view start_time = {},
                                std::string_view time_zone = {});
  static Result<Schedule> ParseInterval(std::string_view interval, std::string_view start_time = {});
  static Result<Schedule> ParseCron(std::string_view cron, std::string_view time_zone = {});

  Kind kind() const;
  // Canonical parts: "1d" or "0 2 * * *"; "14:00:00-05:00" or ""; "Europe/Berlin" or "".
  std::string expression() const;
  std::string start_time() const;  // interval schedules with a start time, else ""
  std::string time_zone() const;   // cron schedules ("UTC" unless given), else ""
  // One line for people: "every 1d starting at 14:00:00-05:00", "every 6h",
  // "cron 0 2 * * * in Europe/Berlin".
  std::string canonical() const;

  // The first run strictly after `after`.
  Result<Instant> NextRunAfter(Instant after) const;

  // Whether a run was missed in (last_run, now] and the next regular run.
  // Without a last run nothing counts as missed.
  Result<CatchUp> PlanCatchUp(std::optional<Instant> last_run, Instant now) const;

  friend bool operator==(const Schedule& a, const Schedule& b);

 private:
  struct Body;
  explicit Schedule(std::shared_ptr<const Body> body) : body_(std::move(body)) {}
  std::shared_ptr<const Body> body_;
};

// The items of one level are OR-ed: the earliest next run wins, and a
// catch-up is due if any item missed a slot.
Result<Instant> NextRunAfter(std::span<const Schedule> schedules, Instant after);
Result<CatchUp> PlanCatchUp(std::span<const Schedule> schedules, std::optional<Instant> last_run, Instant now);

}  // namespace mirror_snapshot::scheduler
