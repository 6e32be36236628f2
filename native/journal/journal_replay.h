// One replay pass of an image journal onto its replica: what the client has
// not committed is read (journal_reader.h), applied in order
// (journal_applier.h), flushed to the replica's OSDs, and only then
// committed in the journal header, up to the first operation still waiting
// for its finish. A pass cut short by a crash anywhere leaves a commit
// position at or before what the replica holds; the next pass applies
// entries again from there, which gives the same image.
#pragma once

#include <rados/librados.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "native/base/result.h"
#include "native/ceph/rbd_image.h"
#include "native/journal/journal_applier.h"
#include "native/journal/journal_event.h"
#include "native/journal/journal_header.h"
#include "native/journal/journal_records.h"

namespace mirror_snapshot {

// A pass that could commit nothing reads again with twice the budget, up
// to this many times the budget (and at least kMinReadBudgetCap bytes);
// then it fails with E2BIG instead of holding the whole journal.
inline constexpr uint64_t kReadBudgetGrowth = 16;
inline constexpr uint64_t kMinReadBudgetCap = 256ull << 20;

struct JournalReplayOptions {
  JournalApplier::Limits apply;
  // Journal object sets are read until this many bytes were (at least one
  // set): a pass's memory. A pass that could commit nothing within it (an
  // operation whose finish lies beyond) reads again with twice as much,
  // within kReadBudgetGrowth.
  uint64_t max_read_bytes = 64ull << 20;
  // Optional, shared with every sync of the process: what a pass reads and
  // what its applier keeps in flight are taken from it (at least one object
  // set and one write however little is left, so that the pass progresses).
  MemoryBudget* budget = nullptr;
};

struct JournalReplayPass {
  uint64_t entries_read = 0;       // not committed when the pass began
  uint64_t entries_committed = 0;  // by this pass
  uint64_t objects_read = 0;
  uint64_t bytes_read = 0;
  JournalApplyCounts applied;
  JournalCommitPosition committed;  // the client's position after the pass
  // The journal's writer has not landed an entry yet that the next ones
  // follow (appends run in parallel): the pass stopped before it.
  bool waiting = false;
  // The read stopped before the journal's end: run another pass.
  bool read_more = false;
  // Entries read and applied but not committed: an operation waits for its
  // finish, and they are applied again by the next pass.
  uint64_t entries_uncommitted = 0;
  // The bytes of the journal past the pass's commit position as of its
  // read: the entries read and not committed, and when the read stopped
  // before the journal's end, the data objects of the sets not read.
  uint64_t bytes_behind = 0;
  // The primary's clock at the append of the last entry committed.
  std::optional<JournalEventTime> last_applied_time;
};

// `header` and `data_io` of the primary's journal (OpenJournalDataObjects);
// `client_id` registered there; `replica` open for writing. EBADMSG for a
// corrupt, torn or lost entry, naming its object and offset; ESTALE when
// the client was disconnected or the journal trimmed past it; a librbd
// error naming the entry whose event the replica refused.
Result<JournalReplayPass> ReplayJournalOnce(JournalHeader* header, librados::IoCtx data_io,
                                            const std::string& client_id, const RbdImage& replica,
                                            const JournalReplayOptions& options);

}  // namespace mirror_snapshot
