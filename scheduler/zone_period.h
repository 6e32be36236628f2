// A stretch of time during which a zone's UTC offset is constant.
#pragma once

#include <chrono>

#include "scheduler/instant.h"

namespace mirror_snapshot::scheduler {

struct ZonePeriod {
  Instant begin;                // first instant of the period
  Instant end;                  // first instant after it (exclusive)
  std::chrono::seconds offset;  // local wall time = UTC + offset
};

}  // namespace mirror_snapshot::scheduler

namespace mirror_snapshot::scheduler {

// Stand-ins for "unbounded" period ends: far outside the supported instant
// range, yet small enough that adding any offset cannot overflow.
inline constexpr Instant kFarPast{std::chrono::seconds{-(1LL << 40)}};
inline constexpr Instant kFarFuture{std::chrono::seconds{1LL << 40}};

}  // namespace mirror_snapshot::scheduler
