#include "scheduler/iso8601.h"

#include <cstdio>

#include "scheduler/text.h"

namespace mirror_snapshot::scheduler::iso8601 {

namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// Reads exactly `n` decimal digits at `pos`; nullopt if they are not there.
std::optional<int> fixed_digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t k = 0; k < n; ++k) {
    char c = s[pos + k];
    if (!text::IsDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// The longest run of digits at `pos` (for messages about malformed numbers).
std::string_view digit_run(std::string_view s, std::size_t pos) {
  std::size_t end = pos;
  while (end < s.size() && text::IsDigit(s[end])) ++end;
  return s.substr(pos, end - pos);
}

BadInput fail(std::string message) { return BadInput{std::move(message)}; }

constexpr const char* kShape =
    "expected HH:MM[:SS][offset] or YYYY-MM-DDTHH:MM[:SS][offset]";

// Two-digit field followed by nothing that looks like more digits.
std::optional<int> two_digits(std::string_view s, std::size_t pos) {
  auto v = fixed_digits(s, pos, 2);
  if (!v) return std::nullopt;
  if (pos + 2 < s.size() && text::IsDigit(s[pos + 2])) return std::nullopt;
  return v;
}

}  // namespace

Result<DateTime> Parse(std::string_view s) {
  DateTime out;
  std::size_t i = 0;
  if (s.empty()) return fail("empty");

  // Date part, recognised by "NNNN-" at the start.
  if (s.size() >= 5 && fixed_digits(s, 0, 4) && s[4] == '-') {
    int y = *fixed_digits(s, 0, 4);
    auto mo = two_digits(s, 5);
    if (!mo || s.size() < 8 || s[7] != '-')
      return fail("date must be written YYYY-MM-DD");
    auto d = two_digits(s, 8);
    if (!d) return fail("date must be written YYYY-MM-DD");
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d", y, *mo);
    if (y < 1970 || y > 9999)
      return fail("year '" + std::to_string(y) + "' out of range 1970-9999");
    if (*mo < 1 || *mo > 12)
      return fail("month " + text::Quoted(s.substr(5, 2)) + " out of range 01-12");
    std::chrono::year_month_day ymd{std::chrono::year{y},
                                    std::chrono::month{static_cast<unsigned>(*mo)},
                                    std::chrono::day{static_cast<unsigned>(*d)}};
    if (!ymd.ok())
      return fail("day " + text::Quoted(s.substr(8, 2)) + " does not exist in " + buf);
    out.date = ymd;
    i = 10;
    if (i == s.size()) return fail("missing time of day after the date (write YYYY-MM-DDTHH:MM)");
    char sep = s[i];
    if (sep != 'T' && sep != 't' && sep != ' ')
      return fail("expected 'T' or ' ' between date and time, found " + text::Quoted(s.substr(i, 1)));
    ++i;
  }

  // Time of day.
  auto hh = two_digits(s, i);
  if (!hh || i + 2 >= s.size() || s[i + 2] != ':') {
    if (i < s.size() && text::IsDigit(s[i]) && digit_run(s, i).size() != 2)
      return fail("hour " + text::Quoted(digit_run(s, i)) + " must be two digits; " + kShape);
    return fail(kShape);
  }
  if (*hh > 23) return fail("hour " + text::Quoted(s.substr(i, 2)) + " out of range 00-23");
  i += 3;
  auto mm = two_digits(s, i);
  if (!mm) {
    if (i < s.size() && text::IsDigit(s[i]))
      return fail("minute " + text::Quoted(digit_run(s, i)) + " must be two digits");
    return fail(kShape);
  }
  if (*mm > 59) return fail("minute " + text::Quoted(s.substr(i, 2)) + " out of range 00-59");
  i += 2;
  int ss = 0;
  if (i < s.size() && s[i] == ':') {
    auto sec = two_digits(s, i + 1);
    if (!sec) {
      if (i + 1 < s.size() && text::IsDigit(s[i + 1]))
        return fail("second " + text::Quoted(digit_run(s, i + 1)) + " must be two digits");
      return fail("expected two digits of seconds after " + text::Quoted(s.substr(0, i + 1)));
    }
    if (*sec > 59)
      return fail("second " + text::Quoted(s.substr(i + 1, 2)) +
                  " out of range 00-59 (leap seconds are not supported)");
    ss = *sec;
    i += 3;
  }
  if (i < s.size() && (s[i] == '.' || s[i] == ','))
    return fail("fractional seconds are not supported");
  out.time_of_day = seconds{*hh * 3600 + *mm * 60 + ss};

  // Offset.
  if (i < s.size()) {
    char c = s[i];
    if (c == 'Z' || c == 'z') {
      out.offset = minutes{0};
      ++i;
    } else if (c == '+' || c == '-') {
      std::size_t start = i;
      auto oh = two_digits(s, i + 1);
      if (!oh) {
        // "+0530" is a valid basic-format offset; anything else is not.
        auto four = fixed_digits(s, i + 1, 4);
        if (four && !(i + 5 < s.size() && text::IsDigit(s[i + 5]))) {
          oh = *four / 100;
          int om4 = *four % 100;
          i += 5;
          if (om4 > 59 || minutes{*oh * 60 + om4} > kMaxOffset)
            return fail("offset " + text::Quoted(s.substr(start, i - start)) +
                        " out of range -18:00..+18:00");
          out.offset = minutes{(c == '-' ? -1 : 1) * (*oh * 60 + om4)};
        } else {
          return fail("offset " + text::Quoted(s.substr(start)) + " must be Z, +HH:MM or -HH:MM");
        }
      } else {
        i += 3;
        int om = 0;
        if (i < s.size()) {
          std::size_t mpos = (s[i] == ':') ? i + 1 : i;
          auto m = two_digits(s, mpos);
          if (!m)
            return fail("offset " + text::Quoted(s.substr(start)) + " must be Z, +HH:MM or -HH:MM");
          om = *m;
          i = mpos + 2;
        }
        if (om > 59 || minutes{*oh * 60 + om} > kMaxOffset)
          return fail("offset " + text::Quoted(s.substr(start, i - start)) +
                      " out of range -18:00..+18:00");
        out.offset = minutes{(c == '-' ? -1 : 1) * (*oh * 60 + om)};
      }
    } else {
      return fail("unexpected text " + text::Quoted(s.substr(i)) + " after the time");
    }
  }
  if (i != s.size()) return fail("unexpected text " + text::Quoted(s.substr(i)) + " after the offset");
  return out;
}

std::string FormatOffset(minutes offset) {
  int total = static_cast<int>(offset.count());
  char sign = total < 0 ? '-' : '+';
  if (total < 0) total = -total;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", sign, (total / 60) % 100, total % 60);
  return buf;
}

std::string FormatDate(const std::chrono::year_month_day& date) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return buf;
}

std::string FormatTimeOfDay(seconds since_midnight) {
  long long t = since_midnight.count();
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", (t / 3600) % 100, (t / 60) % 60, t % 60);
  return buf;
}

}  // namespace mirror_snapshot::scheduler::iso8601
