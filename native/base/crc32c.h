// crc32c (Castagnoli), as RADOS computes it for the `checksum` op and Ceph's
// encodings for their CRCs: no final inversion, seed passed in. Table-driven,
// a byte a step: the object maps of a large image are megabytes (4 MiB for
// 64 TiB in 4 MiB objects), every byte of them checked on each sync.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace mirror_snapshot {

inline constexpr uint32_t kCrc32cSeed = 0xffffffffu;

// The step for one byte b from a crc of 0 (bit by bit, reflected polynomial
// 0x82F63B78), for every b, built at compile time.
inline constexpr std::array<uint32_t, 256> kCrc32cTable = [] {
  std::array<uint32_t, 256> table{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    table[b] = crc;
  }
  return table;
}();

inline uint32_t Crc32c(uint32_t crc, const char* data, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    crc = (crc >> 8) ^ kCrc32cTable[(crc ^ static_cast<unsigned char>(data[i])) & 0xffu];
  }
  return crc;
}

inline uint32_t Crc32cOfZeros(uint32_t crc, uint64_t length) {
  for (uint64_t i = 0; i < length; ++i) crc = (crc >> 8) ^ kCrc32cTable[crc & 0xffu];
  return crc;
}

// The checksum op answers a le32 count, then one le32 crc per block.
inline uint32_t ReadLe32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 | static_cast<uint32_t>(b[2]) << 16 |
         static_cast<uint32_t>(b[3]) << 24;
}

}  // namespace mirror_snapshot
