#include "native/primary/primary_snapshots.h"

#include <algorithm>

#include <rados/librados.h>

#include "native/base/parse_unsigned.h"
#include "native/base/unix_clock.h"
#include "native/ceph/cls_encoding.h"
#include "native/ceph/rbd_object_names.h"
#include "native/primary/prune_policy.h"

namespace mirror_snapshot {
namespace {

Result<RbdImage> Open(const IoCtx& ioctx, const ImageLocator& image) {
  if (!image.id.empty()) return RbdImage::OpenById(ioctx, image.id);
  if (image.name.empty()) return Status::InvalidArgument("no image name or id given");
  return RbdImage::OpenByName(ioctx, image.name);
}

// Removes what the policy selects so that at most `keep` primary snapshots
// remain. The pins are read again right before: a secondary may have pinned
// a snapshot it started copying since the last read (the gap left is the
// time between this read and the removal; the secondary re-checks its source
// before it records a sync complete).
Status Prune(const RbdImage& image, uint64_t keep, SnapshotRun* run) {
  auto snapshots = image.MirrorSnapshots();
  if (!snapshots.ok()) return snapshots.status();
  auto pins = SyncPinnedSnapshots(image);
  if (!pins.ok()) return pins.status();
  run->pinned = pins.value();
  for (uint64_t id : SnapshotsToPrune(snapshots.value(), keep, run->pinned)) {
    Status s = image.RemoveSnapshot(id);
    if (!s.ok()) return s;
    run->pruned.push_back(id);
  }
  return Status::Ok();
}

// Common preamble: open, identify, check role and mode, read limit and pins.
Result<RbdImage> Prepare(const IoCtx& ioctx, const ImageLocator& locator, SnapshotRun* run) {
  auto image = Open(ioctx, locator);
  if (!image.ok()) return image.status();
  auto id = image.value().Id();
  if (!id.ok()) return id.status();
  run->image_id = id.value();
  auto mirror = image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  if (mirror.value().mode != MirrorMode::kSnapshot) {
    run->skipped = std::string("not in snapshot mirror mode (mirroring: ") +
                   ToString(mirror.value().mode) + ")";
  } else if (!mirror.value().primary) {
    run->skipped = "not primary (non-primary or demoted)";
  }
  if (!run->skipped.empty()) return image;
  auto keep = MaxMirroringSnapshots(image.value());
  if (!keep.ok()) return keep.status();
  run->keep = keep.value();
  auto pins = SyncPinnedSnapshots(image.value());
  if (!pins.ok()) return pins.status();
  run->pinned = pins.value();
  return image;
}

}  // namespace

Result<uint64_t> MaxMirroringSnapshots(const RbdImage& image) {
  auto text = image.ConfigValue("rbd_mirroring_max_mirroring_snapshots");
  if (!text.ok()) return text.status();
  const auto value = ParseUnsigned(text.value());
  if (!value) {
    return Status::InvalidArgument("rbd_mirroring_max_mirroring_snapshots is not a number: '" + text.value() + "'");
  }
  return std::max(*value, kMinMirroringSnapshots);
}

Result<std::vector<SecondarySyncPin>> ReadSyncPins(const RbdImage& image) {
  auto records = image.MetadataWithPrefix(kSyncPinPrefix);
  if (!records.ok()) return records.status();
  std::vector<SecondarySyncPin> pins;
  const size_t prefix = std::string(kSyncPinPrefix).size();
  for (const auto& [key, value] : records.value()) pins.push_back({key.substr(prefix), ParseSyncPin(value)});
  return pins;
}

Result<std::set<uint64_t>> SyncPinnedSnapshots(const RbdImage& image) {
  auto pins = ReadSyncPins(image);
  if (!pins.ok()) return pins.status();
  std::set<uint64_t> pinned;
  for (const auto& [fsid, pin] : pins.value()) {
    if (!pin) continue;  // unreadable records pin nothing; status reports them
    if (pin->from_snap_id) pinned.insert(*pin->from_snap_id);
    pinned.insert(pin->to_snap_id);
  }
  return pinned;
}

Status WriteSyncPin(const IoCtx& image_io, const std::string& image_id, const std::string& secondary_fsid,
                    std::optional<uint64_t> from, uint64_t to) {
  SyncPin pin;
  pin.from_snap_id = from;
  pin.to_snap_id = to;
  pin.updated = UnixNow();
  const std::string key = kSyncPinPrefix + secondary_fsid;
  const std::string in = MetadataSetInput(key, FormatSyncPin(pin));
  const std::string header = HeaderObjectName(image_id);
  const int rc = rados_exec(image_io.handle(), header.c_str(), "rbd", "metadata_set", in.data(), in.size(), nullptr, 0);
  if (rc < 0) return Status::FromErrno(rc, "setting metadata '" + key + "' of image " + image_id);
  return Status::Ok();
}

Result<SnapshotRun> CreatePrimarySnapshot(const IoCtx& ioctx, const ImageLocator& locator,
                                          uint32_t flags) {
  SnapshotRun run;
  auto image = Prepare(ioctx, locator, &run);
  if (!image.ok()) return image.status();
  if (!run.skipped.empty()) return run;
  Status s = Prune(image.value(), run.keep - 1, &run);
  if (!s.ok()) return s;
  auto snap_id = image.value().CreateMirrorSnapshot(flags);
  if (!snap_id.ok()) return snap_id.status();
  run.snap_id = snap_id.value();
  s = Prune(image.value(), run.keep, &run);
  if (!s.ok()) return s;
  return run;
}

}  // namespace mirror_snapshot
