// The replication state of a secondary image, kept in the image's own
// metadata (key kReplicaStateKey) so that a restarted replayer resumes from
// it: which primary image it replicates, the last primary snapshot it holds
// completely (and the local snapshot holding it), and the delta in flight
// with its checkpoint. Pure: encoding and decoding only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mirror_snapshot {

inline constexpr const char* kReplicaStateKey = "mirror_snapshot.replica";

struct ReplicaState {
  // Identity of the primary image.
  std::string remote_fsid;
  std::string remote_image_id;
  std::string global_id;

  // The newest primary snapshot synced completely, and its local snapshot.
  uint64_t primary_snap_id = 0;  // 0: nothing synced yet
  uint64_t local_snap_id = 0;
  int64_t primary_snap_time = 0;  // when the primary took it: the recovery point

  // The sync in flight towards primary snapshot inflight_to_snap_id (0:
  // none). Its last delta starts at inflight_from_snap_id (primary_snap_id,
  // or a user snapshot taken in between); everything below
  // checkpoint_offset of that delta is applied.
  uint64_t inflight_to_snap_id = 0;
  uint64_t inflight_from_snap_id = 0;
  uint64_t checkpoint_offset = 0;
  uint64_t inflight_bytes_total = 0;
  int64_t inflight_started = 0;
  // The client that held the image's exclusive lock for the step in flight
  // ("client.<id>"): while it still holds it, nobody else wrote since.
  std::string inflight_lock_owner;
  // Set when the step found the image changed under it (a client's resize,
  // carried out by the lock holder): its partial apply is never resumed.
  bool inflight_doubtful = false;

  // The last completed sync.
  double last_sync_seconds = 0;
  uint64_t last_sync_bytes = 0;
  int64_t last_sync_finished = 0;

  // Set when this image was promoted: it is a primary now, and the record
  // stays as its lineage (the old primary's identity and the last snapshot
  // synced from it), so the old primary can become its secondary without a
  // full copy. promoted_snap_id is the first mirror snapshot taken here,
  // whose data equals primary_snap_id's.
  bool promoted = false;
  uint64_t promoted_snap_id = 0;
  int64_t promoted_at = 0;

  bool in_flight() const { return inflight_to_snap_id != 0; }
  // Forgets the sync in flight (it completed, or was rolled back).
  void ClearInFlight() {
    inflight_to_snap_id = 0;
    inflight_from_snap_id = 0;
    checkpoint_offset = 0;
    inflight_bytes_total = 0;
    inflight_started = 0;
    inflight_lock_owner.clear();
    inflight_doubtful = false;
  }
};

// "key=value" pairs joined by ','; unknown keys are ignored on decode, so a
// newer module can add fields.
std::string EncodeReplicaState(const ReplicaState& state);
// nullopt if a known field does not parse or an identity field is missing.
std::optional<ReplicaState> DecodeReplicaState(const std::string& text);

// The name of the local snapshot that holds primary snapshot `primary_snap_id`.
std::string LocalSnapshotName(uint64_t primary_snap_id);
// The primary snapshot id a local snapshot name stands for, if it is one of ours.
std::optional<uint64_t> PrimarySnapIdOfLocalName(const std::string& name);

}  // namespace mirror_snapshot
