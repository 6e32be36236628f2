// The delta of an RBD image between two of its snapshots (any namespace:
// mirror snapshots included), as image byte ranges, from every data object's
// snap set. See object_delta.h for why librbd's diff_iterate is not enough.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "native/base/extent_set.h"
#include "native/base/result.h"
#include "native/ceph/object_layout.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

struct ImageDelta {
  Extents changed;  // copy these from the `to` snapshot
  Extents zeroed;   // no data there at `to`: zero/discard them
  // Whole objects that did not exist at `from` (every object, from nothing):
  // copy only their allocated extents (sparse read of the object at `to`).
  Extents created;
  ObjectLayout layout;
  uint64_t size_at_to = 0;
  uint64_t to_snap_id = 0;
  uint64_t objects_scanned = 0;
  uint64_t objects_changed = 0;
};

// `from_snap_id` 0 means "from nothing" (every object's data at `to`; a
// clone's parent data is not included: a first sync of a clone reads
// through the parent with diff_iterate instead). Images with fancy striping
// (STRIPINGV2) are refused with EOPNOTSUPP. At most `max_in_flight`
// list_snaps operations are outstanding.
// `on_scanned(objects scanned, objects in all)`, when set, is called every
// few thousand objects (a scan of a large image takes minutes: the sync's
// progress says it is alive).
Result<ImageDelta> ComputeImageDelta(const RadosCluster& cluster, const RbdImage& image,
                                     uint64_t from_snap_id, uint64_t to_snap_id,
                                     unsigned max_in_flight = 64,
                                     const std::function<void(uint64_t, uint64_t)>& on_scanned = {});

}  // namespace mirror_snapshot
