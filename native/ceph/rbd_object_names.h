// The names librbd gives an image's metadata objects (format 2), for the
// few places that read or write them without librbd.
#pragma once

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

namespace mirror_snapshot {

inline std::string HeaderObjectName(const std::string& image_id) { return "rbd_header." + image_id; }

// The head's object map.
inline std::string ObjectMapName(const std::string& image_id) { return "rbd_object_map." + image_id; }

// A snapshot's object map: the head's name, then the id in 16 hex digits.
inline std::string ObjectMapName(const std::string& image_id, uint64_t snap_id) {
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), ".%016" PRIx64, snap_id);
  return ObjectMapName(image_id) + suffix;
}

}  // namespace mirror_snapshot
