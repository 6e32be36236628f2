// Instants: points in time as UTC seconds, and their ISO 8601 text form.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "scheduler/result.h"

namespace mirror_snapshot::scheduler {

using Instant = std::chrono::sys_seconds;

// Every computation accepts and returns instants in this closed range
// (1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z); outside it they report an
// error instead of overflowing calendar arithmetic.
inline constexpr Instant kEarliestInstant{std::chrono::seconds{0}};
inline constexpr Instant kLatestInstant{std::chrono::seconds{253402300799}};

inline bool InSupportedRange(Instant t) {
  return t >= kEarliestInstant && t <= kLatestInstant;
}

// "2026-12-01T13:00:00Z". Any instant is printed (years outside 0000-9999
// get more digits or a sign), so this never fails.
std::string FormatInstant(Instant t);

// A full ISO 8601 date-time: "2026-12-01T14:00:00+01:00", "2026-12-01 14:00Z",
// "2026-12-01T13:00" (no offset means UTC). Seconds are optional, fractions
// are rejected; the date must lie in 1970..9999.
Result<Instant> ParseInstant(std::string_view text);

}  // namespace mirror_snapshot::scheduler
