// Cron expressions: which wall-clock minutes match. Time zones and DST are
// CronSchedule's business; this class works on naive local date-times.
//
//   minute hour day-of-month month day-of-week
//   0-59   0-23 1-31         1-12  0-7 (0 and 7 = Sunday)
//
// Each field is a comma list of items: "*", "N", "A-B", each optionally
// followed by "/STEP"; "A/STEP" means A to the field's maximum. Months and
// weekdays also take names (jan..dec, sun..sat, any case). A day-of-week range
// may end in Sunday written as 0 ("fri-sun" = 5-7).
// Macros: @hourly @daily @midnight @weekly @monthly @yearly @annually.
// Rejected: L W # ? H, @reboot, @every, seconds or year fields, reversed
// ranges, steps of 0 or wider than the field, and expressions that can never
// fire ("0 0 31 2 *").
//
// Day rule: when both day-of-month and day-of-week are restricted, a day
// matches if EITHER matches (classic cron). A field counts as restricted
// unless it is exactly "*": "*/2", "1-31" and "*/1" are restricted.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "scheduler/result.h"

namespace mirror_snapshot::scheduler {

class CronExpr {
 public:
  static Result<CronExpr> Parse(std::string_view text);

  // Lower case, fields separated by single spaces; @midnight is written
  // @daily and @annually @yearly. Parse(ToString()) == *this.
  const std::string& ToString() const { return text_; }

  // The hour field matches all 24 hours ("*", "*/1", "0-23", @hourly):
  // such an entry follows the clock through DST changes (see CronSchedule).
  bool every_hour() const { return hours_ == kAllHours; }

  bool Matches(std::chrono::local_seconds t) const;

  // The first matching minute in [from, until), if any. `from` is rounded up
  // to a whole minute. The search is bounded by `until`.
  std::optional<std::chrono::local_seconds> NextMatch(std::chrono::local_seconds from,
                                                       std::chrono::local_seconds until) const;

  friend bool operator==(const CronExpr& a, const CronExpr& b) { return a.text_ == b.text_; }

 private:
  static constexpr std::uint32_t kAllHours = (1u << 24) - 1;

  CronExpr() = default;
  bool DayMatches(const std::chrono::year_month_day& ymd, std::chrono::weekday wd) const;

  std::uint64_t minutes_ = 0;       // bit m: minute m
  std::uint32_t hours_ = 0;         // bit h: hour h
  std::uint32_t days_of_month_ = 0; // bit d: day d (1..31)
  std::uint32_t months_ = 0;        // bit m: month m (1..12)
  std::uint32_t days_of_week_ = 0;  // bit d: weekday d (0 = Sunday .. 6)
  bool dom_restricted_ = false;
  bool dow_restricted_ = false;
  std::string text_;
};

}  // namespace mirror_snapshot::scheduler
