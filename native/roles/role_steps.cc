#include "native/roles/role_steps.h"

#include <rbd/librbd.h>

#include <cerrno>

#include "native/ceph/exclusive_lock_hold.h"

namespace mirror_snapshot {

// A client writing the image holds its exclusive lock: the rollback and the
// role change must not race with it (nor leave it a stale object map). A lock
// left by a client that died is no writer: the hold breaks it.
Status RequireNoWriter(const RadosCluster& local, const RbdImage& image, const std::string& doing) {
  auto owner = LiveLockOwner(local, image);
  if (!owner.ok()) return owner.status();
  if (!owner.value().empty()) {
    return Status::Error(EBUSY, "image '" + image.spec() + "' is being written by " + owner.value() +
                                    " (it holds the exclusive lock): stop it before " + doing);
  }
  return Status::Ok();
}

Result<RbdImage> OpenDemotedPrimary(const IoCtx& io, const RbdImage& local, const std::string& remote_image_id,
                                    const RadosCluster* remote) {
  const std::string primary = "the primary of '" + local.spec() + "'";
  if (remote == nullptr) {
    return Status::Error(EBUSY, primary + " cannot be reached: promote with --force to fail over without it");
  }
  auto remote_io = IoCtx::Open(*remote, io.pool_name(), io.ns());
  if (!remote_io.ok()) return remote_io.status();
  auto remote_image = RbdImage::OpenById(remote_io.value(), remote_image_id);
  if (!remote_image.ok()) {
    return Status::Error(EBUSY, primary + " is gone (" + remote_image.status().message() + "): promote with --force");
  }
  auto mirror = remote_image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  if (mirror.value().primary) {
    return Status::Error(EBUSY, primary + " is still primary: demote it first, or promote with --force");
  }
  return remote_image;
}

// A resync killed inside Ceph's mirror disable leaves the image's mirroring
// "disabling", which refuses a later enable: the disable is finished first.
Status FinishMirroringDisable(const RbdImage& image, const MirrorInfo& mirror) {
  if (!mirror.disabling) return Status::Ok();
  return image.DisableMirroring(true);
}

// Image-mode mirroring of the pool (or namespace) the image is in, so that
// Ceph accepts enabling it: a namespace the replayer created has none yet.
Status AllowImageMirroring(const IoCtx& io) {
  rbd_mirror_mode_t mode = RBD_MIRROR_MODE_DISABLED;
  int rc = rbd_mirror_mode_get(io.handle(), &mode);
  if (rc < 0) return Status::FromErrno(rc, "reading the mirror mode of '" + io.Describe() + "'");
  if (mode != RBD_MIRROR_MODE_DISABLED) return Status::Ok();
  rc = rbd_mirror_mode_set(io.handle(), RBD_MIRROR_MODE_IMAGE);
  if (rc < 0) return Status::FromErrno(rc, "enabling image-mode mirroring of '" + io.Describe() + "'");
  return Status::Ok();
}

}  // namespace mirror_snapshot
