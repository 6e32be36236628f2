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

// Reads up to `max_read_bytes`, applies, flushes, commits.
Result<JournalReplayPass> ReplayRead(JournalHeader* header, JournalReader* reader, const std::string& client_id,
                                     const RbdImage& replica, uint64_t object_size,
                                     const JournalApplier::Limits& limits, const JournalReader::Limits& read_limits) {
  JournalReplayPass pass;
  auto read = reader->ReadUncommitted(client_id, read_limits);
  if (!read.ok()) return read.status();
  // `read` owns the bytes the events' views point into: it outlives the
  // applier's I/O (Flush below, or the applier's destructor on an error).
  const UncommittedEntries& uncommitted = read.value();
  const std::vector<SequencedEntry>& entries = uncommitted.sequence.entries;
  pass.entries_read = entries.size();
  pass.objects_read = uncommitted.objects_read;
  pass.bytes_read = uncommitted.bytes_read;
  pass.waiting = uncommitted.sequence.waiting;
  pass.read_more = uncommitted.sequence.read_more;
  pass.committed = uncommitted.committed;

  JournalApplier applier(&replica, object_size, limits);
  std::vector<std::optional<JournalEventTime>> times(entries.size());
  // Flushes, then commits entries [0, upto): never past what the replica's
  // OSDs acknowledged, nor past an operation still waiting for its finish.
  auto commit = [&](uint64_t upto) -> Status {
    upto = std::min<uint64_t>(upto, applier.OldestPendingOp().value_or(upto));
    if (upto <= pass.entries_committed) return Status::Ok();
    Status s = applier.Flush();
    if (!s.ok()) return s;
    const std::vector<SequencedEntry> prefix(entries.begin(), entries.begin() + upto);
    JournalCommitPosition position = CommitPositionAfter(uncommitted.committed, prefix, header->layout().splay_width);
    s = header->Commit(client_id, position);
    if (!s.ok()) return s;
    pass.committed = std::move(position);
    pass.entries_committed = upto;
    for (uint64_t i = upto; i > 0; --i) {
      if (times[i - 1]) {
        pass.last_applied_time = times[i - 1];
        break;
      }
    }
    return Status::Ok();
  };
  for (uint64_t i = 0; i < entries.size(); ++i) {
    const SequencedEntry& e = entries[i];
    auto event = DecodeJournalEvent(e.entry.payload);
    if (!event.ok()) {
      return Status::Error(EBADMSG, EntryName(*header, e) + ": " + event.status().message());
    }
    // librbd stamps the events of client I/O and operations; the demotion
    // and promotion events it appends itself carry a zero time.
    const auto& stamp = event.value().timestamp;
    if (stamp && (stamp->seconds != 0 || stamp->nanoseconds != 0)) times[i] = stamp;
    const uint64_t ops_before = applier.counts().ops_applied;
    Status s = applier.Apply(i, e.entry.tag_tid, event.value(), EntryName(*header, e));
    if (!s.ok()) return s;
    // Right after an operation: a crash then re-applies at most that one.
    if (applier.counts().ops_applied != ops_before) {
      s = commit(i + 1);
      if (!s.ok()) return s;
    }
  }
  Status s = commit(entries.size());
  if (!s.ok()) return s;
  s = applier.Flush();  // also when nothing could be committed: the pass leaves nothing in flight
  if (!s.ok()) return s;
  pass.applied = applier.counts();
  pass.entries_uncommitted = entries.size() - pass.entries_committed;
  for (uint64_t i = pass.entries_committed; i < entries.size(); ++i) {
    pass.bytes_behind += entries[i].entry.payload.size() + kJournalEntryOverhead;
  }
  if (pass.read_more) {
    auto unread = reader->BytesInSets(uncommitted.next_set, uncommitted.sets.active);
    if (!unread.ok()) return unread.status();
    pass.bytes_behind += unread.value();
  }
  return pass;
}

}  // namespace

Result<JournalReplayPass> ReplayJournalOnce(JournalHeader* header, librados::IoCtx data_io,
                                            const std::string& client_id, const RbdImage& replica,
                                            const JournalReplayOptions& options) {
  rbd_image_info_t info{};
  if (const int rc = rbd_stat(replica.handle(), &info, sizeof(info)); rc < 0) {
    return Status::FromErrno(rc, "reading the layout of replica " + replica.spec());
  }
  JournalReader reader(header, std::move(data_io));
  uint64_t budget = std::max<uint64_t>(options.max_read_bytes, 1);
  const uint64_t most = std::max<uint64_t>(budget * kReadBudgetGrowth, kMinReadBudgetCap);
  JournalApplier::Limits apply = options.apply;
  apply.budget = options.budget;
  while (true) {
    // A read grown past max_read_bytes must go further than the last one:
    // past the memory budget too.
    const JournalReader::Limits read{budget, options.budget, budget > options.max_read_bytes};
    auto pass = ReplayRead(header, &reader, client_id, replica, info.obj_size, apply, read);
    if (!pass.ok()) return pass;
    // Nothing committed and more to read: an operation's finish lies past
    // what was read. Read further, or the next pass would read the same.
    if (pass.value().entries_committed > 0 || !pass.value().read_more) return pass;
    if (budget >= most) {
      return Status::Error(E2BIG, "an operation in the journal of " + header->oid() +
                                      " waits for its finish past " + std::to_string(budget) +
                                      " bytes of entries: more than a pass may hold");
    }
    budget *= 2;
  }
}

}  // namespace mirror_snapshot
