// ObjectMapMarker: marks objects of an image as existing in its head object
// map, the way librbd does before its first write to an object, but for many
// objects at once: one cls_rbd call per run of consecutive objects, sent
// together. For a copier that writes data objects with librados.
#pragma once

#include <rados/librados.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

class ObjectMapMarker {
 public:
  // A marker of `image`'s head object map; one that marks nothing when the
  // image has no object map. `cluster` is the client `image` was opened with.
  static Result<ObjectMapMarker> Open(const RadosCluster& cluster, const RbdImage& image);

  // Marks `object_nos` (any order, repeats allowed) as existing, and returns
  // once the OSD has done it. An open librbd handle of the image does not
  // see it: its in-memory map still says "absent" (see delta_copier.h).
  Status MarkExisting(std::vector<uint64_t> object_nos) const;

 private:
  ObjectMapMarker() = default;

  bool enabled_ = false;
  std::string spec_;
  std::string map_oid_;
  mutable librados::IoCtx header_;
};

}  // namespace mirror_snapshot
