// Intervals: "N", "Nm", "Nh", "Nd" (no suffix = minutes), as rbd_support
// accepts them, but with 0 and absurd values rejected.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "scheduler/result.h"

namespace mirror_snapshot::scheduler {

class Interval {
 public:
  static constexpr std::chrono::minutes kMin{1};
  static constexpr std::chrono::minutes kMax{3650LL * 24 * 60};  // 3650d, about 10 years

  // Rejects: empty text, signs, 0, more than 3650d, unknown units ("1w",
  // "1H"), compound forms ("1h30m"), spaces, fractions.
  static Result<Interval> Parse(std::string_view text);

  std::chrono::minutes length() const { return length_; }

  // The largest exact unit: 1440m -> "1d", 120 -> "2h", 90 -> "90m".
  std::string ToString() const;

  friend bool operator==(const Interval&, const Interval&) = default;

 private:
  explicit Interval(std::chrono::minutes length) : length_(length) {}
  std::chrono::minutes length_;
};

}  // namespace mirror_snapshot::scheduler
