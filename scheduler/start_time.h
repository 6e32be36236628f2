// Start times: where an interval schedule's grid is anchored (ISO 8601).
//
// Accepted:  "14:00", "14:00:00", "14:00Z", "14:00-05:00", "14:00:00+0130",
//            "2026-12-01T14:00", "2026-12-01 14:00:00+01:00", "2026-12-01T13:00Z".
// No offset means UTC. The offset is honoured exactly: "14:00-05:00" is 19:00 UTC.
//
// Canonical text keeps what was meant, with seconds and offset spelled out:
//   time of day  "HH:MM:SS+HH:MM"             ("14:00" -> "14:00:00+00:00")
//   date-time    "YYYY-MM-DDTHH:MM:SS+HH:MM"  (date and time as written, in the
//                                             written offset; "Z" -> "+00:00")
// Parse(x.ToString()) == x for every parsed x.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "scheduler/instant.h"
#include "scheduler/result.h"

namespace mirror_snapshot::scheduler {

class StartTime {
 public:
  static Result<StartTime> Parse(std::string_view text);

  // A date-time ("2026-12-01T14:00") rather than a time of day ("14:00").
  bool has_date() const { return date_.has_value(); }

  // The instant the schedule grid is anchored to. For a date-time, that
  // instant. For a time of day, that time on 1970-01-01 in the given offset
  // (so the grid is aligned to the epoch, as in rbd_support, but with the
  // offset's sign right: "00:30+05:00" anchors at 1969-12-31T19:30:00Z).
  Instant Anchor() const;

  std::chrono::minutes offset() const { return offset_; }
  std::chrono::seconds time_of_day() const { return time_of_day_; }
  std::string ToString() const;

  friend bool operator==(const StartTime&, const StartTime&) = default;

 private:
  StartTime() = default;
  std::optional<std::chrono::year_month_day> date_;
  std::chrono::seconds time_of_day_{0};
  std::chrono::minutes offset_{0};
};

}  // namespace mirror_snapshot::scheduler
