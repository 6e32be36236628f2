#include "native/replica/snapshot_object_map.h"

#include <rbd/features.h>
#include <rbd/librbd.h>

#include <cerrno>

#include "native/ceph/data_objects.h"
#include "native/ceph/rbd_object_names.h"

namespace mirror_snapshot {

Status WriteSnapshotObjectMap(librados::IoCtx& header, const std::string& image_id, uint64_t snap_id) {
  librados::bufferlist map;
  int rc = header.read(ObjectMapName(image_id), map, 0, 0);
  if (rc < 0) return Status::FromErrno(rc, "reading the object map of image " + image_id);
  rc = header.write_full(ObjectMapName(image_id, snap_id), map);
  if (rc < 0) {
    return Status::FromErrno(rc, "writing the object map of snapshot " + std::to_string(snap_id) + " of image " +
                                     image_id);
  }
  return Status::Ok();
}

void MarkHeadObjectMapClean(librados::IoCtx& header, const std::string& image_id) {
  librados::ObjectWriteOperation clean;
  librados::bufferlist none;
  clean.exec("rbd", "object_map_snap_add", none);
  header.operate(ObjectMapName(image_id), &clean);
}

Status CompleteSnapshotObjectMap(const RadosCluster& cluster, const RbdImage& image, uint64_t snap_id) {
  uint64_t features = 0;
  const int rc = rbd_get_features(image.handle(), &features);
  if (rc < 0) return Status::FromErrno(rc, "reading features of '" + image.spec() + "'");
  if ((features & RBD_FEATURE_OBJECT_MAP) == 0) return Status::Ok();
  auto id = image.Id();
  if (!id.ok()) return id.status();
  auto header = OpenHeaderObjects(cluster, image);
  if (!header.ok()) return header.status();
  uint64_t size = 0;
  const int stat = header.value().stat(ObjectMapName(id.value(), snap_id), &size, nullptr);
  if (stat == 0) return Status::Ok();
  if (stat != -ENOENT) {
    return Status::FromErrno(stat, "reading the object map of snapshot " + std::to_string(snap_id) + " of '" +
                                       image.spec() + "'");
  }
  Status written = WriteSnapshotObjectMap(header.value(), id.value(), snap_id);
  if (!written.ok()) return written;
  if (features & RBD_FEATURE_FAST_DIFF) MarkHeadObjectMapClean(header.value(), id.value());
  return Status::Ok();
}

}  // namespace mirror_snapshot
