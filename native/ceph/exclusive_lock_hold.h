// Holding an image's exclusive lock in exclusive mode for the length of one
// piece of work (a replay step, a role change): librbd then refuses to hand
// the lock to another client, whose writes and maintenance operations fail
// (EROFS) instead of going in under our feet.
//
// The hold borrows the caller's open handle: every librbd call that must run
// as the lock owner goes through that same handle, which outlives the hold.
#pragma once

#include <rados/librados.hpp>
#include <rbd/librbd.h>

#include <list>
#include <string>

#include "native/base/result.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

class ExclusiveLockHold {
 public:
  // Takes the lock of `image` (enabling the exclusive-lock feature first if
  // the image lacks it). A lock left by a client that died is broken by
  // librbd; EBUSY with a message when a live client holds it and does not
  // let go. `doing` words the refusal ("promoting it").
  static Result<ExclusiveLockHold> Take(const RbdImage& image, const std::string& doing);

  ExclusiveLockHold(ExclusiveLockHold&& other) noexcept;
  ExclusiveLockHold& operator=(ExclusiveLockHold&&) = delete;
  ExclusiveLockHold(const ExclusiveLockHold&) = delete;
  ExclusiveLockHold& operator=(const ExclusiveLockHold&) = delete;
  ~ExclusiveLockHold();

  // This client's name as a lock owner ("client.<id>").
  const std::string& owner() const { return owner_; }
  // Releases the lock (a refresh may have released it already).
  void Release();

 private:
  ExclusiveLockHold(rbd_image_t handle, std::string owner) : handle_(handle), owner_(std::move(owner)) {}

  rbd_image_t handle_ = nullptr;  // borrowed
  std::string owner_;
};

// The clients that have `image` open (watch its header); `cluster` is the
// client `image` was opened with.
Result<std::list<obj_watch_t>> HeaderWatchers(const RadosCluster& cluster, const RbdImage& image);

// A client other than the lock's owner can only be writing if it is alive:
// it watches the image's header. Returns the live owner other than
// `cluster`'s client, or "" when the lock is free or its owner is gone.
Result<std::string> LiveLockOwner(const RadosCluster& cluster, const RbdImage& image);

}  // namespace mirror_snapshot
