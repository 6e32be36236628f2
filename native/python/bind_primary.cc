// The primary's side: one mirror snapshot of an image, with the pruning
// around it (native/primary/primary_snapshots.h).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <utility>

#include "native/primary/primary_snapshots.h"
#include "native/python/bindings.h"
#include "native/python/convert.h"
#include "native/python/errors.h"
#include "native/python/gil.h"

namespace mirror_snapshot::binding {

void BindPrimary(py::module_& m) {
  m.def("create_primary_snapshot",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, std::string name,
           std::string id, uint32_t flags) {
          const auto run = WithoutGil([&] {
            const ImageLocator image{std::move(name), std::move(id)};
            return Unwrap(CreatePrimarySnapshot(OpenPool(c, pool, ns), image, flags));
          });
          return ToDict(run);
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name") = "", py::arg("id") = "",
        py::arg("flags") = 0u,
        "Create a primary mirror snapshot and prune to rbd_mirroring_max_mirroring_snapshots.");
  m.def("sync_pins",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name) {
          const auto pins = WithoutGil([&] {
            IoCtx ioctx = OpenPool(c, pool, ns);
            return Unwrap(ReadSyncPins(Unwrap(RbdImage::OpenByName(ioctx, name))));
          });
          py::list out;
          for (const auto& pin : pins) out.append(ToDict(pin));
          return out;
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"),
        "Each secondary's sync pin on a primary image, by fsid (fields None for an unreadable record).");
}

}  // namespace mirror_snapshot::binding
