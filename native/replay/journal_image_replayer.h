// One step of replicating a journal-mode primary image (on the peer
// cluster) to its replica (on this cluster): bootstrap it, or replay the
// journal's new entries onto it (native/journal/).
//
// Bootstrap (journal_replica_state.h): register as a client of the
// primary's journal, take the sync point (a snapshot on the primary), copy
// it whole with the delta copier (checkpointed), move the commit position to
// the sync point's creation in the journal, remove the sync point. Replay:
// passes of journal_replay.h until the journal's end (or a step's limit).
//
// The replica belongs to the replayer as in snapshot mode (replica_fence.h):
// fenced between steps, held in exclusive mode during one. A step that
// finds it was not fenced and not held by the step it interrupted refuses
// to go on (EBUSY): a journal replica has no snapshot to roll back to, and
// entries replayed over a client's writes would not give the primary's
// image; a resync does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "native/base/memory_budget.h"
#include "native/base/result.h"
#include "native/journal/journal_replay.h"
#include "native/journal/journal_replica_state.h"
#include "native/replay/image_replayer.h"
#include "native/replay/replay_progress.h"

namespace mirror_snapshot {

struct JournalStepOptions {
  JournalReplayOptions replay;
  unsigned max_passes = 64;  // per step: other images get their turn
  double max_replay_seconds = 10;  // ... and no more passes begin after this long
  uint64_t max_in_flight_bytes = kDefaultInFlightBytes;  // the bootstrap's copy
  MemoryBudget* budget = nullptr;
  uint64_t checkpoint_every_bytes = 64ull << 20;
  // Optional: the bootstrap's copy reports its bytes there (phase
  // "copying"), each replay pass its start (phase "replaying": a pass
  // stuck on unanswering OSDs is seen stalled), and a cancel (a role change pausing the image) makes the
  // step refuse to start (ECANCELED), stop its copy at the next chunk, or
  // stop between replay passes (what was applied is committed).
  ReplayProgress* progress = nullptr;
};

enum class JournalStepOutcome {
  kBootstrapping,  // a bootstrap phase ran; the next step goes on
  kReplayed,       // entries were applied (or there were none)
  kLocalPrimary,   // the image here was promoted (roles/journal_promote.h): nothing replayed
  kSplitBrain,     // ... and the peer's is primary too: nothing replayed
};

struct JournalStepResult {
  JournalStepOutcome outcome = JournalStepOutcome::kReplayed;
  JournalReplicaState state;        // after the step
  uint64_t bytes_copied = 0;        // by the bootstrap's copy
  uint64_t entries_applied = 0;     // committed by this step's passes
  uint64_t bytes_written = 0;       // by those passes (writes and zeroed discards)
  uint64_t passes = 0;
  bool caught_up = false;           // the last pass read to the journal's end
  bool waiting = false;             // the writer's next entry had not landed yet
  bool primary_demoted = false;     // the peer's image is demoted (its journal ends with it)
  // Entries the primary's writer had committed and this replica had not,
  // read after the step (EntriesBehind: a lower bound across a tag change);
  // nullopt if the journal's clients could not be read (a note says why).
  std::optional<uint64_t> entries_behind;
  // The bytes of the journal past this replica's commit position, as the
  // step's last pass read it (JournalReplayPass::bytes_behind); nullopt when
  // no pass ran (a bootstrap step).
  std::optional<uint64_t> bytes_behind;
  double seconds = 0;
  std::vector<std::string> notes;
};

// Image metadata key of a journal replica whose resync was asked for: the
// next step empties the replica (its snapshots removed, its size 0) and
// bootstraps it again, whatever was written to it; then the key goes.
inline constexpr const char* kJournalResyncKey = "mirror_snapshot.journal_resync";

// Asks for the resync of `name` (this cluster, `io`) from the image of the
// same name on `remote`: false if it is not a journal-mode replica (nothing
// is changed then); EINVAL if it replicates another image than that one
// (it must be removed for a new copy); ENOENT if the peer has none. Written
// past the fence (the header's metadata, as the checkpoints): the replica
// stays fenced.
Result<bool> RequestJournalResync(const RadosCluster& cluster, const IoCtx& io, const std::string& name,
                                  const RadosCluster& remote);


Result<JournalStepResult> ReplayJournalImage(const ReplayTarget& target, const JournalStepOptions& options);

}  // namespace mirror_snapshot
