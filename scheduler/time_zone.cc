#include "scheduler/time_zone.h"

#include <date/tz.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <optional>

#include "scheduler/posix_tz.h"
#include "scheduler/text.h"

namespace mirror_snapshot::scheduler {

struct TimeZone::Rules {
  std::string name;
  const date::time_zone* zone = nullptr;  // nullptr: UTC fast path
  Instant last_change = kFarFuture;       // start of the open-ended stretch Hinnant ends with

  // The zone file's footer is read on first need (an instant at or after
  // last_change), so looking a zone up stays cheap.
  mutable std::once_flag footer_once;
  mutable std::optional<PosixTz> tail;  // footer rules, used from last_change on
  mutable bool complete = true;

  void load_footer() const;
};

namespace {

constexpr std::size_t kMaxZoneNameLength = 255;
constexpr std::streamoff kFooterWindow = 1024;  // POSIX TZ strings are far shorter
// Hinnant date hard-codes this directory as well (TZDIR is ignored).
constexpr const char* kZoneDir = "/usr/share/zoneinfo/";

std::optional<std::string> name_problem(std::string_view name) {
  if (name.empty()) return "empty";
  if (name.size() > kMaxZoneNameLength) return "longer than 255 characters";
  if (name.front() == '/' || name.find("..") != std::string_view::npos || name.find("//") != std::string_view::npos)
    return "not a zone name";
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || text::IsDigit(c) || c == '/' || c == '_' ||
              c == '-' || c == '+' || c == '.';
    if (!ok) return "not a zone name";
  }
  if (name == "localtime" || name == "posixrules" || name == "Factory") return "not a zone name";
  return std::nullopt;
}

// The POSIX TZ string at the end of a version 2+ TZif file ("" if the file
// has none); nullopt if the file cannot be read or is not TZif v2+. The
// footer is short, so only the header and the file's tail are read.
std::optional<std::string> read_footer(const std::string& name) {
  std::ifstream in(std::string(kZoneDir) + name, std::ios::binary);
  char header[5];
  if (!in.read(header, sizeof header) || std::string_view(header, 4) != "TZif" || header[4] < '2') return std::nullopt;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return std::nullopt;
  const std::streamoff tail = std::min<std::streamoff>(size, kFooterWindow);
  std::string data(static_cast<std::size_t>(tail), '\0');
  in.seekg(size - tail);
  if (!in.read(data.data(), tail) || data.size() < 2 || data.back() != '\n') return std::nullopt;
  std::size_t open = data.rfind('\n', data.size() - 2);
  if (open == std::string::npos) return std::nullopt;
  return data.substr(open + 1, data.size() - open - 2);
}

}  // namespace

TimeZone TimeZone::Utc() {
  auto rules = std::make_shared<Rules>();
  rules->name = "UTC";
  return TimeZone(std::move(rules));
}

Result<TimeZone> TimeZone::Locate(std::string_view name) {
  if (auto why = name_problem(name)) return BadInput{"time zone " + text::Quoted(name) + ": " + *why};
  if (name == "UTC") return Utc();

  auto rules = std::make_shared<Rules>();
  rules->name = std::string(name);
  try {
    rules->zone = date::locate_zone(name);
    // Also makes Hinnant load the zone file now (it does so once, lazily),
    // so later queries cannot fail. The last stretch it knows about is
    // open-ended; from its start on, the footer rules (if any) decide.
    auto last = rules->zone->get_info(date::sys_seconds{date::sys_days{date::year{2500} / 1 / 1}});
    rules->last_change = std::max(Instant{last.begin}, kFarPast);
  } catch (const std::exception&) {
    return BadInput{"unknown time zone " + text::Quoted(name)};
  }
  return TimeZone(std::move(rules));
}

void TimeZone::Rules::load_footer() const {
  std::call_once(footer_once, [this] {
    auto footer = read_footer(name);
    std::optional<PosixTz> parsed = footer ? PosixTz::Parse(*footer) : std::nullopt;
    complete = parsed.has_value() || (footer && footer->empty());  // "" = no rules beyond the table
    auto last = zone->get_info(last_change);
    if (parsed && (parsed->has_dst() || parsed->standard_offset() != last.offset)) tail = parsed;
  });
}

const std::string& TimeZone::name() const { return rules_->name; }

bool TimeZone::RulesComplete() const {
  if (rules_->zone == nullptr) return true;
  rules_->load_footer();
  return rules_->complete;
}

ZonePeriod TimeZone::PeriodAt(Instant t) const {
  const Rules& r = *rules_;
  if (r.zone == nullptr) return {kFarPast, kFarFuture, std::chrono::seconds{0}};
  if (t >= r.last_change) {
    r.load_footer();
    if (r.tail) {
      ZonePeriod p = r.tail->PeriodAt(t);
      p.begin = std::max(p.begin, r.last_change);
      return p;
    }
  }
  // Before last_change Hinnant's stretches end at or before it.
  auto info = r.zone->get_info(t);
  return {std::max(Instant{info.begin}, kFarPast), std::min(Instant{info.end}, kFarFuture), info.offset};
}

}  // namespace mirror_snapshot::scheduler
