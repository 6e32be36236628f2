// Where a journal replica's record (journal_replica_state.h) lives: the
// replica image's own metadata. Read through any handle; written through a
// writable one (the replica held by a step, or promoted).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/rbd_image.h"
#include "native/journal/journal_replica_state.h"

namespace mirror_snapshot {

// nullopt when `image` has no record (not a journal replica); EINVAL when
// its record cannot be read.
Result<std::optional<JournalReplicaState>> ReadJournalReplicaState(const RbdImage& image);

Status WriteJournalReplicaState(const RbdImage& image, const JournalReplicaState& state);

// Image metadata key a journal replica's promote leaves on it: the names of
// the user snapshots it had then, the ones the old primary shares with it
// (EncodeSnapshotNames). An old primary adopted later keeps only those of
// its own (replay/journal_former_primary.h).
inline constexpr const char* kJournalPromotedSnapshotsKey = "mirror_snapshot.journal_promoted_snapshots";
// "<length>:<name>" for each name: any byte may be in a name.
std::string EncodeSnapshotNames(const std::vector<std::string>& names);
// nullopt for malformed input.
std::optional<std::vector<std::string>> DecodeSnapshotNames(std::string_view encoded);

// The client id the replayer of the cluster `fsid` registers in a primary's
// journal ("mirror_snapshot.<fsid>").
std::string JournalClientId(const std::string& fsid);

}  // namespace mirror_snapshot
