// What a journaled discard does to the image, as librbd applies it on the
// primary (and again when its own journal is replayed). Pure.
//
// The discard's extent is cut at object boundaries. With a granularity G > 0
// (the event's, taken at most the object size), each object's piece is
// shrunk inward to multiples of G and dropped when nothing is left: those
// bytes keep their data. The exception: when G is the object size, a piece
// that reaches the object's end is kept whole (librbd truncates the object).
// G = 0 zeroes the extent exactly (write-zeroes is journaled that way).
// A replica must zero exactly the extents this returns, whatever its own
// client's discard settings are.
#pragma once

#include <cstdint>

#include "native/base/extent_set.h"

namespace mirror_snapshot {

// Image extents, in order. `object_size` > 0.
Extents DiscardedExtents(uint64_t offset, uint64_t length, uint32_t granularity, uint64_t object_size);

}  // namespace mirror_snapshot
