// Telling the primary that this secondary no longer needs its older mirror
// snapshots, as rbd-mirror does: our peer uuid is unlinked from every primary
// snapshot older than the one just synced (cls_rbd
// mirror_image_snapshot_unlink_peer), and a snapshot no peer needs any more
// is removed. Without it librbd, at rbd_mirroring_max_mirroring_snapshots,
// unlinks "the newest previous" snapshot, which is exactly a secondary's
// sync base when it keeps up: `rbd mirror image snapshot` would then delete
// the base and force a full resync.
#pragma once

#include <cstdint>
#include <string>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

// The uuid under which the primary's pool knows this site (its peer record
// whose site name is ours); empty if there is none.
Result<std::string> OurPeerUuidOnPrimary(const IoCtx& remote_pool, const std::string& local_site_name);

// Unlinks `peer_uuid` from the primary's mirror snapshots older than
// `synced_snap_id`; removes those it was the last peer of, unless another
// secondary's sync pin holds them. Best effort: the number released.
unsigned ReleaseOlderPrimarySnapshots(const IoCtx& remote_image_io, const RbdImage& remote,
                                      const std::string& remote_image_id, const std::string& peer_uuid,
                                      const std::string& own_pin_key, uint64_t synced_snap_id);

}  // namespace mirror_snapshot
