// The pybind11 binding: the only file that includes pybind11.
//
// Threading rule (DESIGN.md): the mgr module imports and calls this extension
// only from threads it started itself. Every call that can block (network,
// disk) releases the GIL, and nothing here calls back into Python from a
// native thread.
//
// Errors: a failed Status becomes OSError(errno, message); the module returns
// it to the caller as (-errno, "", message).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <exception>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "native/rados_cluster.h"
#include "native/version.h"

namespace py = pybind11;
using mirror_snapshot::ConnectOptions;
using mirror_snapshot::RadosCluster;
using mirror_snapshot::Result;
using mirror_snapshot::Status;

namespace {

class StatusError : public std::exception {
 public:
  explicit StatusError(Status status) : status_(std::move(status)) {}
  const char* what() const noexcept override { return status_.message().c_str(); }
  const Status& status() const { return status_; }

 private:
  Status status_;
};

template <typename T>
T Unwrap(Result<T> result) {
  if (!result.ok()) throw StatusError(result.status());
  return std::move(result).value();
}

void TranslateStatusError(std::exception_ptr error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const StatusError& e) {
    py::object os_error = py::reinterpret_borrow<py::object>(PyExc_OSError);
    py::object instance = os_error(e.status().code(), e.status().message());
    PyErr_SetObject(PyExc_OSError, instance.ptr());
  }
}

py::dict Versions() {
  const auto info = mirror_snapshot::CurrentVersions();
  py::dict out;
  out["core"] = info.core;
  out["librados"] = info.librados;
  out["librbd"] = info.librbd;
  return out;
}

std::unique_ptr<RadosCluster> ClusterFromMgrContext(const py::capsule& context) {
  auto* cct = static_cast<rados_config_t>(context.get_pointer());
  py::gil_scoped_release unlocked;
  return Unwrap(RadosCluster::FromContext(cct));
}

std::unique_ptr<RadosCluster> ClusterConnect(std::string conf_path, std::string entity_name,
                                             std::map<std::string, std::string> config) {
  ConnectOptions options{std::move(conf_path), std::move(entity_name), std::move(config)};
  py::gil_scoped_release unlocked;
  return Unwrap(RadosCluster::Connect(options));
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "mirror_snapshot native core";
  py::register_exception_translator(&TranslateStatusError);

  m.def("versions", &Versions,
        "Versions of the native core, librados and librbd, as reported at run time.");

  py::class_<RadosCluster>(m, "Cluster")
      .def_static("from_mgr_context", &ClusterFromMgrContext, py::arg("context"),
                  "Connect a client sharing the mgr's CephContext (MgrModule.get_context()).")
      .def_static("connect", &ClusterConnect, py::arg("conf_path"),
                  py::arg("entity_name") = "client.admin",
                  py::arg("config") = std::map<std::string, std::string>{},
                  "Connect to a cluster from a config file and explicit options.")
      .def("fsid", [](const RadosCluster& c) { return Unwrap(c.Fsid()); },
           py::call_guard<py::gil_scoped_release>())
      .def("addresses", [](const RadosCluster& c) { return Unwrap(c.Addresses()); },
           py::call_guard<py::gil_scoped_release>())
      .def("instance_id", &RadosCluster::InstanceId);
}
