// A snapshot's object map, written without librbd as librbd's snapshot
// create leaves it: a copy of the head's map, and the head's objects then
// marked clean (fast-diff), so a diff from the snapshot sees only later writes.
//
// A snapshot whose map object is missing cannot be opened at all: librbd
// answers ENOENT, whether or not the map is flagged invalid. So the map is
// written before the snapshot is added, and a snapshot left without one (a
// crash inside librbd's snap_create, which adds the snapshot first) is
// completed when the replayer adopts it.
#pragma once

#include <rados/librados.hpp>

#include <cstdint>
#include <string>

#include "native/base/result.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

// Writes the head's object map as snapshot `snap_id`'s. `header` is the
// pool (and namespace) of the image's header.
Status WriteSnapshotObjectMap(librados::IoCtx& header, const std::string& image_id, uint64_t snap_id);

// Marks the head's existing objects clean (cls_rbd object_map_snap_add). Best
// effort: on failure they stay marked changed, and later diffs see more than
// changed, never less.
void MarkHeadObjectMapClean(librados::IoCtx& header, const std::string& image_id);

// For existing snapshot `snap_id` of `image` (opened with `cluster`), when
// the image keeps object maps and that snapshot's is missing: writes it from
// the head's and marks the head clean (fast-diff), as the interrupted
// snapshot create would have. Only for an image nothing wrote to since the
// snapshot.
Status CompleteSnapshotObjectMap(const RadosCluster& cluster, const RbdImage& image, uint64_t snap_id);

}  // namespace mirror_snapshot
