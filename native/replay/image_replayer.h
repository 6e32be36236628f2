// ImageReplayer: one step of replicating a primary image (on the peer
// cluster) to its secondary (on this cluster): bring the secondary to the
// newest complete primary mirror snapshot, resuming a delta left in flight.
//
// A step: pin (from, to) on the primary so neither snapshot is pruned, record
// the delta as in flight on the secondary, compute it (list_snaps), apply it
// (pipelined AIO) with checkpoints, take the local snapshot that holds `to`,
// mark it complete, move the pin to (to, to), prune old local snapshots.
// A crash anywhere leaves either the previous complete state or an in-flight
// record the next step resumes; never a "complete" that is not.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "native/base/memory_budget.h"
#include "native/base/result.h"
#include "native/base/task_pool.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"
#include "native/delta/image_delta.h"
#include "native/replay/replay_progress.h"
#include "native/replica/replica_state.h"

namespace mirror_snapshot {

struct ReplayTarget {
  const RadosCluster* remote = nullptr;
  const RadosCluster* local = nullptr;
  std::string pool;  // same pool and namespace names on both sites
  std::string ns;
  std::string remote_image_id;
  std::string image_name;  // the secondary's name (the primary's, when listed)
  std::string remote_fsid;
  std::string local_fsid;  // names our sync pin on the primary
};

struct ReplayOptions {
  uint64_t max_in_flight_bytes = kDefaultInFlightBytes;
  MemoryBudget* budget = nullptr;  // shared by every sync of the replayer (optional)
  TaskPool* side_jobs = nullptr;   // runs a step's release of primary snapshots (optional: else a thread of its own)
  unsigned list_snaps_in_flight = 64;
  uint64_t checkpoint_every_bytes = 64ull << 20;
  unsigned keep_local_snapshots = 3;
};

enum class ReplayOutcome {
  kWaiting,   // the primary has no complete mirror snapshot yet
  kUpToDate,  // the secondary already holds the newest one
  kSynced,    // this step synced one delta
  kLocalPrimary,  // the image here is primary (promoted): nothing to replay into
  kSplitBrain,    // primary here and on the peer: nothing is written; `reason` says the way out
};

struct ReplayResult {
  ReplayOutcome outcome = ReplayOutcome::kWaiting;
  std::string reason;          // kSplitBrain: what an operator reads (status, health)
  bool ready_to_promote = false;  // a promote without --force would succeed (FinalSnapshotSynced)
  bool primary_demoted = false;   // the primary image was no longer primary when the step read it
  ReplicaState state;          // the secondary's state after this step
  uint64_t newest_primary_snap_id = 0;
  uint64_t bytes_copied = 0;   // data written + zeroed by this step
  double seconds = 0;          // from the step's start to the record saying complete
  double completed_at = 0;     // unix time of that record (housekeeping follows it)
  bool resumed = false;        // continued a delta left in flight
  uint64_t resumed_at = 0;     // its checkpoint
  unsigned skipped_snapshots = 0;  // complete primary snapshots between from and to
  bool adopted = false;        // the old primary here became the secondary of its promoted peer
  std::map<std::string, double> phase_seconds;  // connecting, scanning, copying, snapshotting
  // How the step's deltas found their objects (image_delta.h): the object
  // maps, or every object (then why); summed over a step's deltas, a full scan
  // in any of them makes the step's source kFullScan. nullopt: no delta was
  // read (nothing to sync, or an interrupted step finished by its snapshot).
  std::optional<DeltaSource> delta_source;
  std::string full_scan_reason;
  uint64_t objects_scanned = 0;
  uint64_t objects_in_image = 0;
  std::vector<std::string> notes;  // what an operator should know of this step (not errors)
};

// The replica of `remote` (whose mirroring global id is `global_id`) on
// the local site, created like it if missing (OpenOrCreateReplica); its
// replica record in `*state`.
Result<RbdImage> OpenReplicaOf(const ReplayTarget& target, const RbdImage& remote, const std::string& global_id,
                               ReplicaState* state);

Result<ReplayResult> ReplayImage(const ReplayTarget& target, const ReplayOptions& options,
                                 ReplayProgress* progress);

}  // namespace mirror_snapshot
