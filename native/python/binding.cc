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

#include "native/replica/delta_copier.h"
#include "native/roles/head_rollback.h"
#include "native/ceph/header_watcher.h"
#include "native/replay/image_replayer.h"
#include "native/delta/image_delta.h"
#include "native/verify/image_verify.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/omap_object.h"
#include "native/ceph/peers.h"
#include "native/replica/object_map_marker.h"
#include "native/replica/prepared_snapshot.h"
#include "native/ceph/pool_images.h"
#include "native/primary/primary_snapshots.h"
#include "native/base/process_heap.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"
#include "native/replica/replica_image.h"
#include "native/roles/role_change.h"
#include "scheduler/schedule_planner.h"
#include "native/base/version.h"
#include "scheduler/instant.h"
#include "scheduler/level_spec.h"
#include "scheduler/schedule.h"
#include "scheduler/schedule_table.h"

namespace py = pybind11;
namespace ms = mirror_snapshot;
using ms::ConnectOptions;
using ms::IoCtx;
using ms::RadosCluster;
using ms::Result;
using ms::Status;

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

void Check(const Status& status) {
  if (!status.ok()) throw StatusError(status);
}

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
bool ThisThreadHoldsGil() {
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
ClusterPtr Shared(std::unique_ptr<RadosCluster> cluster) {
  return ClusterPtr(cluster.release(), DeleteWithoutGil<RadosCluster>());
}

// Scheduler results carry only a message: every scheduler error is bad input.
template <typename T>
T UnwrapSchedule(ms::scheduler::Result<T> result) {
  if (!result.ok()) throw StatusError(Status::InvalidArgument(result.error()));
  return std::move(result).value();
}

namespace sched = ms::scheduler;

sched::Instant ToInstant(int64_t seconds) { return sched::Instant{std::chrono::seconds{seconds}}; }
int64_t FromInstant(sched::Instant t) { return t.time_since_epoch().count(); }

py::dict ToDict(const sched::Schedule& s) {
  py::dict out;
  out["kind"] = s.kind() == sched::Schedule::Kind::kCron ? "cron" : "interval";
  out["expression"] = s.expression();
  out["start_time"] = s.start_time();
  out["time_zone"] = s.time_zone();
  out["canonical"] = s.canonical();
  return out;
}

const char* LevelKindName(sched::LevelKind kind) {
  switch (kind) {
    case sched::LevelKind::kGlobal: return "global";
    case sched::LevelKind::kPool: return "pool";
    case sched::LevelKind::kNamespace: return "namespace";
    case sched::LevelKind::kImage: return "image";
  }
  return "unknown";
}

py::dict ParseLevelSpec(const std::string& text) {
  const auto level = UnwrapSchedule(sched::parse_level_spec(text));
  py::dict out;
  out["kind"] = LevelKindName(level.kind);
  out["pool"] = level.pool;
  out["namespace"] = level.ns;
  out["image"] = level.image;
  out["spec"] = level.to_string();
  return out;
}

using ScheduleParts = std::tuple<std::string, std::string, std::string>;  // expression, start, zone
using LevelSchedules = std::pair<std::string, std::vector<ScheduleParts>>;

// The scheduler thread's planner; every call is short CPU work, so the GIL
// is kept (which also serializes callers).
class Planner {
 public:
  void SetSchedules(const std::vector<LevelSchedules>& levels) {
    sched::ScheduleTable table;
    for (const auto& [level_text, items] : levels) {
      const auto level = UnwrapSchedule(sched::parse_level_spec(level_text));
      for (const auto& [expression, start, zone] : items) {
        table.add(level, UnwrapSchedule(sched::Schedule::Parse(expression, start, zone)));
      }
    }
    planner_.SetSchedules(std::move(table));
  }

  py::dict Plan(const std::vector<std::tuple<std::string, std::string, std::string, std::string>>& images,
                const std::map<std::string, int64_t>& last_runs, int64_t now, bool catch_up) {
    std::vector<ms::PlannedImage> planned;
    planned.reserve(images.size());
    for (const auto& [key, pool, ns, image] : images) planned.push_back({key, pool, ns, image});
    std::unordered_map<std::string, sched::Instant> last;
    for (const auto& [key, when] : last_runs) last.emplace(key, ToInstant(when));
    const auto stats = planner_.Plan(planned, last, ToInstant(now), catch_up);
    py::dict out;
    out["covered"] = stats.covered;
    out["uncovered"] = stats.uncovered;
    out["catch_ups"] = stats.catch_ups;
    return out;
  }

  std::vector<std::pair<std::string, int64_t>> PopDue(int64_t now) {
    std::vector<std::pair<std::string, int64_t>> out;
    for (auto& due : planner_.PopDue(ToInstant(now))) out.emplace_back(std::move(due.key), FromInstant(due.when));
    return out;
  }

  std::optional<std::pair<std::string, int64_t>> Peek() const {
    const auto due = planner_.Peek();
    if (!due) return std::nullopt;
    return std::make_pair(due->key, FromInstant(due->when));
  }

  std::optional<int64_t> NextRun(const std::string& key) const {
    const auto when = planner_.NextRun(key);
    if (!when) return std::nullopt;
    return FromInstant(*when);
  }

  std::optional<int64_t> Reschedule(const std::string& key, int64_t after) {
    const auto when = planner_.Reschedule(key, ToInstant(after));
    if (!when) return std::nullopt;
    return FromInstant(*when);
  }

  void RetryAt(const std::string& key, int64_t when) { planner_.RetryAt(key, ToInstant(when)); }

  std::optional<std::pair<std::string, std::vector<std::string>>> Applicable(const std::string& key) const {
    const auto applicable = planner_.Applicable(key);
    if (!applicable) return std::nullopt;
    std::vector<std::string> items;
    for (const auto& s : applicable->schedules) items.push_back(s.canonical());
    return std::make_pair(applicable->level->to_string(), items);
  }

  bool Covers(const std::string& pool, const std::string& ns, const std::string& image) const {
    return planner_.schedules().applicable(pool, ns, image).has_value();
  }

  size_t Queued() const { return planner_.queued(); }
  size_t MemoryBytes() const { return planner_.memory_bytes(); }

 private:
  ms::SchedulePlanner planner_;
};

py::dict ToDict(const ms::SnapshotRun& run) {
  py::dict out;
  out["image_id"] = run.image_id;
  out["snap_id"] = run.snap_id ? py::object(py::int_(*run.snap_id)) : py::object(py::none());
  out["skipped"] = run.skipped;
  out["pruned"] = run.pruned;
  out["pinned"] = std::vector<uint64_t>(run.pinned.begin(), run.pinned.end());
  out["keep"] = run.keep;
  return out;
}

py::dict ToDict(const ms::MirrorSnapshot& snap) {
  py::dict out;
  out["id"] = snap.id;
  out["name"] = snap.name;
  out["timestamp"] = snap.timestamp;
  out["state"] = ms::ToString(snap.state);
  out["complete"] = snap.complete;
  out["peer_uuids"] = snap.peer_uuids;
  out["primary_mirror_uuid"] = snap.primary_mirror_uuid;
  out["primary_snap_id"] = snap.primary_snap_id;
  return out;
}

py::dict ToDict(const ms::ProcessHeap& heap) {
  py::dict out;
  out["available"] = heap.available;
  out["arena_bytes"] = heap.arena_bytes;
  out["in_use_bytes"] = heap.in_use_bytes;
  out["free_bytes"] = heap.free_bytes;
  out["mmapped_bytes"] = heap.mmapped_bytes;
  out["releasable_bytes"] = heap.releasable_bytes;
  return out;
}

py::dict ToDict(const ms::ReplicaState& s) {
  py::dict out;
  out["remote_fsid"] = s.remote_fsid;
  out["remote_image_id"] = s.remote_image_id;
  out["global_id"] = s.global_id;
  out["primary_snap_id"] = s.primary_snap_id;
  out["local_snap_id"] = s.local_snap_id;
  out["local_snap_name"] = s.primary_snap_id ? ms::LocalSnapshotName(s.primary_snap_id) : std::string();
  out["primary_snap_time"] = s.primary_snap_time;
  out["inflight_to_snap_id"] = s.inflight_to_snap_id;
  out["checkpoint_offset"] = s.checkpoint_offset;
  out["inflight_bytes_total"] = s.inflight_bytes_total;
  out["inflight_started"] = s.inflight_started;
  out["last_sync_seconds"] = s.last_sync_seconds;
  out["last_sync_bytes"] = s.last_sync_bytes;
  out["last_sync_finished"] = s.last_sync_finished;
  out["promoted"] = s.promoted;
  out["promoted_snap_id"] = s.promoted_snap_id;
  out["promoted_at"] = s.promoted_at;
  return out;
}

py::dict ToDict(const ms::RollbackReport& r) {
  py::dict out;
  out["snap_id"] = r.snap_id;
  out["objects_examined"] = r.objects_examined;
  out["objects_rolled_back"] = r.objects_rolled_back;
  out["bytes_rolled_back"] = r.bytes_rolled_back;
  out["size_before"] = r.size_before;
  out["size_after"] = r.size_after;
  out["seconds"] = r.seconds;
  return out;
}

py::dict ToDict(const ms::ReplayResult& r) {
  py::dict out;
  out["outcome"] = ms::ToString(r.outcome);
  out["state"] = ToDict(r.state);
  out["newest_primary_snap_id"] = r.newest_primary_snap_id;
  out["bytes_copied"] = r.bytes_copied;
  out["seconds"] = r.seconds;
  out["completed_at"] = r.completed_at;
  out["resumed"] = r.resumed;
  out["resumed_at"] = r.resumed_at;
  out["skipped_snapshots"] = r.skipped_snapshots;
  out["adopted"] = r.adopted;
  out["phase_seconds"] = r.phase_seconds;
  out["notes"] = r.notes;
  return out;
}

py::dict ToDict(const ms::ReplayProgressView& v) {
  py::dict out;
  out["phase"] = v.phase;
  out["from_snap_id"] = v.from_snap_id;
  out["to_snap_id"] = v.to_snap_id;
  out["bytes_done"] = v.bytes_done;
  out["bytes_total"] = v.bytes_total;
  out["started"] = v.started;
  out["updated"] = v.updated;
  return out;
}

IoCtx OpenPool(const RadosCluster& cluster, const std::string& pool, const std::string& ns) {
  return Unwrap(IoCtx::Open(cluster, pool, ns));
}

// A snapshot prepared on an image opened for it (tests drive each step).
class TestPreparedSnapshot {
 public:
  TestPreparedSnapshot(const RadosCluster& cluster, const std::string& pool, const std::string& ns,
                       const std::string& name)
      : io_(OpenPool(cluster, pool, ns)),
        image_(Unwrap(ms::RbdImage::OpenByName(io_, name))),
        prepared_(ms::PreparedSnapshot::Begin(cluster, image_)) {}

  uint64_t Take(const std::string& snap_name) { return Unwrap(prepared_.Take(snap_name)); }

 private:
  IoCtx io_;
  ms::RbdImage image_;
  ms::PreparedSnapshot prepared_;
};

ms::ImageLocator Locator(std::string name, std::string id) {
  return ms::ImageLocator{std::move(name), std::move(id)};
}

py::dict ImageInfo(const RadosCluster& cluster, const std::string& pool, const std::string& ns,
                   const std::string& name) {
  struct Info {
    std::string id;
    ms::MirrorInfo mirror;
  };
  const Info info = WithoutGil([&] {
    IoCtx ioctx = OpenPool(cluster, pool, ns);
    if (!Unwrap(ms::NamespaceExists(ioctx, ns))) {
      throw StatusError(Status::NotFound("namespace '" + pool + "/" + ns + "' does not exist"));
    }
    auto image = Unwrap(ms::RbdImage::OpenByName(ioctx, name));
    return Info{Unwrap(image.Id()), Unwrap(image.Mirror())};
  });
  py::dict out;
  out["id"] = info.id;
  out["name"] = name;
  out["mirror_mode"] = ms::ToString(info.mirror.mode);
  out["primary"] = info.mirror.primary;
  out["global_id"] = info.mirror.global_id;
  return out;
}

py::list MirrorSnapshotsOf(const RadosCluster& cluster, const std::string& pool, const std::string& ns,
                           const std::string& name, const std::string& id) {
  const auto snaps = WithoutGil([&] {
    IoCtx ioctx = OpenPool(cluster, pool, ns);
    auto image = Unwrap(id.empty() ? ms::RbdImage::OpenByName(ioctx, name) : ms::RbdImage::OpenById(ioctx, id));
    return Unwrap(image.MirrorSnapshots());
  });
  py::list out;
  for (const auto& snap : snaps) out.append(ToDict(snap));
  return out;
}

py::list SnapshotMirroredImages(const RadosCluster& cluster, const std::string& pool, const std::string& ns) {
  const auto images = WithoutGil([&] {
    IoCtx ioctx = OpenPool(cluster, pool, ns);
    return Unwrap(ms::ListSnapshotMirroredImages(ioctx));
  });
  py::list out;
  for (const auto& image : images) {
    py::dict d;
    d["id"] = image.id;
    d["name"] = image.name;
    d["global_id"] = image.global_id;
    d["primary"] = image.primary;
    out.append(d);
  }
  return out;
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

ClusterPtr ClusterFromMgrContext(const py::capsule& context) {
  auto* cct = static_cast<rados_config_t>(context.get_pointer());
  py::gil_scoped_release unlocked;
  return Shared(Unwrap(RadosCluster::FromContext(cct)));
}

ClusterPtr ClusterConnect(std::string conf_path, std::string entity_name,
                          std::map<std::string, std::string> config) {
  ConnectOptions options{std::move(conf_path), std::move(entity_name), std::move(config)};
  py::gil_scoped_release unlocked;
  return Shared(Unwrap(RadosCluster::Connect(options)));
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "mirror_snapshot native core";
  py::register_exception_translator(&TranslateStatusError);

  m.def("versions", &Versions,
        "Versions of the native core, librados and librbd, as reported at run time.");
  // mallinfo2 walks every arena's free chunks under its lock: not with the GIL held.
  m.def("process_heap", [] { return ToDict(WithoutGil([] { return ms::ReadProcessHeap(); })); },
        "The C heap of the whole process (glibc mallinfo2): in use, free but kept, mapped.");
  m.def("release_free_heap_memory", [] { return WithoutGil([] { return ms::ReleaseFreeHeapMemory(); }); },
        "malloc_trim(0): hand the allocator's free pages back to the system; whether any were.");

  py::class_<RadosCluster, ClusterPtr>(m, "Cluster")
      .def_static("from_mgr_context", &ClusterFromMgrContext, py::arg("context"),
                  "Connect a client sharing the mgr's CephContext (MgrModule.get_context()).")
      .def_static("connect", &ClusterConnect, py::arg("conf_path"),
                  py::arg("entity_name") = "client.admin",
                  py::arg("config") = std::map<std::string, std::string>{},
                  "Connect to a cluster from a config file and explicit options.")
      .def("fsid", [](const RadosCluster& c) { return Unwrap(c.Fsid()); },
           py::call_guard<py::gil_scoped_release>())
      .def("config_value", [](const RadosCluster& c, const std::string& option) {
             return Unwrap(c.ConfigValue(option));
           }, py::arg("option"), py::call_guard<py::gil_scoped_release>(),
           "A config option's value as this client sees it (ENOENT for an unknown option).")
      .def("addresses", [](const RadosCluster& c) { return Unwrap(c.Addresses()); },
           py::call_guard<py::gil_scoped_release>())
      .def("instance_id", &RadosCluster::InstanceId)
      .def("blocklist_add", [](const RadosCluster& c, const std::string& address, double expire_seconds) {
             Check(c.BlocklistAdd(address, expire_seconds));
           }, py::arg("address"), py::arg("expire_seconds"), py::call_guard<py::gil_scoped_release>())
      .def("site_name", [](const RadosCluster& c) { return Unwrap(ms::LocalSiteName(c)); },
           py::call_guard<py::gil_scoped_release>())
      .def("pool_id", [](const RadosCluster& c, const std::string& pool) {
             return OpenPool(c, pool, "").pool_id();
           }, py::call_guard<py::gil_scoped_release>());

  // --- schedules (pure, no cluster) ----------------------------------------
  m.def("parse_schedule", [](const std::string& interval_or_cron, const std::string& start_time,
                             const std::string& time_zone) {
          return ToDict(UnwrapSchedule(sched::Schedule::Parse(interval_or_cron, start_time, time_zone)));
        }, py::arg("interval_or_cron"), py::arg("start_time") = "", py::arg("time_zone") = "",
        "Parse and canonicalize a schedule (EINVAL naming the bad part).");
  m.def("parse_level_spec", &ParseLevelSpec, "Parse a level spec: '', 'pool/', 'pool/ns/', 'pool/image', ...");
  m.def("format_instant", [](int64_t t) { return sched::format_instant(ToInstant(t)); });
  m.def("parse_instant", [](const std::string& text) {
          return FromInstant(UnwrapSchedule(sched::parse_instant(text)));
        });
  py::class_<Planner>(m, "Planner")
      .def(py::init<>())
      .def("set_schedules", &Planner::SetSchedules, py::arg("levels"))
      .def("plan", &Planner::Plan, py::arg("images"), py::arg("last_runs"), py::arg("now"),
           py::arg("catch_up"))
      .def("pop_due", &Planner::PopDue)
      .def("peek", &Planner::Peek)
      .def("next_run", &Planner::NextRun)
      .def("reschedule", &Planner::Reschedule)
      .def("retry_at", &Planner::RetryAt)
      .def("applicable", &Planner::Applicable)
      .def("covers", &Planner::Covers)
      .def_property_readonly("queued", &Planner::Queued)
      .def_property_readonly("memory_bytes", &Planner::MemoryBytes);

  // --- pools, namespaces, images -------------------------------------------
  m.def("rbd_pools", [](const RadosCluster& c) { return Unwrap(ms::ListRbdPools(c)); },
        py::call_guard<py::gil_scoped_release>(), "Pools tagged with the rbd application.");
  m.def("namespaces", [](const RadosCluster& c, const std::string& pool) {
          return Unwrap(ms::ListNamespaces(OpenPool(c, pool, "")));
        }, py::call_guard<py::gil_scoped_release>(), "Namespaces of a pool, '' first.");
  m.def("namespace_exists", [](const RadosCluster& c, const std::string& pool, const std::string& ns) {
          return Unwrap(ms::NamespaceExists(OpenPool(c, pool, ""), ns));
        }, py::call_guard<py::gil_scoped_release>());
  m.def("snapshot_mirrored_images", &SnapshotMirroredImages,
        "Images of pool/ns mirrored in snapshot mode: [{id, name, global_id, primary}].");
  m.def("image_info", &ImageInfo, py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"),
        "Id and mirroring state of one image (ENOENT if pool, namespace or image is missing).");
  m.def("image_data_pool",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& id) {
          IoCtx ioctx = OpenPool(c, pool, ns);
          return Unwrap(ms::SeparateDataPool(c, Unwrap(ms::RbdImage::OpenById(ioctx, id))));
        }, py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("id"),
        py::call_guard<py::gil_scoped_release>(),
        "The name of an image's separate data pool (rbd create --data-pool), '' when it has none.");
  m.def("image_metadata",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           const std::string& prefix) {
          IoCtx ioctx = OpenPool(c, pool, ns);
          return Unwrap(Unwrap(ms::RbdImage::OpenByName(ioctx, name)).MetadataWithPrefix(prefix));
        }, py::call_guard<py::gil_scoped_release>(), "Image metadata whose keys start with prefix.");
  m.def("mirror_snapshots", &MirrorSnapshotsOf, py::arg("cluster"), py::arg("pool"), py::arg("ns"),
        py::arg("name") = "", py::arg("id") = "");

  m.def("image_delta",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           uint64_t from_snap_id, uint64_t to_snap_id) {
          const auto delta = WithoutGil([&] {
            IoCtx ioctx = OpenPool(c, pool, ns);
            auto image = Unwrap(ms::RbdImage::OpenByName(ioctx, name));
            return Unwrap(ms::ComputeImageDelta(c, image, from_snap_id, to_snap_id));
          });
          py::dict out;
          out["changed"] = delta.changed;
          out["zeroed"] = delta.zeroed;
          out["created"] = delta.created;
          out["size_at_to"] = delta.size_at_to;
          out["objects_scanned"] = delta.objects_scanned;
          out["objects_changed"] = delta.objects_changed;
          return out;
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("from_snap_id"),
        py::arg("to_snap_id"),
        "Byte ranges of the image that changed between two snapshots (any namespace).");

  m.def("copy_delta",
        [](const RadosCluster& src, const std::string& src_pool, const std::string& src_ns,
           const std::string& src_name, uint64_t from_snap_id, uint64_t to_snap_id, const RadosCluster& dst,
           const std::string& dst_pool, const std::string& dst_ns, const std::string& dst_name,
           uint64_t max_in_flight_bytes, uint64_t resume_offset, bool mark_created_objects, bool lock_target) {
          const auto stats = WithoutGil([&] {
            IoCtx src_io = OpenPool(src, src_pool, src_ns);
            auto source = Unwrap(ms::RbdImage::OpenByName(src_io, src_name));
            const auto delta = Unwrap(ms::ComputeImageDelta(src, source, from_snap_id, to_snap_id));
            const int rc = rbd_snap_set_by_id(source.handle(), to_snap_id);
            if (rc < 0) throw StatusError(Status::FromErrno(rc, "setting snapshot " + std::to_string(to_snap_id)));
            IoCtx dst_io = OpenPool(dst, dst_pool, dst_ns);
            auto target = Unwrap(ms::RbdImage::OpenByName(dst_io, dst_name));
            if (lock_target) {  // the replayer's handle holds it from its first record write
              const int locked = rbd_lock_acquire(target.handle(), RBD_LOCK_MODE_EXCLUSIVE);
              if (locked < 0) throw StatusError(Status::FromErrno(locked, "locking '" + target.spec() + "'"));
            }
            ms::CopyOptions options;
            options.max_in_flight_bytes = max_in_flight_bytes;
            options.resume_offset = resume_offset;
            options.target_cluster = &dst;
            options.mark_created_objects = mark_created_objects;
            return Unwrap(ms::ApplyDelta(src, source, delta, target, options));
          });
          py::dict out;
          out["bytes_read"] = stats.bytes_read;
          out["bytes_written"] = stats.bytes_written;
          out["bytes_zeroed"] = stats.bytes_zeroed;
          out["objects_marked"] = stats.objects_marked;
          out["max_chunks_in_flight"] = stats.max_chunks_in_flight;
          return out;
        },
        py::arg("src"), py::arg("src_pool"), py::arg("src_ns"), py::arg("src_name"), py::arg("from_snap_id"),
        py::arg("to_snap_id"), py::arg("dst"), py::arg("dst_pool"), py::arg("dst_ns"), py::arg("dst_name"),
        py::arg("max_in_flight_bytes") = 64ull << 20, py::arg("resume_offset") = 0,
        py::arg("mark_created_objects") = false, py::arg("lock_target") = false,
        "Apply the delta of a source image between two snapshots onto a target image (pipelined AIO).");

  // --- primary mirror snapshots --------------------------------------------
  m.def("create_primary_snapshot",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, std::string name,
           std::string id, uint32_t flags) {
          const auto run = WithoutGil([&] {
            return Unwrap(ms::CreatePrimarySnapshot(OpenPool(c, pool, ns), Locator(name, id), flags));
          });
          return ToDict(run);
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name") = "", py::arg("id") = "",
        py::arg("flags") = 0u,
        "Create a primary mirror snapshot and prune to rbd_mirroring_max_mirroring_snapshots.");
  m.def("prune_mirror_snapshots",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, std::string name,
           std::string id) {
          const auto run = WithoutGil([&] {
            return Unwrap(ms::PruneMirrorSnapshots(OpenPool(c, pool, ns), Locator(name, id)));
          });
          return ToDict(run);
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name") = "", py::arg("id") = "");

  // --- omap of one object (schedules, state) -------------------------------
  m.def("omap_read", [](const RadosCluster& c, const std::string& pool, const std::string& oid) {
          return Unwrap(ms::OmapObject(OpenPool(c, pool, ""), oid).ReadAll());
        }, py::call_guard<py::gil_scoped_release>());
  m.def("omap_set", [](const RadosCluster& c, const std::string& pool, const std::string& oid,
                       const std::map<std::string, std::string>& values) {
          Check(ms::OmapObject(OpenPool(c, pool, ""), oid).Set(values));
        }, py::call_guard<py::gil_scoped_release>());
  m.def("omap_remove", [](const RadosCluster& c, const std::string& pool, const std::string& oid,
                          const std::vector<std::string>& keys) {
          Check(ms::OmapObject(OpenPool(c, pool, ""), oid).Remove(keys));
        }, py::call_guard<py::gil_scoped_release>());

  // --- peers -------------------------------------------------------------------
  // A peer record as Python sees it: everything but the key (invariant 8,
  // peer keys never leave C++). Records that connect the same way (same
  // mon_host, identity and key) are equal, one dict key; the hash leaves the
  // key out.
  py::class_<ms::PeerSite>(m, "PeerSite")
      .def_readonly("uuid", &ms::PeerSite::uuid)
      .def_readonly("direction", &ms::PeerSite::direction)
      .def_readonly("site_name", &ms::PeerSite::site_name)
      .def_readonly("mirror_uuid", &ms::PeerSite::mirror_uuid)
      .def_readonly("client_name", &ms::PeerSite::client_name)
      .def_readonly("mon_host", &ms::PeerSite::mon_host)
      .def_property_readonly("has_key", [](const ms::PeerSite& p) { return !p.key.empty(); })
      .def("__eq__", [](const ms::PeerSite& a, const ms::PeerSite& b) { return a.SameConnection(b); },
           py::is_operator())
      .def("__hash__", [](const ms::PeerSite& p) { return py::hash(py::make_tuple(p.client_name, p.mon_host)); })
      .def("__repr__", [](const ms::PeerSite& p) {
             return "PeerSite(site_name='" + p.site_name + "', mon_host='" + p.mon_host + "', client_name='" +
                    p.client_name + "', direction='" + p.direction + "')";
           });
  m.def("peer_sites", [](const RadosCluster& c, const std::string& pool) {
          return WithoutGil([&] { return Unwrap(ms::ListPeerSites(OpenPool(c, pool, ""))); });
        }, "The pool's mirror peers (PeerSite objects: no key is readable from Python).");
  m.def("connect_peer", [](const ms::PeerSite& peer, int timeout_seconds) {
          return WithoutGil([&] { return Shared(Unwrap(ms::ConnectToPeer(peer, timeout_seconds))); });
        }, py::arg("peer"), py::arg("timeout_seconds") = 30,
        "A client of the peer cluster with the record's identity and key (ETIMEDOUT if it does not answer).");
  m.def("ping_peer", [](const RadosCluster& remote, const std::string& pool, const std::string& site_name,
                        const std::string& fsid) {
          Check(ms::PingPeer(OpenPool(remote, pool, ""), site_name, fsid));
        }, py::call_guard<py::gil_scoped_release>());

  // --- the secondary: replaying primary images -------------------------------
  py::class_<ms::MemoryBudget, std::shared_ptr<ms::MemoryBudget>>(m, "MemoryBudget")
      .def(py::init<uint64_t>(), py::arg("limit_bytes"))
      .def("set_limit", &ms::MemoryBudget::SetLimit)
      .def("used", &ms::MemoryBudget::used);
  py::class_<ms::ReplayProgress, std::shared_ptr<ms::ReplayProgress>>(m, "ReplayProgress")
      .def(py::init<>())
      .def("view", [](const ms::ReplayProgress& p) { return ToDict(p.View()); })
      .def("set_cancelled", &ms::ReplayProgress::SetCancelled)
      .def("cancelled", &ms::ReplayProgress::cancelled);
  py::class_<ms::TaskPool, std::shared_ptr<ms::TaskPool>>(m, "TaskPool")
      // Joined without the GIL: a job still queued must not stall every mgr module.
      .def(py::init([](unsigned threads) {
             return std::shared_ptr<ms::TaskPool>(new ms::TaskPool(threads), DeleteWithoutGil<ms::TaskPool>());
           }),
           py::arg("threads"),
           "A fixed set of threads for the side jobs of syncs (their release of primary snapshots).")
      .def_property_readonly("threads", &ms::TaskPool::threads);
  m.def("replay_image",
        [](const RadosCluster& remote, const RadosCluster& local, const std::string& pool, const std::string& ns,
           const std::string& remote_image_id, const std::string& image_name, const std::string& remote_fsid,
           const std::string& local_fsid, std::shared_ptr<ms::ReplayProgress> progress,
           uint64_t max_in_flight_bytes, unsigned keep_local_snapshots, std::shared_ptr<ms::MemoryBudget> budget,
           std::shared_ptr<ms::TaskPool> side_jobs) {
          ms::ReplayTarget target{&remote, &local, pool, ns, remote_image_id, image_name, remote_fsid, local_fsid};
          ms::ReplayOptions options;
          options.max_in_flight_bytes = max_in_flight_bytes;
          options.budget = budget.get();
          options.keep_local_snapshots = keep_local_snapshots;
          options.side_jobs = side_jobs.get();
          const auto result = WithoutGil([&] { return Unwrap(ms::ReplayImage(target, options, progress.get())); });
          return ToDict(result);
        },
        py::arg("remote"), py::arg("local"), py::arg("pool"), py::arg("ns"), py::arg("remote_image_id"),
        py::arg("image_name"), py::arg("remote_fsid"), py::arg("local_fsid"), py::arg("progress"),
        py::arg("max_in_flight_bytes") = 64ull << 20, py::arg("keep_local_snapshots") = 3,
        py::arg("budget") = nullptr, py::arg("side_jobs") = nullptr,
        "Bring the secondary of a primary image up to the newest complete primary mirror snapshot (one delta).");
  m.def("replica_state",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name)
            -> py::object {
          const auto state = WithoutGil([&] {
            IoCtx ioctx = OpenPool(c, pool, ns);
            auto image = Unwrap(ms::RbdImage::OpenByName(ioctx, name));
            return Unwrap(ms::ReadReplicaState(image));
          });
          if (!state) return py::none();
          return ToDict(*state);
        },
        "The replica record of a local image, or None if it is not a replica (ENOENT if missing).");
  // --- changing roles: demote, promote, resync ----------------------------------
  m.def("demote_image",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name) {
          const auto report = WithoutGil([&] { return Unwrap(ms::DemotePrimary(OpenPool(c, pool, ns), name)); });
          py::dict out;
          out["demoted_snap_id"] = report.demoted_snap_id;
          out["already"] = report.already;
          return out;
        });
  m.def("promote_image",
        [](const RadosCluster& local, const std::string& pool, const std::string& ns, const std::string& name,
           const RadosCluster* remote, bool force) {
          const auto r = WithoutGil([&] {
            return Unwrap(ms::PromoteSecondary(local, OpenPool(local, pool, ns), name, remote, force));
          });
          py::dict out;
          out["primary_snap_id"] = r.primary_snap_id;
          out["recovery_point"] = r.recovery_point;
          out["promoted_snap_id"] = r.promoted_snap_id;
          out["forced"] = r.forced;
          out["rolled_back"] = r.rolled_back ? py::object(ToDict(r.rollback)) : py::object(py::none());
          out["already"] = r.already;
          return out;
        },
        py::arg("local"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("remote").none(true),
        py::arg("force"));
  m.def("resync_image",
        [](const RadosCluster& local, const std::string& pool, const std::string& ns, const std::string& name,
           const RadosCluster& remote, const std::string& local_fsid, const std::string& remote_fsid, bool force) {
          const auto r = WithoutGil([&] {
            return Unwrap(ms::ResyncFromPromoted(local, OpenPool(local, pool, ns), name, remote, local_fsid,
                                                 remote_fsid,
                                                 force ? ms::ResyncMode::kForced : ms::ResyncMode::kCommand));
          });
          py::dict out;
          out["common_snap_id"] = r.common_snap_id;
          out["base_snap_id"] = r.base_snap_id;
          out["rolled_back"] = r.rolled_back ? py::object(ToDict(r.rollback)) : py::object(py::none());
          out["state"] = ToDict(r.state);
          out["already"] = r.already;
          out["resumed"] = r.resumed;
          return out;
        });
  m.def("rollback_head",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           const std::string& snap_name) {
          const auto r = WithoutGil([&] {
            IoCtx io = OpenPool(c, pool, ns);
            auto image = Unwrap(ms::RbdImage::OpenByName(io, name));
            auto id = Unwrap(image.SnapshotIdByName(snap_name));
            if (!id) throw StatusError(Status::NotFound("snapshot '" + snap_name + "' of '" + image.spec() +
                                                        "' does not exist"));
            return Unwrap(ms::RollbackHead(c, image, *id, snap_name));
          });
          return ToDict(r);
        },
        "Roll HEAD back to a user snapshot, touching only the objects changed since (benchmarks and tests).");
  m.def("verify_image",
        [](const RadosCluster& local, const std::string& pool, const std::string& ns, const std::string& name,
           const RadosCluster& remote, uint64_t primary_snap_id) {
          const auto r = WithoutGil([&] {
            return Unwrap(ms::VerifyReplica(local, OpenPool(local, pool, ns), name, remote, primary_snap_id));
          });
          py::dict out;
          out["primary_snap_id"] = r.primary_snap_id;
          out["local_snap_name"] = r.local_snap_name;
          out["size"] = r.result.size;
          out["size_mismatch"] = r.result.size_mismatch;
          out["objects_compared"] = r.result.objects_compared;
          out["bytes_compared"] = r.result.bytes_compared;
          out["seconds"] = r.result.seconds;
          py::list mismatches;
          for (const auto& [off, len] : r.result.mismatches) mismatches.append(py::make_tuple(off, len));
          out["mismatches"] = mismatches;
          return out;
        },
        "Compare a secondary's snapshot with the primary snapshot it holds, object by object.");
  py::class_<TestPreparedSnapshot>(m, "PreparedSnapshot")
      .def(py::init<const RadosCluster&, const std::string&, const std::string&, const std::string&>(),
           py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"),
           py::call_guard<py::gil_scoped_release>(), py::keep_alive<1, 2>(),
           "Open an image and ask for a snapshot id (see native/replica/prepared_snapshot.h).")
      .def("take", &TestPreparedSnapshot::Take, py::arg("snap_name"), py::call_guard<py::gil_scoped_release>(),
           "Take the snapshot with the id asked for; its id.");
  m.def("mark_objects_existing",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           std::vector<uint64_t> object_nos) {
          WithoutGil([&] {
            IoCtx ioctx = OpenPool(c, pool, ns);
            auto image = Unwrap(ms::RbdImage::OpenByName(ioctx, name));
            Check(Unwrap(ms::ObjectMapMarker::Open(c, image)).MarkExisting(std::move(object_nos)));
          });
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("object_nos"),
        "Mark objects as existing in an image's object map (see native/replica/object_map_marker.h).");
  // Its destructor unwatches (network round trips): without the GIL.
  py::class_<ms::HeaderWatcher, std::unique_ptr<ms::HeaderWatcher, DeleteWithoutGil<ms::HeaderWatcher>>>(
      m, "HeaderWatcher")
      .def(py::init<>())
      .def("watch", [](ms::HeaderWatcher& w, ClusterPtr c, const std::string& pool, const std::string& ns,
                       const std::string& oid, const std::string& key) {
             // Each watch holds its cluster (no keep_alive: it grew per call).
             Check(w.Watch(std::move(c), pool, ns, oid, key));
           }, py::call_guard<py::gil_scoped_release>())
      .def("unwatch", &ms::HeaderWatcher::Unwatch, py::call_guard<py::gil_scoped_release>())
      .def("keys", &ms::HeaderWatcher::Keys)
      .def("wait", &ms::HeaderWatcher::WaitForChanges, py::arg("timeout_seconds"),
           py::call_guard<py::gil_scoped_release>(),
           "Keys of the watched headers that changed (or whose watch broke) since the last call.");
}
