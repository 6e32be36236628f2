// Creating a primary mirror snapshot of one image and pruning its older
// ones: the work the primary-side scheduler does on every due run.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rbd_image.h"
#include "native/primary/prune_policy.h"

namespace mirror_snapshot {

struct ImageLocator {
  std::string name;  // either the name...
  std::string id;    // ...or the image id (preferred when known: survives renames)
};

struct SnapshotRun {
  std::string image_id;
  std::optional<uint64_t> snap_id;  // the snapshot created, when one was
  std::string skipped;              // why none was created (not primary, not snapshot mode)
  std::vector<uint64_t> pruned;     // snapshots removed to respect the limit
  std::set<uint64_t> pinned;        // snapshots a secondary is syncing from or to
  uint64_t keep = 0;                // the limit applied
};

// rbd_mirroring_max_mirroring_snapshots as librbd sees it for this image
// (global, pool and image overrides), never below librbd's minimum.
Result<uint64_t> MaxMirroringSnapshots(const RbdImage& image);

// The sync pin each secondary recorded on `image` (WriteSyncPin), by the
// secondary's fsid; `pin` is nullopt for a record that cannot be read (image
// metadata anyone with write access may set): it pins nothing.
struct SecondarySyncPin {
  std::string fsid;
  std::optional<SyncPin> pin;
};
Result<std::vector<SecondarySyncPin>> ReadSyncPins(const RbdImage& image);

// Snapshots that secondaries recorded as their sync source or target.
Result<std::set<uint64_t>> SyncPinnedSnapshots(const RbdImage& image);

// Records (from, to) as the sync of the secondary `secondary_fsid` on image
// `image_id` of `image_io`, so that neither snapshot is pruned while it needs
// them; no `from` on a first sync. Written with cls_rbd directly, not
// through librbd: that would take the image's exclusive lock away from the
// client writing it (and wait out a dead owner's watch, ~30 s, after a mgr
// failover).
Status WriteSyncPin(const IoCtx& image_io, const std::string& image_id, const std::string& secondary_fsid,
                    std::optional<uint64_t> from, uint64_t to);

// Opens the image; if it is a primary image in snapshot mirror mode, makes
// room (prunes to keep-1, so librbd's own unlinking never picks a pinned
// snapshot), creates a mirror snapshot, and prunes again. Images that are not
// primary or not in snapshot mode are reported in `skipped`, not as errors.
Result<SnapshotRun> CreatePrimarySnapshot(const IoCtx& ioctx, const ImageLocator& image,
                                          uint32_t flags);

}  // namespace mirror_snapshot
