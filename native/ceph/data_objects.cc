#include "native/ceph/data_objects.h"

#include <rbd/features.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <vector>

namespace mirror_snapshot {

Result<ObjectLayout> ImageLayout(const RbdImage& image) {
  uint64_t features = 0;
  int rc = rbd_get_features(image.handle(), &features);
  if (rc < 0) return Status::FromErrno(rc, "reading features of '" + image.spec() + "'");
  if (features & RBD_FEATURE_STRIPINGV2) {
    return Status::Error(EOPNOTSUPP, "image '" + image.spec() + "' uses fancy striping, which is not supported");
  }
  rbd_image_info_t info{};
  rc = rbd_stat(image.handle(), &info, sizeof(info));
  if (rc < 0) return Status::FromErrno(rc, "reading layout of '" + image.spec() + "'");
  ObjectLayout layout;
  layout.object_prefix = info.block_name_prefix;
  layout.object_size = info.obj_size;
  layout.data_pool_id = rbd_get_data_pool_id(image.handle());
  layout.ns = image.ns();  // data objects live in the image's namespace
  return layout;
}

Result<librados::IoCtx> OpenPoolById(const RadosCluster& cluster, int64_t pool_id, const std::string& ns,
                                     const std::string& what) {
  librados::Rados rados;
  librados::Rados::from_rados_t(cluster.handle(), rados);
  librados::IoCtx io;
  const int rc = rados.ioctx_create2(pool_id, io);
  if (rc < 0) return Status::FromErrno(rc, "opening " + what);
  io.set_namespace(ns);
  return io;
}

Result<librados::IoCtx> OpenDataObjects(const RadosCluster& cluster, const ObjectLayout& layout,
                                        const std::string& spec) {
  return OpenPoolById(cluster, layout.data_pool_id, layout.ns, "the data pool of '" + spec + "'");
}

Result<librados::IoCtx> OpenHeaderObjects(const RadosCluster& cluster, const RbdImage& image) {
  return OpenPoolById(cluster, image.pool_id(), image.ns(), "the pool of '" + image.spec() + "'");
}

Status SetImageWriteContext(const RbdImage& image, librados::IoCtx* io) {
  std::vector<rbd_snap_info_t> snaps(64);
  int max = static_cast<int>(snaps.size());
  int count = rbd_snap_list(image.handle(), snaps.data(), &max);
  if (count == -ERANGE) {
    snaps.resize(static_cast<size_t>(max));
    count = rbd_snap_list(image.handle(), snaps.data(), &max);
  }
  if (count < 0) return Status::FromErrno(count, "listing snapshots of '" + image.spec() + "'");
  std::vector<librados::snap_t> ids;
  for (int i = 0; i < count; ++i) ids.push_back(snaps[i].id);
  rbd_snap_list_end(snaps.data());
  std::sort(ids.rbegin(), ids.rend());
  const librados::snap_t seq = ids.empty() ? 0 : ids.front();
  const int rc = io->selfmanaged_snap_set_write_ctx(seq, ids);
  if (rc < 0) return Status::FromErrno(rc, "setting the snapshot context of '" + image.spec() + "'");
  return Status::Ok();
}

}  // namespace mirror_snapshot
