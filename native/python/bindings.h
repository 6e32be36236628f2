// The parts of the _native module, one per job of the core. Each adds its
// functions and classes to `m`; module.cc calls them in this order (the
// Cluster type first: every other part takes one).
#pragma once

#include <pybind11/pybind11.h>

namespace mirror_snapshot::binding {

namespace py = pybind11;

void BindCluster(py::module_& m);    // clients, pools, images, omap, peers, header watches, the heap
void BindSchedules(py::module_& m);  // schedule and level-spec parsing, the planner
void BindPrimary(py::module_& m);    // mirror snapshots of primary images
void BindReplay(py::module_& m);     // syncing a replica: budget, progress, one step, its record
void BindRoles(py::module_& m);      // demote, promote, resync
void BindVerify(py::module_& m);     // replica against primary
void BindTesting(py::module_& m);    // _native.testing: the core's parts driven one by one

}  // namespace mirror_snapshot::binding
