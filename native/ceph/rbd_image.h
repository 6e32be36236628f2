// RbdImage: an open librbd image (rbd_image_t), closed on destruction, with
// the few queries and operations the module needs.
#pragma once

#include <rbd/librbd.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"

namespace mirror_snapshot {

enum class MirrorMode { kDisabled, kJournal, kSnapshot };
const char* ToString(MirrorMode mode);

struct MirrorInfo {
  MirrorMode mode = MirrorMode::kDisabled;
  bool primary = false;
  std::string global_id;
  bool disabling = false;  // a mirror disable stopped half-way (mode reads kDisabled)
};

enum class MirrorSnapshotState { kPrimary, kPrimaryDemoted, kNonPrimary, kNonPrimaryDemoted };
const char* ToString(MirrorSnapshotState state);

struct MirrorSnapshot {
  uint64_t id = 0;
  std::string name;
  int64_t timestamp = 0;  // seconds since the epoch
  MirrorSnapshotState state = MirrorSnapshotState::kPrimary;
  bool complete = false;
  std::vector<std::string> peer_uuids;
  std::string primary_mirror_uuid;
  uint64_t primary_snap_id = 0;

  bool is_primary() const {
    return state == MirrorSnapshotState::kPrimary || state == MirrorSnapshotState::kPrimaryDemoted;
  }
};

struct SnapshotInfo {
  uint64_t id = 0;
  std::string name;
  uint64_t size = 0;
};

// The snapshot a clone was made from.
struct ParentSpec {
  std::string pool;
  std::string ns;
  std::string image_name;
  std::string image_id;
  std::string snap_name;
  uint64_t snap_id = 0;
};

class RbdImage {
 public:
  // ENOENT "image 'pool/name' does not exist" when missing.
  static Result<RbdImage> OpenByName(const IoCtx& ioctx, const std::string& name);
  static Result<RbdImage> OpenById(const IoCtx& ioctx, const std::string& id);

  RbdImage(RbdImage&& other) noexcept;
  RbdImage& operator=(RbdImage&& other) noexcept;
  RbdImage(const RbdImage&) = delete;
  RbdImage& operator=(const RbdImage&) = delete;
  ~RbdImage();

  rbd_image_t handle() const { return image_; }
  const std::string& spec() const { return spec_; }  // "pool[/ns]/name" or "pool[/ns]/id:<id>"
  const std::string& ns() const { return ns_; }       // the namespace it was opened in
  int64_t pool_id() const { return pool_id_; }         // the pool of its header (not its data pool)

  Result<std::string> Id() const;
  Result<MirrorInfo> Mirror() const;
  // Mirror snapshots only (user snapshots are skipped), oldest first.
  Result<std::vector<MirrorSnapshot>> MirrorSnapshots() const;
  Result<uint64_t> CreateMirrorSnapshot(uint32_t flags) const;
  // User-namespace snapshots only, oldest first.
  Result<std::vector<SnapshotInfo>> UserSnapshots() const;
  // Creates a user snapshot (an existing one of that name is kept); its id.
  Result<uint64_t> CreateSnapshot(const std::string& name) const;
  Result<uint64_t> Size() const;
  // The clone's parent (at the snapshot the image is set to), nullopt if none.
  Result<std::optional<ParentSpec>> Parent() const;
  // How much of a clone reads through to its parent (at the snapshot the
  // image is set to): what is past it reads zeros. nullopt if no parent.
  Result<std::optional<uint64_t>> ParentOverlap() const;
  Status RemoveSnapshot(uint64_t snap_id) const;
  // Removes user snapshot `name`, unprotecting it first if it is protected
  // (EBUSY if it has clones). Missing: not an error.
  Status RemoveUserSnapshot(const std::string& name) const;
  // The id of a user snapshot, nullopt if there is none of that name.
  Result<std::optional<uint64_t>> SnapshotIdByName(const std::string& name) const;
  // The image size at snapshot `snap_id` (any namespace).
  Result<uint64_t> SnapshotSize(uint64_t snap_id) const;
  Status Resize(uint64_t size) const;
  // Reads (and the size, parent and overlap asked for) from snapshot
  // `snap_id` (any namespace) until SetHead(); writes are refused meanwhile.
  Status SetSnapshot(uint64_t snap_id) const;
  Status SetHead() const;
  // Takes the exclusive lock for this handle (librbd keeps it until close or
  // a peer asks for it); EROFS and the like when the image refuses writers.
  Status AcquireExclusiveLock() const;
  // Clients holding the image's exclusive lock (a writer is active), e.g.
  // "client.4123"; empty when none does (or exclusive-lock is off).
  Result<std::vector<std::string>> LockOwners() const;

  // Ceph's own mirroring state changes (librbd rbd_mirror_image_*).
  Status EnableSnapshotMirroring() const;
  // Journal mode: the image needs the journaling feature (EnableJournaling).
  Status EnableJournalMirroring() const;
  Status EnableJournaling() const;  // done already: Ok
  Status DisableJournaling() const;  // done already: Ok
  Status DisableMirroring(bool force) const;
  Status DemoteMirroring() const;
  Status PromoteMirroring(bool force) const;
  // The effective value of an rbd_* option for this image, image and pool
  // overrides included, as librbd itself sees it.
  Result<std::string> ConfigValue(const std::string& option) const;
  // Image metadata (image-meta) keys starting with prefix.
  Result<std::map<std::string, std::string>> MetadataWithPrefix(const std::string& prefix) const;
  // One metadata value; nullopt when the key is not set.
  Result<std::optional<std::string>> Metadata(const std::string& key) const;
  Status SetMetadata(const std::string& key, const std::string& value) const;
  Status RemoveMetadata(const std::string& key) const;

 private:
  RbdImage(rbd_image_t image, std::string spec, std::string ns, int64_t pool_id)
      : image_(image), spec_(std::move(spec)), ns_(std::move(ns)), pool_id_(pool_id) {}

  rbd_image_t image_ = nullptr;
  std::string spec_;
  std::string ns_;
  int64_t pool_id_ = -1;
};

}  // namespace mirror_snapshot
