#include "native/image_delta.h"

#include <rados/librados.hpp>
#include <rbd/features.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>

#include "native/object_delta.h"

namespace mirror_snapshot {

std::string DataObjectName(const ObjectLayout& layout, uint64_t object_no) {
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), ".%016" PRIx64, object_no);
  return layout.object_prefix + suffix;
}

namespace {

ObjectSnapSet Convert(const librados::snap_set_t& in) {
  ObjectSnapSet out;
  out.seq = in.seq;
  for (const auto& clone : in.clones) {
    CloneInfo c;
    c.id = clone.cloneid;
    c.snaps.assign(clone.snaps.begin(), clone.snaps.end());
    c.overlap.assign(clone.overlap.begin(), clone.overlap.end());
    c.size = clone.size;
    out.clones.push_back(std::move(c));
  }
  return out;
}

// One outstanding list_snaps.
struct Pending {
  uint64_t object_no = 0;
  librados::ObjectReadOperation op;
  librados::snap_set_t snaps;
  int op_rc = 0;
  std::unique_ptr<librados::AioCompletion> completion;
};

}  // namespace

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

Result<ImageDelta> ComputeImageDelta(const RadosCluster& cluster, const RbdImage& image,
                                     uint64_t from_snap_id, uint64_t to_snap_id,
                                     unsigned max_in_flight) {
  auto to_size = image.SnapshotSize(to_snap_id);
  if (!to_size.ok()) return to_size.status();
  uint64_t from_size = 0;
  if (from_snap_id != 0) {
    auto size = image.SnapshotSize(from_snap_id);
    if (!size.ok()) return size.status();
    from_size = size.value();
  }
  const std::string& spec = image.spec();
  auto layout = ImageLayout(image);
  if (!layout.ok()) return layout.status();
  const ObjectLayout& l = layout.value();

  librados::Rados rados;
  librados::Rados::from_rados_t(cluster.handle(), rados);
  librados::IoCtx ioctx;
  int rc = rados.ioctx_create2(l.data_pool_id, ioctx);
  if (rc < 0) return Status::FromErrno(rc, "opening the data pool of '" + spec + "'");
  ioctx.set_namespace(l.ns);
  ioctx.snap_set_read(LIBRADOS_SNAP_DIR);

  ImageDelta delta;
  delta.size_at_to = to_size.value();
  delta.to_snap_id = to_snap_id;
  delta.layout = l;
  const uint64_t span = std::max(to_size.value(), from_size);
  const uint64_t objects = (span + l.object_size - 1) / l.object_size;
  std::deque<std::unique_ptr<Pending>> in_flight;
  Status error;

  auto finish_one = [&]() {
    std::unique_ptr<Pending> p = std::move(in_flight.front());
    in_flight.pop_front();
    p->completion->wait_for_complete();
    const int r = p->completion->get_return_value();
    ++delta.objects_scanned;
    if (r == -ENOENT) return;  // no such object at any snapshot
    if (r < 0 || p->op_rc < 0) {
      if (error.ok()) {
        error = Status::FromErrno(r < 0 ? r : p->op_rc,
                                  "listing snapshots of object " + std::to_string(p->object_no) + " of '" + spec + "'");
      }
      return;
    }
    const ObjectDelta od = ComputeObjectDelta(Convert(p->snaps), from_snap_id, to_snap_id);
    if (od.unchanged()) return;
    ++delta.objects_changed;
    const uint64_t base = p->object_no * l.object_size;
    Extents& data = od.created ? delta.created : delta.changed;
    for (const auto& [off, len] : od.changed) data.emplace_back(base + off, len);
    for (const auto& [off, len] : od.zeroed) delta.zeroed.emplace_back(base + off, len);
  };

  for (uint64_t object_no = 0; object_no < objects && error.ok(); ++object_no) {
    auto p = std::make_unique<Pending>();
    p->object_no = object_no;
    p->op.list_snaps(&p->snaps, &p->op_rc);
    p->completion.reset(librados::Rados::aio_create_completion());
    rc = ioctx.aio_operate(DataObjectName(l, object_no), p->completion.get(), &p->op, nullptr);
    if (rc < 0) {
      error = Status::FromErrno(rc, "listing snapshots of '" + spec + "'");
      break;
    }
    in_flight.push_back(std::move(p));
    if (in_flight.size() >= max_in_flight) finish_one();
  }
  while (!in_flight.empty()) finish_one();
  if (!error.ok()) return error;

  // Object deltas are in object order already; clip to the image at `to`.
  delta.changed = Intersect(Normalize(std::move(delta.changed)), {{0, delta.size_at_to}});
  delta.created = Intersect(delta.created, {{0, delta.size_at_to}});
  delta.zeroed = Normalize(std::move(delta.zeroed));
  return delta;
}

}  // namespace mirror_snapshot
