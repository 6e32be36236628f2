// Reading the snap sets (RADOS list_snaps) of many data objects of an image,
// pipelined: the delta computation and the head rollback both walk objects
// this way.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "native/base/result.h"
#include "native/ceph/object_layout.h"
#include "native/ceph/rados_cluster.h"
#include "native/delta/object_delta.h"

namespace mirror_snapshot {

// Called in object order: the object's snap set, or nullopt if the object
// never existed. A failed Status stops the walk and is returned.
using SnapSetVisitor = std::function<Status(uint64_t object_no, const std::optional<ObjectSnapSet>& set)>;

// Visits objects next_object(0), next_object(1), ... for i < count, with at
// most `max_in_flight` list_snaps outstanding. `spec` names the image in errors.
Status ForEachSnapSet(const RadosCluster& cluster, const ObjectLayout& layout, uint64_t count,
                      const std::function<uint64_t(uint64_t)>& next_object, unsigned max_in_flight,
                      const std::string& spec, const SnapSetVisitor& visit);

}  // namespace mirror_snapshot
