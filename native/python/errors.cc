#include "native/python/errors.h"

namespace py = pybind11;

namespace mirror_snapshot::binding {

IoCtx OpenPool(const RadosCluster& cluster, const std::string& pool, const std::string& ns) {
  return Unwrap(IoCtx::Open(cluster, pool, ns));
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

}  // namespace mirror_snapshot::binding
