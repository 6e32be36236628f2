// Rolling an image's HEAD back to one of its snapshots, touching only the
// objects that changed since that snapshot: O(delta), where `rbd snap
// rollback` sends a rollback to every object the object map says exists.
//
// Each changed object gets a server-side RADOS self-managed snapshot rollback
// (no data crosses the network). The HEAD object map is corrected where an
// object's existence changed (cls_rbd object_map_update), so librbd reads
// and fast-diff stay right. The image must be writable (a resize may be
// needed) and no other client may be writing it (holding its exclusive
// lock): its cached object map would be stale. The caller must reopen
// `image` before using it for I/O.
#pragma once

#include <cstdint>

#include "native/base/result.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

struct RollbackReport {
  uint64_t snap_id = 0;
  uint64_t objects_examined = 0;    // candidates whose snap set was read
  uint64_t objects_rolled_back = 0;
  uint64_t bytes_rolled_back = 0;   // changed bytes of those objects
  uint64_t size_before = 0;
  uint64_t size_after = 0;
  double seconds = 0;
};

// `snap_name` names a user snapshot when non-empty: the object map (fast-diff)
// then gives the candidates. Otherwise (a mirror snapshot) every object of
// the image is examined. Concurrency: at most `max_in_flight` RADOS ops.
Result<RollbackReport> RollbackHead(const RadosCluster& cluster, const RbdImage& image, uint64_t snap_id,
                                    const std::string& snap_name, unsigned max_in_flight = 64);

}  // namespace mirror_snapshot
