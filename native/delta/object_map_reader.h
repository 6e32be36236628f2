// The objects that may differ between two snapshots of an image, from the
// snapshots' object maps (object_map_diff.h), read with librados from the
// image's pool: cls_rbd's header calls for the snapshot list, flags and sizes,
// and the map objects themselves. When the maps cannot be trusted or used, it
// says why, and the caller asks every object instead (the exact full scan).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/object_layout.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

struct ObjectMapCandidates {
  // Ascending object numbers to ask for their exact extents, when the maps
  // could be used; nullopt otherwise, with the reason in `why_not` (for
  // status: "fast-diff is not enabled", "the object map of snapshot 12 is
  // marked invalid", ...).
  std::optional<std::vector<uint64_t>> objects;
  std::string why_not;
};

// `from_snap_id` 0: from nothing (the objects that exist at `to`). A failed
// Result is an I/O error the full scan would meet as well (a timeout, a
// blocklisted client); a map that is missing, invalid, too short or corrupt
// is a reason, not an error.
Result<ObjectMapCandidates> ReadObjectMapCandidates(const RadosCluster& cluster, const RbdImage& image,
                                                    const ObjectLayout& layout, uint64_t from_snap_id,
                                                    uint64_t to_snap_id);

}  // namespace mirror_snapshot
