// Which primary mirror snapshots to remove so that at most `keep` remain.
// Pure logic, no Ceph calls.
//
// Rules:
//  - only primary snapshots count (non-primary ones left by an earlier
//    secondary role are not ours to prune here);
//  - the newest snapshot is never removed;
//  - pinned snapshots (a secondary is syncing from or to them) are never
//    removed, even if that leaves more than `keep`;
//  - incomplete snapshots (a creation that did not finish) go first, then the
//    oldest complete ones.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

// librbd refuses rbd_mirroring_max_mirroring_snapshots below this.
inline constexpr uint64_t kMinMirroringSnapshots = 3;

std::vector<uint64_t> SnapshotsToPrune(const std::vector<MirrorSnapshot>& snapshots, uint64_t keep,
                                       const std::set<uint64_t>& pinned);

// A secondary's sync progress as it records it on the primary image, in image
// metadata key kSyncPinPrefix + <secondary fsid>, value
// "from=<snap id or ->,to=<snap id>,updated=<unix seconds>".
inline constexpr const char* kSyncPinPrefix = "mirror_snapshot.sync.";

struct SyncPin {
  std::optional<uint64_t> from_snap_id;
  uint64_t to_snap_id = 0;
  int64_t updated = 0;
};

std::optional<SyncPin> ParseSyncPin(const std::string& value);
std::string FormatSyncPin(const SyncPin& pin);

}  // namespace mirror_snapshot
