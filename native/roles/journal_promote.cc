#include "native/roles/journal_promote.h"

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "native/base/unix_clock.h"
#include "native/ceph/data_objects.h"
#include "native/ceph/exclusive_lock_hold.h"
#include "native/journal/journal_header.h"
#include "native/journal/journal_reader.h"
#include "native/journal/journal_replica_record.h"
#include "native/replica/replica_fence.h"
#include "native/replica/replica_image.h"
#include "native/roles/role_steps.h"

namespace mirror_snapshot {
namespace {

// What a journal entry read here may take at most: the rest of a demoted
// journal is a few entries, a larger one is simply not caught up.
constexpr uint64_t kCaughtUpReadBytes = 16ull << 20;

// The reasons a promote without --force must wait, or Ok: the primary
// demoted, and nothing of its journal left for our client.
Status CheckCleanJournalPromote(const IoCtx& io, const RbdImage& local, const ReplicaState& identity,
                                const JournalReplicaState& journal, const RadosCluster* remote) {
  auto remote_image = OpenDemotedPrimary(io, local, identity.remote_image_id, remote);
  if (!remote_image.ok()) return remote_image.status();
  auto header_io = OpenHeaderObjects(*remote, remote_image.value());
  if (!header_io.ok()) return header_io.status();
  auto header = JournalHeader::Open(header_io.value(), identity.remote_image_id, remote_image.value().spec());
  if (!header.ok()) return header.status();
  auto data_io = OpenJournalDataObjects(*remote, remote_image.value(), header.value().layout());
  if (!data_io.ok()) return data_io.status();
  JournalReader reader(&header.value(), data_io.value());
  auto left = reader.ReadUncommitted(journal.client_id, kCaughtUpReadBytes);
  if (!left.ok()) {
    return Status::Error(EBUSY, "cannot tell whether '" + local.spec() + "' replayed all of the demoted " +
                                    "primary's journal (" + left.status().message() + "): promote with --force");
  }
  const auto& sequence = left.value().sequence;
  if (!sequence.entries.empty() || sequence.read_more || sequence.waiting) {
    const std::string left_count = std::to_string(sequence.entries.size()) + (sequence.read_more ? "+" : "");
    return Status::Error(EBUSY, "'" + local.spec() + "' has not replayed the demoted primary's journal to its end " +
                                    "yet (" + left_count + " entries left): wait until image status shows " +
                                    "ready_to_promote, or promote with --force");
  }
  return Status::Ok();
}

// The old primary's site comes back as this image's replica by replaying
// this journal from its first entry (journal_image_replayer.h: a failback
// without a copy): its client, registered before anyone can write here,
// keeps the journal from being trimmed past that until it has. A primary
// whose peer never comes back keeps its journal growing: `image status`
// lists the client, and `rbd journal client disconnect` lets it go.
Status RegisterFailbackClient(const RadosCluster& cluster, const RbdImage& image, const ReplicaState& state) {
  auto id = image.Id();
  if (!id.ok()) return id.status();
  auto header_io = OpenHeaderObjects(cluster, image);
  if (!header_io.ok()) return header_io.status();
  auto header = JournalHeader::Open(header_io.value(), id.value(), image.spec());
  if (!header.ok()) return header.status();
  const std::string client_id = JournalClientId(state.remote_fsid);
  auto existing = header.value().Client(client_id);
  if (existing.ok()) return Status::Ok();  // a retried promote
  if (existing.status().code() != ENOENT) return existing.status();
  return header.value().Register(client_id,
                                 EncodeMirrorPeerClientData(state.remote_image_id, JournalMirrorPeerState::kReplaying));
}

}  // namespace

Result<bool> IsJournalReplica(const IoCtx& io, const std::string& name) {
  auto image = RbdImage::OpenByName(io, name);
  if (!image.ok()) return image.status();
  auto journal = ReadJournalReplicaState(image.value());
  if (!journal.ok()) return journal.status();
  if (journal.value()) return true;
  auto record = ReadReplicaState(image.value());
  if (!record.ok()) return record.status();
  auto mirror = image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  return record.value() && record.value()->promoted && mirror.value().mode == MirrorMode::kJournal;
}

Result<PromoteReport> PromoteJournalReplica(const RadosCluster& local, const IoCtx& io, const std::string& name,
                                            const RadosCluster* remote, bool force) {
  auto image = RbdImage::OpenByName(io, name);
  if (!image.ok()) return image.status();
  const std::string spec = image.value().spec();
  auto mirror = image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  auto record = ReadReplicaState(image.value());
  if (!record.ok()) return record.status();
  if (!record.value()) return Status::InvalidArgument("image '" + spec + "' is not a secondary of mirror_snapshot");
  ReplicaState state = *record.value();
  PromoteReport report;
  report.forced = force;
  // Held from the fence's lift to the failback client's registration: no
  // client writes the image before its journal records every write.
  std::optional<ExclusiveLockHold> hold;
  bool journal_from_the_lift = false;

  if (state.promoted) {
    report.recovery_point = state.primary_snap_time;
    // The journal record goes last: while it is there, a retried promote
    // finishes what the interrupted one began.
    auto unfinished = ReadJournalReplicaState(image.value());
    if (!unfinished.ok()) return unfinished.status();
    if (!unfinished.value() && mirror.value().mode == MirrorMode::kJournal && mirror.value().primary) {
      report.already = true;  // a retried promote finds its work done
      return report;
    }
  } else {
    auto journal = ReadJournalReplicaState(image.value());
    if (!journal.ok()) return journal.status();
    if (!journal.value()) return Status::InvalidArgument("image '" + spec + "' is not a journal-mode replica");
    if (mirror.value().mode != MirrorMode::kDisabled) {
      return Status::InvalidArgument("image '" + spec + "' is mirrored by Ceph itself (rbd-mirror's), not ours");
    }
    if (journal.value()->phase != JournalReplicaPhase::kReplaying) {
      return Status::Error(EBUSY, "image '" + spec + "' is still being bootstrapped (phase " +
                                      JournalReplicaPhaseName(journal.value()->phase) +
                                      "): it holds no consistent image of the primary yet, nothing to promote");
    }
    if (!force) {
      Status clean = CheckCleanJournalPromote(io, image.value(), state, *journal.value(), remote);
      if (!clean.ok()) return clean;
    }
    auto untouched = UntouchedSinceStep(image.value(), journal.value()->step_lock_owner);
    if (!untouched.ok()) return untouched.status();
    if (!untouched.value()) {
      return Status::Error(EBUSY, "replica '" + spec + "' could have been written by another client since its "
                                      "last replay step (its fence was lifted and its lock is not the "
                                      "replayer's): it is not an image the primary had; resync it");
    }
    Status alone = RequireNoWriter(local, image.value(), "promoting it");
    if (!alone.ok()) return alone;
    Status lifted = LiftReplicaFence(io, name, &image.value());
    if (!lifted.ok()) return lifted;
    auto held = ExclusiveLockHold::Take(image.value(), "promoting it");
    if (!held.ok()) return held.status();
    hold.emplace(std::move(held).value());
    journal_from_the_lift = true;
    state.promoted = true;
    state.promoted_at = UnixNow();
    state.primary_snap_time = journal.value()->last_applied_ns / 1000000000;
    report.recovery_point = state.primary_snap_time;
    Status status = WriteReplicaState(image.value(), state);  // the replayer stops replaying into it
    if (!status.ok()) return status;
    // The snapshots it shares with the old primary, written before
    // journaling is on (a module key: never replayed).
    auto snaps = image.value().UserSnapshots();
    if (!snaps.ok()) return snaps.status();
    std::vector<std::string> names;
    for (const auto& snap : snaps.value()) names.push_back(snap.name);
    status = image.value().SetMetadata(kJournalPromotedSnapshotsKey, EncodeSnapshotNames(names));
    if (!status.ok()) return status;
  }
  Status status = FinishMirroringDisable(image.value(), mirror.value());
  if (!status.ok()) return status;
  status = AllowImageMirroring(io);
  if (!status.ok()) return status;
  status = image.value().EnableJournaling();
  if (!status.ok()) return status;
  if (mirror.value().mode != MirrorMode::kJournal) {
    status = image.value().EnableJournalMirroring();
    if (!status.ok()) return status;
  }
  // Only a promote that held the image since the fence went can vouch that
  // its journal holds every write: a retry after a crash cannot (clients
  // may have written it meanwhile, unjournaled), so it registers no client,
  // and the old primary then needs a full copy instead of a failback.
  if (journal_from_the_lift) {
    status = RegisterFailbackClient(local, image.value(), state);
    if (!status.ok()) return status;
  }
  // Last: until now a retried promote finds the record and finishes here.
  status = image.value().RemoveMetadata(kJournalReplicaStateKey);
  if (!status.ok()) return status;
  return report;
}

}  // namespace mirror_snapshot
