#include "native/replica/replica_removal.h"

#include <rbd/librbd.h>

#include <cerrno>
#include <optional>
#include <utility>
#include <vector>

#include "native/ceph/rbd_image.h"
#include "native/replica/replica_fence.h"
#include "native/replica/replica_image.h"

namespace mirror_snapshot {
namespace {

// The first of `snaps` that has a clone. Checked before anything is touched:
// such a snapshot cannot be unprotected, or would wait in the trash and keep
// the image from going.
Result<std::optional<std::string>> SnapshotWithClones(const RbdImage& image, const std::vector<SnapshotInfo>& snaps) {
  std::optional<std::string> found;
  for (const auto& snap : snaps) {
    int rc = rbd_snap_set(image.handle(), snap.name.c_str());
    if (rc < 0) return Status::FromErrno(rc, "reading snapshot '" + snap.name + "' of '" + image.spec() + "'");
    size_t children = 0;
    rc = rbd_list_children3(image.handle(), nullptr, &children);
    if (rc == -ERANGE || (rc >= 0 && children > 0)) {
      found = snap.name;
    } else if (rc < 0) {
      rbd_snap_set(image.handle(), nullptr);
      return Status::FromErrno(rc, "listing the clones of '" + image.spec() + "@" + snap.name + "'");
    }
    if (found) break;
  }
  const int rc = rbd_snap_set(image.handle(), nullptr);
  if (rc < 0) return Status::FromErrno(rc, "returning '" + image.spec() + "' to its head");
  return found;
}

Status Refuse(int code, const RbdImage& image, const std::string& why) {
  return Status::Error(code, "'" + image.spec() + "' " + why);
}

}  // namespace

Result<ReplicaRemovalReport> RemoveReplica(const RadosCluster& cluster, const IoCtx& io, const std::string& name,
                                           const std::string& expected_global_id) {
  ReplicaRemovalReport report;
  {
    auto image = RbdImage::OpenByName(io, name);
    if (!image.ok()) return image.status();
    RbdImage& replica = image.value();
    auto state = ReadReplicaState(replica);
    if (!state.ok()) return state.status();
    if (!state.value()) return Refuse(EINVAL, replica, "is not a replica of this module: rbd rm removes it");
    if (state.value()->promoted) {
      return Refuse(EINVAL, replica, "was promoted: it is a primary, and rbd's commands remove it (rbd mirror "
                                     "image disable, rbd snap purge, rbd rm)");
    }
    if (!expected_global_id.empty() && state.value()->global_id != expected_global_id) {
      return Refuse(EBUSY, replica, "replicates another primary than when the command began (global id " +
                                        state.value()->global_id + "): run it again");
    }
    report.global_id = state.value()->global_id;
    report.primary_snap_id = state.value()->primary_snap_id;

    auto id = replica.Id();
    if (!id.ok()) return id.status();
    auto fenced = IsFenced(replica);
    if (!fenced.ok()) return fenced.status();
    auto removing = replica.Metadata(kReplicaRemovalKey);
    if (!removing.ok()) return removing.status();
    if (!fenced.value() && removing.value() != id.value()) {
      return Refuse(EINVAL, replica, "carries a replica record but not the replayer's fence: a clone or copy of a "
                                     "replica (or one whose fence was lifted by hand), not one itself; rbd snap "
                                     "purge and rbd rm remove it");
    }
    auto elsewhere = OpenElsewhere(cluster, replica);
    if (!elsewhere.ok()) return elsewhere.status();
    if (elsewhere.value()) {
      return Refuse(EBUSY, replica, "is open in another client (it watches the image): close it there first");
    }
    auto snaps = replica.UserSnapshots();
    if (!snaps.ok()) return snaps.status();
    auto cloned = SnapshotWithClones(replica, snaps.value());
    if (!cloned.ok()) return cloned.status();
    if (cloned.value()) {
      return Refuse(EBUSY, replica, "has clones of its snapshot '" + *cloned.value() +
                                        "' (replicas of clones, or clones made here): remove them first");
    }

    Status status = LiftReplicaFence(io, name, &replica);
    if (!status.ok()) return status;
    status = replica.SetMetadata(kReplicaRemovalKey, id.value());
    for (const auto& snap : snaps.value()) {
      if (!status.ok()) break;
      status = replica.RemoveUserSnapshot(snap.name);
      if (status.ok()) ++report.snapshots_removed;
    }
    if (!status.ok()) {
      // Fenced again, so that it stays the replayer's; its record and the
      // removal key are still there for a retry.
      Status refenced = SetReplicaFence(io, id.value(), true);
      (void)refenced;  // the first error is the one to report
      return status;
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
