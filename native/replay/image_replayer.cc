#include "native/replay/image_replayer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>
#include <optional>
#include <vector>

#include "native/base/unix_clock.h"
#include "native/ceph/header_metadata_writer.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/peers.h"
#include "native/delta/image_delta.h"
#include "native/primary/primary_snapshots.h"
#include "native/primary/prune_policy.h"
#include "native/primary/snapshot_release.h"
#include "native/replica/delta_copier.h"
#include "native/replica/prepared_snapshot.h"
#include "native/replica/replica_fence.h"
#include "native/replica/replica_image.h"
#include "native/replica/replicated_user_snapshots.h"
#include "native/replica/snapshot_object_map.h"
#include "native/roles/head_rollback.h"
#include "native/roles/role_change.h"

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

// The newest complete local snapshot older than `before` whose primary
// snapshot is still syncable on the primary: (primary id, local id).
Result<std::optional<std::pair<uint64_t, uint64_t>>> NewestCommonSnapshot(const RbdImage& local,
                                                                           const std::vector<MirrorSnapshot>& snaps,
                                                                           uint64_t before) {
  auto held = local.UserSnapshots();
  if (!held.ok()) return held.status();
  std::optional<std::pair<uint64_t, uint64_t>> best;
  for (const auto& s : held.value()) {
    const auto primary_id = PrimarySnapIdOfLocalName(s.name);
    if (!primary_id || *primary_id >= before || Find(snaps, *primary_id) == nullptr) continue;
    if (!best || *primary_id > best->first) best = std::make_pair(*primary_id, s.id);
  }
  return best;
}

// The primary's user snapshots taken after `from` and before `to`, oldest first.
Result<std::vector<SnapshotInfo>> UserSnapshotsBetween(const RbdImage& remote, uint64_t from, uint64_t to) {
  auto snaps = remote.UserSnapshots();
  if (!snaps.ok()) return snaps.status();
  std::vector<SnapshotInfo> out;
  for (auto& s : snaps.value()) {
    if (s.id > from && s.id < to) out.push_back(std::move(s));
  }
  return out;
}

// Everything one step needs once both images are open.
class Step {
 public:
  Step(const ReplayTarget& target, const ReplayOptions& options, ReplayProgress* progress, const IoCtx& remote_io,
       const RbdImage& remote, const RbdImage& local, ReplicaState* state, std::string lock_owner)
      : lock_owner_(std::move(lock_owner)),
        target_(target),
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
  Result<ReplayResult> SyncTo(const MirrorSnapshot& to) {
    const auto started = std::chrono::steady_clock::now();
    const uint64_t from = state_->primary_snap_id;
    progress_->Begin(from, to.id);

    auto reconciled = ReconcileUserSnapshotCopies(remote_, local_);
    if (!reconciled.ok()) return reconciled.status();
    auto between = UserSnapshotsBetween(remote_, from, to.id);
    if (!between.ok()) return between.status();
    const uint64_t last_from = between.value().empty() ? from : between.value().back().id;
    const bool resuming = state_->in_flight() && state_->inflight_to_snap_id == to.id &&
                          state_->inflight_from_snap_id == last_from;
    auto parent = local_.Parent();
    if (!parent.ok()) return parent.status();
    // Holes of objects created since `from` must be zeroed when the target may
    // hold data there: a clone's parent. (A partial apply of another delta is
    // rolled back before a step starts: see ReplayImage.)
    const bool zero_gaps = parent.value().has_value();
    const uint64_t resume_at = resuming ? state_->checkpoint_offset : 0;

    Status status = Pin(remote_io_, target_.remote_image_id, target_.local_fsid, from, to.id);
    if (!status.ok()) return status;
    if (!resuming) {
      state_->inflight_to_snap_id = to.id;
      state_->inflight_from_snap_id = last_from;
      state_->checkpoint_offset = 0;
      state_->inflight_started = UnixNow();
    }
    state_->inflight_lock_owner = lock_owner_;
    status = WriteReplicaState(local_, *state_);
    if (!status.ok()) return status;

    uint64_t bytes = 0;
    uint64_t base = from;
    for (const SnapshotInfo& user : between.value()) {
      auto copy = FindUserSnapshotCopy(local_, user.name, user.id);
      if (!copy.ok()) return copy.status();
      // Held: made by this step before it was interrupted, after its delta.
      if (copy.value() != UserSnapshotCopy::kHeld) {
        auto applied = Apply(base, user.id, 0, zero_gaps, false);
        if (!applied.ok()) return applied.status();
        bytes += applied.value();
        status = FollowParent(user.id);
        if (!status.ok()) return status;
        // Both ends of this delta, and `to`: a user snapshot removed during
        // the read is a wrong delta, not a short one.
        status = base == from ? RequireOnPrimary({user.id}, MirrorEnds(from, to.id))
                              : RequireOnPrimary({base, user.id}, {to.id});
        if (!status.ok()) return status;
        if (copy.value() == UserSnapshotCopy::kMissing) {
          status = MarkReplicatedUserSnapshot(local_, user.name, user.id);
          if (!status.ok()) return status;
          auto made = local_.CreateSnapshot(user.name);
          if (!made.ok()) return made.status();
        } else {
          notes_.push_back("snapshot '" + user.name + "' of the primary (id " + std::to_string(user.id) +
                           ") was not copied: a snapshot of that name on '" + local_.spec() +
                           "' was not made by the replayer (rename or remove it there to let the next copies in)");
        }
      }
      base = user.id;
    }
    // The snapshot id is asked for now, so that the copy hides the wait.
    prepared_.emplace(PreparedSnapshot::Begin(*target_.local, local_));
    auto applied = Apply(base, to.id, resume_at, zero_gaps, true);
    if (!applied.ok()) return applied.status();
    bytes += applied.value();
    status = FollowParent(to.id);
    if (!status.ok()) return status;
    // Both ends must still be there: reads of a removed snapshot can fail in
    // ways a copy cannot tell from "no data" once its clones are trimmed.
    // (With user snapshots between, the last delta started at the newest.)
    status = base == from ? RequireOnPrimary({}, MirrorEnds(from, to.id)) : RequireOnPrimary({base}, {to.id});
    if (!status.ok()) return status;
    // Another client's resize is carried out by the lock holder (librbd
    // forwards it): the size must be the primary's.
    auto head_size = local_.Size();
    if (!head_size.ok()) return head_size.status();
    auto to_size = remote_.SnapshotSize(to.id);
    if (!to_size.ok()) return to_size.status();
    if (head_size.value() != to_size.value()) {
      state_->inflight_doubtful = true;  // the next step rolls back instead of resuming
      Status recorded = WriteReplicaState(local_, *state_);
      if (!recorded.ok()) return recorded;
      return Status::Error(EBUSY, "secondary image '" + local_.spec() + "' was resized during the sync (" +
                                      std::to_string(head_size.value()) + " bytes, the primary's snapshot " +
                                      std::to_string(to.id) + " has " + std::to_string(to_size.value()) +
                                      "): not recorded complete");
    }

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
  // `taken_id`: the local snapshot an interrupted step took already (0: none).
  Result<ReplayResult> Complete(const MirrorSnapshot& to, uint64_t bytes,
                                std::chrono::steady_clock::time_point started, uint64_t taken_id = 0) {
    auto local_snap = taken_id != 0 ? Result<uint64_t>(taken_id) : TakeLocalSnapshot(LocalSnapshotName(to.id));
    if (!local_snap.ok()) return local_snap.status();
    const uint64_t previous = state_->primary_snap_id;
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
    Pin(remote_io_, target_.remote_image_id, target_.local_fsid, to.id, to.id).IgnoreError();
    {
      // Each removal waits for a monitor round of its site (up to a second):
      // the primary's and ours run side by side, on separate handles.
      // The previous snapshot stays linked: if `to` is removed on the primary
      // by hand, the replica goes back to it instead of a full copy.
      auto release = [this, previous] {
        if (previous != 0) ReleaseOlder(previous);
      };
      std::future<void> releasing = options_.side_jobs != nullptr ? options_.side_jobs->Submit(release)
                                                                  : std::async(std::launch::async, release);
      WaitOnExit release_ends_first(releasing);  // it uses this step's handles
      PruneReplicaSnapshots(local_, options_.keep_local_snapshots, state_->local_snap_id).IgnoreError();
    }
    ReconcileUserSnapshotCopies(remote_, local_).IgnoreError();

    ReplayResult result;
    result.outcome = ReplayOutcome::kSynced;
    result.state = *state_;
    result.bytes_copied = bytes;
    result.seconds = seconds;
    result.completed_at = completed_at;
    result.phase_seconds = phase_seconds;
    result.notes = notes_;
    if (read_delta_) result.delta_source = full_scanned_ ? DeltaSource::kFullScan : DeltaSource::kObjectMap;
    result.full_scan_reason = full_scan_reason_;
    result.objects_scanned = scanned_objects_;
    result.objects_in_image = objects_in_image_;
    return result;
  }

 private:
  // The mirror snapshots a delta from `from` (0: none, a first sync) to `to` reads.
  static std::vector<uint64_t> MirrorEnds(uint64_t from, uint64_t to) {
    return from == 0 ? std::vector<uint64_t>{to} : std::vector<uint64_t>{from, to};
  }

  // ENOENT unless the primary still has the user snapshots `user_ids` and
  // the mirror snapshots `mirror_ids`, read afresh from its header (this
  // step's handle may not have seen a removal yet).
  Status RequireOnPrimary(const std::vector<uint64_t>& user_ids, const std::vector<uint64_t>& mirror_ids) const {
    auto fresh = RbdImage::OpenById(remote_io_, target_.remote_image_id);
    if (!fresh.ok()) return fresh.status();
    auto mirror = fresh.value().MirrorSnapshots();
    if (!mirror.ok()) return mirror.status();
    auto user = fresh.value().UserSnapshots();
    if (!user.ok()) return user.status();
    auto gone = [&](uint64_t id, bool is_mirror) {
      const std::string what = is_mirror ? "mirror snapshot " : "snapshot ";
      return Status::NotFound(what + std::to_string(id) + " of '" + remote_.spec() +
                              "' was removed from the primary during the sync: this delta is not complete "
                              "(the next step syncs to the newest snapshot)");
    };
    for (uint64_t id : mirror_ids) {
      if (Find(mirror.value(), id) == nullptr) return gone(id, true);
    }
    for (uint64_t id : user_ids) {
      const bool there = std::any_of(user.value().begin(), user.value().end(),
                                     [id](const SnapshotInfo& s) { return s.id == id; });
      if (!there) return gone(id, false);
    }
    return Status::Ok();
  }

  // Once the delta to the primary's snapshot `snap_id` is applied, a clone's
  // parent becomes what the primary's is there:
  // - its overlap, which only ever goes down (past it, a clone shrunk and
  //   regrown reads zeros, and no object of the delta says so). Not lowered
  //   before the copy: librbd copies a parent object up to the overlap when
  //   the delta creates it, and with deep-flatten the older local snapshots
  //   read that copy too;
  // - none, when the primary was flattened. Its flatten copied its parent's
  //   data up, and the delta does not carry that: with deep-flatten the
  //   copies belong to the older snapshots too, so RADOS shows the objects
  //   unchanged. The replica's parent holds the same data at the same
  //   snapshot: flattening here copies the same up, and the replica no
  //   longer depends on its parent either.
  Status FollowParent(uint64_t snap_id) const {
    auto overlap = ParentOverlapAt(remote_, snap_id);
    if (!overlap.ok()) return overlap.status();
    if (overlap.value()) return LowerParentOverlap(*target_.local, local_, *overlap.value());
    auto local_parent = local_.ParentOverlap();
    if (!local_parent.ok()) return local_parent.status();
    if (!local_parent.value()) return Status::Ok();
    const int rc = rbd_flatten_with_progress(local_.handle(), &IgnoreFlattenProgress, nullptr);
    if (rc < 0) return Status::FromErrno(rc, "flattening '" + local_.spec() + "' as its primary was flattened");
    return Status::Ok();
  }

  static int IgnoreFlattenProgress(uint64_t, uint64_t, void*) { return 0; }

  // The snapshot prepared during the copy, or else librbd's: a journaled
  // image, a stale id (a newer snapshot came first), or a step that resumes
  // at "complete" and so prepared none.
  Result<uint64_t> TakeLocalSnapshot(const std::string& name) {
    // This step has not taken it: one of that name is another client's
    // (librbd runs a client's snapshot create on the lock holder), taken of
    // a half-applied HEAD. It goes.
    auto foreign = local_.SnapshotIdByName(name);
    if (!foreign.ok()) return foreign.status();
    if (foreign.value()) {
      Status removed = local_.RemoveSnapshot(*foreign.value());
      if (!removed.ok()) return removed;
    }
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
    // A handle of its own: the step's goes on being used meanwhile.
    auto remote = RbdImage::OpenById(remote_io_, target_.remote_image_id);
    if (!remote.ok()) return;
    ReleaseOlderPrimarySnapshots(remote_io_, remote.value(), target_.remote_image_id, uuid.value(),
                                 kSyncPinPrefix + target_.local_fsid, synced);
  }

  // Applies the delta from -> to of the primary onto the local image; the
  // bytes written and zeroed. Checkpoints go to the record if `checkpoint`.
  Result<uint64_t> Apply(uint64_t from, uint64_t to, uint64_t resume_at, bool zero_gaps, bool checkpoint) {
    progress_->Phase("scanning");
    auto delta = ComputeImageDelta(*target_.remote, remote_, from, to, options_.list_snaps_in_flight,
                                   [this](uint64_t, uint64_t) { progress_->Touch(); });
    if (!delta.ok()) return delta.status();
    read_delta_ = true;
    scanned_objects_ += delta.value().objects_scanned;
    objects_in_image_ = delta.value().objects_in_image;
    if (delta.value().source == DeltaSource::kFullScan) {
      full_scanned_ = true;
      full_scan_reason_ = delta.value().full_scan_reason;
    }
    auto status = remote_.SetSnapshot(to);
    if (!status.ok()) return status;

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
    checkpoints.value().Drain().IgnoreError();
    // Back to the primary's head: its metadata (the pin) can only be written there.
    status = remote_.SetHead();
    if (!stats.ok()) return stats.status();
    if (!status.ok()) return status;
    return stats.value().bytes_written + stats.value().bytes_zeroed;
  }

  const std::string lock_owner_;  // this step's hold on the replica (replica_fence.h)
  const ReplayTarget& target_;
  const ReplayOptions& options_;
  ReplayProgress* progress_;
  const IoCtx& remote_io_;
  const RbdImage& remote_;
  const RbdImage& local_;
  ReplicaState* state_;
  std::optional<PreparedSnapshot> prepared_;
  std::vector<std::string> notes_;
  // What the step's deltas asked (see ReplayResult).
  uint64_t scanned_objects_ = 0;
  uint64_t objects_in_image_ = 0;
  bool read_delta_ = false;
  bool full_scanned_ = false;
  std::string full_scan_reason_;
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
  auto marker = image.value().Metadata(kResyncMarkerKey);
  if (!marker.ok()) return marker.status();
  if (marker.value()) {
    // A resync stopped half-way (role_change.h): finished before anything else.
    auto resync = ResyncFromPromoted(*target.local, io.value(), target.image_name, *target.remote,
                                     target.local_fsid, target.remote_fsid, ResyncMode::kCleanFailback);
    if (!resync.ok()) return resync.status();
    *adopted = true;
    return std::optional<ReplayOutcome>();
  }
  if (mirror.value().mode == MirrorMode::kDisabled || mirror.value().primary) {
    auto record = ReadReplicaState(image.value());
    if (!record.ok()) return record.status();
    if (record.value() && record.value()->promoted && record.value()->promoted_snap_id == 0) {
      // A promote that stopped half-way (its mgr died): recorded promoted,
      // and writable, but its first mirror snapshot P0 not recorded. It is
      // finished now, as a retried command would (role_change.h).
      auto finished = PromoteSecondary(*target.local, io.value(), target.image_name, nullptr, true,
                                       PromoteMode::kFinishUnchangedOnly);
      if (!finished.ok()) {
        return Status::Error(finished.status().code(), "finishing the promote of '" + image.value().spec() +
                                                           "' that stopped half-way: " + finished.status().message());
      }
      return std::optional<ReplayOutcome>(ReplayOutcome::kLocalPrimary);
    }
    if (mirror.value().mode == MirrorMode::kDisabled) {
      if (record.value() && record.value()->promoted) return std::optional<ReplayOutcome>(ReplayOutcome::kLocalPrimary);
      return std::optional<ReplayOutcome>();
    }
  }
  if (mirror.value().primary) {
    if (remote_mirror.primary) return std::optional<ReplayOutcome>(ReplayOutcome::kSplitBrain);
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

// What the step read of the primary, for ready_to_promote.
struct PrimarySeen {
  MirrorInfo mirror;
  std::vector<MirrorSnapshot> snaps;
};

Result<ReplayResult> Replay(const ReplayTarget& target, const ReplayOptions& options, ReplayProgress* progress,
                            PrimarySeen* seen) {
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
  seen->mirror = mirror.value();
  seen->snaps = all_snaps.value();

  ReplayResult result;
  auto role = CheckLocalRole(target, mirror.value(), &result.adopted);
  if (!role.ok()) return role.status();
  if (role.value()) {
    progress->End();
    result.outcome = *role.value();
    if (result.outcome == ReplayOutcome::kSplitBrain) {
      result.reason = "split-brain: '" + target.pool + (target.ns.empty() ? "" : "/" + target.ns) + "/" +
                      target.image_name + "' is primary on both sites; resync the one whose writes are to be discarded";
    }
    return result;
  }
  if (snaps.empty()) {
    progress->End();
    return result;  // kWaiting
  }
  result.newest_primary_snap_id = snaps.back().id;

  ReplicaState state;
  auto local = OpenReplicaOf(target, remote.value(), mirror.value().global_id, &state);
  if (!local.ok()) return local.status();
  auto local_io = IoCtx::Open(*target.local, target.pool, target.ns);
  if (!local_io.ok()) return local_io.status();

  // The replica is fenced against clients between steps (replica_fence.h).
  // Whether it still was tells whether anyone could have written it since
  // the last step; so does its lock, still held by an interrupted step.
  auto fenced = IsFenced(local.value());
  if (!fenced.ok()) return fenced.status();
  auto local_id = local.value().Id();
  if (!local_id.ok()) return local_id.status();
  const bool base_gone = state.primary_snap_id != 0 && !Find(snaps, state.primary_snap_id);
  if (!base_gone && !state.in_flight() && state.primary_snap_id == snaps.back().id) {
    if (!fenced.value()) {
      Status status = SetReplicaFence(local_io.value(), local_id.value(), true);
      if (!status.ok()) return status;
    }
    progress->End();
    result.outcome = ReplayOutcome::kUpToDate;
    result.state = state;
    return result;
  }
  // Whether anyone could have written the image since the last step: not if
  // it stayed fenced, nor if the interrupted step's lock is still its only
  // holder (a client must break it to write).
  auto owners_before = local.value().LockOwners();
  if (!owners_before.ok()) return owners_before.status();
  const bool held_since = !state.inflight_lock_owner.empty() &&
                          owners_before.value() == std::vector<std::string>{state.inflight_lock_owner};
  // A doubt is written down at once: an error puts the fence back, and a
  // later step must not take the fence for proof that nobody wrote the image.
  auto record_doubt = [&] { return RecordInFlightDoubt(*target.local, local.value(), &state); };
  // A client that has the image open may write it as soon as the fence is
  // lifted, before this step's hold.
  bool open_before_lift = false;
  if (state.in_flight() && !state.inflight_doubtful) {
    auto elsewhere = OpenElsewhere(*target.local, local.value());
    if (!elsewhere.ok()) return elsewhere.status();
    open_before_lift = elsewhere.value();
  }
  const bool untouched = !state.inflight_doubtful && !open_before_lift && (fenced.value() || held_since);
  if (!untouched) {
    Status recorded = record_doubt();  // before the fence is lifted
    if (!recorded.ok()) return recorded;
  }
  // Until the hold below takes over, an error puts the fence back.
  struct Refence {
    const IoCtx* io;
    std::string image_id;
    ~Refence() {
      // A destructor cannot report; the next step fences it again.
      if (io != nullptr) SetReplicaFence(*io, image_id, true).IgnoreError();
    }
  };
  Refence refence{&local_io.value(), local_id.value()};
  Status status = LiftReplicaFence(local_io.value(), target.image_name, &local.value());
  if (!status.ok()) return status;

  std::vector<std::string> notes;
  bool rolled_back = false;
  // Roll HEAD back to `base` (a complete local snapshot): the partial apply
  // and whatever else changed since go, and so do the user-snapshot copies
  // made after it.
  auto roll_back_to = [&](uint64_t primary_snap_id, uint64_t local_snap_id, int64_t primary_snap_time,
                          const std::string& why) -> Status {
    auto rollback = RollbackHead(*target.local, local.value(), local_snap_id, LocalSnapshotName(primary_snap_id));
    if (!rollback.ok()) return rollback.status();
    auto reopened = RbdImage::OpenByName(local_io.value(), target.image_name);  // its object map copy is stale
    if (!reopened.ok()) return reopened.status();
    local.value() = std::move(reopened).value();
    auto removed = RemoveUserSnapshotCopiesAfter(local.value(), local_snap_id);
    if (!removed.ok()) return removed.status();
    state.primary_snap_id = primary_snap_id;
    state.local_snap_id = local_snap_id;
    state.primary_snap_time = primary_snap_time;
    state.ClearInFlight();
    Status written = WriteReplicaState(local.value(), state);
    if (!written.ok()) return written;
    rolled_back = true;
    notes.push_back(why + ": " + std::to_string(rollback.value().objects_rolled_back) +
                    " objects rolled back to snapshot " + std::to_string(primary_snap_id) +
                    " and the delta started again from there");
    return Status::Ok();
  };

  if (base_gone) {
    // Removed on the primary by hand (our pin protects it from pruning):
    // go back to the newest older snapshot both sites still hold.
    auto common = NewestCommonSnapshot(local.value(), snaps, state.primary_snap_id);
    if (!common.ok()) return common.status();
    if (!common.value()) {
      return Status::Error(ENOENT, "snapshot " + std::to_string(state.primary_snap_id) + " of '" +
                                       remote.value().spec() +
                                       "', the last one synced, is gone from the primary, and no older one is held "
                                       "on both sites: the secondary needs a resync");
    }
    const auto [common_primary, common_local] = *common.value();
    status = roll_back_to(common_primary, common_local, Find(snaps, common_primary)->timestamp,
                          "snapshot " + std::to_string(state.primary_snap_id) +
                              ", the last one synced, was removed from the primary");
    if (!status.ok()) return status;
  }

  const MirrorSnapshot* inflight_to = state.in_flight() ? Find(snaps, state.inflight_to_snap_id) : nullptr;
  // The in-flight step's local snapshot, if it got that far (0: not).
  uint64_t taken_id = 0;
  if (inflight_to != nullptr) {
    auto taken_snap = local.value().SnapshotIdByName(LocalSnapshotName(inflight_to->id));
    if (!taken_snap.ok()) return taken_snap.status();  // never a doubt read as "not taken"
    taken_id = taken_snap.value().value_or(0);
  }
  if (taken_id != 0 && !untouched) {
    // Its name proves nothing once someone else could write the image: taken
    // again after the rollback below.
    status = local.value().RemoveSnapshot(taken_id);
    if (!status.ok()) return status;
    taken_id = 0;
  }
  const bool taken = taken_id != 0;
  if (state.in_flight() && !taken) {
    // Resume the delta in flight only if it is exactly the one to continue
    // and nobody could have written the image since; otherwise undo the
    // partial apply first (O(delta)) and start afresh.
    bool resumable = inflight_to != nullptr && untouched;
    if (resumable) {
      auto between = UserSnapshotsBetween(remote.value(), state.primary_snap_id, inflight_to->id);
      if (!between.ok()) return between.status();
      const uint64_t last_from = between.value().empty() ? state.primary_snap_id : between.value().back().id;
      resumable = last_from == state.inflight_from_snap_id;
    }
    if (!resumable) {
      const std::string why =
          inflight_to == nullptr ? "its target snapshot " + std::to_string(state.inflight_to_snap_id) +
                                       " is gone from the primary"
          : !untouched ? "another client could have written it while the replayer was away (resized it during "
                         "the sync, or held it: lock owners " +
                             (owners_before.value().empty() ? std::string("none") : owners_before.value().front()) +
                             ")"
                       : "the primary's snapshots between changed";
      if (state.primary_snap_id == 0) {
        return Status::Error(EBUSY, "the first sync of secondary image '" + local.value().spec() +
                                        "' was interrupted and cannot be resumed: " + why +
                                        "; remove the image on this site (rbd rm) for a new first sync");
      }
      status = roll_back_to(state.primary_snap_id, state.local_snap_id, state.primary_snap_time,
                            "the interrupted sync was not resumed (" + why + ")");
      if (!status.ok()) return status;
    }
  }

  auto hold = ReplicaHold::Take(*target.local, local.value());
  if (!hold.ok()) return hold.status();
  refence.io = nullptr;  // the hold fences it again
  // A client that had the image open while it was fenced could write it
  // between the lift and the hold: with one, neither a resume nor a rolled
  // back HEAD is trusted.
  auto elsewhere = OpenElsewhere(*target.local, local.value());
  if (!elsewhere.ok()) return elsewhere.status();
  if (elsewhere.value() && (rolled_back || (state.in_flight() && !taken))) {
    Status recorded = record_doubt();  // it may have written between the lift and the hold
    if (!recorded.ok()) return recorded;
    return Status::Error(EBUSY, "secondary image '" + local.value().spec() +
                                    "' is open in another client (rbd status shows which): its interrupted sync "
                                    "is not resumed until it is closed");
  }
  Step step(target, options, progress, remote_io.value(), remote.value(), local.value(), &state, hold.value().owner());

  auto finish = [&](Result<ReplayResult> done) -> Result<ReplayResult> {
    if (!done.ok()) return done;
    done.value().newest_primary_snap_id = snaps.back().id;
    done.value().notes.insert(done.value().notes.begin(), notes.begin(), notes.end());
    return done;
  };

  if (state.in_flight() && taken) {
    // Crashed after the local snapshot, before marking it complete; maybe
    // inside librbd's snapshot create, before the snapshot's object map.
    // The snapshot was taken under this step's hold: nobody else wrote it.
    Status map = CompleteSnapshotObjectMap(*target.local, local.value(), taken_id);
    if (!map.ok()) return map;
    auto done = step.Complete(*inflight_to, state.last_sync_bytes, std::chrono::steady_clock::now(), taken_id);
    if (done.ok()) done.value().resumed = true;
    return finish(std::move(done));
  }
  if (state.in_flight()) return finish(step.SyncTo(*inflight_to));

  if (state.primary_snap_id == snaps.back().id) {  // the partial apply of a vanished target, rolled back
    progress->End();
    result.outcome = ReplayOutcome::kUpToDate;
    result.state = state;
    result.notes = notes;
    return result;
  }
  // Checked under the hold: nothing can slip in between.
  if (state.primary_snap_id != 0) {
    Status unchanged = CheckUnchangedSince(local_io.value(), local.value(), LocalSnapshotName(state.primary_snap_id));
    if (!unchanged.ok()) return unchanged;
  }
  unsigned skipped = 0;
  for (const auto& s : snaps) {
    if (s.id > state.primary_snap_id && s.id < snaps.back().id) ++skipped;
  }
  auto synced = finish(step.SyncTo(snaps.back()));
  if (synced.ok()) {
    synced.value().skipped_snapshots = skipped;
    synced.value().adopted = result.adopted;
  }
  return synced;
}

}  // namespace

Result<RbdImage> OpenReplicaOf(const ReplayTarget& target, const RbdImage& remote, const std::string& global_id,
                               ReplicaState* state) {
  ReplicaState identity;
  identity.remote_fsid = target.remote_fsid;
  identity.remote_image_id = target.remote_image_id;
  identity.global_id = global_id;
  return OpenOrCreateReplica(*target.local, target.pool, target.ns, target.image_name, *target.remote, remote,
                             identity, state);
}

Result<ReplayResult> ReplayImage(const ReplayTarget& target, const ReplayOptions& options,
                                 ReplayProgress* progress) {
  PrimarySeen seen;
  auto result = Replay(target, options, progress, &seen);
  if (!result.ok()) return result;
  result.value().primary_demoted = !seen.mirror.primary;
  if (result.value().outcome != ReplayOutcome::kLocalPrimary && result.value().outcome != ReplayOutcome::kSplitBrain) {
    result.value().ready_to_promote = FinalSnapshotSynced(result.value().state, seen.mirror, seen.snaps);
  }
  return result;
}

}  // namespace mirror_snapshot
