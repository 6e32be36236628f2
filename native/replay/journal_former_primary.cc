#include "native/replay/journal_former_primary.h"

#include <cerrno>
#include <ctime>
#include <optional>
#include <set>

#include "native/ceph/data_objects.h"
#include "native/ceph/header_metadata_writer.h"
#include "native/ceph/io_ctx.h"
#include "native/journal/journal_header.h"
#include "native/journal/journal_reader.h"
#include "native/journal/journal_replica_record.h"
#include "native/journal/journal_replica_state.h"
#include "native/replica/replica_fence.h"
#include "native/replica/replica_image.h"
#include "native/replica/replica_state.h"

namespace mirror_snapshot {
namespace {

// What this check reads of the old primary's journal at most: the entries
// the promoted image did not replay are none, or it is refused anyway.
constexpr uint64_t kLeftReadBytes = 16ull << 20;

// The image of that name here, when it is the former primary of `remote`:
// mirrored by Ceph in journal mode with the global id the promoted
// replica's record names.
Result<std::optional<RbdImage>> OpenFormerPrimary(const IoCtx& io, const std::string& name,
                                                  const RbdImage& remote) {
  auto image = RbdImage::OpenByName(io, name);
  if (!image.ok()) {
    if (image.status().code() == ENOENT) return std::optional<RbdImage>();
    return image.status();
  }
  auto mirror = image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  if (mirror.value().mode != MirrorMode::kJournal) return std::optional<RbdImage>();
  auto promoted_from = ReadReplicaState(remote);
  if (!promoted_from.ok()) return promoted_from.status();
  if (!promoted_from.value() || !promoted_from.value()->promoted ||
      promoted_from.value()->global_id != mirror.value().global_id) {
    return std::optional<RbdImage>();
  }
  return std::optional<RbdImage>(std::move(image).value());
}

std::string FormerPrimaryMessage(const RbdImage& local, const std::string& why) {
  return "image '" + local.spec() + "' is the former primary of the peer's image of that name (promoted there " +
         "from its replica) and cannot become its replica without a copy: " + why +
         "; to replicate the peer's image here, remove it (rbd mirror image disable --force, then rbd rm) and a " +
         "full copy follows";
}

// Why the old primary cannot follow the new one without a copy, or Ok.
Status CheckFailbackWithoutCopy(const ReplayTarget& target, const RbdImage& local, const MirrorInfo& mirror,
                                const RbdImage& remote) {
  if (mirror.primary) return Status::Error(EEXIST, "it is primary too (split-brain): demote it first");
  // This site's client in the new primary's journal: registered by the
  // promote before any write, nothing committed, nothing trimmed.
  auto remote_io = OpenHeaderObjects(*target.remote, remote);
  if (!remote_io.ok()) return remote_io.status();
  auto journal = JournalHeader::Open(remote_io.value(), target.remote_image_id, remote.spec());
  if (!journal.ok()) return journal.status();
  auto client = journal.value().Client(JournalClientId(target.local_fsid));
  if (!client.ok()) {
    return Status::Error(EEXIST, "the new primary's journal has no client of this site (" + client.status().message() +
                                     ")");
  }
  if (client.value().state != JournalClientState::kConnected) {
    return Status::Error(EEXIST, "this site's client was disconnected from the new primary's journal");
  }
  if (!client.value().commit_position.empty()) {
    return Status::Error(EEXIST, "this site's client in the new primary's journal is past its first entry");
  }
  auto sets = journal.value().Sets();
  if (!sets.ok()) return sets.status();
  if (sets.value().minimum != 0) {
    return Status::Error(EEXIST, "the new primary's journal was trimmed (to object set " +
                                     std::to_string(sets.value().minimum) + ")");
  }
  // The promoted image had replayed every entry of this image's journal:
  // nothing is left there for the peer's client.
  auto id = local.Id();
  if (!id.ok()) return id.status();
  auto local_io = OpenHeaderObjects(*target.local, local);
  if (!local_io.ok()) return local_io.status();
  auto own = JournalHeader::Open(local_io.value(), id.value(), local.spec());
  if (!own.ok()) return own.status();
  auto data_io = OpenJournalDataObjects(*target.local, local, own.value().layout());
  if (!data_io.ok()) return data_io.status();
  JournalReader reader(&own.value(), data_io.value());
  auto left = reader.ReadUncommitted(JournalClientId(target.remote_fsid), kLeftReadBytes);
  if (!left.ok()) {
    return Status::Error(EEXIST, "what the promoted image replayed of its journal cannot be read (" +
                                     left.status().message() + ")");
  }
  const auto& sequence = left.value().sequence;
  if (!sequence.entries.empty() || sequence.read_more || sequence.waiting) {
    return Status::Error(EEXIST, "it holds writes the promoted image never replayed (" +
                                     std::to_string(sequence.entries.size()) + (sequence.read_more ? "+" : "") +
                                     " entries of its journal)");
  }
  return Status::Ok();
}

}  // namespace

Result<bool> AdoptFormerJournalPrimary(const ReplayTarget& target, const RbdImage& remote,
                                       const std::string& remote_global_id) {
  auto io = IoCtx::Open(*target.local, target.pool, target.ns);
  if (!io.ok()) return false;  // no namespace here, no image
  auto former = OpenFormerPrimary(io.value(), target.image_name, remote);
  if (!former.ok()) return former.status();
  if (!former.value()) return false;
  const RbdImage& local = *former.value();
  // A primary (split-brain) is refused as it is: fencing it, even for a
  // moment, would fail its clients' writes.
  auto mirror = local.Mirror();
  if (!mirror.ok()) return mirror.status();
  auto id = local.Id();
  if (!id.ok()) return id.status();
  if (mirror.value().primary) {
    // An adoption cut short by a promote here (`rbd mirror image promote
    // --force` while it ran) left its fence: the image is the operator's
    // primary now, and the fence goes.
    auto fenced = IsFenced(local);
    if (!fenced.ok()) return fenced.status();
    if (fenced.value()) {
      Status lifted = SetReplicaFence(io.value(), id.value(), false);
      if (!lifted.ok()) return lifted;
    }
    return Status::Error(EEXIST, FormerPrimaryMessage(local, "it is primary too (split-brain): demote it first"));
  }
  // Fenced first, then checked again: once fenced, no client can change it
  // (one promoting it with `rbd mirror image promote --force` included:
  // writes fail on the fence), so what the checks saw is what is adopted.
  // Open elsewhere is no matter (the peer's replayer polls it while it is
  // mirrored by Ceph). Unfenced again if it is not adopted: not ours.
  Status status = SetReplicaFence(io.value(), id.value(), true);
  if (!status.ok()) return status;
  auto refused = [&](const Status& why) -> Status {
    SetReplicaFence(io.value(), id.value(), false).IgnoreError();
    return why;
  };
  auto again = local.Mirror();  // as it is now, fenced
  if (!again.ok()) return refused(again.status());
  Status clean = again.value().mode == MirrorMode::kJournal
                     ? CheckFailbackWithoutCopy(target, local, again.value(), remote)
                     : Status::Error(EEXIST, "its mirroring changed meanwhile");
  if (!clean.ok()) return refused(Status::Error(EEXIST, FormerPrimaryMessage(local, clean.message())));

  // Records (past Ceph's non-primary flag, as the checkpoints), then Ceph's
  // mirroring goes: a crash anywhere leaves an image clients cannot write,
  // which the next step adopts again from the start.
  ReplicaState identity;
  identity.remote_fsid = target.remote_fsid;
  identity.remote_image_id = target.remote_image_id;
  identity.global_id = remote_global_id;
  JournalReplicaState journal;
  journal.client_id = JournalClientId(target.local_fsid);
  journal.phase = JournalReplicaPhase::kReplaying;  // from the new primary's first entry
  journal.bootstrapped_at = static_cast<int64_t>(std::time(nullptr));
  auto writer = HeaderMetadataWriter::Open(*target.local, local);
  if (!writer.ok()) return writer.status();
  writer.value().Set(kReplicaStateKey, EncodeReplicaState(identity));
  writer.value().Set(kJournalReplicaStateKey, EncodeJournalReplicaState(journal));
  writer.value().Set(kJournalAdoptedKey, std::to_string(journal.bootstrapped_at));
  status = writer.value().Drain();
  if (!status.ok()) return status;
  // Promoted here meanwhile? Then it stays the operator's (nothing was
  // written to it: it was fenced), and the next step says split-brain.
  auto before_disable = local.Mirror();
  if (!before_disable.ok()) return before_disable.status();
  if (before_disable.value().primary) {
    return refused(Status::Error(EEXIST, FormerPrimaryMessage(local, "it was promoted while it was being adopted")));
  }
  status = local.DisableMirroring(true);  // force: it is not primary
  if (!status.ok()) return status;
  return true;
}

Status FinishAdoption(const RbdImage& local, const RbdImage& remote) {
  auto adopted = local.Metadata(kJournalAdoptedKey);
  if (!adopted.ok()) return adopted.status();
  if (!adopted.value()) return Status::Ok();
  // Those the new primary had at its promotion are the replicated ones, the
  // same data on both sides; any other of the same name there is newer.
  auto shared = remote.Metadata(kJournalPromotedSnapshotsKey);
  if (!shared.ok()) return shared.status();
  std::set<std::string> names;
  if (shared.value()) {
    auto decoded = DecodeSnapshotNames(*shared.value());
    if (!decoded) {
      return Status::Error(EINVAL, "'" + remote.spec() + "' has an unreadable " +
                                       std::string(kJournalPromotedSnapshotsKey) + " record");
    }
    names.insert(decoded->begin(), decoded->end());
  }
  auto ours = local.UserSnapshots();
  if (!ours.ok()) return ours.status();
  for (const auto& snap : ours.value()) {
    if (names.count(snap.name) != 0) continue;
    Status removed = local.RemoveUserSnapshot(snap.name);
    if (!removed.ok()) return removed;
  }
  return local.RemoveMetadata(kJournalAdoptedKey);
}

Status ExplainFormerJournalPrimary(const IoCtx& io, const std::string& name, const RadosCluster& remote) {
  auto remote_io = IoCtx::Open(remote, io.pool_name(), io.ns());
  if (!remote_io.ok()) return Status::Ok();
  auto peer = RbdImage::OpenByName(remote_io.value(), name);
  if (!peer.ok()) return Status::Ok();
  auto former = OpenFormerPrimary(io, name, peer.value());
  if (!former.ok()) return former.status();
  if (!former.value()) return Status::Ok();
  return Status::InvalidArgument("image '" + former.value()->spec() +
                                 "' is the former primary of the peer's image of that name (promoted there from its "
                                 "replica): the replayer makes it that image's replica by itself when it can without "
                                 "a copy, or says in image status why not; a resync of it does not apply (to copy it "
                                 "again whole: rbd mirror image disable --force, then rbd rm)");
}

}  // namespace mirror_snapshot
