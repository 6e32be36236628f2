// crc32c (Castagnoli), as RADOS computes it for the `checksum` op: no final
// inversion, seed passed in. Bitwise: only used for short tails and for one
// block of zeros, the OSD computes the rest.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mirror_snapshot {

inline constexpr uint32_t kCrc32cSeed = 0xffffffffu;

inline uint32_t Crc32cByte(uint32_t crc, unsigned char byte) {
  crc ^= byte;
  for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  return crc;
}

inline uint32_t Crc32c(uint32_t crc, const char* data, size_t length) {
  for (size_t i = 0; i < length; ++i) crc = Crc32cByte(crc, static_cast<unsigned char>(data[i]));
  return crc;
}

inline uint32_t Crc32cOfZeros(uint32_t crc, uint64_t length) {
  for (uint64_t i = 0; i < length; ++i) crc = Crc32cByte(crc, 0);
  return crc;
}

// The checksum op answers a le32 count, then one le32 crc per block.
inline uint32_t ReadLe32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 | static_cast<uint32_t>(b[2]) << 16 |
         static_cast<uint32_t>(b[3]) << 24;
}

}  // namespace mirror_snapshot
