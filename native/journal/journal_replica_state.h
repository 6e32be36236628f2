// Where the replica of a journal-mode image stands, kept in the replica's
// own metadata (key kJournalReplicaStateKey) beside its identity record
// (replica_state.h): the bootstrap's phase, and the replay's progress. Pure:
// encoding and decoding only.
//
// Bootstrap: the replayer registers as a client of the primary's journal
// (from then on the journal keeps every entry for it), takes a snapshot on
// the primary (the sync point), copies it whole, then moves its commit
// position to the sync point's creation in the journal, and replays from
// there. Each phase is written down before the next begins, so that a crash
// anywhere resumes where it stopped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mirror_snapshot {

inline constexpr const char* kJournalReplicaStateKey = "mirror_snapshot.journal";

enum class JournalReplicaPhase {
  kRegistered,  // our client is in the primary's journal; no sync point yet
  kCopying,     // the sync point exists; its copy is under way
  kPositioning, // copied: the commit position moves to the sync point
  kReplaying,   // events are replayed from the commit position
};

struct JournalReplicaState {
  JournalReplicaPhase phase = JournalReplicaPhase::kRegistered;
  std::string client_id;   // ours in the primary's journal
  std::string sync_snap_name;  // the sync point's, chosen before it is taken
  uint64_t sync_snap_id = 0;  // the sync point on the primary (kCopying, kPositioning)
  uint64_t copy_checkpoint = 0;  // kCopying: every range below it is copied
  // kPositioning: the entry (tag, tid) finishing the sync point's creation,
  // written down before the commit position moves past it, so that a step
  // resumed after that commit knows it happened (the entry is not among
  // the uncommitted ones any more).
  bool sync_point_found = false;
  uint64_t sync_point_tag = 0;
  uint64_t sync_point_entry = 0;
  // The client that held the replica's lock for the step in flight: while
  // it still holds it, nobody else wrote since (as replica_state.h).
  std::string step_lock_owner;
  uint64_t entries_applied = 0;  // since the bootstrap
  int64_t last_applied_ns = 0;   // the primary's clock at the last entry applied: the recovery point
  int64_t bootstrapped_at = 0;   // unix seconds
};

std::string JournalReplicaPhaseName(JournalReplicaPhase phase);
std::string EncodeJournalReplicaState(const JournalReplicaState& state);
// nullopt if a field does not parse or the client id is missing.
std::optional<JournalReplicaState> DecodeJournalReplicaState(const std::string& text);

// The sync point's name on the primary: a user snapshot, as rbd-mirror's own
// (".rbd-mirror.<uuid>.<id>"), named after our client and made unique by
// `nonce` (one bootstrap's); whether `name` is one of `client_id`'s.
std::string JournalSyncSnapshotName(const std::string& client_id, int64_t nonce);
bool IsJournalSyncSnapshotOf(const std::string& name, const std::string& client_id);

}  // namespace mirror_snapshot
