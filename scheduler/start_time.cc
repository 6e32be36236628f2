#include "scheduler/start_time.h"

#include "scheduler/iso8601.h"
#include "scheduler/text.h"

namespace mirror_snapshot::scheduler {

Result<StartTime> StartTime::Parse(std::string_view text) {
  auto parsed = iso8601::Parse(text);
  if (!parsed.ok()) return BadInput{"start time " + text::Quoted(text) + ": " + parsed.status().message()};
  StartTime s;
  s.date_ = parsed.value().date;
  s.time_of_day_ = parsed.value().time_of_day;
  s.offset_ = parsed.value().offset.value_or(std::chrono::minutes{0});
  return s;
}

Instant StartTime::Anchor() const {
  using namespace std::chrono;
  sys_days day = date_ ? sys_days{*date_} : sys_days{year{1970} / January / 1};
  return day + time_of_day_ - offset_;
}

std::string StartTime::ToString() const {
  std::string out;
  if (date_) out = iso8601::FormatDate(*date_) + "T";
  out += iso8601::FormatTimeOfDay(time_of_day_);
  out += iso8601::FormatOffset(offset_);
  return out;
}

}  // namespace mirror_snapshot::scheduler
