// User snapshots of the primary that the replayer copies to the secondary
// (clones of them can then be replicated too), and their removal once the
// primary removed them. Each copy is marked in the secondary's metadata,
// kReplicatedUserSnapPrefix + <name> = <primary snap id>: a snapshot an
// operator took on the secondary carries no mark and is never touched.
#pragma once

#include <cstdint>
#include <string>

#include "native/rbd_image.h"
#include "native/result.h"
#include "native/status.h"

namespace mirror_snapshot {

inline constexpr const char* kReplicatedUserSnapPrefix = "mirror_snapshot.user.";

// Call before creating the local copy: a crash in between leaves a mark
// without a snapshot, which is harmless, never a copy without a mark.
Status MarkReplicatedUserSnapshot(const RbdImage& local, const std::string& name, uint64_t primary_snap_id);

// Removes the marked copies whose primary snapshot is gone (librbd moves one
// that clones still use to its trash, as on the primary); the number removed.
Result<unsigned> RemoveUserSnapshotsGoneFromPrimary(const RbdImage& remote, const RbdImage& local);

}  // namespace mirror_snapshot
