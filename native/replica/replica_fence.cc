#include "native/replica/replica_fence.h"

#include <rados/librados.hpp>
#include <rbd/features.h>
#include <rbd/librbd.h>

#include <cerrno>
#include <list>
#include <utility>

#include "native/ceph/cls_encoding.h"
#include "native/ceph/data_objects.h"
#include "native/ceph/rbd_object_names.h"

namespace mirror_snapshot {
namespace {

constexpr uint64_t kNotifyTimeoutMs = 5000;

}  // namespace

Status SetReplicaFence(const IoCtx& header_io, const std::string& image_id, bool fenced) {
  // cls_rbd set_features: u64 features, u64 mask.
  std::string in;
  AppendLe(&in, fenced ? RBD_FEATURE_NON_PRIMARY : 0, 8);
  AppendLe(&in, RBD_FEATURE_NON_PRIMARY, 8);
  const std::string header = HeaderObjectName(image_id);
  int rc = rados_exec(header_io.handle(), header.c_str(), "rbd", "set_features", in.data(), in.size(), nullptr, 0);
  if (rc < 0) {
    return Status::FromErrno(rc, std::string(fenced ? "fencing" : "lifting the fence of") + " image " + image_id +
                                     " in '" + header_io.Describe() + "'");
  }
  // An empty notification is a header update to librbd: open handles
  // refresh before their next operation and see the bit.
  char* reply = nullptr;
  size_t reply_length = 0;
  rc = rados_notify2(header_io.handle(), header.c_str(), nullptr, 0, kNotifyTimeoutMs, &reply, &reply_length);
  if (reply != nullptr) rados_buffer_free(reply);
  // A client that does not answer refreshes when its watch is re-established.
  if (rc < 0 && rc != -ETIMEDOUT) {
    return Status::FromErrno(rc, "notifying the clients of image " + image_id + " in '" + header_io.Describe() + "'");
  }
  return Status::Ok();
}

Result<bool> IsFenced(const RbdImage& image) {
  uint64_t features = 0;
  const int rc = rbd_get_features(image.handle(), &features);
  if (rc < 0) return Status::FromErrno(rc, "reading features of '" + image.spec() + "'");
  return (features & RBD_FEATURE_NON_PRIMARY) != 0;
}

Result<bool> UntouchedSinceStep(const RbdImage& image, const std::string& step_lock_owner) {
  auto fenced = IsFenced(image);
  if (!fenced.ok()) return fenced.status();
  if (fenced.value()) return true;
  auto owners = image.LockOwners();
  if (!owners.ok()) return owners.status();
  return !step_lock_owner.empty() && owners.value() == std::vector<std::string>{step_lock_owner};
}

Result<bool> OpenElsewhere(const RadosCluster& cluster, const RbdImage& image) {
  auto watchers = HeaderWatchers(cluster, image);
  if (!watchers.ok()) return watchers.status();
  const auto self = static_cast<int64_t>(cluster.InstanceId());
  for (const auto& w : watchers.value()) {
    if (w.watcher_id != self) return true;
  }
  return false;
}

Status LiftReplicaFence(const IoCtx& io, const std::string& name, RbdImage* image) {
  auto fenced = IsFenced(*image);
  if (!fenced.ok()) return fenced.status();
  if (!fenced.value()) return Status::Ok();
  auto id = image->Id();
  if (!id.ok()) return id.status();
  Status status = SetReplicaFence(io, id.value(), false);
  if (!status.ok()) return status;
  auto reopened = RbdImage::OpenByName(io, name);
  if (!reopened.ok()) return reopened.status();
  *image = std::move(reopened).value();
  return Status::Ok();
}

Result<ReplicaHold> ReplicaHold::Take(const RadosCluster& cluster, const RbdImage& image) {
  auto id = image.Id();
  if (!id.ok()) return id.status();
  auto header_io = IoCtx::OpenById(cluster, image.pool_id(), image.ns());
  if (!header_io.ok()) return header_io.status();
  auto lock = ExclusiveLockHold::Take(image, "a sync of the secondary image");
  if (!lock.ok()) return lock.status();
  return ReplicaHold(std::move(header_io).value(), id.value(), std::move(lock).value());
}

ReplicaHold::ReplicaHold(ReplicaHold&& other) noexcept
    : header_io_(std::move(other.header_io_)),
      image_id_(std::move(other.image_id_)),
      lock_(std::move(other.lock_)),
      released_(std::exchange(other.released_, true)) {}

// A destructor cannot report. A replica left unfenced by a failed re-fence is
// fenced again by the next step's hold, and a write that slipped in meanwhile
// is caught by CheckUnchangedSince before any snapshot is recorded complete.
ReplicaHold::~ReplicaHold() { Release().IgnoreError(); }

Status ReplicaHold::Release() {
  if (released_) return Status::Ok();
  released_ = true;
  // Fenced first, released second: no client gets the lock of an unfenced replica.
  Status fenced = SetReplicaFence(header_io_, image_id_, true);
  lock_.Release();
  return fenced;
}

}  // namespace mirror_snapshot
