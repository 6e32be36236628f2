#include "native/replica/replica_removal.h"

#include <rbd/librbd.h>

#include <cerrno>
#include <optional>
#include <utility>

#include "native/ceph/rbd_image.h"
#include "native/replica/replica_fence.h"
#include "native/replica/replica_image.h"

namespace mirror_snapshot {

Result<ReplicaRemovalReport> RemoveReplica(const RadosCluster& cluster, const IoCtx& io, const std::string& name) {
  ReplicaRemovalReport report;
  {
    auto image = RbdImage::OpenByName(io, name);
    if (!image.ok()) return image.status();
    auto state = ReadReplicaState(image.value());
    if (!state.ok()) return state.status();
    if (!state.value()) {
      return Status::Error(EINVAL, "'" + image.value().spec() + "' is not a replica of this module: rbd rm removes it");
    }
    if (state.value()->promoted) {
      return Status::Error(EINVAL, "'" + image.value().spec() + "' was promoted: it is a primary, and rbd's "
                                   "commands remove it (rbd mirror image disable, rbd snap purge, rbd rm)");
    }
    report.global_id = state.value()->global_id;
    report.primary_snap_id = state.value()->primary_snap_id;
    auto elsewhere = OpenElsewhere(cluster, image.value());
    if (!elsewhere.ok()) return elsewhere.status();
    if (elsewhere.value()) {
      return Status::Error(EBUSY, "'" + image.value().spec() + "' is open in another client (it watches the "
                                  "image): close it there first");
    }
    Status status = LiftReplicaFence(io, name, &image.value());
    if (!status.ok()) return status;
    auto snaps = image.value().UserSnapshots();
    if (!snaps.ok()) return snaps.status();
    for (const auto& snap : snaps.value()) {
      status = image.value().RemoveUserSnapshot(snap.name);
      if (!status.ok()) return status;  // EBUSY names a snapshot with clones
      ++report.snapshots_removed;
    }
  }  // closed: rbd_remove refuses an image this client still has open
  const int rc = rbd_remove(io.handle(), name.c_str());
  if (rc == -ENOTEMPTY || rc == -EBUSY) {
    return Status::FromErrno(-EBUSY, "removing '" + name + "' in '" + io.Describe() +
                                         "': it still has snapshots outside the user namespace (a removed "
                                         "snapshot with clones waits in the trash) or a client opened it meanwhile");
  }
  if (rc < 0) return Status::FromErrno(rc, "removing '" + name + "' in '" + io.Describe() + "'");
  return report;
}

}  // namespace mirror_snapshot
