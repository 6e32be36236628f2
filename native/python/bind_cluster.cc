// Clients of a cluster and what the module reads through them: pools,
// namespaces, images and their mirror snapshots, omap objects, mirror peers,
// header watches; and the process heap the memory command reports.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "native/base/process_heap.h"
#include "native/ceph/header_watcher.h"
#include "native/ceph/omap_object.h"
#include "native/ceph/peers.h"
#include "native/ceph/pool_images.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"
#include "native/ceph/version.h"
#include "native/python/bindings.h"
#include "native/python/convert.h"
#include "native/python/errors.h"
#include "native/python/gil.h"
#include "native/replica/replica_image.h"

namespace mirror_snapshot::binding {

namespace {

py::dict Versions() {
  const auto info = CurrentVersions();
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

py::list MirrorSnapshotsOf(const RadosCluster& cluster, const std::string& pool, const std::string& ns,
                           const std::string& name, const std::string& id) {
  const auto snaps = WithoutGil([&] {
    IoCtx ioctx = OpenPool(cluster, pool, ns);
    auto image = Unwrap(id.empty() ? RbdImage::OpenByName(ioctx, name) : RbdImage::OpenById(ioctx, id));
    return Unwrap(image.MirrorSnapshots());
  });
  py::list out;
  for (const auto& snap : snaps) out.append(ToDict(snap));
  return out;
}

py::list MirroredImagesList(const RadosCluster& cluster, const std::string& pool, const std::string& ns,
                            std::optional<MirrorMode> mode) {
  const auto images = WithoutGil([&] { return Unwrap(ListMirroredImages(OpenPool(cluster, pool, ns), mode)); });
  py::list out;
  for (const auto& image : images) out.append(ToDict(image));
  return out;
}

}  // namespace

void BindCluster(py::module_& m) {
  py::enum_<MirrorMode>(m, "MirrorMode", "An image's mirroring mode, as librbd reports it.")
      .value("disabled", MirrorMode::kDisabled)
      .value("journal", MirrorMode::kJournal)
      .value("snapshot", MirrorMode::kSnapshot);
  py::enum_<MirrorSnapshotState>(m, "MirrorSnapshotState", "What a mirror snapshot was taken as.")
      .value("primary", MirrorSnapshotState::kPrimary)
      .value("primary_demoted", MirrorSnapshotState::kPrimaryDemoted, "the final snapshot of a demotion")
      .value("non_primary", MirrorSnapshotState::kNonPrimary)
      .value("non_primary_demoted", MirrorSnapshotState::kNonPrimaryDemoted);
  m.def("versions", &Versions,
        "Versions of the native core, librados and librbd, as reported at run time.");
  // mallinfo2 walks every arena's free chunks under its lock: not with the GIL held.
  m.def("process_heap", [] { return ToDict(WithoutGil([] { return ReadProcessHeap(); })); },
        "The C heap of the whole process (glibc mallinfo2): in use, free but kept, mapped.");
  m.def("release_free_heap_memory", [] { return WithoutGil([] { return ReleaseFreeHeapMemory(); }); },
        "malloc_trim(0): hand the allocator's free pages back to the system; whether any were.");
  m.def("set_heap_mmap_threshold", &SetHeapMmapThreshold, py::arg("bytes"),
        "mallopt(M_MMAP_THRESHOLD): blocks this large or larger are mapped alone and unmapped when "
        "freed; whether glibc took it.");

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
      .def("blocklist_add", [](const RadosCluster& c, const std::string& address, double expire_seconds) {
             Check(c.BlocklistAdd(address, expire_seconds));
           }, py::arg("address"), py::arg("expire_seconds"), py::call_guard<py::gil_scoped_release>())
      .def("site_name", [](const RadosCluster& c) { return Unwrap(LocalSiteName(c)); },
           py::call_guard<py::gil_scoped_release>())
      .def("pool_id", [](const RadosCluster& c, const std::string& pool) {
             return OpenPool(c, pool, "").pool_id();
           }, py::arg("pool"), py::call_guard<py::gil_scoped_release>());

  // --- pools, namespaces, images -------------------------------------------
  m.def("rbd_pools", [](const RadosCluster& c) { return Unwrap(ListRbdPools(c)); }, py::arg("cluster"),
        py::call_guard<py::gil_scoped_release>(), "Pools tagged with the rbd application.");
  m.def("namespaces", [](const RadosCluster& c, const std::string& pool) {
          return Unwrap(ListNamespaces(OpenPool(c, pool, "")));
        }, py::arg("cluster"), py::arg("pool"), py::call_guard<py::gil_scoped_release>(),
        "Namespaces of a pool, '' first.");
  m.def("namespace_exists", [](const RadosCluster& c, const std::string& pool, const std::string& ns) {
          return Unwrap(NamespaceExists(OpenPool(c, pool, ""), ns));
        }, py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::call_guard<py::gil_scoped_release>());
  m.def("snapshot_mirrored_images",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns) {
          return MirroredImagesList(c, pool, ns, MirrorMode::kSnapshot);
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"),
        "Images of pool/ns mirrored in snapshot mode: [{id, name, global_id, primary, mode}].");
  m.def("mirrored_images",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns) {
          return MirroredImagesList(c, pool, ns, std::nullopt);
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"),
        "Images of pool/ns mirrored in either mode: [{id, name, global_id, primary, mode}], "
        "mode 'snapshot' or 'journal'.");
  m.def("image_info",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name) {
          const auto image = WithoutGil([&] { return Unwrap(IdentifyImage(OpenPool(c, pool, ns), name)); });
          py::dict out;
          out["id"] = image.id;
          out["name"] = name;
          out["mirror_mode"] = image.mirror.mode;
          out["primary"] = image.mirror.primary;
          out["global_id"] = image.mirror.global_id;
          return out;
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"),
        "Id and mirroring state of one image (ENOENT if pool, namespace or image is missing).");
  m.def("image_data_pool",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& id) {
          IoCtx ioctx = OpenPool(c, pool, ns);
          return Unwrap(SeparateDataPool(c, Unwrap(RbdImage::OpenById(ioctx, id))));
        }, py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("id"),
        py::call_guard<py::gil_scoped_release>(),
        "The name of an image's separate data pool (rbd create --data-pool), '' when it has none.");
  m.def("mirror_snapshots", &MirrorSnapshotsOf, py::arg("cluster"), py::arg("pool"), py::arg("ns"),
        py::arg("name") = "", py::arg("id") = "");

  // --- omap of one object (schedules, state) -------------------------------
  m.def("omap_read", [](const RadosCluster& c, const std::string& pool, const std::string& oid) {
          return Unwrap(OmapObject(OpenPool(c, pool, ""), oid).ReadAll());
        }, py::arg("cluster"), py::arg("pool"), py::arg("oid"), py::call_guard<py::gil_scoped_release>());
  m.def("omap_set", [](const RadosCluster& c, const std::string& pool, const std::string& oid,
                       const std::map<std::string, std::string>& values) {
          Check(OmapObject(OpenPool(c, pool, ""), oid).Set(values));
        }, py::arg("cluster"), py::arg("pool"), py::arg("oid"), py::arg("values"),
        py::call_guard<py::gil_scoped_release>());
  m.def("omap_remove", [](const RadosCluster& c, const std::string& pool, const std::string& oid,
                          const std::vector<std::string>& keys) {
          Check(OmapObject(OpenPool(c, pool, ""), oid).Remove(keys));
        }, py::arg("cluster"), py::arg("pool"), py::arg("oid"), py::arg("keys"),
        py::call_guard<py::gil_scoped_release>());

  // --- peers -------------------------------------------------------------------
  // A peer record as Python sees it: everything but the key (invariant 8,
  // peer keys never leave C++). Records that connect the same way (same
  // mon_host, identity and key) are equal, one dict key; the hash leaves the
  // key out.
  py::class_<PeerSite>(m, "PeerSite")
      .def_readonly("uuid", &PeerSite::uuid)
      .def_readonly("direction", &PeerSite::direction)
      .def_readonly("site_name", &PeerSite::site_name)
      .def_readonly("mirror_uuid", &PeerSite::mirror_uuid)
      .def_readonly("client_name", &PeerSite::client_name)
      .def_readonly("mon_host", &PeerSite::mon_host)
      .def_property_readonly("has_key", [](const PeerSite& p) { return !p.key.empty(); })
      .def("__eq__", [](const PeerSite& a, const PeerSite& b) { return a.SameConnection(b); },
           py::is_operator())
      .def("__hash__", [](const PeerSite& p) { return py::hash(py::make_tuple(p.client_name, p.mon_host)); })
      .def("__repr__", [](const PeerSite& p) {
             return "PeerSite(site_name='" + p.site_name + "', mon_host='" + p.mon_host + "', client_name='" +
                    p.client_name + "', direction='" + p.direction + "')";
           });
  m.def("peer_sites", [](const RadosCluster& c, const std::string& pool) {
          return WithoutGil([&] { return Unwrap(ListPeerSites(OpenPool(c, pool, ""))); });
        }, py::arg("cluster"), py::arg("pool"),
        "The pool's mirror peers (PeerSite objects: no key is readable from Python).");
  m.def("connect_peer", [](const PeerSite& peer, int timeout_seconds) {
          return WithoutGil([&] { return Shared(Unwrap(ConnectToPeer(peer, timeout_seconds))); });
        }, py::arg("peer"), py::arg("timeout_seconds") = 30,
        "A client of the peer cluster with the record's identity and key (ETIMEDOUT if it does not answer).");
  m.def("ping_peer", [](const RadosCluster& remote, const std::string& pool, const std::string& site_name,
                        const std::string& fsid) {
          Check(PingPeer(OpenPool(remote, pool, ""), site_name, fsid));
        }, py::arg("remote"), py::arg("pool"), py::arg("site_name"), py::arg("fsid"),
        py::call_guard<py::gil_scoped_release>());

  py::class_<HeaderWatcher, std::unique_ptr<HeaderWatcher, DeleteWithoutGil<HeaderWatcher>>>(
      m, "HeaderWatcher")
      .def(py::init<>())
      .def("watch", [](HeaderWatcher& w, ClusterPtr c, const std::string& pool, const std::string& ns,
                       const std::string& oid, const std::string& key) {
             // Each watch holds its cluster (no keep_alive: it grew per call).
             Check(w.Watch(std::move(c), pool, ns, oid, key));
           }, py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("oid"), py::arg("key"),
           py::call_guard<py::gil_scoped_release>())
      .def("unwatch", &HeaderWatcher::Unwatch, py::arg("key"), py::call_guard<py::gil_scoped_release>())
      .def("keys", &HeaderWatcher::Keys)
      .def("wait", &HeaderWatcher::WaitForChanges, py::arg("timeout_seconds"),
           py::call_guard<py::gil_scoped_release>(),
           "Keys of the watched headers that changed (or whose watch broke) since the last call.");
}

}  // namespace mirror_snapshot::binding
