#include "native/roles/role_change.h"

#include <cerrno>
#include <optional>
#include <vector>

#include "native/base/unix_clock.h"
#include "native/ceph/exclusive_lock_hold.h"
#include "native/ceph/header_metadata_writer.h"
#include "native/primary/primary_snapshots.h"
#include "native/primary/prune_policy.h"
#include "native/replica/replica_fence.h"
#include "native/replica/replica_image.h"
#include "native/roles/journal_promote.h"
#include "native/roles/role_steps.h"

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

// Puts the fence back on a replica whose promote failed before it was
// recorded promoted (replica_fence.h), unless disarmed.
struct RefenceOnError {
  const IoCtx* io;
  std::string image_id;
  ~RefenceOnError() {
    // A destructor cannot report; the replayer's next step fences the replica
    // again when it releases its hold (replica_fence.h).
    if (io != nullptr) SetReplicaFence(*io, image_id, true).IgnoreError();
  }
};

// The reasons a non-forced promote must wait, or Ok.
Status CheckCleanPromote(const IoCtx& io, const RbdImage& local, const ReplicaState& state,
                         const RadosCluster* remote) {
  const std::string primary = "the primary of '" + local.spec() + "'";
  auto remote_image = OpenDemotedPrimary(io, local, state.remote_image_id, remote);
  if (!remote_image.ok()) return remote_image.status();
  auto mirror = remote_image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  auto snaps = remote_image.value().MirrorSnapshots();
  if (!snaps.ok()) return snaps.status();
  const auto final_snap = NewestPrimarySnapshot(snaps.value());
  if (!final_snap || final_snap->state != MirrorSnapshotState::kPrimaryDemoted) {
    return Status::Error(EBUSY, primary + " is not primary but was not demoted cleanly: promote with --force");
  }
  if (!FinalSnapshotSynced(state, mirror.value(), snaps.value())) {
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

// Ceph mirrors a clone only if its parent is mirrored here (librbd's enable
// fails with EINVAL otherwise): a clone replica is promoted after its parent.
// Checked before anything changes, so that a refused promote leaves a fenced
// replica that goes on syncing.
Status RequireParentPromoted(const RadosCluster& local, const RbdImage& image) {
  auto parent = image.Parent();
  if (!parent.ok()) return parent.status();
  if (!parent.value()) return Status::Ok();
  const ParentSpec& spec = *parent.value();
  const std::string name = spec.pool + "/" + (spec.ns.empty() ? "" : spec.ns + "/") + spec.image_name;
  auto parent_io = IoCtx::Open(local, spec.pool, spec.ns);
  if (!parent_io.ok()) return parent_io.status();
  auto parent_image = RbdImage::OpenById(parent_io.value(), spec.image_id);
  if (!parent_image.ok()) return parent_image.status();
  auto mirror = parent_image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  if (mirror.value().mode == MirrorMode::kDisabled) {
    return Status::Error(EBUSY, "'" + image.spec() + "' is a clone of '" + name +
                                    "', which is not promoted on this site: promote the parent first");
  }
  return Status::Ok();
}

}  // namespace

bool FinalSnapshotSynced(const ReplicaState& state, const MirrorInfo& primary_mirror,
                         const std::vector<MirrorSnapshot>& primary_snaps) {
  if (primary_mirror.primary) return false;
  const auto final_snap = NewestPrimarySnapshot(primary_snaps);
  return final_snap && final_snap->state == MirrorSnapshotState::kPrimaryDemoted && !state.in_flight() &&
         state.primary_snap_id == final_snap->id;
}

Result<DemoteReport> DemotePrimary(const IoCtx& io, const std::string& name) {
  auto image = RbdImage::OpenByName(io, name);
  if (!image.ok()) return image.status();
  auto mirror = image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  if (mirror.value().mode == MirrorMode::kJournal) {
    // librbd appends the demotion to the journal: the replayer replays it,
    // and a promote without --force there checks that it did.
    DemoteReport report;
    report.already = !mirror.value().primary;
    if (report.already) return report;
    Status status = image.value().DemoteMirroring();
    if (!status.ok()) return status;
    return report;
  }
  if (mirror.value().mode != MirrorMode::kSnapshot) {
    return Status::InvalidArgument("image '" + image.value().spec() + "' is not mirrored");
  }
  DemoteReport report;
  if (!mirror.value().primary) {
    // A retried demote finds its work done; a replica was never primary here.
    auto snaps = image.value().MirrorSnapshots();
    if (!snaps.ok()) return snaps.status();
    const auto newest = NewestPrimarySnapshot(snaps.value());
    if (!newest || newest->state != MirrorSnapshotState::kPrimaryDemoted) {
      return Status::InvalidArgument("image '" + image.value().spec() + "' is not primary here");
    }
    report.demoted_snap_id = newest->id;
    report.already = true;
    return report;
  }
  Status status = image.value().DemoteMirroring();
  if (!status.ok()) return status;
  auto snaps = image.value().MirrorSnapshots();
  if (!snaps.ok()) return snaps.status();
  if (const auto newest = NewestPrimarySnapshot(snaps.value())) report.demoted_snap_id = newest->id;
  return report;
}

Result<PromoteReport> PromoteSecondary(const RadosCluster& local, const IoCtx& io, const std::string& name,
                                       const RadosCluster* remote, bool force, PromoteMode mode) {
  auto journal = IsJournalReplica(io, name);
  if (!journal.ok()) return journal.status();
  if (journal.value()) return PromoteJournalReplica(local, io, name, remote, force);
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
      report.promoted_snap_id = state.promoted_snap_id;  // a retried promote finds its work done
      report.already = true;
      return report;
    }
    // A promote that stopped half-way: finish it below. A client that has
    // been writing it since is not rolled back under its feet.
    if (mirror.value().mode == MirrorMode::kDisabled) {
      Status alone = RequireNoWriter(local, image.value(), "finishing its promote, which stopped half-way");
      if (!alone.ok()) return alone;
      Status parent = RequireParentPromoted(local, image.value());
      if (!parent.ok()) return parent;
    }
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
    Status alone = RequireNoWriter(local, image.value(), "promoting it");
    if (!alone.ok()) return alone;
    Status parent = RequireParentPromoted(local, image.value());
    if (!parent.ok()) return parent;
  }
  auto image_id = image.value().Id();
  if (!image_id.ok()) return image_id.status();
  if (!state.promoted) {
    // Once the fence is lifted a client may write before the hold below (and
    // make it fail): a delta in flight is not resumed after a failed promote
    // puts the fence back, it is rolled back (image_replayer.cc).
    Status recorded = RecordInFlightDoubt(local, image.value(), &state);
    if (!recorded.ok()) return recorded;
  }
  RefenceOnError refence{state.promoted ? nullptr : &io, image_id.value()};
  // A primary is writable: the replica's fence goes for good (replica_fence.h).
  Status lifted = LiftReplicaFence(io, name, &image.value());
  if (!lifted.ok()) return lifted;
  // From here to the first mirror snapshot, no client may write: P0 must
  // hold exactly the consistency point, which failback relies on.
  auto hold = ExclusiveLockHold::Take(image.value(), "promoting it");
  if (!hold.ok()) return hold.status();
  // P0 not taken yet: HEAD must hold exactly the consistency point. A promote
  // that stopped half-way left the image writable with no hold (its holder
  // died): whatever a client wrote since goes too, as the promote never
  // answered.
  const bool before_p0 = !state.promoted || mirror.value().mode == MirrorMode::kDisabled;
  if (before_p0) {
    // Checked under the hold: a client that wrote between the lift and the
    // hold is found here and undone.
    const std::string base = LocalSnapshotName(state.primary_snap_id);
    const bool dirty = state.in_flight() || !CheckUnchangedSince(io, image.value(), base).ok();
    if (dirty && state.promoted && mode == PromoteMode::kFinishUnchangedOnly) {
      // Not the operator's call: nothing is discarded without one.
      return Status::Error(EBUSY, "the promote of '" + spec + "' stopped half-way and the image was written since "
                                  "(it must hold snapshot " + std::to_string(state.primary_snap_id) +
                                  " exactly before its first mirror snapshot): run the promote again to roll "
                                  "those writes back, or resync the image");
    }
    if (dirty) {
      // Through the handle that holds the lock. Its cached object map goes
      // stale, which is harmless: it does no I/O from here on, and the
      // mirror snapshot below copies the map on disk (librbd reads it).
      auto rollback = RollbackHead(local, image.value(), state.local_snap_id, base);
      if (!rollback.ok()) return rollback.status();
      report.rolled_back = true;
      report.rollback = rollback.value();
    }
    if (!state.promoted) {
      state.ClearInFlight();
      state.promoted = true;
      state.promoted_at = UnixNow();
      // From here on the replayer does not replay into it: it finishes it
      // (image_replayer.cc, CheckLocalRole).
      Status status = WriteReplicaState(image.value(), state);
      if (!status.ok()) return status;
      refence.io = nullptr;
    }
  }

  if (mirror.value().mode == MirrorMode::kDisabled) {
    Status status = FinishMirroringDisable(image.value(), mirror.value());
    if (!status.ok()) return status;
    status = AllowImageMirroring(io);
    if (!status.ok()) return status;
    status = image.value().EnableSnapshotMirroring();
    if (!status.ok()) return status;
  }
  Status status = RecordPromotion(io, image.value(), &state);
  if (!status.ok()) return status;
  report.promoted_snap_id = state.promoted_snap_id;
  return report;
}

namespace {

// The end of a resync: a plain image holding the base snapshot becomes a
// fenced replica of the peer (record, then marker gone, then fence).
Status BecomeReplica(const IoCtx& io, const RbdImage& image, const std::string& image_id,
                     const ReplicaState& state) {
  Status status = WriteReplicaState(image, state);
  if (!status.ok()) return status;
  status = image.RemoveMetadata(kResyncMarkerKey);
  if (!status.ok() && status.code() != ENOENT) return status;
  return SetReplicaFence(io, image_id, true);  // a replica now (replica_fence.h)
}

// Sets the marker with cls_rbd directly: the image may be non-primary
// (demoted), which librbd keeps read-only.
Status MarkResyncUnderWay(const RadosCluster& local, const RbdImage& image, uint64_t common, uint64_t base) {
  auto writer = HeaderMetadataWriter::Open(local, image);
  if (!writer.ok()) return writer.status();
  writer.value().Set(kResyncMarkerKey, std::to_string(common) + "," + std::to_string(base));
  return writer.value().Drain();
}

}  // namespace

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
  auto marker = image.value().Metadata(kResyncMarkerKey);
  if (!marker.ok()) return marker.status();
  const bool resuming = marker.value().has_value();

  ResyncReport report;
  report.resumed = resuming;
  if (own_mirror.value().mode == MirrorMode::kDisabled && own_record.value() && !own_record.value()->promoted) {
    if (own_record.value()->remote_fsid != remote_fsid) {
      return Status::InvalidArgument("image '" + spec + "' is already a secondary of another cluster (" +
                                     own_record.value()->remote_fsid + "): nothing to resync");
    }
    // A retried resync finds its work done, or only the marker left.
    report.state = *own_record.value();
    report.base_snap_id = own_record.value()->primary_snap_id;
    report.already = !resuming;
    Status finished = FinishMirroringDisable(image.value(), own_mirror.value());
    if (!finished.ok()) return finished;
    if (resuming) {
      Status status = BecomeReplica(io, image.value(), image_id.value(), report.state);
      if (!status.ok()) return status;
    }
    return report;
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
    // Stopped after (or while) dropping Ceph's mirroring: the local snapshot
    // standing for P0 was taken before that, so only the record is missing.
    Status finished = FinishMirroringDisable(image.value(), mirror.value());
    if (!finished.ok()) return finished;
    auto held = image.value().SnapshotIdByName(base_name);
    if (!held.ok()) return held.status();
    if (!held.value()) {
      return Status::InvalidArgument("image '" + spec + "' is not mirrored and holds no snapshot '" + base_name +
                                     "': remove it for a full sync");
    }
    state.local_snap_id = *held.value();
    Status status = BecomeReplica(io, image.value(), image_id.value(), state);
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
  // A resumed resync made the image primary itself: its writes since are
  // discarded whatever the mode (the operator asked for the resync).
  bool clean = !mirror.value().primary && newest && newest->id == common &&
               newest->state == MirrorSnapshotState::kPrimaryDemoted;
  if (mode == ResyncMode::kCleanFailback && !clean && !resuming) {
    return Status::Error(EEXIST, "image '" + spec + "' was written after snapshot " + std::to_string(common) +
                                     ", the last one the peer synced before it was promoted (split-brain): "
                                     "resync it to discard those writes");
  }
  if (mirror.value().primary && mode != ResyncMode::kForced && !resuming) {
    return Status::Error(EBUSY, "image '" + spec + "' is primary: resync discards its writes since snapshot " +
                                    std::to_string(common) + "; demote it first or use --force");
  }
  Status status = RequireNoWriter(local, image.value(), "resyncing it");
  if (!status.ok()) return status;
  if (clean) {
    // Made writable below: a client with it open could write before the hold.
    auto elsewhere = OpenElsewhere(local, image.value());
    if (!elsewhere.ok()) return elsewhere.status();
    if (elsewhere.value()) clean = false;
  }

  // From here until it is a fenced replica, whoever finds the image
  // finishes the resync (a crash would otherwise leave a writable primary).
  if (!resuming) {
    status = MarkResyncUnderWay(local, image.value(), common, base);
    if (!status.ok()) return status;
  }
  // Writable again for the rollback and the snapshot: promote (locally).
  if (!mirror.value().primary) {
    status = image.value().PromoteMirroring(true);
    if (!status.ok()) return status;
  }
  // A handle opened while the image was non-primary has no exclusive lock to
  // take until it refreshes, and a promote killed inside librbd can leave the
  // non-primary bit set: the bit is cleared and the image opened afresh.
  status = SetReplicaFence(io, image_id.value(), false);
  if (!status.ok()) return status;
  image = RbdImage::OpenByName(io, name);
  if (!image.ok()) return image.status();
  auto hold = ExclusiveLockHold::Take(image.value(), "resyncing it");
  if (!hold.ok()) return hold.status();
  if (clean) {
    auto elsewhere = OpenElsewhere(local, image.value());
    if (!elsewhere.ok()) return elsewhere.status();
    if (elsewhere.value()) clean = false;  // it may have written before the hold: undone below
  }
  if (!clean) {
    // Through the handle that holds the lock (see PromoteSecondary).
    auto rollback = RollbackHead(local, image.value(), common, "");
    if (!rollback.ok()) return rollback.status();
    report.rolled_back = true;
    report.rollback = rollback.value();
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
    // Best effort: a stale pin names snapshots this image no longer has, and
    // pins nothing.
    for (const auto& [key, value] : pins.value()) image.value().RemoveMetadata(key).IgnoreError();
  }
  // Fenced while the hold still stands: no client gets a writable moment.
  status = BecomeReplica(io, image.value(), image_id.value(), state);
  if (!status.ok()) return status;
  return report;
}

}  // namespace mirror_snapshot
