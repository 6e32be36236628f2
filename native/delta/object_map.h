// An RBD object map as cls_rbd stores it (rbd_object_map.<image id> for the
// head, rbd_object_map.<image id>.<snap id> for a snapshot): Ceph's
// BitVector<2>, two bits of state per data object. Decoding is pure (bytes
// in, states out) and checks every CRC the encoding carries.
//
// The encoding: a header (u32 length, then a v1 struct: u8 version, u8
// compat, u32 length, u64 number of objects), the packed states (four objects
// a byte, the first in the top two bits), then a footer (u32 length, then,
// unless empty: the header's crc32c, a u32 count of 4 KiB data blocks and one
// crc32c per block; seed 0, no final inversion).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "native/base/result.h"

namespace mirror_snapshot {

// cls_rbd's states. With fast-diff, a snapshot's map says kExists for an
// object written since the snapshot before it, kExistsClean for one that
// exists untouched since then.
enum class ObjectState : uint8_t { kNonexistent = 0, kExists = 1, kPending = 2, kExistsClean = 3 };

class ObjectMap {
 public:
  // EINVAL with a message naming what is wrong (truncated, bad CRC, ...).
  static Result<ObjectMap> Decode(std::string_view encoded);

  uint64_t size() const { return size_; }  // objects it covers
  // kNonexistent past size(): an image grown after the map was taken.
  ObjectState at(uint64_t object_no) const;

 private:
  ObjectMap(std::string packed, uint64_t size) : packed_(std::move(packed)), size_(size) {}

  std::string packed_;
  uint64_t size_ = 0;
};

}  // namespace mirror_snapshot
