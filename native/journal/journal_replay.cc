#include "native/journal/journal_replay.h"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "native/journal/journal_reader.h"
#include "native/journal/journal_sequence.h"

namespace mirror_snapshot {
namespace {

std::string EntryName(const JournalHeader& header, const SequencedEntry& e) {
  return header.DataObjectName(e.object_number) + " offset " + std::to_string(e.entry.offset) + " (tag " +
         std::to_string(e.entry.tag_tid) + ", entry " + std::to_string(e.entry.entry_tid) + ")";
}

}  // namespace

Result<JournalReplayPass> ReplayJournalOnce(JournalHeader* header, librados::IoCtx data_io,
                                            const std::string& client_id, const RbdImage& replica,
                                            JournalApplier::Limits limits) {
  JournalReplayPass pass;
  uint64_t object_size = 0;
  if (const int rc = rbd_get_size(replica.handle(), &object_size); rc < 0) {
    return Status::FromErrno(rc, "reading the size of replica " + replica.spec());
  }
  rbd_image_info_t info{};
  if (const int rc = rbd_stat(replica.handle(), &info, sizeof(info)); rc < 0) {
    return Status::FromErrno(rc, "reading the layout of replica " + replica.spec());
  }
  object_size = info.obj_size;

  JournalReader reader(header, std::move(data_io));
  auto read = reader.ReadUncommitted(client_id);
  if (!read.ok()) return read.status();
  // `read` owns the bytes the events' views point into: it outlives the
  // applier's I/O (Flush below, or the applier's destructor on an error).
  const UncommittedEntries& uncommitted = read.value();
  const std::vector<SequencedEntry>& entries = uncommitted.sequence.entries;
  pass.entries_read = entries.size();
  pass.objects_read = uncommitted.objects_read;
  pass.bytes_read = uncommitted.bytes_read;
  pass.waiting = uncommitted.sequence.waiting;
  pass.committed = uncommitted.committed;

  JournalApplier applier(&replica, object_size, limits);
  for (uint64_t i = 0; i < entries.size(); ++i) {
    const SequencedEntry& e = entries[i];
    auto event = DecodeJournalEvent(e.entry.payload);
    if (!event.ok()) {
      return Status::Error(EBADMSG, EntryName(*header, e) + ": " + event.status().message());
    }
    Status s = applier.Apply(i, e.entry.tag_tid, event.value(), EntryName(*header, e));
    if (!s.ok()) return s;
    if (event.value().timestamp) pass.last_applied_time = event.value().timestamp;
  }
  // Never commit past what the replica's OSDs acknowledged.
  Status flushed = applier.Flush();
  if (!flushed.ok()) return flushed;
  pass.applied = applier.counts();

  const uint64_t committable = std::min<uint64_t>(entries.size(), applier.OldestPendingOp().value_or(entries.size()));
  pass.entries_uncommitted = entries.size() - committable;
  if (committable > 0) {
    const std::vector<SequencedEntry> prefix(entries.begin(), entries.begin() + committable);
    JournalCommitPosition position =
        CommitPositionAfter(uncommitted.committed, prefix, header->layout().splay_width);
    Status s = header->Commit(client_id, position);
    if (!s.ok()) return s;
    pass.committed = std::move(position);
    pass.entries_committed = committable;
  }
  return pass;
}

}  // namespace mirror_snapshot
