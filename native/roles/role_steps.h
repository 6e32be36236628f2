// Steps the role changes of both mirror modes share (role_change.cc,
// journal_promote.cc).
#pragma once

#include <string>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

// EBUSY naming the client that holds `image`'s exclusive lock, if one does
// (a lock left by a dead client is no writer); `doing` ends the message.
Status RequireNoWriter(const RadosCluster& local, const RbdImage& image, const std::string& doing);

// The old primary (`remote_image_id` on `remote`, in `io`'s pool and
// namespace) of `local`, for a promote without --force: EBUSY saying why
// not when it cannot be reached, is gone, or is still primary.
Result<RbdImage> OpenDemotedPrimary(const IoCtx& io, const RbdImage& local, const std::string& remote_image_id,
                                    const RadosCluster* remote);

// A mirror disable killed half-way is finished, so that an enable works.
Status FinishMirroringDisable(const RbdImage& image, const MirrorInfo& mirror);

// Image-mode mirroring of `io`'s pool or namespace, so that Ceph accepts
// enabling an image's mirroring there.
Status AllowImageMirroring(const IoCtx& io);

}  // namespace mirror_snapshot
