// Small text helpers shared by the parsers (internal to the library).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mirror_snapshot::scheduler::text {

// The input as it may appear inside a one-line error message: wrapped in
// single quotes, control and non-ASCII bytes escaped as \xNN, and cut to a
// bounded length so a megabyte of garbage cannot become a megabyte message.
std::string Quoted(std::string_view input);

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsSpace(char c) { return c == ' ' || c == '\t'; }
inline bool IsControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}
inline char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lowercase(std::string_view s);

// Decimal digits only (no sign, no spaces), at most 9 digits so the value
// always fits; nullopt otherwise.
std::optional<std::uint32_t> ParseSmallUint(std::string_view s);

}  // namespace mirror_snapshot::scheduler::text
