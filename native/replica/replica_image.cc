#include "native/replica/replica_image.h"

#include <rados/librados.hpp>
#include <rbd/features.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "native/ceph/cls_encoding.h"
#include "native/ceph/data_objects.h"
#include "native/ceph/header_metadata_writer.h"
#include "native/ceph/pool_images.h"
#include "native/ceph/rbd_object_names.h"
#include "native/replica/replica_fence.h"

namespace mirror_snapshot {
namespace {

// Features a replica carries over from its primary. Journaling, striping
// and the internal flags (operations, migrating, non-primary) are not.
constexpr uint64_t kReplicatedFeatures = RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK | RBD_FEATURE_OBJECT_MAP |
                                         RBD_FEATURE_FAST_DIFF | RBD_FEATURE_DEEP_FLATTEN;

class ImageOptions {
 public:
  ImageOptions() { rbd_image_options_create(&options_); }
  ~ImageOptions() { rbd_image_options_destroy(options_); }
  ImageOptions(const ImageOptions&) = delete;
  ImageOptions& operator=(const ImageOptions&) = delete;
  rbd_image_options_t get() const { return options_; }

 private:
  rbd_image_options_t options_ = nullptr;
};

Status EnsureNamespace(const RadosCluster& local, const std::string& pool, const std::string& ns) {
  if (ns.empty()) return Status::Ok();
  auto io = IoCtx::Open(local, pool);
  if (!io.ok()) return io.status();
  bool exists = false;
  int rc = rbd_namespace_exists(io.value().handle(), ns.c_str(), &exists);
  if (rc < 0) return Status::FromErrno(rc, "checking namespace '" + pool + "/" + ns + "'");
  if (exists) return Status::Ok();
  rc = rbd_namespace_create(io.value().handle(), ns.c_str());
  if (rc < 0 && rc != -EEXIST) return Status::FromErrno(rc, "creating namespace '" + pool + "/" + ns + "'");
  return Status::Ok();
}

// The name of the primary's separate data pool ("" when it has none).
Result<std::string> DataPoolName(const RadosCluster& remote_cluster, const RbdImage& remote, uint64_t features) {
  if ((features & RBD_FEATURE_DATA_POOL) == 0) return std::string();
  const int64_t data_pool = rbd_get_data_pool_id(remote.handle());
  if (data_pool < 0) return Status::FromErrno(static_cast<int>(data_pool), "reading the data pool of '" + remote.spec() + "'");
  char name[512] = {0};
  const int rc = rados_pool_reverse_lookup(remote_cluster.handle(), data_pool, name, sizeof(name));
  if (rc < 0) return Status::FromErrno(rc, "looking up the data pool of '" + remote.spec() + "'");
  return std::string(name);
}

// Features, object size and data pool of `remote`, as image options.
Status LikeRemote(const RadosCluster& remote_cluster, const RbdImage& remote, const ImageOptions& options,
                  uint64_t* size, std::string* data_pool_name) {
  uint64_t features = 0;
  int rc = rbd_get_features(remote.handle(), &features);
  if (rc < 0) return Status::FromErrno(rc, "reading features of '" + remote.spec() + "'");
  rbd_image_info_t info{};
  rc = rbd_stat(remote.handle(), &info, sizeof(info));
  if (rc < 0) return Status::FromErrno(rc, "reading the layout of '" + remote.spec() + "'");
  auto data_pool = DataPoolName(remote_cluster, remote, features);
  if (!data_pool.ok()) return data_pool.status();
  rbd_image_options_set_uint64(options.get(), RBD_IMAGE_OPTION_FEATURES, features & kReplicatedFeatures);
  rbd_image_options_set_uint64(options.get(), RBD_IMAGE_OPTION_ORDER, static_cast<uint64_t>(info.order));
  if (!data_pool.value().empty()) {
    rbd_image_options_set_string(options.get(), RBD_IMAGE_OPTION_DATA_POOL, data_pool.value().c_str());
  }
  *size = info.size;
  *data_pool_name = data_pool.value();
  return Status::Ok();
}

Status CreateLike(const IoCtx& io, const std::string& name, const RadosCluster& remote_cluster,
                  const RbdImage& remote) {
  ImageOptions options;
  uint64_t size = 0;
  std::string data_pool;
  Status status = LikeRemote(remote_cluster, remote, options, &size, &data_pool);
  if (!status.ok()) return status;
  const int rc = rbd_create4(io.handle(), name.c_str(), size, options.get());
  if (rc == -ENOENT && !data_pool.empty()) {
    return Status::NotFound("data pool '" + data_pool + "' of '" + remote.spec() + "' does not exist on this cluster");
  }
  if (rc < 0 && rc != -EEXIST) return Status::FromErrno(rc, "creating image '" + io.Describe() + "/" + name + "'");
  return Status::Ok();
}

// A clone of the primary's parent snapshot as replicated here (same pool,
// namespace, image and snapshot names). EAGAIN while the parent (or its
// snapshot) has not been replicated yet.
Status CloneLike(const RadosCluster& local, const IoCtx& io, const std::string& name,
                 const RadosCluster& remote_cluster, const RbdImage& remote, const ParentSpec& parent) {
  const std::string parent_spec = (parent.ns.empty() ? parent.pool : parent.pool + "/" + parent.ns) + "/" +
                                  parent.image_name + "@" + parent.snap_name;
  const Status not_yet = Status::Error(EAGAIN, "parent '" + parent_spec + "' of '" + remote.spec() +
                                                   "' is not replicated on this site yet");
  auto parent_io = IoCtx::Open(local, parent.pool, parent.ns);
  if (!parent_io.ok()) return parent_io.status().code() == ENOENT ? not_yet : parent_io.status();
  auto parent_image = RbdImage::OpenByName(parent_io.value(), parent.image_name);
  if (!parent_image.ok()) return parent_image.status().code() == ENOENT ? not_yet : parent_image.status();
  uint64_t snap_id = 0;
  if (rbd_snap_get_id(parent_image.value().handle(), parent.snap_name.c_str(), &snap_id) < 0) return not_yet;
  int is_protected = 0;
  int rc = rbd_snap_is_protected(parent_image.value().handle(), parent.snap_name.c_str(), &is_protected);
  if (rc < 0) return Status::FromErrno(rc, "checking protection of '" + parent_spec + "'");
  if (!is_protected) {  // clone format 1 needs it; harmless with format 2
    // The parent is a replica, fenced against clients (replica_fence.h):
    // lifted for the protect only.
    auto fenced = IsFenced(parent_image.value());
    if (!fenced.ok()) return fenced.status();
    auto parent_id = parent_image.value().Id();
    if (!parent_id.ok()) return parent_id.status();
    Status status = LiftReplicaFence(parent_io.value(), parent.image_name, &parent_image.value());
    if (!status.ok()) return status;
    rc = rbd_snap_protect(parent_image.value().handle(), parent.snap_name.c_str());
    if (fenced.value()) {
      status = SetReplicaFence(parent_io.value(), parent_id.value(), true);
      if (!status.ok()) return status;
    }
    if (rc < 0 && rc != -EBUSY) return Status::FromErrno(rc, "protecting '" + parent_spec + "'");
  }
  ImageOptions options;
  uint64_t size = 0;
  std::string data_pool;
  Status status = LikeRemote(remote_cluster, remote, options, &size, &data_pool);
  if (!status.ok()) return status;
  rc = rbd_clone3(parent_io.value().handle(), parent.image_name.c_str(), parent.snap_name.c_str(), io.handle(),
                  name.c_str(), options.get());
  if (rc < 0 && rc != -EEXIST) {
    return Status::FromErrno(rc, "cloning '" + parent_spec + "' as '" + io.Describe() + "/" + name + "'");
  }
  return Status::Ok();
}

int StopAtFirstExtent(uint64_t, size_t, int, void* found) {
  *static_cast<bool*>(found) = true;
  return -ECANCELED;
}

// An image we may adopt as a replica: no snapshots and no data.
Result<bool> Blank(const RbdImage& image) {
  auto snaps = image.UserSnapshots();
  if (!snaps.ok()) return snaps.status();
  if (!snaps.value().empty()) return false;
  auto size = image.Size();
  if (!size.ok()) return size.status();
  bool found = false;
  const int rc = rbd_diff_iterate2(image.handle(), nullptr, 0, size.value(), 0, 1, &StopAtFirstExtent, &found);
  if (rc < 0 && rc != -ECANCELED) return Status::FromErrno(rc, "reading the extents of '" + image.spec() + "'");
  return !found;
}

// The replica record of image `image_id`, read from its header without
// opening the image (cls_rbd metadata_get); nullopt when it has none.
Result<std::optional<ReplicaState>> RecordOf(const IoCtx& io, const std::string& image_id) {
  librados::IoCtx objects;
  librados::IoCtx::from_rados_ioctx_t(io.handle(), objects);
  std::string key;
  AppendBytes(&key, kReplicaStateKey);
  librados::bufferlist in;
  librados::bufferlist out;
  in.append(key);
  const int rc = objects.exec(HeaderObjectName(image_id), "rbd", "metadata_get", in, out);
  if (rc == -ENOENT) return std::optional<ReplicaState>();
  if (rc < 0) {
    return Status::FromErrno(rc, "reading the replica record of image " + image_id + " in " + io.Describe());
  }
  const std::string encoded = out.to_str();  // a string: u32 length, then the bytes
  if (encoded.size() < 4) return std::optional<ReplicaState>();
  return DecodeReplicaState(encoded.substr(4));
}

// The name of the image in `io` that replicates primary image `global_id`,
// nullopt when there is none.
Result<std::optional<std::string>> FindReplicaOf(const IoCtx& io, const std::string& global_id) {
  auto images = ListImages(io);
  if (!images.ok()) return images.status();
  for (const auto& [id, name] : images.value()) {
    auto record = RecordOf(io, id);
    if (!record.ok()) {
      if (record.status().code() == ENOENT) continue;  // removed since it was listed
      return record.status();
    }
    if (record.value() && record.value()->global_id == global_id) return std::optional<std::string>(name);
  }
  return std::optional<std::string>();
}

// Renames replica `from` to `to`. Its fence (replica_fence.h) refuses a
// client's rename: lifted for ours, and put back as it was.
Status RenameReplica(const IoCtx& io, const std::string& from, const std::string& to) {
  std::string id;
  bool fenced = false;
  {  // closed before the rename
    auto image = RbdImage::OpenByName(io, from);
    if (!image.ok()) return image.status();
    auto is_fenced = IsFenced(image.value());
    if (!is_fenced.ok()) return is_fenced.status();
    auto image_id = image.value().Id();
    if (!image_id.ok()) return image_id.status();
    id = image_id.value();
    fenced = is_fenced.value();
  }
  if (fenced) {
    Status status = SetReplicaFence(io, id, false);
    if (!status.ok()) return status;
  }
  const int rc = rbd_rename(io.handle(), from.c_str(), to.c_str());
  if (fenced) {
    Status status = SetReplicaFence(io, id, true);
    if (!status.ok()) return status;
  }
  if (rc < 0) {
    return Status::FromErrno(rc, "renaming replica '" + io.Describe() + "/" + from + "' to '" + to +
                                     "' as its primary was renamed");
  }
  return Status::Ok();
}

}  // namespace

Result<std::optional<ReplicaState>> ReadReplicaState(const RbdImage& local) {
  auto meta = local.Metadata(kReplicaStateKey);
  if (!meta.ok()) return meta.status();
  if (!meta.value()) return std::optional<ReplicaState>();
  auto state = DecodeReplicaState(*meta.value());
  if (!state) return Status::Error(EINVAL, "image '" + local.spec() + "' has an unreadable replica record");
  return std::optional<ReplicaState>(*state);
}

Status WriteReplicaState(const RbdImage& local, const ReplicaState& state) {
  return local.SetMetadata(kReplicaStateKey, EncodeReplicaState(state));
}

Status RecordInFlightDoubt(const RadosCluster& cluster, const RbdImage& local, ReplicaState* state) {
  if (!state->in_flight() || state->inflight_doubtful) return Status::Ok();
  state->inflight_doubtful = true;
  auto writer = HeaderMetadataWriter::Open(cluster, local);
  if (!writer.ok()) return writer.status();
  writer.value().Set(kReplicaStateKey, EncodeReplicaState(*state));
  return writer.value().Drain();
}

Result<std::string> SeparateDataPool(const RadosCluster& cluster, const RbdImage& image) {
  uint64_t features = 0;
  const int rc = rbd_get_features(image.handle(), &features);
  if (rc < 0) return Status::FromErrno(rc, "reading features of '" + image.spec() + "'");
  return DataPoolName(cluster, image, features);
}

Result<RbdImage> OpenOrCreateReplica(const RadosCluster& local, const std::string& pool, const std::string& ns,
                                     const std::string& name, const RadosCluster& remote_cluster,
                                     const RbdImage& remote, const ReplicaState& identity,
                                     ReplicaState* state) {
  Status status = EnsureNamespace(local, pool, ns);
  if (!status.ok()) return status;
  auto io = IoCtx::Open(local, pool, ns);
  if (!io.ok()) return io.status();
  auto image = RbdImage::OpenByName(io.value(), name);
  if (!image.ok() && image.status().code() == ENOENT) {
    // The primary renamed? Its replica is found by the primary's global id, never by name.
    auto renamed = FindReplicaOf(io.value(), identity.global_id);
    if (!renamed.ok()) return renamed.status();
    if (renamed.value()) {
      status = RenameReplica(io.value(), *renamed.value(), name);
      if (!status.ok()) return status;
      image = RbdImage::OpenByName(io.value(), name);
    }
  }
  if (!image.ok() && image.status().code() == ENOENT) {
    auto parent = remote.Parent();
    if (!parent.ok()) return parent.status();
    status = parent.value() ? CloneLike(local, io.value(), name, remote_cluster, remote, *parent.value())
                            : CreateLike(io.value(), name, remote_cluster, remote);
    if (!status.ok()) return status;
    image = RbdImage::OpenByName(io.value(), name);
  }
  if (!image.ok()) return image.status();
  auto mirror = image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  if (mirror.value().mode != MirrorMode::kDisabled) {
    return Status::Error(EEXIST, "image '" + image.value().spec() +
                                     "' is mirrored by Ceph itself on this site (rbd-mirror's); give the pool to one "
                                     "replayer (module option replay_skip_pools)");
  }

  auto existing = image.value().Metadata(kReplicaStateKey);
  if (!existing.ok()) return existing.status();
  std::optional<ReplicaState> decoded;
  if (existing.value()) {
    decoded = DecodeReplicaState(*existing.value());
    if (!decoded) {
      return Status::Error(EINVAL, "image '" + image.value().spec() + "' has an unreadable " +
                                       std::string(kReplicaStateKey) + " record");
    }
    if (decoded->global_id == identity.global_id) {
      *state = *decoded;
      return image;
    }
  }
  // No record of ours, or another image's: a clone inherits its parent's
  // metadata. Only an image with no snapshots and no data is taken over.
  auto blank = Blank(image.value());
  if (!blank.ok()) return blank.status();
  if (!blank.value()) {
    if (decoded) {
      return Status::Error(EEXIST, "image '" + image.value().spec() + "' replicates another image (global id " +
                                       decoded->global_id + ", not " + identity.global_id + ")");
    }
    return Status::Error(EEXIST, "image '" + image.value().spec() +
                                     "' exists on this site and is not a replica: rename or remove it");
  }
  *state = identity;
  status = WriteReplicaState(image.value(), *state);
  if (!status.ok()) return status;
  return image;
}

namespace {

int CollectExtent(uint64_t offset, size_t length, int, void* arg) {
  static_cast<std::vector<std::pair<uint64_t, uint64_t>>*>(arg)->emplace_back(offset, length);
  return 0;
}

// An image handle opened read-only at a snapshot.
class SnapshotReader {
 public:
  SnapshotReader() = default;
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;
  ~SnapshotReader() {
    if (image_ != nullptr) rbd_close(image_);
  }
  int Open(const IoCtx& io, const std::string& name, const std::string& snap) {
    return rbd_open_read_only(io.handle(), name.c_str(), &image_, snap.c_str());
  }
  rbd_image_t handle() const { return image_; }

 private:
  rbd_image_t image_ = nullptr;
};

// The image's name: the last part of its spec.
std::string ImageName(const RbdImage& image) {
  const std::string& spec = image.spec();
  return spec.substr(spec.rfind('/') + 1);
}

// Whether HEAD reads differently from the snapshot in any of `extents`.
// librbd's diff is conservative: after a RADOS rollback of an object to the
// snapshot (head_rollback.h) its clone overlap says "changed" where the data
// is the same, so the data decides.
Result<bool> ReadsDifferently(const IoCtx& io, const RbdImage& local, const std::string& snap_name,
                              const std::vector<std::pair<uint64_t, uint64_t>>& extents) {
  const std::string& spec = local.spec();
  SnapshotReader at_snap;
  int rc = at_snap.Open(io, ImageName(local), snap_name);
  if (rc < 0) return Status::FromErrno(rc, "opening '" + spec + "' at snapshot '" + snap_name + "'");
  constexpr uint64_t kChunk = 4ull << 20;
  std::string head(kChunk, '\0');
  std::string snap(kChunk, '\0');
  for (const auto& [offset, length] : extents) {
    for (uint64_t done = 0; done < length;) {
      const uint64_t n = std::min(kChunk, length - done);
      const ssize_t a = rbd_read(local.handle(), offset + done, n, head.data());
      const ssize_t b = rbd_read(at_snap.handle(), offset + done, n, snap.data());
      if (a < 0) return Status::FromErrno(static_cast<int>(a), "reading '" + spec + "'");
      if (b < 0) return Status::FromErrno(static_cast<int>(b), "reading '" + spec + "@" + snap_name + "'");
      if (a != b || std::memcmp(head.data(), snap.data(), static_cast<size_t>(a)) != 0) return true;
      done += n;
    }
  }
  return false;
}

}  // namespace

Result<std::optional<uint64_t>> ParentOverlapAt(const RbdImage& remote, uint64_t snap_id) {
  Status status = remote.SetSnapshot(snap_id);
  if (!status.ok()) return status;
  auto overlap = remote.ParentOverlap();
  status = remote.SetHead();
  if (!overlap.ok()) return overlap.status();
  if (!status.ok()) return status;
  return overlap;
}

Status LowerParentOverlap(const RadosCluster& cluster, const RbdImage& local, uint64_t overlap) {
  auto current = local.ParentOverlap();
  if (!current.ok()) return current.status();
  if (!current.value() || *current.value() <= overlap) return Status::Ok();
  auto size = local.Size();
  if (!size.ok()) return size.status();
  auto id = local.Id();
  if (!id.ok()) return id.status();
  auto header = OpenHeaderObjects(cluster, local);
  if (!header.ok()) return header.status();
  // cls_rbd set_size lowers the overlap when it shrinks the image; set back
  // to its size in the same (atomic) operation, no object is touched.
  auto set_size = [](uint64_t bytes) {
    std::string in;
    AppendLe(&in, bytes, 8);
    librados::bufferlist bl;
    bl.append(in);
    return bl;
  };
  librados::bufferlist down = set_size(overlap);
  librados::bufferlist back = set_size(size.value());
  librados::ObjectWriteOperation op;
  op.exec("rbd", "set_size", down);
  op.exec("rbd", "set_size", back);
  const std::string object = HeaderObjectName(id.value());
  int rc = header.value().operate(object, &op);
  if (rc < 0) return Status::FromErrno(rc, "lowering the parent overlap of '" + local.spec() + "'");
  // A header update to librbd: open handles (this one too) refresh before
  // their next operation.
  librados::bufferlist empty;
  rc = header.value().notify2(object, empty, 5000, nullptr);
  if (rc < 0 && rc != -ETIMEDOUT) {
    return Status::FromErrno(rc, "notifying the clients of '" + local.spec() + "' of its new parent overlap");
  }
  auto now = local.ParentOverlap();
  if (!now.ok()) return now.status();
  if (!now.value() || *now.value() != overlap) {
    return Status::Error(EIO, "the parent overlap of '" + local.spec() + "' is " +
                                  (now.value() ? std::to_string(*now.value()) : std::string("gone")) +
                                  " after setting it to " + std::to_string(overlap));
  }
  return Status::Ok();
}

Status CheckUnchangedSince(const IoCtx& io, const RbdImage& local, const std::string& snap_name) {
  auto size = local.Size();
  if (!size.ok()) return size.status();
  // A resize first: librbd's diff does not see what a shrink removed.
  auto snap_id = local.SnapshotIdByName(snap_name);
  if (!snap_id.ok()) return snap_id.status();
  if (!snap_id.value()) {
    return Status::NotFound("snapshot '" + snap_name + "' of secondary image '" + local.spec() +
                            "' is gone (not removed by the replayer): the secondary needs a resync");
  }
  auto snap_size = local.SnapshotSize(*snap_id.value());
  if (!snap_size.ok()) return snap_size.status();
  if (snap_size.value() != size.value()) {
    return Status::Error(EBUSY, "secondary image '" + local.spec() + "' was resized since snapshot '" + snap_name +
                                    "' (" + std::to_string(snap_size.value()) + " -> " +
                                    std::to_string(size.value()) +
                                    " bytes, not by the replayer): replication stopped to keep both versions");
  }
  // A clone shrunk and regrown: the same size, a lower parent overlap.
  auto head_overlap = local.ParentOverlap();
  if (!head_overlap.ok()) return head_overlap.status();
  if (head_overlap.value()) {
    SnapshotReader at_snap;
    int rc = at_snap.Open(io, ImageName(local), snap_name);
    if (rc < 0) return Status::FromErrno(rc, "opening '" + local.spec() + "' at snapshot '" + snap_name + "'");
    uint64_t snap_overlap = 0;
    rc = rbd_get_overlap(at_snap.handle(), &snap_overlap);
    if (rc < 0 && rc != -ENOENT) {
      return Status::FromErrno(rc, "reading the parent overlap of '" + local.spec() + "@" + snap_name + "'");
    }
    if (rc == 0 && snap_overlap != *head_overlap.value()) {
      return Status::Error(EBUSY, "secondary image '" + local.spec() +
                                      "' had its parent overlap changed since snapshot '" + snap_name + "' (" +
                                      std::to_string(snap_overlap) + " -> " + std::to_string(*head_overlap.value()) +
                                      " bytes, not by the replayer: shrunk and regrown?): replication stopped to "
                                      "keep both versions");
    }
  }
  std::vector<std::pair<uint64_t, uint64_t>> changed;
  const int rc = rbd_diff_iterate2(local.handle(), snap_name.c_str(), 0, size.value(), 0, 1, &CollectExtent,
                                   &changed);
  if (rc < 0) {
    return Status::FromErrno(rc, "comparing '" + local.spec() + "' with its snapshot '" + snap_name + "'");
  }
  if (changed.empty()) return Status::Ok();
  auto differs = ReadsDifferently(io, local, snap_name, changed);
  if (!differs.ok()) return differs.status();
  if (differs.value()) {
    return Status::Error(EBUSY, "secondary image '" + local.spec() + "' was written since snapshot '" + snap_name +
                                    "' (not by the replayer): replication stopped to keep both writes");
  }
  return Status::Ok();
}

Status PruneReplicaSnapshots(const RbdImage& local, unsigned keep, uint64_t current) {
  auto snaps = local.UserSnapshots();
  if (!snaps.ok()) return snaps.status();
  std::vector<SnapshotInfo> ours;
  for (const auto& s : snaps.value()) {
    if (PrimarySnapIdOfLocalName(s.name)) ours.push_back(s);
  }
  keep = std::max(keep, 1u);
  if (ours.size() <= keep) return Status::Ok();
  for (size_t i = 0; i + keep < ours.size(); ++i) {
    if (ours[i].id == current) continue;
    const int rc = rbd_snap_remove_by_id(local.handle(), ours[i].id);
    if (rc < 0 && rc != -ENOENT) {
      return Status::FromErrno(rc, "removing snapshot '" + ours[i].name + "' of '" + local.spec() + "'");
    }
  }
  return Status::Ok();
}

}  // namespace mirror_snapshot
