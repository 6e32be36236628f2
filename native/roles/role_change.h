// Changing which site is primary: demote a primary, promote a secondary
// (rolling back a partially applied delta when forced), and turn an old
// primary into the secondary of the new one without a full copy.
//
// The lineage that makes failback incremental: a promoted secondary keeps its
// replica record (promoted=1), naming the old primary image and the last
// snapshot X synced from it, and records the first mirror snapshot P0 it
// took as primary, whose data equals X's. P0 is pinned for the old primary.
// The old primary rolls back to X (discarding writes nobody replicated),
// takes the local snapshot that stands for P0, drops Ceph's mirroring and
// becomes a replica whose next delta is P0 -> newest.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"
#include "native/replica/replica_state.h"
#include "native/roles/head_rollback.h"

namespace mirror_snapshot {

struct DemoteReport {
  uint64_t demoted_snap_id = 0;  // the final mirror snapshot, for the secondary to sync
  bool already = false;          // found demoted already (a retried command): nothing done
};

// Ceph's mirror demote of a snapshot-mode primary: librbd then refuses client
// writes (the image is non-primary) and takes a "demoted" mirror snapshot.
// An image demoted already is reported (`already`); EINVAL if the image is
// not mirrored in snapshot mode or is a replica.
Result<DemoteReport> DemotePrimary(const IoCtx& io, const std::string& name);

enum class PromoteMode {
  kCommand,              // the operator's: a promote that stopped half-way is finished, rolled back if written
  kFinishUnchangedOnly,  // the replayer's: finishes one that stopped half-way only if nobody wrote it since
};

struct PromoteReport {
  uint64_t primary_snap_id = 0;   // the old primary's snapshot this image holds: the consistency point
  int64_t recovery_point = 0;     // when that snapshot was taken
  uint64_t promoted_snap_id = 0;  // the first mirror snapshot taken here as primary
  bool forced = false;
  bool rolled_back = false;       // a partial apply (or stray writes) was undone
  RollbackReport rollback;
  bool already = false;           // found promoted already (a retried command): nothing done
};

// Whether a promote without --force finds the demoted primary's final
// snapshot here: the primary (`primary_mirror`, with its mirror snapshots
// `primary_snaps`) is demoted, its newest complete snapshot is the
// demotion's, and `state` holds exactly that one with nothing in flight. The
// promote checks besides that nobody wrote the image since (a cluster read).
// Status shows it as ready_to_promote.
bool FinalSnapshotSynced(const ReplicaState& state, const MirrorInfo& primary_mirror,
                         const std::vector<MirrorSnapshot>& primary_snaps);

// Promotes a secondary to primary. Without `force`, `remote` (nullptr when
// the peer cannot be reached) must show the old primary demoted and its final
// snapshot synced here (EBUSY otherwise). With `force`, HEAD is rolled back to
// the last complete local snapshot (only the objects that changed). Then
// Ceph's snapshot mirroring is enabled here, so this site's schedules apply.
// The image's exclusive lock is held in exclusive mode from the moment its
// fence is lifted to the end: no client writes it before the first mirror
// snapshot (P0, which must equal the consistency point) is taken. A promote
// that stopped half-way is finished; one that is done is reported (`already`).
Result<PromoteReport> PromoteSecondary(const RadosCluster& local, const IoCtx& io, const std::string& name,
                                       const RadosCluster* remote, bool force,
                                       PromoteMode mode = PromoteMode::kCommand);

struct ResyncReport {
  uint64_t common_snap_id = 0;  // the old primary's snapshot both sides hold
  uint64_t base_snap_id = 0;    // the new primary's snapshot with the same data (P0)
  bool rolled_back = false;
  RollbackReport rollback;      // the divergent writes discarded here
  ReplicaState state;           // the replica record written
  bool already = false;         // found a secondary of the peer already (a retried command)
  bool resumed = false;         // finished a resync that had stopped half-way
};

// Image metadata key of a resync under way: set before this image is made
// writable for the rollback, removed once it is a fenced replica. Whoever
// finds it (a retried command, the replayer) finishes the resync, which
// nobody else may write in between.
inline constexpr const char* kResyncMarkerKey = "mirror_snapshot.resync";

enum class ResyncMode {
  kCommand,       // the operator's resync: rolls back divergent writes
  kForced,        // ...of an image still primary here
  kCleanFailback  // the replayer's automatic step: only a demoted image that holds X exactly
};

// Turns the old primary `name` (this cluster) into a replica of the image of
// the same name on `remote`, which must have been promoted from it. Holds the
// image's exclusive lock in exclusive mode while it is writable; a resync
// that stopped half-way (kResyncMarkerKey) is finished whatever `mode` says.
Result<ResyncReport> ResyncFromPromoted(const RadosCluster& local, const IoCtx& io, const std::string& name,
                                        const RadosCluster& remote, const std::string& local_fsid,
                                        const std::string& remote_fsid, ResyncMode mode);

}  // namespace mirror_snapshot
