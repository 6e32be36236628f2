// User snapshots of the primary that the replayer copies to the secondary
// (clones of them can then be replicated too), their renames, and their
// removal once the primary removed them. Each copy is marked in the
// secondary's metadata, kReplicatedUserSnapPrefix + <name> = <primary snap
// id>: a copy is matched to the primary's snapshot by that id, never by its
// name alone (names are reused: `rbd snap rm img@daily; rbd snap create
// img@daily`). A snapshot without a mark was not made by the replayer and is
// never touched.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/base/status.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

inline constexpr const char* kReplicatedUserSnapPrefix = "mirror_snapshot.user.";

// Call before creating the local copy: a crash in between leaves a mark
// without a snapshot, which is harmless, never a copy without a mark.
Status MarkReplicatedUserSnapshot(const RbdImage& local, const std::string& name, uint64_t primary_snap_id);

// Brings the marked copies in line with the primary's user snapshots:
// removes those whose primary snapshot is gone (librbd moves one that clones
// still use to its trash, as on the primary) and renames those the primary
// renamed. Run before new copies are made, so that a reused name finds its
// old copy gone. The number of copies removed or renamed.
Result<unsigned> ReconcileUserSnapshotCopies(const RbdImage& remote, const RbdImage& local);

// Removes the marked copies taken after local snapshot `local_snap_id` (by a
// step whose partial apply was rolled back to it): they are made again.
Result<unsigned> RemoveUserSnapshotCopiesAfter(const RbdImage& local, uint64_t local_snap_id);

enum class UserSnapshotCopy {
  kMissing,   // no local snapshot of that name: apply the delta, then copy it
  kHeld,      // the local snapshot of that name is the marked copy of this very snapshot
  kNameTaken  // a local snapshot of that name that is not its copy (an operator's)
};

// Whether the local image holds the copy of the primary's user snapshot
// (`name`, `primary_snap_id`).
Result<UserSnapshotCopy> FindUserSnapshotCopy(const RbdImage& local, const std::string& name,
                                              uint64_t primary_snap_id);

}  // namespace mirror_snapshot
