// Changing roles: demote a primary, promote a secondary (forced or not),
// resync a demoted image from its promoted peer (native/roles/role_change.h).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "native/python/bindings.h"
#include "native/python/convert.h"
#include "native/python/errors.h"
#include "native/python/gil.h"
#include "native/roles/role_change.h"

namespace mirror_snapshot::binding {

void BindRoles(py::module_& m) {
  m.def("demote_image",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name) {
          return ToDict(WithoutGil([&] { return Unwrap(DemotePrimary(OpenPool(c, pool, ns), name)); }));
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"),
        "Demote a primary image: a final mirror snapshot for the secondary to sync, then non-primary.");
  m.def("promote_image",
        [](const RadosCluster& local, const std::string& pool, const std::string& ns, const std::string& name,
           const RadosCluster* remote, bool force) {
          return ToDict(WithoutGil([&] {
            return Unwrap(PromoteSecondary(local, OpenPool(local, pool, ns), name, remote, force));
          }));
        },
        py::arg("local"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("remote").none(true),
        py::arg("force"),
        "Promote a secondary at its last complete snapshot (force: without the old primary's demotion).");
  m.def("resync_image",
        [](const RadosCluster& local, const std::string& pool, const std::string& ns, const std::string& name,
           const RadosCluster& remote, const std::string& local_fsid, const std::string& remote_fsid, bool force) {
          const auto mode = force ? ResyncMode::kForced : ResyncMode::kCommand;
          return ToDict(WithoutGil([&] {
            return Unwrap(ResyncFromPromoted(local, OpenPool(local, pool, ns), name, remote, local_fsid, remote_fsid,
                                             mode));
          }));
        },
        py::arg("local"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("remote"), py::arg("local_fsid"),
        py::arg("remote_fsid"), py::arg("force"),
        "Make a demoted image the secondary of its promoted peer, from the newest snapshot both hold.");
}

}  // namespace mirror_snapshot::binding
