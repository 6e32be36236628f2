// _native.testing: the core's parts driven one by one, for the integration
// tests and benchmarks that check them apart from a whole sync. The module
// never uses them.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "native/ceph/rbd_image.h"
#include "native/delta/image_delta.h"
#include "native/python/bindings.h"
#include "native/python/convert.h"
#include "native/python/errors.h"
#include "native/python/gil.h"
#include "native/replica/delta_copier.h"
#include "native/replica/object_map_marker.h"
#include "native/replica/prepared_snapshot.h"
#include "native/roles/head_rollback.h"

namespace mirror_snapshot::binding {

namespace {

class PreparedSnapshotOfImage {
 public:
  PreparedSnapshotOfImage(const RadosCluster& cluster, const std::string& pool, const std::string& ns,
                       const std::string& name)
      : io_(OpenPool(cluster, pool, ns)),
        image_(Unwrap(RbdImage::OpenByName(io_, name))),
        prepared_(PreparedSnapshot::Begin(cluster, image_)) {}

  uint64_t Take(const std::string& snap_name) { return Unwrap(prepared_.Take(snap_name)); }

 private:
  IoCtx io_;
  RbdImage image_;
  PreparedSnapshot prepared_;
};

}  // namespace

void BindTesting(py::module_& m) {
  const CopyOptions copy_defaults;
  m.def("image_delta",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           uint64_t from_snap_id, uint64_t to_snap_id, bool full_scan) {
          return ToDict(WithoutGil([&] {
            IoCtx ioctx = OpenPool(c, pool, ns);
            auto image = Unwrap(RbdImage::OpenByName(ioctx, name));
            return Unwrap(ComputeImageDelta(c, image, from_snap_id, to_snap_id, 64, {},
                                            full_scan ? DeltaDiscovery::kFullScan : DeltaDiscovery::kAuto));
          }));
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("from_snap_id"),
        py::arg("to_snap_id"), py::arg("full_scan") = false,
        "Byte ranges of the image that changed between two snapshots (any namespace); from the object "
        "maps when they can serve, or every object with full_scan=True.");
  m.def("copy_delta",
        [](const RadosCluster& src, const std::string& src_pool, const std::string& src_ns,
           const std::string& src_name, uint64_t from_snap_id, uint64_t to_snap_id, const RadosCluster& dst,
           const std::string& dst_pool, const std::string& dst_ns, const std::string& dst_name,
           uint64_t max_in_flight_bytes, uint64_t resume_offset, bool mark_created_objects, bool lock_target) {
          CopyOptions options;
          options.max_in_flight_bytes = max_in_flight_bytes;
          options.resume_offset = resume_offset;
          options.mark_created_objects = mark_created_objects;
          return ToDict(WithoutGil([&] {
            return Unwrap(CopyImageDelta(src, OpenPool(src, src_pool, src_ns), src_name, from_snap_id, to_snap_id,
                                         dst, OpenPool(dst, dst_pool, dst_ns), dst_name, lock_target, options));
          }));
        },
        py::arg("src"), py::arg("src_pool"), py::arg("src_ns"), py::arg("src_name"), py::arg("from_snap_id"),
        py::arg("to_snap_id"), py::arg("dst"), py::arg("dst_pool"), py::arg("dst_ns"), py::arg("dst_name"),
        py::arg("max_in_flight_bytes") = copy_defaults.max_in_flight_bytes,
        py::arg("resume_offset") = copy_defaults.resume_offset,
        py::arg("mark_created_objects") = copy_defaults.mark_created_objects, py::arg("lock_target") = false,
        "Apply the delta of a source image between two snapshots onto a target image (pipelined AIO).");
  m.def("rollback_head",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           const std::string& snap_name) {
          const auto r = WithoutGil([&] {
            IoCtx io = OpenPool(c, pool, ns);
            auto image = Unwrap(RbdImage::OpenByName(io, name));
            auto id = Unwrap(image.SnapshotIdByName(snap_name));
            if (!id) throw StatusError(Status::NotFound("snapshot '" + snap_name + "' of '" + image.spec() +
                                                        "' does not exist"));
            return Unwrap(RollbackHead(c, image, *id, snap_name));
          });
          return ToDict(r);
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("snap_name"),
        "Roll HEAD back to a user snapshot, touching only the objects changed since (benchmarks and tests).");
  py::class_<PreparedSnapshotOfImage>(m, "PreparedSnapshot")
      .def(py::init<const RadosCluster&, const std::string&, const std::string&, const std::string&>(),
           py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"),
           py::call_guard<py::gil_scoped_release>(), py::keep_alive<1, 2>(),
           "Open an image and ask for a snapshot id (see native/replica/prepared_snapshot.h).")
      .def("take", &PreparedSnapshotOfImage::Take, py::arg("snap_name"), py::call_guard<py::gil_scoped_release>(),
           "Take the snapshot with the id asked for; its id.");
  m.def("mark_objects_existing",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           std::vector<uint64_t> object_nos) {
          WithoutGil([&] {
            IoCtx ioctx = OpenPool(c, pool, ns);
            auto image = Unwrap(RbdImage::OpenByName(ioctx, name));
            Check(Unwrap(ObjectMapMarker::Open(c, image)).MarkExisting(std::move(object_nos)));
          });
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("object_nos"),
        "Mark objects as existing in an image's object map (see native/replica/object_map_marker.h).");
}

}  // namespace mirror_snapshot::binding
