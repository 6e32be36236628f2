#include "scheduler/instant.h"

#include <cstdio>

#include "scheduler/iso8601.h"
#include "scheduler/text.h"

namespace mirror_snapshot::scheduler {

std::string FormatInstant(Instant t) {
  auto day = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd{day};
  long long sod = (t - day).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), sod / 3600,
                (sod / 60) % 60, sod % 60);
  return buf;
}

Result<Instant> ParseInstant(std::string_view text) {
  auto parsed = iso8601::Parse(text);
  if (!parsed.ok()) return BadInput{"instant " + text::Quoted(text) + ": " + parsed.status().message()};
  const auto& dt = parsed.value();
  if (!dt.date)
    return BadInput{"instant " + text::Quoted(text) + ": a date is required (YYYY-MM-DDTHH:MM:SSZ)"};
  auto local = std::chrono::sys_days{*dt.date} + dt.time_of_day;
  Instant t = local - dt.offset.value_or(std::chrono::minutes{0});
  if (!InSupportedRange(t))
    return BadInput{"instant " + text::Quoted(text) + ": out of range 1970-01-01T00:00:00Z..9999-12-31T23:59:59Z"};
  return t;
}

}  // namespace mirror_snapshot::scheduler
