// Fencing a replica against clients, the way Ceph fences rbd-mirror's
// non-primary images: the image carries librbd's NON_PRIMARY feature bit, so
// every librbd client opens it read-only, and its writes, resizes and
// snapshot creates, removes, renames and rollbacks fail with EROFS.
//
// The replayer lifts the bit only for one step, and holds the image's
// exclusive lock in exclusive mode for that step (librbd then refuses to
// hand the lock to another client, whose writes fail with EROFS as well);
// the bit is set again when the step ends. A crash in between leaves the bit
// lifted and the dead holder's lock in place: the next step finds out from
// the lock whether anyone else held the image meanwhile (image_replayer.cc).
#pragma once

#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/exclusive_lock_hold.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

// Sets or clears the NON_PRIMARY bit of the image `image_id` (cls_rbd
// set_features) and tells open handles to refresh (a header update notify).
Status SetReplicaFence(const IoCtx& header_io, const std::string& image_id, bool fenced);

// Whether `image` carries the bit.
Result<bool> IsFenced(const RbdImage& image);

// Whether nobody but the replayer can have written `image` since the step
// whose lock owner was `step_lock_owner` ("" if unknown): it stayed fenced,
// or that step's lock is still its only holder (a client must break it to
// write).
Result<bool> UntouchedSinceStep(const RbdImage& image, const std::string& step_lock_owner);

// Whether a client other than `cluster`'s watches the image's header: has
// it open, and so could have written it while the fence was lifted.
Result<bool> OpenElsewhere(const RadosCluster& cluster, const RbdImage& image);

// Lifts the fence of `*image` (named `name` in `io`) for good or for a step.
// A handle opened while the bit was set stays read-only, so `*image` is
// reopened when the bit was set.
Status LiftReplicaFence(const IoCtx& io, const std::string& name, RbdImage* image);

// One step's hold on a replica whose fence is lifted: the exclusive lock in
// exclusive mode (exclusive_lock_hold.h). Releasing it (or destroying it)
// sets the fence again, then releases the lock.
class ReplicaHold {
 public:
  // EBUSY with a message when another client holds the lock and does not let go.
  static Result<ReplicaHold> Take(const RadosCluster& cluster, const RbdImage& image);

  ReplicaHold(ReplicaHold&& other) noexcept;
  ReplicaHold& operator=(ReplicaHold&&) = delete;
  ReplicaHold(const ReplicaHold&) = delete;
  ReplicaHold& operator=(const ReplicaHold&) = delete;
  ~ReplicaHold();

  // This client's name as a lock owner ("client.<id>").
  const std::string& owner() const { return lock_.owner(); }
  // Fences the image again, then releases the lock.
  Status Release();

 private:
  ReplicaHold(IoCtx header_io, std::string image_id, ExclusiveLockHold lock)
      : header_io_(std::move(header_io)), image_id_(std::move(image_id)), lock_(std::move(lock)) {}

  IoCtx header_io_;
  std::string image_id_;
  ExclusiveLockHold lock_;
  bool released_ = false;
};

}  // namespace mirror_snapshot
