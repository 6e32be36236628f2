// Decimal text to an unsigned number, all of it or nothing: the form our
// records (pins, marks) and Ceph's config values store numbers in.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mirror_snapshot {

inline std::optional<uint64_t> ParseUnsigned(std::string_view text) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace mirror_snapshot
