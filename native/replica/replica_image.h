// The secondary's local image: creating it like the primary, checking that
// nobody wrote to it behind the replayer's back, pruning its old snapshots.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"
#include "native/replica/replica_state.h"

namespace mirror_snapshot {

// Opens the replica `name` in (pool, ns) of the local cluster, creating it
// (and the namespace) like `remote` if it does not exist yet, with `identity`
// recorded as its replica state. A replica of the same primary image under
// another name (the primary was renamed) is renamed to `name` instead. An existing image that is not a replica of
// the same primary image is refused (EEXIST), never overwritten; an empty,
// snapshot-less image without state is taken over (a crash right after
// creating it).
Result<RbdImage> OpenOrCreateReplica(const RadosCluster& local, const std::string& pool, const std::string& ns,
                                     const std::string& name, const RadosCluster& remote_cluster,
                                     const RbdImage& remote, const ReplicaState& identity,
                                     ReplicaState* state);

// The name of `image`'s separate data pool (`rbd create --data-pool`), ""
// when it has none. A replica's data pool has the same name as its primary's.
Result<std::string> SeparateDataPool(const RadosCluster& cluster, const RbdImage& image);

// The replica state of a local image, nullopt if it is not a replica.
Result<std::optional<ReplicaState>> ReadReplicaState(const RbdImage& local);

Status WriteReplicaState(const RbdImage& local, const ReplicaState& state);

// Marks the delta in flight of `*state` doubtful (nobody can prove the image
// untouched) and writes the record with cls_rbd, past the fence and whoever
// holds the lock: before a fence is lifted, an error may put it back, and the
// next step must not take it for proof. Nothing to do when not in flight or
// doubtful already. `cluster` is the client `local` was opened with.
Status RecordInFlightDoubt(const RadosCluster& cluster, const RbdImage& local, ReplicaState* state);

// The primary's parent overlap at its snapshot `snap_id`; nullopt when it has
// no parent there (never a clone, or flattened). `remote` is back at its HEAD
// afterwards.
Result<std::optional<uint64_t>> ParentOverlapAt(const RbdImage& remote, uint64_t snap_id);

// Lowers the parent overlap of the clone `local` to `overlap` (nothing when it
// is not above it), leaving its size and data as they are. A clone's overlap
// only ever goes down: cls_rbd lowers it when the clone shrinks and a regrow
// keeps it, so a clone shrunk and regrown reads zeros past it, not its parent.
Status LowerParentOverlap(const RadosCluster& cluster, const RbdImage& local, uint64_t overlap);

// EBUSY if the image's HEAD differs from snapshot `snap_name` (a client
// wrote, or resized it): its size and parent overlap, then the data of what
// librbd's diff reports (`io`: the image's pool and namespace, to read the snapshot).
Status CheckUnchangedSince(const IoCtx& io, const RbdImage& local, const std::string& snap_name);

// Removes our local snapshots (LocalSnapshotName) beyond the newest `keep`;
// `current` (the one holding the last complete sync) always stays.
Status PruneReplicaSnapshots(const RbdImage& local, unsigned keep, uint64_t current);

}  // namespace mirror_snapshot
