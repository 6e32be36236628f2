// IANA time zones, looked up in the system tz database (/usr/share/zoneinfo)
// through Howard Hinnant's date library; never through TZ, mktime or
// localtime, so nothing depends on the process environment.
//
// Hinnant date 3.0.1 ignores the POSIX rule string at the end of TZif files
// and so loses DST after a file's last explicit transition (2037 on Debian,
// earlier with "slim" files). TimeZone reads that footer itself and applies
// it from the last transition on, so offsets stay right up to year 9999.
//
// TimeZone is cheap to copy (copies share immutable rules) and safe to use
// from several threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "scheduler/result.h"
#include "scheduler/zone_period.h"

namespace mirror_snapshot::scheduler {

class TimeZone {
 public:
  // Fixed offset 0, no database access.
  static TimeZone Utc();

  // "Europe/Berlin", "America/New_York", "UTC", "Etc/GMT+5", links such as
  // "US/Eastern". Rejects unknown names ("unknown time zone 'Europe/Berln'"),
  // "localtime" (host dependent), paths and control characters.
  static Result<TimeZone> Locate(std::string_view name);

  // The name as given (links are not replaced by their targets).
  const std::string& name() const;

  // The stretch of constant offset containing t; begin <= t < end.
  ZonePeriod PeriodAt(Instant t) const;
  std::chrono::seconds offset_at(Instant t) const { return PeriodAt(t).offset; }

  // False if the zone file's POSIX footer could not be read or parsed: then
  // offsets after the file's last explicit transition are only the last
  // offset it lists (no DST). True for every zone on a healthy system.
  bool RulesComplete() const;

  friend bool operator==(const TimeZone& a, const TimeZone& b) { return a.name() == b.name(); }

 private:
  struct Rules;
  explicit TimeZone(std::shared_ptr<const Rules> rules) : rules_(std::move(rules)) {}
  std::shared_ptr<const Rules> rules_;  // immutable, shared by copies
};

}  // namespace mirror_snapshot::scheduler
