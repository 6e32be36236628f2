#include "native/delta/object_map.h"

#include <cerrno>

#include "native/base/crc32c.h"
#include "native/ceph/cls_encoding.h"

namespace mirror_snapshot {
namespace {

constexpr uint64_t kObjectsPerByte = 4;
constexpr uint64_t kCrcBlockBytes = 4096;
constexpr uint32_t kHeaderLength = 1 + 1 + 4 + 8;  // version, compat, struct length, object count

Status Invalid(const std::string& what) { return Status::Error(EINVAL, "object map: " + what); }

}  // namespace

Result<ObjectMap> ObjectMap::Decode(std::string_view encoded) {
  // Header.
  if (encoded.size() < 4 + kHeaderLength) return Invalid("shorter than its header");
  if (ReadLe(encoded, 0, 4) != kHeaderLength) return Invalid("header of an unknown length");
  const std::string_view header = encoded.substr(4, kHeaderLength);
  if (ReadLe(header, 0, 1) != 1 || ReadLe(header, 1, 1) != 1 || ReadLe(header, 2, 4) != 8) {
    return Invalid("header of an unknown version");
  }
  const uint64_t size = ReadLe(header, 6, 8);
  const uint64_t packed_bytes = size / kObjectsPerByte + (size % kObjectsPerByte != 0);
  size_t at = 4 + kHeaderLength;
  if (packed_bytes > encoded.size() - at) return Invalid("shorter than the " + std::to_string(size) + " objects it claims");
  const std::string_view packed = encoded.substr(at, packed_bytes);
  at += packed_bytes;

  // Footer.
  if (encoded.size() - at < 4) return Invalid("no footer");
  const uint64_t footer_length = ReadLe(encoded, at, 4);
  at += 4;
  if (footer_length != encoded.size() - at) return Invalid("footer length does not match the object's size");
  if (footer_length > 0) {
    const uint64_t blocks = (packed_bytes + kCrcBlockBytes - 1) / kCrcBlockBytes;
    if (footer_length != 8 + 4 * blocks) return Invalid("footer of the wrong length for its data blocks");
    if (ReadLe(encoded, at, 4) != Crc32c(0, header.data(), header.size())) return Invalid("header CRC mismatch");
    if (ReadLe(encoded, at + 4, 4) != blocks) return Invalid("data block count mismatch");
    for (uint64_t b = 0; b < blocks; ++b) {
      const std::string_view block = packed.substr(b * kCrcBlockBytes, kCrcBlockBytes);
      if (ReadLe(encoded, at + 8 + 4 * b, 4) != Crc32c(0, block.data(), block.size())) {
        return Invalid("CRC mismatch in data block " + std::to_string(b));
      }
    }
  }
  return ObjectMap(std::string(packed), size);
}

ObjectState ObjectMap::at(uint64_t object_no) const {
  if (object_no >= size_) return ObjectState::kNonexistent;
  const auto byte = static_cast<unsigned char>(packed_[object_no / kObjectsPerByte]);
  const unsigned shift = (kObjectsPerByte - 1 - object_no % kObjectsPerByte) * 2;
  return static_cast<ObjectState>((byte >> shift) & 0x3);
}

}  // namespace mirror_snapshot
