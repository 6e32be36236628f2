// The ISO 8601 subset shared by start times and instants (internal).
//
//   date-time   := YYYY '-' MM '-' DD ( 'T' | 't' | ' ' ) time-of-day
//   time-of-day := HH ':' MM [ ':' SS ] [ offset ]
//   offset      := 'Z' | 'z' | ( '+' | '-' ) HH [ [ ':' ] MM ]
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "scheduler/result.h"

namespace mirror_snapshot::scheduler::iso8601 {

// Offsets are whole minutes within +-18:00 (the widest any zone has used is +-15:00).
inline constexpr std::chrono::minutes kMaxOffset{18 * 60};

struct DateTime {
  std::optional<std::chrono::year_month_day> date;  // absent for a bare time of day
  std::chrono::seconds time_of_day{0};              // 0 .. 86399
  std::optional<std::chrono::minutes> offset;       // absent when the text had none
};

// On failure the error names the bad part ("hour '25' out of range 00-23")
// but not the whole input; callers prefix it with what was being parsed.
Result<DateTime> Parse(std::string_view text);

// "+05:30", "-05:00", "+00:00".
std::string FormatOffset(std::chrono::minutes offset);

// "2026-12-01", "14:00:00".
std::string FormatDate(const std::chrono::year_month_day& date);
std::string FormatTimeOfDay(std::chrono::seconds since_midnight);

}  // namespace mirror_snapshot::scheduler::iso8601
