// The delta of an RBD image between two of its snapshots (any namespace:
// mirror snapshots included), as image byte ranges, from the snap sets of its
// data objects. See object_delta.h for why librbd's diff_iterate is not enough.
//
// Which objects are asked: with object-map and fast-diff valid at every
// snapshot involved, only those the snapshots' object maps say may differ
// (object_map_reader.h), so the cost follows the delta, not the image size;
// otherwise every object of the image (the full scan), and the delta says why.
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

enum class DeltaSource { kObjectMap, kFullScan };
const char* ToString(DeltaSource source);  // "object_map", "full_scan"

// kAuto: the object maps when they can serve, else the full scan. kFullScan:
// every object whatever the maps say (the reference the maps are tested against).
enum class DeltaDiscovery { kAuto, kFullScan };

struct ImageDelta {
  Extents changed;  // copy these from the `to` snapshot
  Extents zeroed;   // no data there at `to`: zero/discard them
  // Whole objects that did not exist at `from` (every object, from nothing):
  // copy only their allocated extents (sparse read of the object at `to`).
  Extents created;
  ObjectLayout layout;
  uint64_t size_at_to = 0;
  uint64_t to_snap_id = 0;
  uint64_t objects_scanned = 0;  // objects asked for their snap sets
  uint64_t objects_changed = 0;
  uint64_t objects_in_image = 0;  // at the larger of the two sizes
  DeltaSource source = DeltaSource::kFullScan;
  std::string full_scan_reason;  // kFullScan: why the object maps did not serve
};

// `from_snap_id` 0 means "from nothing" (every object's data at `to`; a
// clone's parent data is not included: a first sync of a clone reads
// through the parent with diff_iterate instead). Images with fancy striping
// (STRIPINGV2) are refused with EOPNOTSUPP. At most `max_in_flight`
// list_snaps operations are outstanding. An error reading the object maps
// (a timeout, not a map that cannot serve) fails the delta.
// `on_scanned(objects scanned, objects in all)`, when set, is called every
// few thousand objects (a scan of a large image takes minutes: the sync's
// progress says it is alive).
Result<ImageDelta> ComputeImageDelta(const RadosCluster& cluster, const RbdImage& image,
                                     uint64_t from_snap_id, uint64_t to_snap_id,
                                     unsigned max_in_flight = 64,
                                     const std::function<void(uint64_t, uint64_t)>& on_scanned = {},
                                     DeltaDiscovery discovery = DeltaDiscovery::kAuto);

}  // namespace mirror_snapshot
