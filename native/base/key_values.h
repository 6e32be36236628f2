// "key=value,key=value" records (sync pins, replica records): split them.
// Pure; keys and values may not contain ',' or '='.
#pragma once

#include <functional>
#include <string_view>

namespace mirror_snapshot {

// Calls visit(key, value) for each item in order; false (and stops) if an
// item has no '=' or visit returns false.
inline bool ForEachKeyValue(std::string_view text,
                            const std::function<bool(std::string_view, std::string_view)>& visit) {
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || !visit(item.substr(0, eq), item.substr(eq + 1))) return false;
  }
  return true;
}

}  // namespace mirror_snapshot
