// The GIL at the boundary. Every mgr module shares one GIL: a native call
// that may block (network, disk) runs without it, and a native object whose
// destructor talks to the cluster is deleted without it.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>

#include "native/ceph/rados_cluster.h"

namespace mirror_snapshot::binding {

namespace py = pybind11;

// Native results are built into plain structs with the GIL released, then
// converted to Python objects once it is held again.
template <typename Work>
auto WithoutGil(Work work) {
  py::gil_scoped_release unlocked;
  return work();
}

// Whether the calling thread holds the GIL. The current thread state is the
// GIL holder's (or null): compared by thread id, as PyGILState_Check is not
// reliable in the mgr's sub-interpreters.
inline bool ThisThreadHoldsGil() {
  const PyThreadState* state = py::detail::get_thread_state_unchecked();
  return state != nullptr && state->thread_id == PyThread_get_thread_ident();
}

// Deletes a native object whose destructor talks to the cluster
// (rados_shutdown, unwatch and watch flush) without the GIL, which every
// module of the mgr shares; when Python drops the last reference, that runs
// with the GIL held. Native threads (no GIL) just delete.
template <typename T>
struct DeleteWithoutGil {
  void operator()(T* object) const {
    if (!ThisThreadHoldsGil()) {
      delete object;
      return;
    }
    PyThreadState* saved = PyEval_SaveThread();
    delete object;
    PyEval_RestoreThread(saved);
  }
};

// Clusters are held by shared_ptr, so that native objects that use one
// beyond a call (a header watch) hold it themselves: a Python-side
// keep_alive is never deduplicated and grew on each call.
using ClusterPtr = std::shared_ptr<RadosCluster>;
inline ClusterPtr Shared(std::unique_ptr<RadosCluster> cluster) {
  return ClusterPtr(cluster.release(), DeleteWithoutGil<RadosCluster>());
}

}  // namespace mirror_snapshot::binding
