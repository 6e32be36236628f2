// Where a journal replica's record (journal_replica_state.h) lives: the
// replica image's own metadata. Read through any handle; written through a
// writable one (the replica held by a step, or promoted).
#pragma once

#include <optional>

#include "native/base/result.h"
#include "native/ceph/rbd_image.h"
#include "native/journal/journal_replica_state.h"

namespace mirror_snapshot {

// nullopt when `image` has no record (not a journal replica); EINVAL when
// its record cannot be read.
Result<std::optional<JournalReplicaState>> ReadJournalReplicaState(const RbdImage& image);

Status WriteJournalReplicaState(const RbdImage& image, const JournalReplicaState& state);

// The client id the replayer of the cluster `fsid` registers in a primary's
// journal ("mirror_snapshot.<fsid>").
std::string JournalClientId(const std::string& fsid);

}  // namespace mirror_snapshot
