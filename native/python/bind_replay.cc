// The secondary's sync: the memory budget all syncs share, the live progress
// of one, the threads of their side jobs, one sync step (ReplayImage), and the
// replica record a step leaves, and removing a replica on purpose.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "native/base/memory_budget.h"
#include "native/base/task_pool.h"
#include "native/ceph/data_objects.h"
#include "native/journal/journal_header.h"
#include "native/journal/journal_records.h"
#include "native/python/bindings.h"
#include "native/python/convert.h"
#include "native/python/errors.h"
#include "native/python/gil.h"
#include "native/replay/image_replayer.h"
#include "native/replay/journal_image_replayer.h"
#include "native/replay/replay_progress.h"
#include "native/replica/replica_image.h"
#include "native/replica/replica_removal.h"

namespace mirror_snapshot::binding {

void BindReplay(py::module_& m) {
  const ReplayOptions defaults;
  py::enum_<ReplayOutcome>(m, "ReplayOutcome", "What one sync step found (its .name is what status shows).")
      .value("waiting", ReplayOutcome::kWaiting, "the primary has no complete mirror snapshot yet")
      .value("up_to_date", ReplayOutcome::kUpToDate, "the secondary holds the newest one already")
      .value("synced", ReplayOutcome::kSynced, "one delta was synced")
      .value("local_primary", ReplayOutcome::kLocalPrimary, "the image here is primary: nothing to replay into")
      .value("split_brain", ReplayOutcome::kSplitBrain, "primary on both sites; the result's reason says more");
  py::class_<MemoryBudget, std::shared_ptr<MemoryBudget>>(m, "MemoryBudget")
      .def(py::init<uint64_t>(), py::arg("limit_bytes"))
      .def("set_limit", &MemoryBudget::SetLimit, py::arg("limit_bytes"))
      .def("used", &MemoryBudget::used);
  py::class_<ReplayProgress, std::shared_ptr<ReplayProgress>>(m, "ReplayProgress")
      .def(py::init<>())
      .def("view", [](const ReplayProgress& p) { return ToDict(p.View()); })
      .def("set_cancelled", &ReplayProgress::SetCancelled, py::arg("cancelled"))
      .def("cancelled", &ReplayProgress::cancelled);
  py::class_<TaskPool, std::shared_ptr<TaskPool>>(m, "TaskPool")
      // Joined without the GIL: a job still queued must not stall every mgr module.
      .def(py::init([](unsigned threads) {
             return std::shared_ptr<TaskPool>(new TaskPool(threads), DeleteWithoutGil<TaskPool>());
           }),
           py::arg("threads"),
           "A fixed set of threads for the side jobs of syncs (their release of primary snapshots).")
      .def_property_readonly("threads", &TaskPool::threads);
  m.def("replay_image",
        [](const RadosCluster& remote, const RadosCluster& local, const std::string& pool, const std::string& ns,
           const std::string& remote_image_id, const std::string& image_name, const std::string& remote_fsid,
           const std::string& local_fsid, std::shared_ptr<ReplayProgress> progress,
           uint64_t max_in_flight_bytes, unsigned keep_local_snapshots, std::shared_ptr<MemoryBudget> budget,
           std::shared_ptr<TaskPool> side_jobs) {
          ReplayTarget target{&remote, &local, pool, ns, remote_image_id, image_name, remote_fsid, local_fsid};
          ReplayOptions options;
          options.max_in_flight_bytes = max_in_flight_bytes;
          options.budget = budget.get();
          options.keep_local_snapshots = keep_local_snapshots;
          options.side_jobs = side_jobs.get();
          const auto result = WithoutGil([&] { return Unwrap(ReplayImage(target, options, progress.get())); });
          return ToDict(result);
        },
        py::arg("remote"), py::arg("local"), py::arg("pool"), py::arg("ns"), py::arg("remote_image_id"),
        py::arg("image_name"), py::arg("remote_fsid"), py::arg("local_fsid"), py::arg("progress"),
        py::arg("max_in_flight_bytes") = defaults.max_in_flight_bytes,
        py::arg("keep_local_snapshots") = defaults.keep_local_snapshots,
        py::arg("budget") = nullptr, py::arg("side_jobs") = nullptr,
        "Bring the secondary of a primary image up to the newest complete primary mirror snapshot (one delta).");
  m.def("replay_journal_image",
        [](const RadosCluster& remote, const RadosCluster& local, const std::string& pool, const std::string& ns,
           const std::string& remote_image_id, const std::string& image_name, const std::string& remote_fsid,
           const std::string& local_fsid, uint64_t max_read_bytes, unsigned max_passes,
           uint64_t max_in_flight_bytes, std::shared_ptr<MemoryBudget> budget,
           std::shared_ptr<ReplayProgress> progress) {
          ReplayTarget target{&remote, &local, pool, ns, remote_image_id, image_name, remote_fsid, local_fsid};
          JournalStepOptions options;
          options.progress = progress.get();
          options.replay.max_read_bytes = max_read_bytes;
          options.max_passes = max_passes;
          options.max_in_flight_bytes = max_in_flight_bytes;
          options.budget = budget.get();
          const auto r = WithoutGil([&] { return Unwrap(ReplayJournalImage(target, options)); });
          return ToDict(r);
        },
        py::arg("remote"), py::arg("local"), py::arg("pool"), py::arg("ns"), py::arg("remote_image_id"),
        py::arg("image_name"), py::arg("remote_fsid"), py::arg("local_fsid"),
        py::arg("max_read_bytes") = JournalReplayOptions{}.max_read_bytes,
        py::arg("max_passes") = JournalStepOptions{}.max_passes,
        py::arg("max_in_flight_bytes") = defaults.max_in_flight_bytes, py::arg("budget") = nullptr,
        py::arg("progress") = nullptr,
        "One step of a journal-mode image's replica: a bootstrap phase, or replay passes "
        "(see native/replay/journal_image_replayer.h).");
  m.def("journal_clients",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name) {
          const auto lags = WithoutGil([&] {
            IoCtx io = OpenPool(c, pool, ns);
            auto image = Unwrap(RbdImage::OpenByName(io, name));
            auto header = Unwrap(JournalHeader::Open(Unwrap(OpenHeaderObjects(c, image)), Unwrap(image.Id()),
                                                     image.spec()));
            return ClientLags(Unwrap(header.Clients()));
          });
          py::list out;
          for (const auto& lag : lags) {
            py::dict d;
            d["id"] = lag.id;
            d["state"] = lag.connected ? "connected" : "disconnected";
            d["entries_behind"] = lag.entries_behind;
            out.append(d);
          }
          return out;
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"),
        "The clients of a journal-mode image's journal but its own: [{id, state, entries_behind}] "
        "(ENOENT if it has no journal).");
  m.def("request_journal_resync",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           const RadosCluster& remote) {
          return WithoutGil([&] { return Unwrap(RequestJournalResync(c, OpenPool(c, pool, ns), name, remote)); });
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("remote"),
        "Ask the replayer to empty a journal-mode replica and bootstrap it again; False if it is not one.");
  m.def("replica_state",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name)
            -> py::object {
          const auto state = WithoutGil([&] {
            IoCtx ioctx = OpenPool(c, pool, ns);
            auto image = Unwrap(RbdImage::OpenByName(ioctx, name));
            return Unwrap(ReadReplicaState(image));
          });
          if (!state) return py::none();
          return ToDict(*state);
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"),
        "The replica record of a local image, or None if it is not a replica (ENOENT if missing).");
  m.def("remove_replica",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           const std::string& expected_global_id) {
          const auto report = WithoutGil([&] {
            return Unwrap(RemoveReplica(c, OpenPool(c, pool, ns), name, expected_global_id));
          });
          py::dict out;
          out["global_id"] = report.global_id;
          out["primary_snap_id"] = report.primary_snap_id;
          out["snapshots_removed"] = report.snapshots_removed;
          return out;
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("expected_global_id"),
        "Remove a replica of the primary `expected_global_id` (fence lifted, snapshots removed, image "
        "removed); EINVAL if not a replica.");
}

}  // namespace mirror_snapshot::binding
