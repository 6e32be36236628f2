#include "native/base/extent_set.h"

#include <algorithm>

namespace mirror_snapshot {

Extents Normalize(Extents extents) {
  std::erase_if(extents, [](const auto& e) { return e.second == 0; });
  std::sort(extents.begin(), extents.end());
  Extents out;
  for (const auto& [offset, length] : extents) {
    if (!out.empty() && offset <= out.back().first + out.back().second) {
      const uint64_t end = std::max(out.back().first + out.back().second, offset + length);
      out.back().second = end - out.back().first;
    } else {
      out.emplace_back(offset, length);
    }
  }
  return out;
}

Extents Intersect(const Extents& a, const Extents& b) {
  Extents out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const uint64_t start = std::max(a[i].first, b[j].first);
    const uint64_t a_end = a[i].first + a[i].second, b_end = b[j].first + b[j].second;
    const uint64_t end = std::min(a_end, b_end);
    if (start < end) out.emplace_back(start, end - start);
    if (a_end < b_end) ++i; else ++j;
  }
  return out;
}

Extents Subtract(const Extents& a, const Extents& b) {
  Extents out;
  size_t j = 0;
  for (const auto& [offset, length] : a) {
    uint64_t cursor = offset;
    const uint64_t end = offset + length;
    while (j < b.size() && b[j].first + b[j].second <= cursor) ++j;
    for (size_t k = j; k < b.size() && b[k].first < end; ++k) {
      if (b[k].first > cursor) out.emplace_back(cursor, b[k].first - cursor);
      cursor = std::max(cursor, b[k].first + b[k].second);
      if (cursor >= end) break;
    }
    if (cursor < end) out.emplace_back(cursor, end - cursor);
  }
  return out;
}

void AppendInOrder(Extents* extents, uint64_t offset, uint64_t length) {
  if (length == 0) return;
  if (!extents->empty() && extents->back().first + extents->back().second == offset) {
    extents->back().second += length;
  } else {
    extents->emplace_back(offset, length);
  }
}

uint64_t TotalLength(const Extents& extents) {
  uint64_t total = 0;
  for (const auto& e : extents) total += e.second;
  return total;
}

}  // namespace mirror_snapshot
