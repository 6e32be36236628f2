// An image's data objects through librados: the I/O context of its data pool
// and namespace, and the snapshot context writes to them must carry.
#pragma once

#include <rados/librados.hpp>

#include <string>

#include "native/image_delta.h"
#include "native/rados_cluster.h"
#include "native/rbd_image.h"
#include "native/result.h"

namespace mirror_snapshot {

// The data pool of `layout`, in its namespace. `spec` names the image in errors.
Result<librados::IoCtx> OpenDataObjects(const RadosCluster& cluster, const ObjectLayout& layout,
                                        const std::string& spec);

// Makes writes through `io` carry the image's snapshot context (every
// snapshot, newest first), so the OSD clones what older snapshots pin.
Status SetImageWriteContext(const RbdImage& image, librados::IoCtx* io);

}  // namespace mirror_snapshot
