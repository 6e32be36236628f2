#include "scheduler/schedule.h"

#include <variant>

#include "scheduler/cron_schedule.h"
#include "scheduler/interval_schedule.h"
#include "scheduler/text.h"

namespace mirror_snapshot::scheduler {

struct Schedule::Body {
  std::variant<IntervalSchedule, CronSchedule> rule;
};

namespace {

bool looks_like_cron(std::string_view text) {
  if (!text.empty() && text[0] == '@') return true;
  for (char c : text)
    if (text::IsSpace(c) || c == '*' || c == ',' || c == '/') return true;
  return false;
}

}  // namespace

Result<Schedule> Schedule::Parse(std::string_view interval_or_cron, std::string_view start_time,
                                 std::string_view time_zone) {
  if (looks_like_cron(interval_or_cron)) {
    if (!start_time.empty())
      return BadInput{"start time " + text::Quoted(start_time) +
                   ": only interval schedules take a start time (a cron expression fixes its own times)"};
    return ParseCron(interval_or_cron, time_zone);
  }
  if (!time_zone.empty())
    return BadInput{"time zone " + text::Quoted(time_zone) +
                 ": only cron schedules take a time zone (give an interval's start time an offset instead)"};
  return ParseInterval(interval_or_cron, start_time);
}

Result<Schedule> Schedule::ParseInterval(std::string_view interval, std::string_view start_time) {
  auto i = Interval::Parse(interval);
  if (!i.ok()) return BadInput{i.status().message()};
  std::optional<StartTime> start;
  if (!start_time.empty()) {
    auto s = StartTime::Parse(start_time);
    if (!s.ok()) return BadInput{s.status().message()};
    start = s.value();
  }
  return Schedule(std::make_shared<const Body>(Body{IntervalSchedule(i.value(), start)}));
}

Result<Schedule> Schedule::ParseCron(std::string_view cron, std::string_view time_zone) {
  auto expr = CronExpr::Parse(cron);
  if (!expr.ok()) return BadInput{expr.status().message()};
  TimeZone zone = TimeZone::Utc();
  if (!time_zone.empty()) {
    auto z = TimeZone::Locate(time_zone);
    if (!z.ok()) return BadInput{z.status().message()};
    zone = z.value();
  }
  return Schedule(std::make_shared<const Body>(Body{CronSchedule(std::move(expr).value(), std::move(zone))}));
}

Schedule::Kind Schedule::kind() const {
  return std::holds_alternative<IntervalSchedule>(body_->rule) ? Kind::kInterval : Kind::kCron;
}

std::string Schedule::expression() const {
  if (auto* i = std::get_if<IntervalSchedule>(&body_->rule)) return i->interval().ToString();
  return std::get<CronSchedule>(body_->rule).expr().ToString();
}

std::string Schedule::start_time() const {
  if (auto* i = std::get_if<IntervalSchedule>(&body_->rule)) return i->start() ? i->start()->ToString() : "";
  return "";
}

std::string Schedule::time_zone() const {
  if (auto* c = std::get_if<CronSchedule>(&body_->rule)) return c->zone().name();
  return "";
}

std::string Schedule::canonical() const {
  if (kind() == Kind::kInterval) {
    std::string s = "every " + expression();
    if (auto start = start_time(); !start.empty()) s += " starting at " + start;
    return s;
  }
  return "cron " + expression() + " in " + time_zone();
}

Result<Instant> Schedule::NextRunAfter(Instant after) const {
  return std::visit([&](const auto& rule) { return rule.NextAfter(after); }, body_->rule);
}

Result<CatchUp> Schedule::PlanCatchUp(std::optional<Instant> last_run, Instant now) const {
  return scheduler::PlanCatchUp(std::span<const Schedule>(this, 1), last_run, now);
}

bool operator==(const Schedule& a, const Schedule& b) {
  if (a.body_ == b.body_) return true;
  return a.kind() == b.kind() && a.expression() == b.expression() && a.start_time() == b.start_time() &&
         a.time_zone() == b.time_zone();
}

Result<Instant> NextRunAfter(std::span<const Schedule> schedules, Instant after) {
  if (schedules.empty()) return BadInput{"no schedule"};
  std::optional<Instant> best;
  std::string last_error;
  for (const auto& s : schedules) {
    auto n = s.NextRunAfter(after);
    if (!n.ok()) {
      last_error = n.status().message();
      continue;
    }
    if (!best || n.value() < *best) best = n.value();
  }
  if (!best) return BadInput{last_error};
  return *best;
}

Result<CatchUp> PlanCatchUp(std::span<const Schedule> schedules, std::optional<Instant> last_run, Instant now) {
  auto next = NextRunAfter(schedules, now);
  if (!next.ok()) return BadInput{next.status().message()};
  CatchUp out;
  out.next_run = next.value();
  if (last_run && *last_run < now && InSupportedRange(*last_run)) {
    auto missed = NextRunAfter(schedules, *last_run);
    out.run_now = missed.ok() && missed.value() <= now;
  }
  return out;
}

}  // namespace mirror_snapshot::scheduler
