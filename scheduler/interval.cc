#include "scheduler/interval.h"

#include "scheduler/text.h"

namespace mirror_snapshot::scheduler {

Result<Interval> Interval::Parse(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return BadInput{"interval " + text::Quoted(text) + ": " + why};
  };
  if (text.empty()) return fail("empty (expected a number of minutes, e.g. 30m, 6h or 1d)");
  if (text[0] == '-') return fail("must be positive");
  if (!text::IsDigit(text[0])) return fail("expected a number followed by m, h or d (e.g. 30m, 6h, 1d)");

  std::size_t i = 0;
  unsigned long long n = 0;
  while (i < text.size() && text::IsDigit(text[i])) {
    n = n * 10 + static_cast<unsigned long long>(text[i] - '0');
    if (n > static_cast<unsigned long long>(kMax.count())) return fail("must be at most 3650d (10 years)");
    ++i;
  }

  long long per_unit = 1;
  if (i < text.size()) {
    char unit = text[i];
    switch (unit) {
      case 'm': per_unit = 1; break;
      case 'h': per_unit = 60; break;
      case 'd': per_unit = 24 * 60; break;
      case 'M':
      case 'H':
      case 'D':
        return fail("unknown unit " + text::Quoted(text.substr(i, 1)) + " (units are lower case: m, h, d)");
      case '.':
      case ',':
        return fail("fractions are not supported (write 90m instead of 1.5h)");
      default:
        if (text::IsSpace(unit)) return fail("no spaces allowed (write e.g. 30m)");
        return fail("unknown unit " + text::Quoted(text.substr(i, 1)) + " (use m, h or d)");
    }
    ++i;
    if (i < text.size()) {
      if (text::IsDigit(text[i]))
        return fail("compound intervals are not supported (write a single number and unit, e.g. 90m)");
      return fail("unexpected text " + text::Quoted(text.substr(i)) + " after the unit");
    }
  }

  if (n == 0) return fail("must be at least 1 minute");
  if (n > static_cast<unsigned long long>(kMax.count() / per_unit))
    return fail("must be at most 3650d (10 years)");
  return Interval(std::chrono::minutes{static_cast<long long>(n) * per_unit});
}

std::string Interval::ToString() const {
  long long m = length_.count();
  if (m % (24 * 60) == 0) return std::to_string(m / (24 * 60)) + "d";
  if (m % 60 == 0) return std::to_string(m / 60) + "h";
  return std::to_string(m) + "m";
}

}  // namespace mirror_snapshot::scheduler
