// The order a journal's entries are replayed in, and the commit position a
// replayed prefix leaves. Pure: entries already read (with the object each
// came from) in, the entries to apply out.
//
// Writers: each owner of the image's exclusive lock appends under a tag of
// its own; within a tag entry tids run 0, 1, 2, ... and entry e goes to
// splay offset e mod W of the object set active then. A new tag names its
// predecessor: the last entry of the previous tag that is part of the image
// (the new owner replayed up to there when it took the lock). So the order
// is: tags ascending; within a tag, tids ascending from the first not yet
// committed, without a gap; a tag's entries past its successor's
// predecessor are not part of the image and are skipped.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/journal/journal_entry.h"
#include "native/journal/journal_records.h"

namespace mirror_snapshot {

struct SequencedEntry {
  uint64_t object_number = 0;
  JournalEntry entry;
};

struct JournalSequence {
  std::vector<SequencedEntry> entries;  // in replay order
  // The sequence stopped at an entry not there (yet) of a tag whose writer
  // still owns the journal: appends to a set's objects run in parallel, so
  // entry e + 1 can land before entry e, and an entry whose object filled up
  // is sent again to the next set after later ones landed. Read again later.
  bool waiting = false;
  // The read stopped before the journal's end (a bounded read) and the
  // sequence with it: read again from the new commit position.
  bool read_more = false;
  uint64_t skipped_stale = 0;  // entries past their tag's successor's predecessor
};

// `entries`: what the objects read hold (any order, duplicates allowed);
// `committed`: the reader's commit position (newest first; empty: nothing
// committed yet); `tags`: the data (decoded) of the journal's tags, for
// predecessors (one naming another owner's journal is not used). EBADMSG
// naming the tag and tid when an entry is missing from a tag a newer one
// superseded (its writer is gone: it cannot land any more), or when a tag's
// successor follows on from an entry that is not there.
//
// `read_to_end` false: the entries are those of the object sets from the
// commit position up to some set before the active one. Every entry of a
// tag older than the newest tag read is in those sets (a tag's writer is
// gone before the next tag's writes begin, and sets advance in order); the
// newest tag read may continue past them, so its entries are taken up to
// the first one not read, and the sequence stops there (read_more).
Result<JournalSequence> SequenceJournal(const std::vector<SequencedEntry>& entries,
                                        const JournalCommitPosition& committed,
                                        const std::map<uint64_t, JournalTagData>& tags, bool read_to_end = true);

// The commit position after `applied` (a prefix of a sequence, in order)
// on top of `previous`: per splay offset the last entry applied from it,
// newest first, as libjournal keeps it (at most `splay_width` positions).
JournalCommitPosition CommitPositionAfter(const JournalCommitPosition& previous,
                                          const std::vector<SequencedEntry>& applied, uint8_t splay_width);

}  // namespace mirror_snapshot
