// Verification: a replica snapshot against the primary snapshot it holds,
// object by object (native/verify/image_verify.h).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>

#include "native/python/bindings.h"
#include "native/python/convert.h"
#include "native/python/errors.h"
#include "native/python/gil.h"
#include "native/verify/image_verify.h"

namespace mirror_snapshot::binding {

void BindVerify(py::module_& m) {
  m.def("verify_image",
        [](const RadosCluster& local, const std::string& pool, const std::string& ns, const std::string& name,
           const RadosCluster& remote, uint64_t primary_snap_id) {
          return ToDict(WithoutGil([&] {
            return Unwrap(VerifyReplica(local, OpenPool(local, pool, ns), name, remote, primary_snap_id));
          }));
        },
        py::arg("local"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("remote"),
        py::arg("primary_snap_id"),
        "Compare a secondary's snapshot with the primary snapshot it holds, object by object.");
}

}  // namespace mirror_snapshot::binding
