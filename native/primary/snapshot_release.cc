#include "native/primary/snapshot_release.h"

#include <rados/librados.h>

#include <cerrno>
#include <set>

#include "native/ceph/cls_encoding.h"
#include "native/ceph/peers.h"
#include "native/ceph/rbd_object_names.h"
#include "native/primary/prune_policy.h"

namespace mirror_snapshot {
namespace {

// cls_rbd's input: snapid_t (u64) then the peer uuid (u32 length + bytes).
std::string UnlinkInput(uint64_t snap_id, const std::string& peer_uuid) {
  std::string in;
  AppendLe(&in, snap_id, 8);
  AppendBytes(&in, peer_uuid);
  return in;
}

// Snapshots other secondaries pinned (our own pin does not count).
std::set<uint64_t> PinnedByOthers(const RbdImage& remote, const std::string& own_pin_key) {
  std::set<uint64_t> pinned;
  auto records = remote.MetadataWithPrefix(kSyncPinPrefix);
  if (!records.ok()) return pinned;
  for (const auto& [key, value] : records.value()) {
    if (key == own_pin_key) continue;
    if (const auto pin = ParseSyncPin(value)) {
      if (pin->from_snap_id) pinned.insert(*pin->from_snap_id);
      pinned.insert(pin->to_snap_id);
    }
  }
  return pinned;
}

}  // namespace

Result<std::string> OurPeerUuidOnPrimary(const IoCtx& remote_pool, const std::string& local_site_name) {
  auto peers = ListPeerSites(remote_pool);
  if (!peers.ok()) return peers.status();
  for (const auto& peer : peers.value()) {
    if (peer.site_name == local_site_name) return peer.uuid;
  }
  return std::string();
}

unsigned ReleaseOlderPrimarySnapshots(const IoCtx& remote_image_io, const RbdImage& remote,
                                      const std::string& remote_image_id, const std::string& peer_uuid,
                                      const std::string& own_pin_key, uint64_t synced_snap_id) {
  if (peer_uuid.empty()) return 0;
  auto snaps = remote.MirrorSnapshots();
  if (!snaps.ok()) return 0;
  const std::string header = HeaderObjectName(remote_image_id);
  // A snapshot another secondary pins stays linked: librbd removes
  // snapshots that no peer is linked to at its next creation.
  const std::set<uint64_t> others = PinnedByOthers(remote, own_pin_key);
  unsigned released = 0;
  for (const auto& snap : snaps.value()) {
    if (snap.id >= synced_snap_id || !snap.is_primary() || others.count(snap.id) != 0) continue;
    bool linked = false;
    for (const auto& uuid : snap.peer_uuids) linked = linked || uuid == peer_uuid;
    if (!linked) continue;
    const std::string in = UnlinkInput(snap.id, peer_uuid);
    const int rc = rados_exec(remote_image_io.handle(), header.c_str(), "rbd", "mirror_image_snapshot_unlink_peer",
                              in.data(), in.size(), nullptr, 0);
    // ERESTART: we were its last peer and a newer snapshot exists, so cls_rbd
    // leaves the removal to us. A snapshot left with no peer goes too.
    // Best effort: a snapshot left behind pins nothing, and the primary's
    // pruning removes it with the older ones.
    if (rc == -ERESTART || (rc == 0 && snap.peer_uuids.size() == 1)) remote.RemoveSnapshot(snap.id).IgnoreError();
    if (rc == 0 || rc == -ERESTART) ++released;
  }
  return released;
}

}  // namespace mirror_snapshot
