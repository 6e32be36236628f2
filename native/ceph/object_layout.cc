#include "native/ceph/object_layout.h"

#include <cinttypes>
#include <cstdio>

namespace mirror_snapshot {

std::string DataObjectName(const ObjectLayout& layout, uint64_t object_no) {
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), ".%016" PRIx64, object_no);
  return layout.object_prefix + suffix;
}

}  // namespace mirror_snapshot
