#include "native/delta/snap_set_lister.h"

#include <rados/librados.hpp>

#include <cerrno>
#include <deque>
#include <memory>
#include <utility>

#include "native/ceph/data_objects.h"

namespace mirror_snapshot {
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

Status ForEachSnapSet(const RadosCluster& cluster, const ObjectLayout& layout, uint64_t count,
                      const std::function<uint64_t(uint64_t)>& next_object, unsigned max_in_flight,
                      const std::string& spec, const SnapSetVisitor& visit) {
  auto opened = OpenDataObjects(cluster, layout, spec);
  if (!opened.ok()) return opened.status();
  librados::IoCtx ioctx = std::move(opened).value();
  ioctx.snap_set_read(LIBRADOS_SNAP_DIR);

  std::deque<std::unique_ptr<Pending>> in_flight;
  Status error;
  auto finish_one = [&]() {
    std::unique_ptr<Pending> p = std::move(in_flight.front());
    in_flight.pop_front();
    p->completion->wait_for_complete();
    const int r = p->completion->get_return_value();
    if (!error.ok()) return;
    if (r == -ENOENT) {  // no such object at any snapshot
      error = visit(p->object_no, std::nullopt);
    } else if (r < 0 || p->op_rc < 0) {
      error = Status::FromErrno(r < 0 ? r : p->op_rc,
                                "listing snapshots of object " + std::to_string(p->object_no) + " of '" + spec + "'");
    } else {
      error = visit(p->object_no, Convert(p->snaps));
    }
  };
  for (uint64_t i = 0; i < count && error.ok(); ++i) {
    auto p = std::make_unique<Pending>();
    p->object_no = next_object(i);
    p->op.list_snaps(&p->snaps, &p->op_rc);
    p->completion.reset(librados::Rados::aio_create_completion());
    const int rc = ioctx.aio_operate(DataObjectName(layout, p->object_no), p->completion.get(), &p->op, nullptr);
    if (rc < 0) {
      error = Status::FromErrno(rc, "listing snapshots of '" + spec + "'");
      break;
    }
    in_flight.push_back(std::move(p));
    if (in_flight.size() >= max_in_flight) finish_one();
  }
  while (!in_flight.empty()) finish_one();
  return error;
}

}  // namespace mirror_snapshot
