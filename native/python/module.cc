// The _native extension: the only code that includes pybind11.
//
// Threading rule (docs/architecture.md, "The threading rule"): the mgr module
// imports and calls this extension only from threads it started itself.
// Every call that can block (network, disk) releases the GIL, and nothing
// here calls back into Python from a native thread.
//
// Errors: a failed Status becomes OSError(errno, message) (errors.h); the
// module returns -errno with the message to the CLI.
#include <pybind11/pybind11.h>

#include "native/python/bindings.h"
#include "native/python/errors.h"

namespace binding = mirror_snapshot::binding;

PYBIND11_MODULE(_native, m) {
  m.doc() = "mirror_snapshot native core";
  pybind11::register_exception_translator(&binding::TranslateStatusError);
  binding::BindCluster(m);
  binding::BindSchedules(m);
  binding::BindPrimary(m);
  binding::BindReplay(m);
  binding::BindRoles(m);
  binding::BindVerify(m);
  auto testing = m.def_submodule("testing", "The core's parts one by one, for tests and benchmarks; not for the module.");
  binding::BindTesting(testing);
}
