// JournalApplier: the librbd events of an image journal, applied in replay
// order to a replica image through librbd, as the primary's librbd applied
// them.
//
// I/O events (write, discard, write-same, compare-and-write) are issued
// asynchronously, several at a time, but never while an overlapping one is
// in flight, so the result is the order's. Operations (snapshot create,
// remove, rename, protect, unprotect, rollback; resize; flatten; metadata
// set and remove) come as a start event and an OpFinish of the same op tid,
// and are applied once the finish says they succeeded. Where they take
// effect follows librbd: snapshot create, resize and feature updates block
// the image's writes before their start is appended, so the writes
// journaled until their finish reached the image after them (they wait
// here too, and follow the operation); every other operation's start comes
// before any block, so what is journaled until its finish reached the
// image before it (a rollback overwrites it), and is applied at once. An
// operation whose tag is superseded before its finish was completed by the
// next lock owner's librbd, and is applied; one whose finish reports an
// error is skipped, or, for those that change data part-way (rollback,
// resize, flatten), an error: the primary may be half changed.
//
// Applying an entry again (a replay resumed from an older commit position)
// gives the same image as long as no operation lies between: a snapshot
// already there, gone, protected or renamed counts as done. The pass
// commits right after each operation so that a crash re-applies at most one.
//
// Not applied, and counted: image renames (the replayer names its replicas),
// feature updates and snapshot limits (the replica's own), snapshots outside
// the user namespace, metadata keys of this module's own ("mirror_snapshot."),
// events of unknown types.
#pragma once

#include <rbd/librbd.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "native/base/extent_set.h"
#include "native/base/memory_budget.h"
#include "native/base/result.h"
#include "native/ceph/rbd_image.h"
#include "native/journal/journal_event.h"

namespace mirror_snapshot {

struct JournalApplyCounts {
  uint64_t events = 0;
  uint64_t writes = 0;  // write, write-same, compare-and-write
  uint64_t bytes_written = 0;
  uint64_t discards = 0;
  uint64_t bytes_discarded = 0;  // zeroed on the replica
  uint64_t ops_applied = 0;
  uint64_t ops_failed_on_primary = 0;  // an OpFinish with an error: nothing to apply
  uint64_t not_applied = 0;            // see the header comment
};

class JournalApplier {
 public:
  struct Limits {
    unsigned max_in_flight = 16;
    uint64_t max_bytes_in_flight = 64ull << 20;
    // Optional: the bytes in flight are taken from it too (one write
    // whatever is left, so that the applier progresses).
    MemoryBudget* budget = nullptr;
  };

  // `replica` outlives the applier; `object_size` is the primary's (and the
  // replica's: it is created like the primary), for discards.
  JournalApplier(const RbdImage* replica, uint64_t object_size, Limits limits);
  ~JournalApplier();
  JournalApplier(const JournalApplier&) = delete;
  JournalApplier& operator=(const JournalApplier&) = delete;

  // Applies the event of entry `position` (the caller's index, echoed in
  // errors and by OldestPendingOp) of tag `tag_tid`, or holds it back behind
  // an operation waiting for its finish. I/O may still be in flight when it
  // returns: the data its views point to must stay alive until Drain or
  // Flush, and as long as the applier. An error names the entry with `where`.
  Status Apply(uint64_t position, uint64_t tag_tid, const JournalEvent& event, const std::string& where);

  // Waits for the I/O in flight; the first error of any.
  Status Drain();
  // Drain, then a flush of the image: what was applied is on the OSDs.
  Status Flush();

  // The position of the oldest operation still waiting for its finish: a
  // commit must stop before it. nullopt when none waits.
  std::optional<uint64_t> OldestPendingOp() const;

  const JournalApplyCounts& counts() const { return counts_; }

 private:
  struct InFlight {
    rbd_completion_t completion = nullptr;
    uint64_t offset = 0;
    uint64_t length = 0;
    uint64_t bytes = 0;
    bool compare = false;  // a compare-and-write: a mismatch is the primary's result too
    uint64_t mismatch_offset = 0;
    std::string where;
  };
  struct Queued {
    uint64_t position = 0;
    uint64_t tag_tid = 0;
    JournalEvent event;  // its data views point into the caller's bytes
    std::string where;
  };
  struct PendingOp {
    uint64_t op_tid = 0;
    bool blocks_writes = false;  // the events behind it wait for it
    Queued start;
  };

  Status Dispatch(const Queued& e);
  Status ApplyNow(const Queued& e);
  Status ReleaseQueued();
  Status FinishOp(const Queued& op, int32_t result);
  bool BlockingOpPending() const;
  Status ApplyIo(const JournalEvent& event, const std::string& where);
  // Waits until the extent overlaps nothing in flight and the window has
  // room, then submits; `submit` gets the completion and the entry's
  // mismatch offset (for compare-and-write).
  Status Issue(uint64_t offset, uint64_t length, uint64_t bytes, bool compare, const std::string& where,
               const std::function<int(rbd_completion_t, uint64_t*)>& submit);
  Status WaitOldest();
  Status ApplyOp(const JournalEvent& event, const std::string& where);

  const RbdImage* replica_;
  uint64_t object_size_;
  Limits limits_;
  std::deque<InFlight> in_flight_;  // oldest first; elements stay put while librbd writes to them
  uint64_t bytes_in_flight_ = 0;
  MemoryHold memory_;  // bytes_in_flight_, as taken from limits_.budget; the rest goes back with the applier
  std::map<uint64_t, PendingOp> pending_ops_;  // by position: oldest first
  std::deque<Queued> queued_;            // the events behind it
  JournalApplyCounts counts_;
};

}  // namespace mirror_snapshot
