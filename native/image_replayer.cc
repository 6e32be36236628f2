#include "native/image_replayer.h"

#include <cerrno>
#include <chrono>
#include <optional>
#include <vector>

#include "native/delta_copier.h"
#include "native/header_metadata_writer.h"
#include "native/image_delta.h"
#include "native/io_ctx.h"
#include "native/peers.h"
#include "native/prepared_snapshot.h"
#include "native/primary_snapshots.h"
#include "native/prune_policy.h"
#include "native/replica_image.h"
#include "native/replicated_user_snapshots.h"
#include "native/role_change.h"
#include "native/snapshot_object_map.h"
#include "native/snapshot_release.h"
#include "native/unix_clock.h"

namespace mirror_snapshot {
namespace {

// The primary's snapshots a secondary may sync to: complete, taken while primary.
std::vector<MirrorSnapshot> SyncableSnapshots(const std::vector<MirrorSnapshot>& all) {
  std::vector<MirrorSnapshot> out;
  for (const auto& s : all) {
    if (s.complete && s.is_primary()) out.push_back(s);
  }
  return out;
}

const MirrorSnapshot* Find(const std::vector<MirrorSnapshot>& snaps, uint64_t id) {
  for (const auto& s : snaps) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

Status Pin(const IoCtx& remote_io, const std::string& remote_image_id, const std::string& local_fsid, uint64_t from,
           uint64_t to) {
  return WriteSyncPin(remote_io, remote_image_id, local_fsid, from != 0 ? std::optional<uint64_t>(from) : std::nullopt,
                      to);
}

std::optional<uint64_t> LocalSnapshotId(const RbdImage& local, const std::string& name) {
  uint64_t id = 0;
  if (rbd_snap_get_id(local.handle(), name.c_str(), &id) != 0) return std::nullopt;
  return id;
}

bool LocalSnapshotExists(const RbdImage& local, const std::string& name) {
  return LocalSnapshotId(local, name).has_value();
}

// Everything one step needs once both images are open.
class Step {
 public:
  Step(const ReplayTarget& target, const ReplayOptions& options, ReplayProgress* progress, const IoCtx& remote_io,
       const RbdImage& remote, const RbdImage& local, ReplicaState* state)
      : target_(target),
        options_(options),
        progress_(progress),
        remote_io_(remote_io),
        remote_(remote),
        local_(local),
        state_(state) {}

  // Brings the local image from primary_snap_id to `to` and records `to` as
  // complete. User snapshots the primary took in between are replicated on
  // the way (a delta to each, then a local snapshot of the same name), so
  // clones of them can be replicated too. The last delta resumes from the
  // checkpoint when the record says it was in flight.
  Result<ReplayResult> SyncTo(const MirrorSnapshot& to, bool force_zero_gaps) {
    const auto started = std::chrono::steady_clock::now();
    const uint64_t from = state_->primary_snap_id;
    progress_->Begin(from, to.id);

    auto between = UserSnapshotsBetween(from, to.id);
    if (!between.ok()) return between.status();
    const uint64_t last_from = between.value().empty() ? from : between.value().back().id;
    const bool resuming = state_->in_flight() && state_->inflight_to_snap_id == to.id &&
                          state_->inflight_from_snap_id == last_from;
    auto parent = local_.Parent();
    if (!parent.ok()) return parent.status();
    // Holes of objects created since `from` must be zeroed when the target may
    // hold data there: a clone's parent, or a partial apply of another delta.
    const bool zero_gaps = force_zero_gaps || parent.value().has_value() || (state_->in_flight() && !resuming);
    const uint64_t resume_at = resuming ? state_->checkpoint_offset : 0;

    Status status = Pin(remote_io_, target_.remote_image_id, target_.local_fsid, from, to.id);
    if (!status.ok()) return status;
    if (!resuming) {
      state_->inflight_to_snap_id = to.id;
      state_->inflight_from_snap_id = last_from;
      state_->checkpoint_offset = 0;
      state_->inflight_started = UnixNow();
    }
    status = WriteReplicaState(local_, *state_);
    if (!status.ok()) return status;

    uint64_t bytes = 0;
    uint64_t base = from;
    for (const SnapshotInfo& user : between.value()) {
      if (!LocalSnapshotExists(local_, user.name)) {
        auto applied = Apply(base, user.id, 0, zero_gaps, false);
        if (!applied.ok()) return applied.status();
        bytes += applied.value();
        status = MarkReplicatedUserSnapshot(local_, user.name, user.id);
        if (!status.ok()) return status;
        auto made = local_.CreateSnapshot(user.name);
        if (!made.ok()) return made.status();
      }
      base = user.id;
    }
    // The snapshot id is asked for now, so that the copy hides the wait.
    prepared_.emplace(PreparedSnapshot::Begin(*target_.local, local_));
    auto applied = Apply(base, to.id, resume_at, zero_gaps, true);
    if (!applied.ok()) return applied.status();
    bytes += applied.value();

    progress_->Phase("snapshotting");
    auto result = Complete(to, bytes, started);
    if (result.ok()) {
      result.value().resumed = resuming;
      result.value().resumed_at = resume_at;
    }
    return result;
  }

  // The data of primary snapshot `to_id` is applied: take (or find) its local
  // snapshot, mark it complete, move the pin forward, prune.
  Result<ReplayResult> Complete(const MirrorSnapshot& to, uint64_t bytes,
                                std::chrono::steady_clock::time_point started) {
    auto local_snap = TakeLocalSnapshot(LocalSnapshotName(to.id));
    if (!local_snap.ok()) return local_snap.status();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    state_->primary_snap_id = to.id;
    state_->local_snap_id = local_snap.value();
    state_->primary_snap_time = to.timestamp;
    state_->ClearInFlight();
    state_->last_sync_seconds = seconds;
    state_->last_sync_bytes = bytes;
    state_->last_sync_finished = UnixNow();
    Status status = WriteReplicaState(local_, *state_);
    if (!status.ok()) return status;
    const double completed_at = NowSeconds();
    progress_->End();
    const std::map<std::string, double> phase_seconds = progress_->PhaseSeconds();
    // From here on a failure costs nothing: the next step redoes it.
    Pin(remote_io_, target_.remote_image_id, target_.local_fsid, to.id, to.id);
    ReleaseOlder(to.id);
    PruneReplicaSnapshots(local_, options_.keep_local_snapshots, state_->local_snap_id);
    RemoveUserSnapshotsGoneFromPrimary(remote_, local_);

    ReplayResult result;
    result.outcome = ReplayOutcome::kSynced;
    result.state = *state_;
    result.bytes_copied = bytes;
    result.seconds = seconds;
    result.completed_at = completed_at;
    result.phase_seconds = phase_seconds;
    return result;
  }

 private:
  // The snapshot prepared during the copy, or else librbd's: a journaled
  // image, a stale id (a newer snapshot came first), or a step that resumes
  // at "complete" and so prepared none.
  Result<uint64_t> TakeLocalSnapshot(const std::string& name) {
    if (prepared_) {
      auto taken = prepared_->Take(name);
      prepared_.reset();
      if (taken.ok()) return taken;
    }
    return local_.CreateSnapshot(name);
  }

  // Unlinks this site from the primary's snapshots older than `synced`
  // (best effort; see snapshot_release.h).
  void ReleaseOlder(uint64_t synced) const {
    auto site = LocalSiteName(*target_.local);
    auto pool_io = IoCtx::Open(*target_.remote, target_.pool);
    if (!site.ok() || !pool_io.ok()) return;
    auto uuid = OurPeerUuidOnPrimary(pool_io.value(), site.value());
    if (!uuid.ok()) return;
    ReleaseOlderPrimarySnapshots(remote_io_, remote_, target_.remote_image_id, uuid.value(),
                                 kSyncPinPrefix + target_.local_fsid, synced);
  }

  // The primary's user snapshots taken after `from` and before `to`, oldest first.
  Result<std::vector<SnapshotInfo>> UserSnapshotsBetween(uint64_t from, uint64_t to) const {
    auto snaps = remote_.UserSnapshots();
    if (!snaps.ok()) return snaps.status();
    std::vector<SnapshotInfo> out;
    for (auto& s : snaps.value()) {
      if (s.id > from && s.id < to) out.push_back(std::move(s));
    }
    return out;
  }

  // Applies the delta from -> to of the primary onto the local image; the
  // bytes written and zeroed. Checkpoints go to the record if `checkpoint`.
  Result<uint64_t> Apply(uint64_t from, uint64_t to, uint64_t resume_at, bool zero_gaps, bool checkpoint) {
    progress_->Phase("scanning");
    auto delta = ComputeImageDelta(*target_.remote, remote_, from, to, options_.list_snaps_in_flight);
    if (!delta.ok()) return delta.status();
    int rc = rbd_snap_set_by_id(remote_.handle(), to);
    if (rc < 0) return Status::FromErrno(rc, "reading snapshot " + std::to_string(to) + " of '" + remote_.spec() + "'");

    progress_->Phase("copying");
    CopyOptions copy;
    copy.max_in_flight_bytes = options_.max_in_flight_bytes;
    copy.budget = options_.budget;
    copy.resume_offset = resume_at;
    copy.zero_created_gaps = zero_gaps;
    copy.target_cluster = target_.local;
    // The last delta: after it only the local snapshot is taken, and not
    // through librbd's writes (PreparedSnapshot; librbd's snap_create reads
    // the object map from the OSD), so the handle's stale map is harmless.
    copy.mark_created_objects = checkpoint;
    copy.cancelled = [this] { return progress_->cancelled(); };
    copy.progress_every_bytes = std::min<uint64_t>(options_.checkpoint_every_bytes, 16ull << 20);
    uint64_t next_checkpoint = resume_at + options_.checkpoint_every_bytes;
    auto checkpoints = HeaderMetadataWriter::Open(*target_.local, local_);
    if (!checkpoints.ok()) return checkpoints.status();
    copy.on_progress = [&](const CopyProgress& p) {
      progress_->Bytes(p.bytes_done, p.bytes_total);
      if (!checkpoint) return;
      state_->inflight_bytes_total = p.bytes_total;
      if (p.checkpoint_offset >= next_checkpoint) {
        state_->checkpoint_offset = p.checkpoint_offset;
        next_checkpoint = p.checkpoint_offset + options_.checkpoint_every_bytes;
        // Sent without waiting, and without librbd (see header_metadata_writer.h).
        checkpoints.value().Set(kReplicaStateKey, EncodeReplicaState(*state_));
      }
    };
    auto stats = ApplyDelta(*target_.remote, remote_, delta.value(), local_, copy);
    // Best effort: a lost checkpoint only means recopying. Drained before
    // anything else writes the record, so the last write is the newest.
    checkpoints.value().Drain();
    // Back to the primary's head: its metadata (the pin) can only be written there.
    rc = rbd_snap_set(remote_.handle(), nullptr);
    if (!stats.ok()) return stats.status();
    if (rc < 0) return Status::FromErrno(rc, "returning to the head of '" + remote_.spec() + "'");
    return stats.value().bytes_written + stats.value().bytes_zeroed;
  }

  const ReplayTarget& target_;
  const ReplayOptions& options_;
  ReplayProgress* progress_;
  const IoCtx& remote_io_;
  const RbdImage& remote_;
  const RbdImage& local_;
  ReplicaState* state_;
  std::optional<PreparedSnapshot> prepared_;
};

// What the image of the same name on this site is, when it is not a plain
// replica: a primary here (promoted; both primary is split-brain), or the old
// primary, demoted, which becomes the secondary of its promoted peer.
// nullopt: go on replicating (no image yet, or a replica).
Result<std::optional<ReplayOutcome>> CheckLocalRole(const ReplayTarget& target, const MirrorInfo& remote_mirror,
                                                    bool* adopted) {
  auto io = IoCtx::Open(*target.local, target.pool, target.ns);
  if (!io.ok()) return std::optional<ReplayOutcome>();  // the namespace is created later
  auto image = RbdImage::OpenByName(io.value(), target.image_name);
  if (!image.ok()) {
    if (image.status().code() == ENOENT) return std::optional<ReplayOutcome>();
    return image.status();
  }
  auto mirror = image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  if (mirror.value().mode == MirrorMode::kDisabled) {
    auto record = ReadReplicaState(image.value());
    if (!record.ok()) return record.status();
    if (record.value() && record.value()->promoted) return std::optional<ReplayOutcome>(ReplayOutcome::kLocalPrimary);
    return std::optional<ReplayOutcome>();
  }
  if (mirror.value().primary) {
    if (remote_mirror.primary) {
      return Status::Error(EEXIST, "split-brain: '" + image.value().spec() +
                                       "' is primary on both sites; resync the one whose writes are to be discarded");
    }
    return std::optional<ReplayOutcome>(ReplayOutcome::kLocalPrimary);
  }
  if (mirror.value().mode == MirrorMode::kSnapshot && !remote_mirror.primary) {
    return std::optional<ReplayOutcome>(ReplayOutcome::kWaiting);  // demoted on both sites: wait for a promote
  }
  if (mirror.value().mode == MirrorMode::kSnapshot) {
    auto resync = ResyncFromPromoted(*target.local, io.value(), target.image_name, *target.remote,
                                     target.local_fsid, target.remote_fsid, ResyncMode::kCleanFailback);
    if (!resync.ok()) return resync.status();
    *adopted = true;
  }
  return std::optional<ReplayOutcome>();
}

}  // namespace

const char* ToString(ReplayOutcome outcome) {
  switch (outcome) {
    case ReplayOutcome::kWaiting: return "waiting";
    case ReplayOutcome::kUpToDate: return "up_to_date";
    case ReplayOutcome::kSynced: return "synced";
    case ReplayOutcome::kLocalPrimary: return "local_primary";
  }
  return "unknown";
}

Result<std::optional<ReplicaState>> ReadReplicaState(const RbdImage& local) {
  auto meta = local.Metadata(kReplicaStateKey);
  if (!meta.ok()) return meta.status();
  if (!meta.value()) return std::optional<ReplicaState>();
  auto state = DecodeReplicaState(*meta.value());
  if (!state) return Status::Error(EINVAL, "image '" + local.spec() + "' has an unreadable replica record");
  return std::optional<ReplicaState>(*state);
}

Result<ReplayResult> ReplayImage(const ReplayTarget& target, const ReplayOptions& options,
                                 ReplayProgress* progress) {
  if (progress->cancelled()) {
    return Status::Error(ECANCELED, "the sync of '" + target.image_name + "' is paused (its role is changing)");
  }
  progress->ResetPhaseTimes();
  progress->Phase("connecting");
  auto remote_io = IoCtx::Open(*target.remote, target.pool, target.ns);
  if (!remote_io.ok()) return remote_io.status();
  auto remote = RbdImage::OpenById(remote_io.value(), target.remote_image_id);
  if (!remote.ok()) return remote.status();
  auto mirror = remote.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  if (mirror.value().mode != MirrorMode::kSnapshot) {
    return Status::Error(EINVAL, "primary image '" + remote.value().spec() + "' is not mirrored in snapshot mode");
  }
  auto all_snaps = remote.value().MirrorSnapshots();
  if (!all_snaps.ok()) return all_snaps.status();
  const std::vector<MirrorSnapshot> snaps = SyncableSnapshots(all_snaps.value());

  ReplayResult result;
  auto role = CheckLocalRole(target, mirror.value(), &result.adopted);
  if (!role.ok()) return role.status();
  if (role.value()) {
    progress->End();
    result.outcome = *role.value();
    return result;
  }
  if (snaps.empty()) {
    progress->End();
    return result;  // kWaiting
  }
  result.newest_primary_snap_id = snaps.back().id;

  ReplicaState identity;
  identity.remote_fsid = target.remote_fsid;
  identity.remote_image_id = target.remote_image_id;
  identity.global_id = mirror.value().global_id;
  ReplicaState state;
  auto local = OpenOrCreateReplica(*target.local, target.pool, target.ns, target.image_name, *target.remote,
                                   remote.value(), identity, &state);
  if (!local.ok()) return local.status();
  Step step(target, options, progress, remote_io.value(), remote.value(), local.value(), &state);

  if (state.primary_snap_id != 0 && !Find(snaps, state.primary_snap_id)) {
    return Status::Error(ENOENT, "snapshot " + std::to_string(state.primary_snap_id) + " of '" +
                                     remote.value().spec() +
                                     "', the last one synced, is gone from the primary: the secondary needs a resync");
  }

  if (state.in_flight()) {
    const MirrorSnapshot* to = Find(snaps, state.inflight_to_snap_id);
    const auto taken = to != nullptr ? LocalSnapshotId(local.value(), LocalSnapshotName(to->id)) : std::nullopt;
    if (taken) {
      // Crashed after the local snapshot, before marking it complete; maybe
      // inside librbd's snapshot create, before the snapshot's object map.
      Status map = CompleteSnapshotObjectMap(*target.local, local.value(), *taken);
      if (!map.ok()) return map;
      auto done = step.Complete(*to, state.last_sync_bytes, std::chrono::steady_clock::now());
      if (done.ok()) done.value().resumed = true;
      return done;
    }
    // Resume the delta, or (its target vanished from the primary, removed by
    // hand) redo from the last complete snapshot to the newest: the new delta
    // covers what the partial apply wrote, except holes, which are zeroed.
    auto synced = step.SyncTo(to != nullptr ? *to : snaps.back(), to == nullptr);
    if (synced.ok()) synced.value().newest_primary_snap_id = snaps.back().id;
    return synced;
  }

  if (state.primary_snap_id == snaps.back().id) {
    progress->End();
    result.outcome = ReplayOutcome::kUpToDate;
    result.state = state;
    return result;
  }
  if (state.primary_snap_id != 0) {
    Status unchanged = CheckUnchangedSince(local.value(), LocalSnapshotName(state.primary_snap_id));
    if (!unchanged.ok()) return unchanged;
  }
  unsigned skipped = 0;
  for (const auto& s : snaps) {
    if (s.id > state.primary_snap_id && s.id < snaps.back().id) ++skipped;
  }
  auto synced = step.SyncTo(snaps.back(), false);
  if (synced.ok()) {
    synced.value().newest_primary_snap_id = snaps.back().id;
    synced.value().skipped_snapshots = skipped;
    synced.value().adopted = result.adopted;
  }
  return synced;
}

}  // namespace mirror_snapshot
