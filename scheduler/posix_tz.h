// POSIX TZ rule strings ("CET-1CEST,M3.5.0,M10.5.0/3"), as found in the
// footer of TZif files (RFC 8536 section 3.3, including the version 3
// extension of rule times from -167 to 167 hours). Internal.
//
// Why: Hinnant date 3.0.1 ignores TZif footers, so for instants after a
// zone file's last explicit transition (2037 in Debian's files) it keeps the
// last offset forever and loses DST. TimeZone uses this class for that tail.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "scheduler/zone_period.h"

namespace mirror_snapshot::scheduler {

class PosixTz {
 public:
  // nullopt when `spec` is not a valid POSIX TZ string.
  static std::optional<PosixTz> Parse(std::string_view spec);

  bool has_dst() const { return has_dst_; }
  std::chrono::seconds standard_offset() const { return std_offset_; }

  // The period containing t. Never empty: begin <= t < end.
  ZonePeriod PeriodAt(Instant t) const;

 private:
  struct Rule {
    enum Kind { kJulianNoLeap, kZeroBasedDay, kMonthWeekDay } kind = kMonthWeekDay;
    int day = 0;      // Jn: 1..365, n: 0..365
    int month = 1;    // Mm.w.d
    int week = 1;     // 1..5, 5 = last
    int weekday = 0;  // 0 = Sunday
    std::chrono::seconds time{2 * 3600};  // local time of the change, -167h..167h
  };

  // The instant the rule fires in `year`, given the offset in force before it.
  static Instant Transition(const Rule& rule, int year, std::chrono::seconds offset_before);

  std::chrono::seconds std_offset_{0};  // east of UTC is positive
  std::chrono::seconds dst_offset_{0};
  bool has_dst_ = false;
  Rule start_;  // standard -> daylight
  Rule end_;    // daylight -> standard
};

}  // namespace mirror_snapshot::scheduler
