#include "native/roles/head_rollback.h"

#include <rados/librados.hpp>
#include <rbd/features.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <set>
#include <vector>

#include "native/ceph/cls_encoding.h"
#include "native/ceph/data_objects.h"
#include "native/ceph/rbd_object_names.h"
#include "native/delta/image_delta.h"
#include "native/delta/object_delta.h"
#include "native/delta/snap_set_lister.h"

namespace mirror_snapshot {
namespace {

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

  auto opened = OpenDataObjects(cluster, l, spec);
  if (!opened.ok()) return opened.status();
  librados::IoCtx data = std::move(opened).value();
  // Newer snapshots than the one rolled back to keep their data: the OSD clones first.
  Status status = SetImageWriteContext(image, &data);
  if (!status.ok()) return status;
  librados::IoCtx meta;  // the header's pool holds the object map
  const bool has_object_map = (features & RBD_FEATURE_OBJECT_MAP) != 0;
  if (has_object_map) {
    auto header_pool = OpenHeaderObjects(cluster, image);
    if (!header_pool.ok()) return header_pool.status();
    meta = std::move(header_pool).value();
  }
  const std::string object_map = ObjectMapName(image_id.value());

  // Read each candidate's snap set; roll back (and fix the object map bit
  // of) those that changed.
  const std::vector<uint64_t>& objects = candidates.value();
  status = ForEachSnapSet(
      cluster, l, objects.size(), [&](uint64_t i) { return objects[i]; }, max_in_flight, spec,
      [&](uint64_t object_no, const std::optional<ObjectSnapSet>& set) {
        ++report.objects_examined;
        if (!set) return Status::Ok();  // never existed: nothing to undo
        const ObjectDelta delta = ComputeObjectDelta(*set, snap_id, kHeadId);
        if (delta.unchanged()) return Status::Ok();
        const bool existed = ServingClone(*set, snap_id).has_value();
        librados::ObjectWriteOperation rollback;
        rollback.selfmanaged_snap_rollback(snap_id);
        int wr = data.operate(DataObjectName(l, object_no), &rollback);
        if (wr == -ENOENT) wr = 0;  // head absent and absent at the snapshot too
        if (wr < 0) return Status::FromErrno(wr, "rolling back object " + std::to_string(object_no) + " of '" +
                                                     spec + "'");
        if (has_object_map && existed != delta.exists_at_to) {
          librados::ObjectWriteOperation update;
          librados::bufferlist in;
          in.append(ObjectMapUpdateInput(object_no, object_no + 1, existed ? kObjectExists : kObjectNonexistent));
          update.exec("rbd", "object_map_update", in);
          wr = meta.operate(object_map, &update);
          if (wr < 0) return Status::FromErrno(wr, "updating the object map of '" + spec + "'");
        }
        ++report.objects_rolled_back;
        for (const auto& [off, len] : delta.changed) report.bytes_rolled_back += len;
        for (const auto& [off, len] : delta.zeroed) report.bytes_rolled_back += len;
        return Status::Ok();
      });
  if (!status.ok()) return status;

  if (head_size.value() > snap_size.value()) {
    Status shrunk = image.Resize(snap_size.value());
    if (!shrunk.ok()) return shrunk;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace mirror_snapshot
