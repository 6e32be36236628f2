#include "scheduler/text.h"

namespace mirror_snapshot::scheduler::text {

namespace {
constexpr std::size_t kMaxQuoted = 64;
}

std::string Quoted(std::string_view input) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  std::size_t shown = 0;
  for (char c : input) {
    if (shown == kMaxQuoted) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
    ++shown;
  }
  out += "'";
  return out;
}

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLower(c);
  return out;
}

std::optional<std::uint32_t> ParseSmallUint(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return v;
}

}  // namespace mirror_snapshot::scheduler::text
