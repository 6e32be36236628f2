// Ceph's little-endian wire encoding, for the few cls_rbd calls made with
// rados_exec (their inputs are a handful of integers and strings) and the
// few answers and objects read without librbd.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mirror_snapshot {

inline void AppendLe(std::string* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// The `width`-byte little-endian integer at `at` (the caller checked the length).
inline uint64_t ReadLe(std::string_view bytes, size_t at, int width) {
  uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

// A std::string or a bufferlist: u32 length, then the bytes.
inline void AppendBytes(std::string* out, const std::string& bytes) {
  AppendLe(out, bytes.size(), 4);
  *out += bytes;
}

// A versioned struct (Ceph's ENCODE_START(version, compat)): u8 version,
// u8 compat, u32 length, then the payload.
inline void AppendVersioned(std::string* out, uint8_t version, uint8_t compat, const std::string& payload) {
  AppendLe(out, version, 1);
  AppendLe(out, compat, 1);
  AppendBytes(out, payload);
}

// The input of cls_rbd's metadata_set for one key: map<string, bufferlist>.
inline std::string MetadataSetInput(const std::string& key, const std::string& value) {
  std::string in;
  AppendLe(&in, 1, 4);
  AppendBytes(&in, key);
  AppendBytes(&in, value);
  return in;
}

// cls_rbd object map states.
constexpr uint8_t kObjectNonexistent = 0;
constexpr uint8_t kObjectExists = 1;

// The input of cls_rbd's object_map_update for objects [start, end) set to
// `state` whatever their current state: u64 start, u64 end, u8 state, then an
// absent optional<u8> (the current state to match), which encodes as one 0.
inline std::string ObjectMapUpdateInput(uint64_t start, uint64_t end, uint8_t state) {
  std::string in;
  AppendLe(&in, start, 8);
  AppendLe(&in, end, 8);
  AppendLe(&in, state, 1);
  AppendLe(&in, 0, 1);
  return in;
}

}  // namespace mirror_snapshot
