#include "native/replica/object_map_marker.h"

#include <rbd/features.h>
#include <rbd/librbd.h>

#include <algorithm>
#include <memory>

#include "native/ceph/cls_encoding.h"
#include "native/ceph/data_objects.h"
#include "native/ceph/rbd_object_names.h"

namespace mirror_snapshot {
namespace {

// Updates in flight: a sparse first sync of a large image has many runs.
constexpr size_t kRunsInFlight = 64;

}  // namespace

Result<ObjectMapMarker> ObjectMapMarker::Open(const RadosCluster& cluster, const RbdImage& image) {
  ObjectMapMarker marker;
  marker.spec_ = image.spec();
  uint64_t features = 0;
  const int rc = rbd_get_features(image.handle(), &features);
  if (rc < 0) return Status::FromErrno(rc, "reading features of '" + image.spec() + "'");
  if ((features & RBD_FEATURE_OBJECT_MAP) == 0) return marker;
  auto id = image.Id();
  if (!id.ok()) return id.status();
  auto header = OpenHeaderObjects(cluster, image);
  if (!header.ok()) return header.status();
  marker.enabled_ = true;
  marker.map_oid_ = ObjectMapName(id.value());
  marker.header_ = std::move(header).value();
  return marker;
}

Status ObjectMapMarker::MarkExisting(std::vector<uint64_t> object_nos) const {
  if (!enabled_ || object_nos.empty()) return Status::Ok();
  std::sort(object_nos.begin(), object_nos.end());
  object_nos.erase(std::unique(object_nos.begin(), object_nos.end()), object_nos.end());
  // One operation per run, all in flight at once. Not one operation of many
  // calls: each call reads the map as it was before the operation, and
  // writes back whole blocks of it, undoing the calls before it.
  std::vector<std::unique_ptr<librados::AioCompletion>> sent;
  std::vector<std::unique_ptr<librados::ObjectWriteOperation>> ops;  // kept until done
  int rc = 0;
  auto wait_all = [&] {
    for (auto& completion : sent) {
      completion->wait_for_complete();
      if (rc == 0) rc = completion->get_return_value();
    }
    sent.clear();
    ops.clear();
  };
  for (size_t i = 0; i < object_nos.size() && rc == 0;) {
    size_t j = i + 1;
    while (j < object_nos.size() && object_nos[j] == object_nos[j - 1] + 1) ++j;
    librados::bufferlist input;
    input.append(ObjectMapUpdateInput(object_nos[i], object_nos[j - 1] + 1, kObjectExists));
    ops.push_back(std::make_unique<librados::ObjectWriteOperation>());
    ops.back()->exec("rbd", "object_map_update", input);
    sent.emplace_back(librados::Rados::aio_create_completion());
    const int submitted = header_.aio_operate(map_oid_, sent.back().get(), ops.back().get());
    if (submitted < 0) {
      sent.pop_back();
      rc = submitted;
    }
    if (sent.size() == kRunsInFlight) wait_all();
    i = j;
  }
  wait_all();
  if (rc < 0) return Status::FromErrno(rc, "updating the object map of '" + spec_ + "'");
  return Status::Ok();
}

}  // namespace mirror_snapshot
