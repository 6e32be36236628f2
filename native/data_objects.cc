#include "native/data_objects.h"

#include <algorithm>
#include <vector>

namespace mirror_snapshot {

namespace {

Result<librados::IoCtx> OpenPool(const RadosCluster& cluster, int64_t pool_id, const std::string& ns,
                                 const std::string& what) {
  librados::Rados rados;
  librados::Rados::from_rados_t(cluster.handle(), rados);
  librados::IoCtx io;
  const int rc = rados.ioctx_create2(pool_id, io);
  if (rc < 0) return Status::FromErrno(rc, "opening " + what);
  io.set_namespace(ns);
  return io;
}

}  // namespace

Result<librados::IoCtx> OpenDataObjects(const RadosCluster& cluster, const ObjectLayout& layout,
                                        const std::string& spec) {
  return OpenPool(cluster, layout.data_pool_id, layout.ns, "the data pool of '" + spec + "'");
}

Result<librados::IoCtx> OpenHeaderObjects(const RadosCluster& cluster, const RbdImage& image) {
  return OpenPool(cluster, image.pool_id(), image.ns(), "the pool of '" + image.spec() + "'");
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
