// Native results as the Python dicts the module reads: one function per
// result type, each field named once here. Called with the GIL held, after
// the native work ran without it.
#pragma once

#include <pybind11/pybind11.h>

#include "native/base/process_heap.h"
#include "native/ceph/pool_images.h"
#include "native/ceph/rbd_image.h"
#include "native/delta/image_delta.h"
#include "native/primary/primary_snapshots.h"
#include "native/replay/image_replayer.h"
#include "native/replay/journal_image_replayer.h"
#include "native/replay/replay_progress.h"
#include "native/replica/delta_copier.h"
#include "native/replica/replica_state.h"
#include "native/roles/head_rollback.h"
#include "native/roles/role_change.h"
#include "native/verify/image_verify.h"
#include "scheduler/schedule.h"

namespace mirror_snapshot::binding {

namespace py = pybind11;

py::dict ToDict(const scheduler::Schedule& schedule);
py::dict ToDict(const MirroredImage& image);
py::dict ToDict(const MirrorSnapshot& snap);
py::dict ToDict(const ProcessHeap& heap);
py::dict ToDict(const SnapshotRun& run);
py::dict ToDict(const SecondarySyncPin& pin);
py::dict ToDict(const ImageDelta& delta);
py::dict ToDict(const CopyStats& stats);
py::dict ToDict(const ReplicaState& state);
py::dict ToDict(const ReplayResult& result);
py::dict ToDict(const JournalStepResult& result);
py::dict ToDict(const ReplayProgressView& view);
py::dict ToDict(const RollbackReport& report);
py::dict ToDict(const DemoteReport& report);
py::dict ToDict(const PromoteReport& report);
py::dict ToDict(const ResyncReport& report);
py::dict ToDict(const ReplicaVerifyReport& report);

}  // namespace mirror_snapshot::binding
