#include "scheduler/cron_expr.h"

#include <array>
#include <bit>
#include <vector>

#include "scheduler/text.h"

namespace mirror_snapshot::scheduler {

namespace {

using std::chrono::days;
using std::chrono::local_days;
using std::chrono::local_seconds;
using std::chrono::minutes;

struct Field {
  const char* name;
  int lo;
  int hi;
  const char* const* names;  // 3-letter names for lo.. (or nullptr)
  int name_count;
  const char* name_hint;
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr std::array<Field, 5> kFields = {{
    {"minute", 0, 59, nullptr, 0, nullptr},
    {"hour", 0, 23, nullptr, 0, nullptr},
    {"day-of-month", 1, 31, nullptr, 0, nullptr},
    {"month", 1, 12, kMonthNames, 12, "jan..dec"},
    {"day-of-week", 0, 7, kDayNames, 7, "sun..sat"},
}};

struct Macro {
  const char* name;
  const char* canonical;
  const char* fields;
};
constexpr Macro kMacros[] = {
    {"@hourly", "@hourly", "0 * * * *"},   {"@daily", "@daily", "0 0 * * *"},
    {"@midnight", "@daily", "0 0 * * *"},  {"@weekly", "@weekly", "0 0 * * 0"},
    {"@monthly", "@monthly", "0 0 1 * *"}, {"@yearly", "@yearly", "0 0 1 1 *"},
    {"@annually", "@yearly", "0 0 1 1 *"},
};

std::string field_prefix(const Field& f) { return std::string("cron field '") + f.name + "'"; }

// Specific messages for syntax other cron dialects accept and we do not.
std::optional<std::string> unsupported_syntax(const Field& f, std::string_view item) {
  std::string low = text::Lowercase(item);
  auto digits_then = [&](char suffix) {
    if (low.size() < 2 || low.back() != suffix) return false;
    for (std::size_t k = 0; k + 1 < low.size(); ++k)
      if (!text::IsDigit(low[k])) return false;
    return true;
  };
  std::string p = field_prefix(f) + " value " + text::Quoted(item) + ": ";
  if (low.find('?') != std::string::npos) return p + "'?' is not supported (use '*')";
  if (low.find('#') != std::string::npos) return p + "'#' (nth weekday of the month) is not supported";
  if (low == "l" || low == "lw" || digits_then('l') || (low.size() > 1 && low[0] == 'l' && text::IsDigit(low[1])))
    return p + "'L' (last day) is not supported";
  if (digits_then('w')) return p + "'W' (nearest weekday) is not supported";
  if (low[0] == 'h' && (low.size() == 1 || low[1] == '(' || low[1] == '/'))
    return p + "'H' (hashed values) is not supported";
  return std::nullopt;
}

// A number or a name of the field; error text on failure.
Result<int> parse_value(const Field& f, std::string_view item, std::string_view token) {
  if (token.empty()) return BadInput{field_prefix(f) + " item " + text::Quoted(item) + " is missing a value"};
  if (text::IsDigit(token[0])) {
    auto v = text::ParseSmallUint(token);
    if (!v) {
      for (char c : token)
        if (!text::IsDigit(c))
          return BadInput{field_prefix(f) + " value " + text::Quoted(token) + " is not a number"};
    }
    if (!v || static_cast<long long>(*v) < f.lo || static_cast<long long>(*v) > f.hi)
      return BadInput{field_prefix(f) + " value " + text::Quoted(token) + " out of range " + std::to_string(f.lo) +
                   "-" + std::to_string(f.hi)};
    return static_cast<int>(*v);
  }
  if (token[0] == '-') return BadInput{field_prefix(f) + " value " + text::Quoted(token) + ": negative numbers are not allowed"};
  if (f.names != nullptr) {
    std::string low = text::Lowercase(token);
    for (int k = 0; k < f.name_count; ++k)
      if (low == f.names[k]) return f.names == kMonthNames ? k + 1 : k;
    return BadInput{field_prefix(f) + " value " + text::Quoted(token) + " is not a number or a name (" + f.name_hint + ")"};
  }
  return BadInput{field_prefix(f) + " value " + text::Quoted(token) + " is not a number"};
}

// One field to a bit set over the raw values lo..hi.
Result<std::uint64_t> parse_field(const Field& f, std::string_view field) {
  std::uint64_t bits = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = field.find(',', start);
    std::string_view item =
        field.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty())
      return BadInput{field_prefix(f) + " has an empty list item in " + text::Quoted(field)};
    if (auto why = unsupported_syntax(f, item)) return BadInput{*why};

    std::string_view base = item;
    int step = 1;
    bool has_step = false;
    if (std::size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      auto s = text::ParseSmallUint(step_text);
      if (!s)
        return BadInput{field_prefix(f) + " step " + text::Quoted(step_text) + " in " + text::Quoted(item) +
                     " is not a positive number"};
      int span = f.hi - f.lo + 1;
      if (*s == 0) return BadInput{field_prefix(f) + " step '0' in " + text::Quoted(item) + " must be at least 1"};
      if (*s > static_cast<std::uint32_t>(span))
        return BadInput{field_prefix(f) + " step " + text::Quoted(step_text) + " in " + text::Quoted(item) +
                     " is larger than the field's range " + std::to_string(f.lo) + "-" + std::to_string(f.hi)};
      step = static_cast<int>(*s);
      has_step = true;
    }

    int lo, hi;
    if (base == "*") {
      lo = f.lo;
      hi = f.hi;
    } else if (std::size_t dash = base.find('-', 1); dash != std::string_view::npos) {
      auto a = parse_value(f, item, base.substr(0, dash));
      if (!a.ok()) return BadInput{a.status().message()};
      auto b = parse_value(f, item, base.substr(dash + 1));
      if (!b.ok()) return BadInput{b.status().message()};
      lo = a.value();
      hi = b.value();
      // "fri-sun": a weekday range may end on Sunday written as 0.
      if (f.lo == 0 && f.hi == 7 && hi == 0 && lo > 0) hi = 7;
      if (lo > hi)
        return BadInput{field_prefix(f) + " range " + text::Quoted(base) + " is reversed (write it as two ranges)"};
    } else {
      auto a = parse_value(f, item, base);
      if (!a.ok()) return BadInput{a.status().message()};
      lo = a.value();
      hi = has_step ? f.hi : lo;  // "A/STEP" runs to the field's maximum
    }
    for (int v = lo; v <= hi; v += step) bits |= std::uint64_t{1} << v;

    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bits;
}

int next_bit(std::uint64_t mask, int from) {
  if (from >= 64) return -1;
  std::uint64_t rest = mask >> from;
  if (rest == 0) return -1;
  return from + std::countr_zero(rest);
}

constexpr unsigned kMaxDays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

}  // namespace

Result<CronExpr> CronExpr::Parse(std::string_view text) {
  auto fail = [&](const std::string& why) { return BadInput{"cron " + text::Quoted(text) + ": " + why}; };

  // Split into whitespace-separated fields.
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text::IsSpace(text[i])) ++i;
    std::size_t start = i;
    while (i < text.size() && !text::IsSpace(text[i])) ++i;
    if (i > start) {
      if (fields.size() == 8) return fail("too many fields; expected 5 (minute hour day-of-month month day-of-week)");
      fields.push_back(text.substr(start, i - start));
    }
  }
  if (fields.empty()) return fail("empty");
  for (char c : text)
    if (text::IsControl(c) && c != '\t') return fail("contains a control character");

  CronExpr expr;
  std::string canonical;
  std::array<std::string, 5> parts;
  if (fields[0][0] == '@') {
    if (fields.size() != 1) return fail("a macro such as @daily must stand alone");
    std::string low = text::Lowercase(fields[0]);
    const Macro* macro = nullptr;
    for (const auto& m : kMacros)
      if (low == m.name) macro = &m;
    if (macro == nullptr) {
      if (low == "@reboot") return fail("@reboot is not a schedule");
      if (low == "@every") return fail("@every is not supported (use an interval such as 30m)");
      return fail("unknown macro " + text::Quoted(fields[0]) +
                  " (supported: @hourly @daily @midnight @weekly @monthly @yearly @annually)");
    }
    canonical = macro->canonical;
    std::string_view f = macro->fields;
    for (std::size_t k = 0, pos = 0; k < 5; ++k) {
      std::size_t sp = f.find(' ', pos);
      parts[k] = std::string(f.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos));
      pos = sp + 1;
    }
  } else {
    if (fields.size() != 5) {
      std::string why = "expected 5 fields (minute hour day-of-month month day-of-week), got " +
                        std::to_string(fields.size());
      if (fields.size() == 6) why += "; seconds and year fields are not supported";
      return fail(why);
    }
    for (std::size_t k = 0; k < 5; ++k) {
      parts[k] = text::Lowercase(fields[k]);
      if (k) canonical += ' ';
      canonical += parts[k];
    }
  }

  std::array<std::uint64_t, 5> bits{};
  for (std::size_t k = 0; k < 5; ++k) {
    auto r = parse_field(kFields[k], parts[k]);
    if (!r.ok()) return fail(r.status().message());
    bits[k] = r.value();
  }
  expr.minutes_ = bits[0];
  expr.hours_ = static_cast<std::uint32_t>(bits[1]);
  expr.days_of_month_ = static_cast<std::uint32_t>(bits[2]);
  expr.months_ = static_cast<std::uint32_t>(bits[3]);
  std::uint64_t dow = bits[4];
  if (dow & (1u << 7)) dow = (dow | 1u) & ~std::uint64_t{1u << 7};  // 7 is Sunday
  expr.days_of_week_ = static_cast<std::uint32_t>(dow);
  expr.dom_restricted_ = parts[2] != "*";
  expr.dow_restricted_ = parts[4] != "*";
  expr.text_ = std::move(canonical);

  // Can it ever fire? Only day-of-month AND month can exclude every day
  // (with OR, or with day-of-month "*", every month has each weekday).
  if (expr.dom_restricted_ && !expr.dow_restricted_) {
    bool possible = false;
    for (unsigned m = 1; m <= 12; ++m) {
      if (!(expr.months_ >> m & 1u)) continue;
      std::uint64_t days_in_month = (std::uint64_t{1} << (kMaxDays[m] + 1)) - 2;  // bits 1..max
      if (expr.days_of_month_ & days_in_month) possible = true;
    }
    if (!possible) return fail("never fires: no month in 'month' has a day listed in 'day-of-month'");
  }
  return expr;
}

bool CronExpr::DayMatches(const std::chrono::year_month_day& ymd, std::chrono::weekday wd) const {
  bool dom = days_of_month_ >> static_cast<unsigned>(ymd.day()) & 1u;
  bool dow = days_of_week_ >> wd.c_encoding() & 1u;
  if (dom_restricted_ && dow_restricted_) return dom || dow;
  return dom && dow;
}

bool CronExpr::Matches(local_seconds t) const {
  auto day = std::chrono::floor<days>(t);
  std::chrono::year_month_day ymd{day};
  auto sod = std::chrono::duration_cast<minutes>(t - day).count();
  if ((t - day) % minutes{1} != std::chrono::seconds{0}) return false;
  return (months_ >> static_cast<unsigned>(ymd.month()) & 1u) && DayMatches(ymd, std::chrono::weekday{day}) &&
         (hours_ >> (sod / 60) & 1u) && (minutes_ >> (sod % 60) & 1u);
}

std::optional<local_seconds> CronExpr::NextMatch(local_seconds from, local_seconds until) const {
  using namespace std::chrono;
  local_time<minutes> cur = ceil<minutes>(from);
  while (cur < until) {
    local_days day = floor<days>(cur);
    year_month_day ymd{day};
    unsigned m = static_cast<unsigned>(ymd.month());
    if (!(months_ >> m & 1u)) {
      int next = next_bit(months_, static_cast<int>(m) + 1);
      year y = ymd.year();
      if (next < 0) {
        y += years{1};
        next = next_bit(months_, 1);
      }
      cur = local_days{y / month{static_cast<unsigned>(next)} / 1};
      continue;
    }
    if (!DayMatches(ymd, weekday{day})) {
      cur = day + days{1};
      continue;
    }
    int minute_of_day = static_cast<int>((cur - day).count());
    int h = minute_of_day / 60;
    int mi = minute_of_day % 60;
    if (hours_ >> h & 1u) {
      int found = next_bit(minutes_, mi);
      if (found >= 0) {
        local_seconds hit = day + hours{h} + minutes{found};
        if (hit < until) return hit;
        return std::nullopt;
      }
    }
    int next_hour = next_bit(hours_, h + 1);
    if (next_hour < 0) {
      cur = day + days{1};
      continue;
    }
    local_seconds hit = day + hours{next_hour} + minutes{next_bit(minutes_, 0)};
    if (hit < until) return hit;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace mirror_snapshot::scheduler
