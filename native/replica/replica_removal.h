// Removing a replica on purpose: the operator's way to drop the copy of a
// primary that is gone (removed, or no longer mirrored), or to have a
// replica copied anew. The replayer keeps a replica whose primary is gone as
// it was, fenced (a DR copy is never deleted behind the operator's back), so
// `rbd snap purge` and `rbd rm` fail on it with EROFS.
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

// The metadata key a removal writes once it lifted the fence (the image's
// id): a retry after a crash knows the image for the replica it was.
inline constexpr const char* kReplicaRemovalKey = "mirror_snapshot.removing";

// Removes replica `name` of `io`, which must replicate the primary of
// `expected_global_id`: its fence lifted, every snapshot removed
// (unprotected first), then the image. `cluster` is the client `io` belongs
// to.
//   EINVAL: not a replica of this module: no record, or a record without the
//           fence (a clone or copy of a replica inherits its metadata), or
//           promoted (a primary: rbd's commands apply);
//   EBUSY:  another client has it open, a snapshot of it has clones (nothing
//           is touched), or its record names another primary than expected.
// Whether its primary is gone is the caller's to check. Stopped half way,
// the image keeps its record and the removal key, so a retry finishes; a
// failure after the fence was lifted fences it again.
Result<ReplicaRemovalReport> RemoveReplica(const RadosCluster& cluster, const IoCtx& io, const std::string& name,
                                           const std::string& expected_global_id);

}  // namespace mirror_snapshot
