#include "native/journal/journal_discard.h"

#include <algorithm>

namespace mirror_snapshot {
namespace {

// Ceph's p2align / p2roundup, bit for bit (include/intarith.h): a
// granularity that is not a power of two gives what librbd's arithmetic
// gives, not what a division would.
uint64_t P2Align(uint64_t x, uint64_t align) { return x & -align; }
uint64_t P2Roundup(uint64_t x, uint64_t align) { return -(-x & -align); }

}  // namespace

Extents DiscardedExtents(uint64_t offset, uint64_t length, uint32_t granularity, uint64_t object_size) {
  Extents out;
  if (length == 0 || object_size == 0) return out;
  const uint64_t g = std::min<uint64_t>(granularity, object_size);
  const uint64_t end = offset + length;
  for (uint64_t at = offset; at < end;) {
    const uint64_t object_start = at - at % object_size;
    const uint64_t piece_end = std::min(end, object_start + object_size);
    uint64_t begin_in_object = at - object_start;
    uint64_t end_in_object = piece_end - object_start;
    if (g != 0 && (g < object_size || end_in_object < object_size)) {
      begin_in_object = P2Roundup(begin_in_object, g);
      end_in_object = P2Align(end_in_object, g);
    }
    if (begin_in_object < end_in_object) {
      AppendInOrder(&out, object_start + begin_in_object, end_in_object - begin_in_object);
    }
    at = piece_end;
  }
  return out;
}

}  // namespace mirror_snapshot
