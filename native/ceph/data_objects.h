// An image's RADOS objects through librados' C++ API: its layout, the I/O
// contexts of its data pool and of its header's pool (both in the image's
// namespace), and the snapshot context writes to its data objects must carry.
#pragma once

#include <rados/librados.hpp>

#include <cstdint>
#include <string>

#include "native/base/result.h"
#include "native/ceph/object_layout.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

// The layout of an open image; EOPNOTSUPP for fancy striping (STRIPINGV2).
Result<ObjectLayout> ImageLayout(const RbdImage& image);

// Pool `pool_id` in namespace `ns` through librados' C++ API (a handle
// sharing `cluster`'s connection). "opening <what>: <error>" on failure.
Result<librados::IoCtx> OpenPoolById(const RadosCluster& cluster, int64_t pool_id, const std::string& ns,
                                     const std::string& what);

// The data pool of `layout`, in its namespace. `spec` names the image in errors.
Result<librados::IoCtx> OpenDataObjects(const RadosCluster& cluster, const ObjectLayout& layout,
                                        const std::string& spec);

// The pool and namespace of the image's header (and object map); `cluster`
// is the client `image` was opened with.
Result<librados::IoCtx> OpenHeaderObjects(const RadosCluster& cluster, const RbdImage& image);

// Makes writes through `io` carry the image's snapshot context (every
// snapshot, newest first), so the OSD clones what older snapshots pin.
Status SetImageWriteContext(const RbdImage& image, librados::IoCtx* io);

}  // namespace mirror_snapshot
