#include "native/head_rollback.h"

#include <rados/librados.hpp>
#include <rbd/features.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <deque>
#include <memory>
#include <set>
#include <vector>

#include "native/image_delta.h"
#include "native/object_delta.h"

namespace mirror_snapshot {
namespace {

// cls_rbd object map states.
constexpr uint8_t kObjectNonexistent = 0;
constexpr uint8_t kObjectExists = 1;

void EncodeLe64(librados::bufferlist* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->append(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The input of cls_rbd's object_map_update: [start, end), new state, no
// expected current state (an absent boost::optional encodes as one 0 byte).
librados::bufferlist ObjectMapUpdate(uint64_t object_no, uint8_t state) {
  librados::bufferlist in;
  EncodeLe64(&in, object_no);
  EncodeLe64(&in, object_no + 1);
  in.append(static_cast<char>(state));
  in.append(static_cast<char>(0));
  return in;
}

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

int CollectObject(uint64_t offset, size_t, int, void* arg) {
  auto* candidates = static_cast<std::pair<uint64_t, std::set<uint64_t>>*>(arg);
  candidates->second.insert(offset / candidates->first);
  return 0;
}

// Objects that may differ from the snapshot: from the object map when the
// snapshot is a user snapshot, else every object. librbd's diff does not
// report objects a shrink removed, so every object from the HEAD size on
// (`shrunk_from`, before growing back) is a candidate too.
Result<std::vector<uint64_t>> Candidates(const RbdImage& image, const std::string& snap_name, uint64_t span,
                                         uint64_t object_size, uint64_t shrunk_from) {
  const uint64_t objects = (span + object_size - 1) / object_size;
  std::vector<uint64_t> out;
  if (snap_name.empty()) {
    out.reserve(objects);
    for (uint64_t i = 0; i < objects; ++i) out.push_back(i);
    return out;
  }
  std::pair<uint64_t, std::set<uint64_t>> collected{object_size, {}};
  for (uint64_t i = shrunk_from / object_size; i < objects; ++i) collected.second.insert(i);
  const int rc = rbd_diff_iterate2(image.handle(), snap_name.c_str(), 0, span, 0, 1, &CollectObject, &collected);
  if (rc < 0) return Status::FromErrno(rc, "listing what changed in '" + image.spec() + "' since '" + snap_name + "'");
  out.assign(collected.second.begin(), collected.second.end());
  return out;
}

// librados' write snapshot context for the image: newer snapshots than the
// one rolled back to must keep their data (the OSD clones before rolling back).
Status SetWriteContext(const RbdImage& image, librados::IoCtx* io) {
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

struct ObjectWork {
  uint64_t object_no = 0;
  librados::ObjectReadOperation list;
  librados::snap_set_t snaps;
  int list_rc = 0;
  std::unique_ptr<librados::AioCompletion> completion;
};

}  // namespace

Result<RollbackReport> RollbackHead(const RadosCluster& cluster, const RbdImage& image, uint64_t snap_id,
                                    const std::string& snap_name, unsigned max_in_flight) {
  const auto started = std::chrono::steady_clock::now();
  const std::string& spec = image.spec();
  RollbackReport report;
  report.snap_id = snap_id;
  auto snap_size = image.SnapshotSize(snap_id);
  if (!snap_size.ok()) return snap_size.status();
  auto head_size = image.Size();
  if (!head_size.ok()) return head_size.status();
  report.size_before = head_size.value();
  report.size_after = snap_size.value();
  auto layout = ImageLayout(image);
  if (!layout.ok()) return layout.status();
  const ObjectLayout& l = layout.value();
  uint64_t features = 0;
  int rc = rbd_get_features(image.handle(), &features);
  if (rc < 0) return Status::FromErrno(rc, "reading features of '" + spec + "'");
  auto image_id = image.Id();
  if (!image_id.ok()) return image_id.status();

  // Grow first, so the object map covers every object the rollback restores.
  if (head_size.value() < snap_size.value()) {
    Status grown = image.Resize(snap_size.value());
    if (!grown.ok()) return grown;
  }
  const uint64_t span = std::max(head_size.value(), snap_size.value());
  auto candidates = Candidates(image, snap_name, span, l.object_size, head_size.value());
  if (!candidates.ok()) return candidates.status();

  librados::Rados rados;
  librados::Rados::from_rados_t(cluster.handle(), rados);
  librados::IoCtx data;
  rc = rados.ioctx_create2(l.data_pool_id, data);
  if (rc < 0) return Status::FromErrno(rc, "opening the data pool of '" + spec + "'");
  data.set_namespace(l.ns);
  librados::IoCtx lister;
  lister.dup(data);
  lister.snap_set_read(LIBRADOS_SNAP_DIR);
  Status status = SetWriteContext(image, &data);
  if (!status.ok()) return status;
  librados::IoCtx meta;
  const bool has_object_map = (features & RBD_FEATURE_OBJECT_MAP) != 0;
  if (has_object_map) {
    rc = rados.ioctx_create2(image.pool_id(), meta);  // the header's pool holds the object map
    if (rc < 0) return Status::FromErrno(rc, "opening the pool of '" + spec + "'");
    meta.set_namespace(l.ns);
  }
  const std::string object_map = "rbd_object_map." + image_id.value();

  // One object at a time per slot: read its snap set, then roll it back
  // (and fix its object map bit) if it changed.
  std::deque<std::unique_ptr<ObjectWork>> in_flight;
  Status error;
  auto finish_one = [&]() {
    std::unique_ptr<ObjectWork> w = std::move(in_flight.front());
    in_flight.pop_front();
    w->completion->wait_for_complete();
    const int r = w->completion->get_return_value();
    ++report.objects_examined;
    if (r == -ENOENT || !error.ok()) return;  // never existed: nothing to undo
    if (r < 0 || w->list_rc < 0) {
      error = Status::FromErrno(r < 0 ? r : w->list_rc, "listing snapshots of object " +
                                                            std::to_string(w->object_no) + " of '" + spec + "'");
      return;
    }
    const ObjectSnapSet set = Convert(w->snaps);
    const ObjectDelta delta = ComputeObjectDelta(set, snap_id, kHeadId);
    if (delta.unchanged()) return;
    const bool existed = ServingClone(set, snap_id).has_value();
    const std::string oid = DataObjectName(l, w->object_no);
    librados::ObjectWriteOperation rollback;
    rollback.selfmanaged_snap_rollback(snap_id);
    int wr = data.operate(oid, &rollback);
    if (wr == -ENOENT) wr = 0;  // head absent and absent at the snapshot too
    if (wr < 0) {
      error = Status::FromErrno(wr, "rolling back object " + std::to_string(w->object_no) + " of '" + spec + "'");
      return;
    }
    if (has_object_map && existed != delta.exists_at_to) {
      librados::ObjectWriteOperation update;
      librados::bufferlist in = ObjectMapUpdate(w->object_no, existed ? kObjectExists : kObjectNonexistent);
      update.exec("rbd", "object_map_update", in);
      wr = meta.operate(object_map, &update);
      if (wr < 0) {
        error = Status::FromErrno(wr, "updating the object map of '" + spec + "'");
        return;
      }
    }
    ++report.objects_rolled_back;
    for (const auto& [off, len] : delta.changed) report.bytes_rolled_back += len;
    for (const auto& [off, len] : delta.zeroed) report.bytes_rolled_back += len;
  };

  for (uint64_t object_no : candidates.value()) {
    if (!error.ok()) break;
    auto w = std::make_unique<ObjectWork>();
    w->object_no = object_no;
    w->list.list_snaps(&w->snaps, &w->list_rc);
    w->completion.reset(librados::Rados::aio_create_completion());
    rc = lister.aio_operate(DataObjectName(l, object_no), w->completion.get(), &w->list, nullptr);
    if (rc < 0) {
      error = Status::FromErrno(rc, "listing snapshots of '" + spec + "'");
      break;
    }
    in_flight.push_back(std::move(w));
    if (in_flight.size() >= max_in_flight) finish_one();
  }
  while (!in_flight.empty()) finish_one();
  if (!error.ok()) return error;

  if (head_size.value() > snap_size.value()) {
    Status shrunk = image.Resize(snap_size.value());
    if (!shrunk.ok()) return shrunk;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace mirror_snapshot
