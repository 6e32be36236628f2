#include "native/replica/prepared_snapshot.h"

#include <rbd/features.h>
#include <rbd/librbd.h>

#include <cerrno>
#include <utility>

#include "native/ceph/cls_encoding.h"
#include "native/ceph/data_objects.h"
#include "native/ceph/rbd_object_names.h"
#include "native/delta/image_delta.h"
#include "native/replica/snapshot_object_map.h"

namespace mirror_snapshot {
namespace {

constexpr uint64_t kNotifyTimeoutMs = 5000;  // librbd's own, for header updates

librados::bufferlist Bytes(const std::string& s) {
  librados::bufferlist bl;
  bl.append(s);
  return bl;
}

}  // namespace

struct PreparedSnapshot::Pending {
  const RbdImage* image = nullptr;
  std::string header_oid;
  std::string image_id;
  uint64_t features = 0;
  librados::IoCtx data;    // snapshot ids come from the data pool, as librbd takes them
  librados::IoCtx header;  // the header and the object maps
  std::unique_ptr<librados::AioCompletion> request;
  uint64_t snap_id = 0;    // written by the request
  bool used = false;
  Status unusable;         // why librbd must take the snapshot instead

  ~Pending() {
    if (request == nullptr) return;
    request->wait_for_complete();  // it writes snap_id
    if (used || request->get_return_value() < 0) return;
    // Waited for (a monitor round, only when the snapshot was not taken):
    // a client shut down with the request in flight crashes librados.
    data.selfmanaged_snap_remove(snap_id);
  }
};

PreparedSnapshot::PreparedSnapshot(std::unique_ptr<Pending> pending) : pending_(std::move(pending)) {}
PreparedSnapshot::PreparedSnapshot(PreparedSnapshot&&) noexcept = default;
PreparedSnapshot& PreparedSnapshot::operator=(PreparedSnapshot&&) noexcept = default;
PreparedSnapshot::~PreparedSnapshot() = default;

PreparedSnapshot PreparedSnapshot::Begin(const RadosCluster& cluster, const RbdImage& image) {
  auto p = std::make_unique<Pending>();
  p->image = &image;
  auto unusable = [&p](Status why) {
    p->unusable = std::move(why);
    return PreparedSnapshot(std::move(p));
  };
  const int rc = rbd_get_features(image.handle(), &p->features);
  if (rc < 0) return unusable(Status::FromErrno(rc, "reading features of '" + image.spec() + "'"));
  if (p->features & RBD_FEATURE_JOURNALING) {
    return unusable(Status::Error(ENOTSUP, "'" + image.spec() + "' is journaled: librbd journals its snapshots"));
  }
  auto id = image.Id();
  if (!id.ok()) return unusable(id.status());
  auto layout = ImageLayout(image);
  if (!layout.ok()) return unusable(layout.status());
  auto data = OpenDataObjects(cluster, layout.value(), image.spec());
  if (!data.ok()) return unusable(data.status());
  auto header = OpenHeaderObjects(cluster, image);
  if (!header.ok()) return unusable(header.status());
  p->image_id = id.value();
  p->header_oid = HeaderObjectName(id.value());
  p->data = std::move(data).value();
  p->header = std::move(header).value();
  p->request.reset(librados::Rados::aio_create_completion());
  p->data.aio_selfmanaged_snap_create(&p->snap_id, p->request.get());
  return PreparedSnapshot(std::move(p));
}

Result<uint64_t> PreparedSnapshot::Take(const std::string& name) {
  Pending& p = *pending_;
  if (!p.unusable.ok()) return p.unusable;
  if (p.used) return Status::Error(EEXIST, "the prepared snapshot of '" + p.image->spec() + "' is taken");
  p.request->wait_for_complete();
  int rc = p.request->get_return_value();
  if (rc < 0) return Status::FromErrno(rc, "allocating a snapshot id for '" + p.image->spec() + "'");

  // The snapshot's object map first: a snapshot without one cannot be
  // opened (snapshot_object_map.h), and a crash must not leave one.
  const bool object_map = (p.features & RBD_FEATURE_OBJECT_MAP) != 0;
  if (object_map) {
    Status written = WriteSnapshotObjectMap(p.header, p.image_id, p.snap_id);
    if (!written.ok()) return written;
  }
  // cls_rbd snapshot_add: name, id; no namespace means a user snapshot. It
  // refuses (ESTALE) an id older than the newest snapshot's.
  std::string in;
  AppendBytes(&in, name);
  AppendLe(&in, p.snap_id, 8);
  librados::bufferlist input = Bytes(in);
  librados::ObjectWriteOperation add;
  add.exec("rbd", "snapshot_add", input);
  rc = p.header.operate(p.header_oid, &add);
  if (rc < 0) {
    // The map is named by our unused id: no snapshot can own it.
    if (object_map) p.header.remove(ObjectMapName(p.image_id, p.snap_id));
    return Status::FromErrno(rc, "adding snapshot '" + name + "' to '" + p.image->spec() + "'");
  }
  p.used = true;
  if (p.features & RBD_FEATURE_FAST_DIFF) MarkHeadObjectMapClean(p.header, p.image_id);
  // An empty notification is a header update to librbd (and to krbd):
  // every handle, this process's too, refreshes before its next I/O.
  librados::bufferlist empty;
  p.header.notify2(p.header_oid, empty, kNotifyTimeoutMs, nullptr);
  return p.snap_id;
}

}  // namespace mirror_snapshot
