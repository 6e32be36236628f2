// Where an image's data objects live and what they are called: plain values,
// so that what works object by object (delta, verify) needs no open image.
#pragma once

#include <cstdint>
#include <string>

namespace mirror_snapshot {

struct ObjectLayout {
  std::string object_prefix;  // "rbd_data.<image id>"
  uint64_t object_size = 0;
  int64_t data_pool_id = -1;
  std::string ns;
};

// "<object_prefix>.<object_no as 16 hex digits>"
std::string DataObjectName(const ObjectLayout& layout, uint64_t object_no);

}  // namespace mirror_snapshot
