#include "scheduler/interval_schedule.h"

namespace mirror_snapshot::scheduler {

Result<Instant> IntervalSchedule::NextAfter(Instant after) const {
  if (!InSupportedRange(after))
    return BadInput{"instant " + FormatInstant(after) + " out of range 1970-01-01T00:00:00Z..9999-12-31T23:59:59Z"};
  const Instant anchor = start_ ? start_->Anchor() : kEarliestInstant;
  const long long step = std::chrono::seconds{interval_.length()}.count();
  const long long since = (after - anchor).count();
  // k = floor(since / step) + 1, the first grid point strictly after `after`.
  long long k = since / step;
  if (since % step != 0 && since < 0) --k;
  ++k;
  if (k < 0 && start_ && start_->has_date()) k = 0;  // a date-time start is the first run
  Instant next = anchor + std::chrono::seconds{k * step};
  if (next > kLatestInstant) return BadInput{"no run after " + FormatInstant(after) + " before year 10000"};
  return next;
}

}  // namespace mirror_snapshot::scheduler
