#include "native/role_change.h"

#include <cerrno>
#include <optional>
#include <vector>

#include "native/image_replayer.h"
#include "native/primary_snapshots.h"
#include "native/prune_policy.h"
#include "native/replica_fence.h"
#include "native/replica_image.h"
#include "native/unix_clock.h"

namespace mirror_snapshot {
namespace {

const MirrorSnapshot* FindSnapshot(const std::vector<MirrorSnapshot>& snaps, uint64_t id) {
  for (const auto& s : snaps) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

// The newest mirror snapshot this image took as a primary (complete).
std::optional<MirrorSnapshot> NewestPrimarySnapshot(const std::vector<MirrorSnapshot>& snaps) {
  for (auto it = snaps.rbegin(); it != snaps.rend(); ++it) {
    if (it->is_primary() && it->complete) return *it;
  }
  return std::nullopt;
}

// A client writing the image holds its exclusive lock: the rollback and the
// role change must not race with it (nor leave it a stale object map).
Status RequireNoWriter(const RbdImage& image, const std::string& doing) {
  auto owners = image.LockOwners();
  if (!owners.ok()) return owners.status();
  if (!owners.value().empty()) {
    return Status::Error(EBUSY, "image '" + image.spec() + "' is being written by " + owners.value().front() +
                                    " (it holds the exclusive lock): stop it before " + doing);
  }
  return Status::Ok();
}

// The reasons a non-forced promote must wait, or Ok.
Status CheckCleanPromote(const IoCtx& io, const RbdImage& local, const ReplicaState& state,
                         const RadosCluster* remote) {
  const std::string primary = "the primary of '" + local.spec() + "'";
  if (remote == nullptr) {
    return Status::Error(EBUSY, primary + " cannot be reached: promote with --force to fail over without it");
  }
  auto remote_io = IoCtx::Open(*remote, io.pool_name(), io.ns());
  if (!remote_io.ok()) return remote_io.status();
  auto remote_image = RbdImage::OpenById(remote_io.value(), state.remote_image_id);
  if (!remote_image.ok()) {
    return Status::Error(EBUSY, primary + " is gone (" + remote_image.status().message() +
                                    "): promote with --force");
  }
  auto mirror = remote_image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  if (mirror.value().primary) {
    return Status::Error(EBUSY, primary + " is still primary: demote it first, or promote with --force");
  }
  auto snaps = remote_image.value().MirrorSnapshots();
  if (!snaps.ok()) return snaps.status();
  const auto final_snap = NewestPrimarySnapshot(snaps.value());
  if (!final_snap || final_snap->state != MirrorSnapshotState::kPrimaryDemoted) {
    return Status::Error(EBUSY, primary + " is not primary but was not demoted cleanly: promote with --force");
  }
  if (state.in_flight() || state.primary_snap_id != final_snap->id) {
    return Status::Error(EBUSY, "the demoted primary's final snapshot " + std::to_string(final_snap->id) +
                                    " is not synced yet (this image holds " + std::to_string(state.primary_snap_id) +
                                    "): wait for it, or promote with --force");
  }
  return CheckUnchangedSince(io, local, LocalSnapshotName(state.primary_snap_id));
}

// After mirroring was enabled: record P0 (the oldest primary mirror
// snapshot) and pin it for the old primary's site.
Status RecordPromotion(const IoCtx& io, const RbdImage& image, ReplicaState* state) {
  auto snaps = image.MirrorSnapshots();
  if (!snaps.ok()) return snaps.status();
  for (const auto& s : snaps.value()) {
    if (s.is_primary() && s.complete) {
      state->promoted_snap_id = s.id;
      break;
    }
  }
  if (state->promoted_snap_id == 0) {
    return Status::Error(EIO, "image '" + image.spec() + "' has no mirror snapshot after mirroring was enabled");
  }
  Status status = WriteReplicaState(image, *state);
  if (!status.ok()) return status;
  auto id = image.Id();
  if (!id.ok()) return id.status();
  return WriteSyncPin(io, id.value(), state->remote_fsid, state->promoted_snap_id, state->promoted_snap_id);
}

// Image-mode mirroring of the pool (or namespace) the image is in, so that
// Ceph accepts enabling it: a namespace the replayer created has none yet.
Status AllowImageMirroring(const IoCtx& io) {
  rbd_mirror_mode_t mode = RBD_MIRROR_MODE_DISABLED;
  int rc = rbd_mirror_mode_get(io.handle(), &mode);
  if (rc < 0) return Status::FromErrno(rc, "reading the mirror mode of '" + io.Describe() + "'");
  if (mode != RBD_MIRROR_MODE_DISABLED) return Status::Ok();
  rc = rbd_mirror_mode_set(io.handle(), RBD_MIRROR_MODE_IMAGE);
  if (rc < 0) return Status::FromErrno(rc, "enabling image-mode mirroring of '" + io.Describe() + "'");
  return Status::Ok();
}

}  // namespace

Result<DemoteReport> DemotePrimary(const IoCtx& io, const std::string& name) {
  auto image = RbdImage::OpenByName(io, name);
  if (!image.ok()) return image.status();
  auto mirror = image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  if (mirror.value().mode != MirrorMode::kSnapshot) {
    return Status::InvalidArgument("image '" + image.value().spec() + "' is not mirrored in snapshot mode");
  }
  if (!mirror.value().primary) {
    return Status::InvalidArgument("image '" + image.value().spec() + "' is not primary (already demoted)");
  }
  Status status = image.value().DemoteMirroring();
  if (!status.ok()) return status;
  auto snaps = image.value().MirrorSnapshots();
  if (!snaps.ok()) return snaps.status();
  DemoteReport report;
  if (const auto newest = NewestPrimarySnapshot(snaps.value())) report.demoted_snap_id = newest->id;
  return report;
}

Result<PromoteReport> PromoteSecondary(const RadosCluster& local, const IoCtx& io, const std::string& name,
                                       const RadosCluster* remote, bool force) {
  auto image = RbdImage::OpenByName(io, name);
  if (!image.ok()) return image.status();
  const std::string spec = image.value().spec();
  auto mirror = image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  auto record = ReadReplicaState(image.value());
  if (!record.ok()) return record.status();
  if (!record.value()) {
    if (mirror.value().mode != MirrorMode::kDisabled && mirror.value().primary) {
      return Status::InvalidArgument("image '" + spec + "' is already primary");
    }
    return Status::InvalidArgument("image '" + spec + "' is not a secondary of mirror_snapshot");
  }
  ReplicaState state = *record.value();
  PromoteReport report;
  report.forced = force;
  report.primary_snap_id = state.primary_snap_id;
  report.recovery_point = state.primary_snap_time;

  if (state.promoted) {
    if (mirror.value().mode != MirrorMode::kDisabled && state.promoted_snap_id != 0) {
      return Status::InvalidArgument("image '" + spec + "' is already primary");
    }
    // A promote that stopped half-way: finish it below.
  } else {
    if (mirror.value().mode != MirrorMode::kDisabled) {
      return Status::InvalidArgument("image '" + spec + "' is mirrored by Ceph itself (rbd-mirror's), not ours");
    }
    if (state.primary_snap_id == 0) {
      return Status::Error(EBUSY, "image '" + spec + "' has no complete snapshot yet: nothing consistent to promote");
    }
    if (!force) {
      Status clean = CheckCleanPromote(io, image.value(), state, remote);
      if (!clean.ok()) return clean;
    }
    Status alone = RequireNoWriter(image.value(), "promoting it");
    if (!alone.ok()) return alone;
  }
  // A primary is writable: the replica's fence goes for good (replica_fence.h).
  Status lifted = LiftReplicaFence(io, name, &image.value());
  if (!lifted.ok()) return lifted;
  if (!state.promoted) {
    const std::string base = LocalSnapshotName(state.primary_snap_id);
    const bool dirty = state.in_flight() || !CheckUnchangedSince(io, image.value(), base).ok();
    if (dirty) {
      auto rollback = RollbackHead(local, image.value(), state.local_snap_id, base);
      if (!rollback.ok()) return rollback.status();
      report.rolled_back = true;
      report.rollback = rollback.value();
      image = RbdImage::OpenByName(io, name);  // its object map copy is stale
      if (!image.ok()) return image.status();
    }
    state.ClearInFlight();
    state.promoted = true;
    state.promoted_at = UnixNow();
    Status status = WriteReplicaState(image.value(), state);  // from here on the replayer leaves it alone
    if (!status.ok()) return status;
  }

  if (mirror.value().mode == MirrorMode::kDisabled) {
    Status status = AllowImageMirroring(io);
    if (!status.ok()) return status;
    status = image.value().EnableSnapshotMirroring();
    if (!status.ok()) return status;
  }
  Status status = RecordPromotion(io, image.value(), &state);
  if (!status.ok()) return status;
  report.promoted_snap_id = state.promoted_snap_id;
  return report;
}

Result<ResyncReport> ResyncFromPromoted(const RadosCluster& local, const IoCtx& io, const std::string& name,
                                        const RadosCluster& remote, const std::string& local_fsid,
                                        const std::string& remote_fsid, ResyncMode mode) {
  auto image = RbdImage::OpenByName(io, name);
  if (!image.ok()) return image.status();
  const std::string spec = image.value().spec();
  auto image_id = image.value().Id();
  if (!image_id.ok()) return image_id.status();
  auto own_record = ReadReplicaState(image.value());
  if (!own_record.ok()) return own_record.status();
  auto own_mirror = image.value().Mirror();
  if (!own_mirror.ok()) return own_mirror.status();
  if (own_mirror.value().mode == MirrorMode::kDisabled && own_record.value() && !own_record.value()->promoted) {
    return Status::InvalidArgument("image '" + spec + "' is already a secondary: nothing to resync");
  }

  // The new primary, and its lineage back to this image.
  auto remote_io = IoCtx::Open(remote, io.pool_name(), io.ns());
  if (!remote_io.ok()) return remote_io.status();
  auto peer = RbdImage::OpenByName(remote_io.value(), name);
  if (!peer.ok()) return peer.status();
  auto peer_mirror = peer.value().Mirror();
  if (!peer_mirror.ok()) return peer_mirror.status();
  if (peer_mirror.value().mode != MirrorMode::kSnapshot || !peer_mirror.value().primary) {
    return Status::InvalidArgument("the peer's '" + peer.value().spec() + "' is not a snapshot-mode primary: "
                                   "nothing to resync from");
  }
  auto lineage = ReadReplicaState(peer.value());
  if (!lineage.ok()) return lineage.status();
  if (!lineage.value() || !lineage.value()->promoted || lineage.value()->remote_fsid != local_fsid ||
      lineage.value()->remote_image_id != image_id.value() || lineage.value()->promoted_snap_id == 0) {
    return Status::InvalidArgument("the peer's '" + peer.value().spec() + "' was not promoted from '" + spec +
                                   "': they share no snapshot (remove this image for a full sync)");
  }
  const uint64_t common = lineage.value()->primary_snap_id;
  const uint64_t base = lineage.value()->promoted_snap_id;
  auto peer_snaps = peer.value().MirrorSnapshots();
  if (!peer_snaps.ok()) return peer_snaps.status();
  const MirrorSnapshot* base_snap = FindSnapshot(peer_snaps.value(), base);
  if (base_snap == nullptr) {
    return Status::NotFound("snapshot " + std::to_string(base) + " of the peer's '" + peer.value().spec() +
                            "', where it was promoted, is gone: remove this image for a full sync");
  }

  ResyncReport report;
  report.common_snap_id = common;
  report.base_snap_id = base;
  ReplicaState& state = report.state;
  state.remote_fsid = remote_fsid;
  auto peer_id = peer.value().Id();
  if (!peer_id.ok()) return peer_id.status();
  state.remote_image_id = peer_id.value();
  state.global_id = peer_mirror.value().global_id;
  state.primary_snap_id = base;
  state.primary_snap_time = base_snap->timestamp;
  const std::string base_name = LocalSnapshotName(base);

  const auto& mirror = own_mirror;
  if (mirror.value().mode == MirrorMode::kDisabled) {
    // Stopped after dropping Ceph's mirroring: the local snapshot standing for
    // P0 was taken before that, so only the record is missing.
    auto held = image.value().SnapshotIdByName(base_name);
    if (!held.ok()) return held.status();
    if (!held.value()) {
      return Status::InvalidArgument("image '" + spec + "' is not mirrored and holds no snapshot '" + base_name +
                                     "': remove it for a full sync");
    }
    state.local_snap_id = *held.value();
    Status status = WriteReplicaState(image.value(), state);
    if (!status.ok()) return status;
    status = SetReplicaFence(io, image_id.value(), true);  // a replica now (replica_fence.h)
    if (!status.ok()) return status;
    return report;
  }
  if (mirror.value().mode != MirrorMode::kSnapshot) {
    return Status::InvalidArgument("image '" + spec + "' is mirrored in journal mode");
  }
  auto snaps = image.value().MirrorSnapshots();
  if (!snaps.ok()) return snaps.status();
  if (FindSnapshot(snaps.value(), common) == nullptr) {
    return Status::NotFound("snapshot " + std::to_string(common) + " of '" + spec +
                            "', the last one the peer synced, is gone: remove this image for a full sync");
  }
  const auto newest = NewestPrimarySnapshot(snaps.value());
  const bool clean = !mirror.value().primary && newest && newest->id == common &&
                     newest->state == MirrorSnapshotState::kPrimaryDemoted;
  if (mode == ResyncMode::kCleanFailback && !clean) {
    return Status::Error(EEXIST, "image '" + spec + "' was written after snapshot " + std::to_string(common) +
                                     ", the last one the peer synced before it was promoted (split-brain): "
                                     "resync it to discard those writes");
  }
  if (mirror.value().primary && mode != ResyncMode::kForced) {
    return Status::Error(EBUSY, "image '" + spec + "' is primary: resync discards its writes since snapshot " +
                                    std::to_string(common) + "; demote it first or use --force");
  }
  Status status = RequireNoWriter(image.value(), "resyncing it");
  if (!status.ok()) return status;

  // Writable again for the rollback and the snapshot: promote (locally).
  if (!mirror.value().primary) {
    status = image.value().PromoteMirroring(true);
    if (!status.ok()) return status;
  }
  if (!clean) {
    auto rollback = RollbackHead(local, image.value(), common, "");
    if (!rollback.ok()) return rollback.status();
    report.rolled_back = true;
    report.rollback = rollback.value();
    image = RbdImage::OpenByName(io, name);  // its object map copy is stale
    if (!image.ok()) return image.status();
  }
  // A resync interrupted after its snapshot: taken again, of HEAD as it is now.
  auto stale = image.value().SnapshotIdByName(base_name);
  if (!stale.ok()) return stale.status();
  if (stale.value()) {
    status = image.value().RemoveSnapshot(*stale.value());
    if (!status.ok()) return status;
  }
  auto taken = image.value().CreateSnapshot(base_name);
  if (!taken.ok()) return taken.status();
  state.local_snap_id = taken.value();
  // Dropping Ceph's mirroring removes the mirror snapshots (X among them):
  // the user snapshot just taken holds the same data.
  status = image.value().DisableMirroring(false);
  if (!status.ok()) return status;
  auto pins = image.value().MetadataWithPrefix(kSyncPinPrefix);
  if (pins.ok()) {
    for (const auto& [key, value] : pins.value()) image.value().RemoveMetadata(key);
  }
  status = WriteReplicaState(image.value(), state);
  if (!status.ok()) return status;
  status = SetReplicaFence(io, image_id.value(), true);  // a replica now (replica_fence.h)
  if (!status.ok()) return status;
  return report;
}

}  // namespace mirror_snapshot
