// Byte ranges as sorted, disjoint, non-empty [offset, offset+length) pairs,
// with the few set operations the delta computation needs. Pure.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace mirror_snapshot {

using Extents = std::vector<std::pair<uint64_t, uint64_t>>;  // (offset, length)

// Sorts and merges overlapping or touching ranges; drops empty ones.
Extents Normalize(Extents extents);
Extents Intersect(const Extents& a, const Extents& b);
// Ranges of `a` not in `b`.
Extents Subtract(const Extents& a, const Extents& b);
uint64_t TotalLength(const Extents& extents);
// Appends a range that starts at or after the last one's end, merged into
// it when they touch: ranges built in offset order stay as few as possible
// (a fully written image is one range, not one per object).
void AppendInOrder(Extents* extents, uint64_t offset, uint64_t length);

}  // namespace mirror_snapshot
