// Removing a replica on purpose: the operator's way to drop the copy of a
// primary that is gone (removed, or no longer mirrored). The replayer keeps
// such a replica as it was, fenced (a DR copy is never deleted behind the
// operator's back), so `rbd snap purge` and `rbd rm` fail on it with EROFS.
#pragma once

#include <cstdint>
#include <string>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"

namespace mirror_snapshot {

struct ReplicaRemovalReport {
  std::string global_id;          // of the primary it replicated
  uint64_t primary_snap_id = 0;   // the last primary snapshot it held completely (0: none)
  uint64_t snapshots_removed = 0;
};

// Removes replica `name` of `io`: its fence lifted, every snapshot removed
// (unprotected first), then the image. `cluster` is the client `io` belongs
// to. EINVAL if the image is not a replica of this module, or was promoted
// (it is a primary: rbd's commands apply); EBUSY if another client has it
// open, or a snapshot of it has clones (named). Whether its primary is gone
// is the caller's to check. Stopped half way (a crash, an error), the image
// keeps its replica record, so a retry finds it and finishes.
Result<ReplicaRemovalReport> RemoveReplica(const RadosCluster& cluster, const IoCtx& io, const std::string& name);

}  // namespace mirror_snapshot
