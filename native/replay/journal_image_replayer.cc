#include "native/replay/journal_image_replayer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <optional>

#include "native/ceph/data_objects.h"
#include "native/ceph/header_metadata_writer.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/pool_images.h"
#include "native/delta/image_delta.h"
#include "native/journal/journal_event.h"
#include "native/journal/journal_header.h"
#include "native/journal/journal_reader.h"
#include "native/journal/journal_replica_record.h"
#include "native/journal/journal_records.h"
#include "native/replica/delta_copier.h"
#include "native/replica/replica_fence.h"
#include "native/replica/replica_image.h"
#include "native/replay/journal_former_primary.h"

namespace mirror_snapshot {
namespace {

int64_t UnixNow() { return static_cast<int64_t>(std::time(nullptr)); }

int64_t UnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A resync asked for (kJournalResyncKey), with the replica held: its
// snapshots and data go, and `*state` starts a bootstrap; the key is
// removed last, so that a crash before then empties it again.
Status EmptyForResync(const RbdImage& local, JournalReplicaState* state) {
  auto snaps = local.UserSnapshots();
  if (!snaps.ok()) return snaps.status();
  for (const auto& snap : snaps.value()) {
    Status s = local.RemoveUserSnapshot(snap.name);
    if (!s.ok()) return s;
  }
  Status s = local.Resize(0);
  if (!s.ok()) return s;
  JournalReplicaState fresh;
  fresh.client_id = state->client_id;
  fresh.step_lock_owner = state->step_lock_owner;
  *state = fresh;
  s = WriteJournalReplicaState(local, *state);
  if (!s.ok()) return s;
  return local.RemoveMetadata(kJournalResyncKey);
}

// The bootstrap and the replay of one step, with the replica held.
class JournalStep {
 public:
  JournalStep(const ReplayTarget& target, const JournalStepOptions& options, const RbdImage& remote,
              const RbdImage& local, JournalHeader* header, librados::IoCtx data_io, JournalReplicaState* state,
              JournalStepResult* result)
      : target_(target), options_(options), remote_(remote), local_(local), header_(header),
        data_io_(std::move(data_io)), state_(state), result_(result) {}

  Status Run() {
    if (state_->phase == JournalReplicaPhase::kRegistered) {
      Status s = TakeSyncPoint();
      if (!s.ok()) return s;
    }
    if (state_->phase == JournalReplicaPhase::kCopying) {
      Status s = CopySyncPoint();
      if (!s.ok()) return s;
    }
    if (state_->phase == JournalReplicaPhase::kPositioning) {
      Status s = MoveToSyncPoint();
      if (!s.ok()) return s;
      if (state_->phase != JournalReplicaPhase::kReplaying) return Status::Ok();  // the next step goes on
    }
    if (result_->outcome == JournalStepOutcome::kBootstrapping) return Status::Ok();
    return Replay();
  }

 private:
  Status Save() { return WriteJournalReplicaState(local_, *state_); }

  // The sync point's name is new for each bootstrap and written down before
  // the snapshot is taken, so that its creation is the only one of that
  // name in the journal: a step resumed after a crash takes the snapshot of
  // the recorded name if it is there, and never takes another. Sync points
  // of earlier attempts (their names differ) are removed.
  Status TakeSyncPoint() {
    result_->outcome = JournalStepOutcome::kBootstrapping;
    if (state_->sync_snap_name.empty()) {
      state_->sync_snap_name = JournalSyncSnapshotName(state_->client_id, UnixNanos());
      Status s = Save();
      if (!s.ok()) return s;
    }
    const std::string& name = state_->sync_snap_name;
    auto snaps = remote_.UserSnapshots();
    if (!snaps.ok()) return snaps.status();
    std::optional<uint64_t> taken;
    for (const auto& snap : snaps.value()) {
      if (snap.name == name) {
        taken = snap.id;
      } else if (IsJournalSyncSnapshotOf(snap.name, state_->client_id)) {
        Status s = remote_.RemoveSnapshot(snap.id);
        if (!s.ok() && s.code() != ENOENT) return s;
      }
    }
    if (!taken) {
      auto id = remote_.CreateSnapshot(name);
      if (!id.ok()) return id.status();
      taken = id.value();
    }
    state_->sync_snap_id = *taken;
    state_->copy_checkpoint = 0;
    state_->phase = JournalReplicaPhase::kCopying;
    return Save();
  }

  Status CopySyncPoint() {
    result_->outcome = JournalStepOutcome::kBootstrapping;
    const std::string& name = state_->sync_snap_name;
    auto id = remote_.SnapshotIdByName(name);
    if (!id.ok()) return id.status();
    if (!id.value() || *id.value() != state_->sync_snap_id) {
      return Status::Error(EBUSY, "the sync point of replica '" + local_.spec() + "' (snapshot " + name + " of '" +
                                      remote_.spec() + "') is gone from the primary before its copy finished; "
                                      "remove the replica on this site (rbd rm) for a new bootstrap");
    }
    auto delta = ComputeImageDelta(*target_.remote, remote_, 0, state_->sync_snap_id);
    if (!delta.ok()) return delta.status();
    Status s = remote_.SetSnapshot(state_->sync_snap_id);
    if (!s.ok()) return s;
    CopyOptions copy;
    copy.max_in_flight_bytes = options_.max_in_flight_bytes;
    copy.budget = options_.budget;
    copy.resume_offset = state_->copy_checkpoint;
    copy.target_cluster = target_.local;
    uint64_t next_checkpoint = state_->copy_checkpoint + options_.checkpoint_every_bytes;
    auto checkpoints = HeaderMetadataWriter::Open(*target_.local, local_);
    if (!checkpoints.ok()) return checkpoints.status();
    copy.progress_every_bytes = std::min<uint64_t>(options_.checkpoint_every_bytes, 16ull << 20);
    ReplayProgress* progress = options_.progress;
    if (progress != nullptr) {
      progress->Begin(0, state_->sync_snap_id);
      progress->Phase("copying");
      copy.cancelled = [progress] { return progress->cancelled(); };
    }
    copy.on_progress = [&](const CopyProgress& p) {
      if (progress != nullptr) progress->Bytes(p.bytes_done, p.bytes_total);
      if (p.checkpoint_offset < next_checkpoint) return;
      state_->copy_checkpoint = p.checkpoint_offset;
      next_checkpoint = p.checkpoint_offset + options_.checkpoint_every_bytes;
      checkpoints.value().Set(kJournalReplicaStateKey, EncodeJournalReplicaState(*state_));
    };
    auto stats = ApplyDelta(*target_.remote, remote_, delta.value(), local_, copy);
    checkpoints.value().Drain().IgnoreError();  // a lost checkpoint only means copying again
    if (progress != nullptr) progress->Phase("replaying");
    s = remote_.SetHead();
    if (!stats.ok()) return stats.status();
    if (!s.ok()) return s;
    result_->bytes_copied = stats.value().bytes_written + stats.value().bytes_zeroed;
    state_->phase = JournalReplicaPhase::kPositioning;
    return Save();
  }

  // The sync point holds every entry before its creation's start event
  // (librbd appends it once writes are blocked; the writes journaled after
  // it reach the image after the snapshot, whatever their place before the
  // OpFinish): commit through that event without applying anything, and
  // replay from the entry after it. Nothing is committed before the event
  // is found in what was read: after a crash past that commit, the entries
  // read are the ones after it, and must not be taken for older ones.
  Status MoveToSyncPoint() {
    result_->outcome = JournalStepOutcome::kBootstrapping;
    const std::string& name = state_->sync_snap_name;
    if (state_->sync_point_found) {
      auto client = header_->Client(state_->client_id);
      if (!client.ok()) return client.status();
      const auto& position = client.value().commit_position;
      const bool committed = !position.empty() &&
                             (position.front().tag_tid > state_->sync_point_tag ||
                              (position.front().tag_tid == state_->sync_point_tag &&
                               position.front().entry_tid >= state_->sync_point_entry));
      if (committed) return FinishPositioning(name);
    }
    JournalReader reader(header_, data_io_);
    uint64_t budget = std::max<uint64_t>(options_.replay.max_read_bytes, 1);
    while (true) {
      auto read = reader.ReadUncommitted(state_->client_id, budget);
      if (!read.ok()) return read.status();
      const auto& entries = read.value().sequence.entries;
      std::optional<size_t> created;  // the sync point's SnapCreate
      for (size_t i = 0; i < entries.size() && !created; ++i) {
        auto event = DecodeJournalEvent(entries[i].entry.payload);
        if (!event.ok()) return Status::Error(EBADMSG, header_->DataObjectName(entries[i].object_number) + ": " +
                                                           event.status().message());
        const auto* snap = std::get_if<SnapEvent>(&event.value().body);
        if (snap != nullptr && event.value().type == static_cast<uint32_t>(JournalEventType::kSnapCreate) &&
            snap->snap_namespace.type == 0 && snap->snap_name == name) {
          created = i;
        }
      }
      if (created) {
        state_->sync_point_found = true;
        state_->sync_point_tag = entries[*created].entry.tag_tid;
        state_->sync_point_entry = entries[*created].entry.entry_tid;
        Status s = Save();
        if (!s.ok()) return s;
        const std::vector<SequencedEntry> prefix(entries.begin(), entries.begin() + *created + 1);
        s = header_->Commit(state_->client_id,
                            CommitPositionAfter(read.value().committed, prefix, header_->layout().splay_width));
        if (!s.ok()) return s;
        return FinishPositioning(name);
      }
      if (read.value().sequence.read_more) {
        const uint64_t most = std::max<uint64_t>(options_.replay.max_read_bytes * kReadBudgetGrowth, kMinReadBudgetCap);
        if (budget >= most) {
          return Status::Error(E2BIG, "the creation of the sync point " + name + " lies past " +
                                          std::to_string(budget) + " bytes of the journal of '" + remote_.spec() +
                                          "': more than a step may hold");
        }
        budget *= 2;  // the creation lies further on
        continue;
      }
      if (read.value().sequence.waiting) {  // its entries are still landing
        result_->waiting = true;
        return Status::Ok();
      }
      return Status::Error(EBADMSG, "the creation of the sync point " + name + " of '" + remote_.spec() +
                                        "' is not in its journal: the bootstrap of '" + local_.spec() +
                                        "' cannot tell where to replay from; remove the replica on this site "
                                        "(rbd rm) for a new bootstrap");
    }
  }

  Status FinishPositioning(const std::string& name) {
    state_->phase = JournalReplicaPhase::kReplaying;
    state_->bootstrapped_at = UnixNow();
    Status s = Save();
    if (!s.ok()) return s;
    s = remote_.RemoveSnapshot(state_->sync_snap_id);
    if (!s.ok() && s.code() != ENOENT) {
      result_->notes.push_back("the sync point " + name + " stays on the primary: " + s.message());
    }
    state_->sync_snap_id = 0;
    state_->sync_snap_name.clear();
    state_->sync_point_found = false;
    return Save();
  }

  Status Replay() {
    result_->outcome = JournalStepOutcome::kReplayed;
    if (state_->sync_snap_id != 0) {  // a crash right after the bootstrap left it on the primary
      Status s = remote_.RemoveSnapshot(state_->sync_snap_id);
      if (!s.ok() && s.code() != ENOENT) return s;
      state_->sync_snap_id = 0;
      state_->sync_snap_name.clear();
      state_->sync_point_found = false;
    }
    const auto started = std::chrono::steady_clock::now();
    ReplayProgress* progress = options_.progress;  // "replaying" since the step began
    JournalReplayOptions replay = options_.replay;
    replay.budget = options_.budget;  // the passes share the process's budget with every sync
    for (unsigned i = 0; i < options_.max_passes; ++i) {
      if (progress != nullptr && progress->cancelled()) break;  // a role change waits
      if (i > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() >
                       options_.max_replay_seconds) {
        break;  // other images get their turn; the next step goes on
      }
      if (progress != nullptr) progress->Touch();
      auto pass = ReplayJournalOnce(header_, data_io_, state_->client_id, local_, replay);
      if (!pass.ok()) return pass.status();
      ++result_->passes;
      result_->entries_applied += pass.value().entries_committed;
      result_->bytes_written += pass.value().applied.bytes_written + pass.value().applied.bytes_discarded;
      state_->entries_applied += pass.value().entries_committed;
      if (pass.value().last_applied_time) {
        state_->last_applied_ns = static_cast<int64_t>(pass.value().last_applied_time->seconds) * 1000000000 +
                                  pass.value().last_applied_time->nanoseconds;
      }
      result_->waiting = pass.value().waiting;
      result_->bytes_behind = pass.value().bytes_behind;
      if (!pass.value().read_more) {
        // Everything read was applied and committed, and nothing is missing.
        result_->caught_up = !pass.value().waiting && pass.value().entries_uncommitted == 0;
        break;
      }
    }
    return Save();
  }

  const ReplayTarget& target_;
  const JournalStepOptions& options_;
  const RbdImage& remote_;
  const RbdImage& local_;
  JournalHeader* header_;
  librados::IoCtx data_io_;
  JournalReplicaState* state_;
  JournalStepResult* result_;
};

// What the step's status shows: the primary's writer (the image client,
// id "") against our client, as the header has them now.
std::optional<uint64_t> EntriesBehindWriter(JournalHeader* header, const std::string& client_id,
                                            std::vector<std::string>* notes) {
  auto clients = header->Clients();
  if (!clients.ok()) {
    notes->push_back("entries behind the primary unknown: " + clients.status().message());
    return std::nullopt;
  }
  for (const auto& lag : ClientLags(clients.value())) {
    if (lag.id == client_id) return lag.entries_behind;
  }
  return std::nullopt;
}

// Whether the image here of the target's name was promoted (a primary now,
// or being made one): never replayed into again.
Result<bool> PromotedHere(const ReplayTarget& target) {
  auto io = IoCtx::Open(*target.local, target.pool, target.ns);
  if (!io.ok()) return false;  // the namespace is created with the replica
  auto image = RbdImage::OpenByName(io.value(), target.image_name);
  if (!image.ok()) return image.status().code() == ENOENT ? Result<bool>(false) : Result<bool>(image.status());
  auto record = ReadReplicaState(image.value());
  if (!record.ok()) return record.status();
  if (!record.value() || !record.value()->promoted) return false;
  // Promoted, then demoted (rbd's demote, by `image demote`): a former
  // primary, which journal_former_primary.h takes care of.
  auto mirror = image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  return !(mirror.value().mode == MirrorMode::kJournal && !mirror.value().primary);
}

}  // namespace

Result<bool> RequestJournalResync(const RadosCluster& cluster, const IoCtx& io, const std::string& name,
                                  const RadosCluster& remote) {
  auto image = RbdImage::OpenByName(io, name);
  if (!image.ok()) return image.status();
  auto recorded = ReadJournalReplicaState(image.value());
  if (!recorded.ok()) return recorded.status();
  if (!recorded.value()) {
    Status former = ExplainFormerJournalPrimary(io, name, remote);
    if (!former.ok()) return former;
    return false;
  }
  // Only the replica of the peer's image of that name can be copied again
  // in place: one whose primary is gone (mirroring disabled and enabled
  // again gives a new global id) would stay in error with the request left.
  auto identity = ReadReplicaState(image.value());
  if (!identity.ok()) return identity.status();
  auto remote_io = IoCtx::Open(remote, io.pool_name(), io.ns());
  if (!remote_io.ok()) return remote_io.status();
  auto primary = IdentifyImage(remote_io.value(), name);
  if (!primary.ok()) return primary.status();
  if (!identity.value() || identity.value()->global_id != primary.value().mirror.global_id) {
    return Status::InvalidArgument("'" + image.value().spec() + "' replicates an image the peer no longer has (" +
                                   "its mirroring was disabled, or the image replaced): remove it here (rbd rm) " +
                                   "for a new copy of the peer's '" + name + "'");
  }
  auto writer = HeaderMetadataWriter::Open(cluster, image.value());
  if (!writer.ok()) return writer.status();
  writer.value().Set(kJournalResyncKey, std::to_string(UnixNow()));
  Status s = writer.value().Drain();
  if (!s.ok()) return s;
  return true;
}

Result<JournalStepResult> ReplayJournalImage(const ReplayTarget& target, const JournalStepOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  if (options.progress != nullptr && options.progress->cancelled()) {
    return Status::Error(ECANCELED, "the replay of '" + target.image_name + "' is paused (its role is changing)");
  }
  // The whole step is "replaying" for status (the copy of a bootstrap says
  // "copying"): one stuck on unanswering OSDs anywhere is seen stalled.
  struct ProgressScope {
    ReplayProgress* progress;
    explicit ProgressScope(ReplayProgress* p) : progress(p) {
      if (progress != nullptr) progress->Phase("replaying");
    }
    ~ProgressScope() {
      if (progress != nullptr) progress->End();
    }
  } progress_scope(options.progress);
  JournalStepResult result;
  auto remote_io = IoCtx::Open(*target.remote, target.pool, target.ns);
  if (!remote_io.ok()) return remote_io.status();
  auto remote = RbdImage::OpenById(remote_io.value(), target.remote_image_id);
  if (!remote.ok()) return remote.status();
  auto mirror = remote.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  if (mirror.value().mode != MirrorMode::kJournal) {
    return Status::Error(EINVAL, "image '" + remote.value().spec() + "' is not mirrored in journal mode");
  }
  result.primary_demoted = !mirror.value().primary;
  auto promoted = PromotedHere(target);
  if (!promoted.ok()) return promoted.status();
  if (promoted.value()) {
    result.outcome = result.primary_demoted ? JournalStepOutcome::kLocalPrimary : JournalStepOutcome::kSplitBrain;
    return result;
  }
  auto parent = remote.value().Parent();
  if (!parent.ok()) return parent.status();
  if (parent.value()) {
    return Status::Error(EOPNOTSUPP, "image '" + remote.value().spec() +
                                         "' is a clone: journal-mode clones are not replicated yet");
  }

  // The old primary here after a failover becomes the replica of the
  // promoted image without a copy when it can (journal_former_primary.h).
  auto former = AdoptFormerJournalPrimary(target, remote.value(), mirror.value().global_id);
  if (!former.ok()) return former.status();
  ReplicaState replica_state;
  auto local = OpenReplicaOf(target, remote.value(), mirror.value().global_id, &replica_state);
  if (!local.ok()) return local.status();
  if (replica_state.promoted) {  // found by its global id under another name: promoted all the same
    result.outcome = result.primary_demoted ? JournalStepOutcome::kLocalPrimary : JournalStepOutcome::kSplitBrain;
    return result;
  }
  auto local_io = IoCtx::Open(*target.local, target.pool, target.ns);
  if (!local_io.ok()) return local_io.status();
  auto local_id = local.value().Id();
  if (!local_id.ok()) return local_id.status();
  auto recorded = ReadJournalReplicaState(local.value());
  if (!recorded.ok()) return recorded.status();
  auto resync = local.value().Metadata(kJournalResyncKey);
  if (!resync.ok()) return resync.status();
  const bool resyncing = resync.value().has_value();  // what the replica holds is thrown away

  // Could anyone have written the replica since the last step? Not if it
  // stayed fenced, nor if the lock of the step it interrupted is still its
  // only holder; nor may anyone have it open when the fence goes.
  auto untouched = UntouchedSinceStep(local.value(), recorded.value() ? recorded.value()->step_lock_owner : "");
  if (!untouched.ok()) return untouched.status();
  const bool wrote_before = recorded.value() && (recorded.value()->phase != JournalReplicaPhase::kRegistered);
  if (wrote_before && !untouched.value() && !resyncing) {
    return Status::Error(EBUSY, "replica '" + local.value().spec() +
                                    "' could have been written by another client since the last step (its fence was "
                                    "lifted and its lock is not the replayer's): replaying onto it would not give "
                                    "the primary's image; resync it");
  }
  auto open_elsewhere = OpenElsewhere(*target.local, local.value());
  if (!open_elsewhere.ok()) return open_elsewhere.status();
  if (open_elsewhere.value()) {
    return Status::Error(EBUSY, "replica '" + local.value().spec() +
                                    "' is open in another client (rbd status shows which): not replayed until it "
                                    "is closed");
  }
  Status status = LiftReplicaFence(local_io.value(), target.image_name, &local.value());
  if (!status.ok()) return status;
  auto hold = ReplicaHold::Take(*target.local, local.value());
  if (!hold.ok()) {
    SetReplicaFence(local_io.value(), local_id.value(), true).IgnoreError();
    return hold.status();
  }
  // A replica never journals (an old primary adopted kept its journal, and
  // the peer's client there would keep it from ever being trimmed).
  status = local.value().DisableJournaling();
  if (!status.ok()) return status;
  status = FinishAdoption(local.value(), remote.value());
  if (!status.ok()) return status;

  if (result.primary_demoted &&
      (!recorded.value() || recorded.value()->phase != JournalReplicaPhase::kReplaying)) {
    return Status::Error(EBUSY, "the primary '" + remote.value().spec() + "' is demoted: replica '" +
                                    local.value().spec() + "' cannot be bootstrapped from it");
  }
  JournalReplicaState state;
  if (recorded.value()) {
    state = *recorded.value();
  } else {
    state.client_id = JournalClientId(target.local_fsid);
  }
  state.step_lock_owner = hold.value().owner();
  status = resyncing ? EmptyForResync(local.value(), &state) : WriteJournalReplicaState(local.value(), state);
  if (!status.ok()) return status;

  auto header_io = OpenHeaderObjects(*target.remote, remote.value());
  if (!header_io.ok()) return header_io.status();
  auto header = JournalHeader::Open(header_io.value(), target.remote_image_id, remote.value().spec());
  if (!header.ok()) return header.status();
  auto data_io = OpenJournalDataObjects(*target.remote, remote.value(), header.value().layout());
  if (!data_io.ok()) return data_io.status();
  auto client = header.value().Client(state.client_id);
  if (!client.ok() && client.status().code() != ENOENT) return client.status();
  if (state.phase == JournalReplicaPhase::kRegistered && state.sync_snap_name.empty()) {
    // A bootstrap begins (again): a client of ours left by an earlier
    // replica (disconnected, or trimmed past) is registered afresh, from
    // where the journal's other clients are.
    if (client.ok()) {
      status = header.value().Unregister(state.client_id);
      if (!status.ok()) return status;
    }
    status = header.value().Register(state.client_id,
                                     EncodeMirrorPeerClientData(local_id.value(), JournalMirrorPeerState::kReplaying));
    if (!status.ok()) return status;
  } else if (!client.ok()) {
    return Status::Error(ESTALE, "the replayer's client " + state.client_id + " is gone from the journal of '" +
                                     remote.value().spec() + "' (unregistered by hand?): its replica '" +
                                     local.value().spec() + "' needs a resync");
  }

  JournalStep step(target, options, remote.value(), local.value(), &header.value(), data_io.value(), &state, &result);
  status = step.Run();
  if (!status.ok()) return status;  // the hold fences the replica again
  result.entries_behind = EntriesBehindWriter(&header.value(), state.client_id, &result.notes);
  status = hold.value().Release();
  if (!status.ok()) return status;
  result.state = state;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace mirror_snapshot
