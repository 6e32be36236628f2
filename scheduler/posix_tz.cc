#include "scheduler/posix_tz.h"

#include <algorithm>
#include <array>

#include "scheduler/text.h"

namespace mirror_snapshot::scheduler {

namespace {

using std::chrono::seconds;

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char Peek() const { return done() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (Peek() != c) return false;
    ++i_;
    return true;
  }

  // std/dst designation: "<+0330>" or at least three letters.
  bool name() {
    if (eat('<')) {
      std::size_t start = i_;
      while (!done() && s_[i_] != '>') {
        char c = s_[i_];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || text::IsDigit(c) || c == '+' || c == '-';
        if (!ok) return false;
        ++i_;
      }
      if (done() || i_ == start) return false;
      ++i_;  // '>'
      return true;
    }
    std::size_t start = i_;
    while (!done() && ((s_[i_] >= 'A' && s_[i_] <= 'Z') || (s_[i_] >= 'a' && s_[i_] <= 'z'))) ++i_;
    return i_ - start >= 3;
  }

  // Up to `max_digits` digits; false if none.
  bool number(int max_digits, int& out) {
    int n = 0, v = 0;
    while (!done() && text::IsDigit(s_[i_]) && n < max_digits) {
      v = v * 10 + (s_[i_] - '0');
      ++i_;
      ++n;
    }
    if (n == 0 || (!done() && text::IsDigit(s_[i_]))) return false;
    out = v;
    return true;
  }

  // [+-]hh[:mm[:ss]] with hh <= max_hours.
  bool time(int max_hours, seconds& out) {
    int sign = 1;
    if (eat('-')) sign = -1;
    else eat('+');
    int h = 0, m = 0, sec = 0;
    if (!number(3, h) || h > max_hours) return false;
    if (eat(':')) {
      if (!number(2, m) || m > 59) return false;
      if (eat(':')) {
        if (!number(2, sec) || sec > 59) return false;
      }
    }
    out = seconds{sign * (h * 3600 + m * 60 + sec)};
    return true;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::optional<PosixTz> PosixTz::Parse(std::string_view spec) {
  Cursor c(spec);
  PosixTz tz;
  seconds posix_offset;
  if (!c.name() || !c.time(24, posix_offset)) return std::nullopt;
  tz.std_offset_ = -posix_offset;  // POSIX counts west of UTC as positive
  if (c.done()) return tz;

  if (!c.name()) return std::nullopt;
  tz.has_dst_ = true;
  tz.dst_offset_ = tz.std_offset_ + seconds{3600};
  if (c.Peek() != ',' && !c.done()) {
    if (!c.time(24, posix_offset)) return std::nullopt;
    tz.dst_offset_ = -posix_offset;
  }

  auto rule = [&](Rule& r) {
    if (c.eat('J')) {
      r.kind = Rule::kJulianNoLeap;
      if (!c.number(3, r.day) || r.day < 1 || r.day > 365) return false;
    } else if (c.eat('M')) {
      r.kind = Rule::kMonthWeekDay;
      if (!c.number(2, r.month) || r.month < 1 || r.month > 12 || !c.eat('.')) return false;
      if (!c.number(1, r.week) || r.week < 1 || r.week > 5 || !c.eat('.')) return false;
      if (!c.number(1, r.weekday) || r.weekday > 6) return false;
    } else {
      r.kind = Rule::kZeroBasedDay;
      if (!c.number(3, r.day) || r.day > 365) return false;
    }
    if (c.eat('/')) return c.time(167, r.time);
    return true;
  };

  if (c.done()) {
    // No rule given: POSIX leaves it to the implementation; glibc uses US rules.
    tz.start_ = Rule{Rule::kMonthWeekDay, 0, 3, 2, 0, seconds{7200}};
    tz.end_ = Rule{Rule::kMonthWeekDay, 0, 11, 1, 0, seconds{7200}};
    return tz;
  }
  if (!c.eat(',') || !rule(tz.start_) || !c.eat(',') || !rule(tz.end_) || !c.done()) return std::nullopt;
  return tz;
}

Instant PosixTz::Transition(const Rule& rule, int year, seconds offset_before) {
  using namespace std::chrono;
  sys_days jan1{std::chrono::year{year} / January / 1};
  sys_days day;
  switch (rule.kind) {
    case Rule::kJulianNoLeap:
      day = jan1 + days{rule.day - 1 + ((is_leap(year) && rule.day >= 60) ? 1 : 0)};
      break;
    case Rule::kZeroBasedDay:
      day = jan1 + days{rule.day};
      break;
    case Rule::kMonthWeekDay:
    default: {
      sys_days first{std::chrono::year{year} / month{static_cast<unsigned>(rule.month)} / 1};
      int first_wd = static_cast<int>(weekday{first}.c_encoding());
      day = first + days{(rule.weekday - first_wd + 7) % 7 + 7 * (rule.week - 1)};
      if (rule.week == 5) {
        while (year_month_day{day}.month() != month{static_cast<unsigned>(rule.month)}) day -= days{7};
      }
      break;
    }
  }
  return day + rule.time - offset_before;
}

ZonePeriod PosixTz::PeriodAt(Instant t) const {
  using namespace std::chrono;
  if (!has_dst_) return {kFarPast, kFarFuture, std_offset_};

  // Transitions of the surrounding years, in order; at equal instants the
  // change to daylight time is applied last (so "all year DST" rules such as
  // "0/0,J365/25" never show a zero-length standard period).
  struct Event {
    Instant at;
    int order;  // 0 = to standard, 1 = to daylight
    seconds offset;
  };
  int y = static_cast<int>(year_month_day{floor<days>(t)}.year());
  std::array<Event, 10> ev;
  std::size_t n = 0;
  for (int yy = y - 2; yy <= y + 2; ++yy) {
    ev[n++] = {Transition(start_, yy, std_offset_), 1, dst_offset_};
    ev[n++] = {Transition(end_, yy, dst_offset_), 0, std_offset_};
  }
  std::sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) {
    return a.at != b.at ? a.at < b.at : a.order < b.order;
  });
  // Keep only the last event of each instant.
  std::size_t m = 0;
  for (std::size_t k = 0; k < n; ++k) {
    if (m > 0 && ev[m - 1].at == ev[k].at) ev[m - 1] = ev[k];
    else ev[m++] = ev[k];
  }

  std::size_t idx = 0;
  for (std::size_t k = 0; k < m; ++k) {
    if (ev[k].at <= t) idx = k;
  }
  seconds current = ev[idx].offset;
  if (ev[idx].at > t) {
    // Cannot happen for real rules (the window starts two years back); stay sane anyway.
    return {sys_days{std::chrono::year{y} / January / 1}, ev[idx].at, current};
  }
  std::size_t first = idx;
  while (first > 0 && ev[first - 1].offset == current) --first;
  std::size_t next = idx + 1;
  while (next < m && ev[next].offset == current) ++next;
  Instant end = next < m ? ev[next].at : Instant{sys_days{std::chrono::year{y + 3} / January / 1}};
  return {ev[first].at, end, current};
}

}  // namespace mirror_snapshot::scheduler
