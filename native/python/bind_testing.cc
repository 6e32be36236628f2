// _native.testing: the core's parts driven one by one, for the integration
// tests and benchmarks that check them apart from a whole sync. The module
// never uses them.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "native/ceph/data_objects.h"
#include "native/ceph/rbd_image.h"
#include "native/delta/image_delta.h"
#include "native/journal/journal_entry.h"
#include "native/journal/journal_event.h"
#include "native/journal/journal_header.h"
#include "native/journal/journal_reader.h"
#include "native/journal/journal_records.h"
#include "native/journal/journal_replay.h"
#include "native/python/bindings.h"
#include "native/python/convert.h"
#include "native/python/errors.h"
#include "native/python/gil.h"
#include "native/replica/delta_copier.h"
#include "native/replica/object_map_marker.h"
#include "native/replica/prepared_snapshot.h"
#include "native/roles/head_rollback.h"

namespace mirror_snapshot::binding {

namespace {

class PreparedSnapshotOfImage {
 public:
  PreparedSnapshotOfImage(const RadosCluster& cluster, const std::string& pool, const std::string& ns,
                       const std::string& name)
      : io_(OpenPool(cluster, pool, ns)),
        image_(Unwrap(RbdImage::OpenByName(io_, name))),
        prepared_(PreparedSnapshot::Begin(cluster, image_)) {}

  uint64_t Take(const std::string& snap_name) { return Unwrap(prepared_.Take(snap_name)); }

 private:
  IoCtx io_;
  RbdImage image_;
  PreparedSnapshot prepared_;
};

py::bytes Bytes(std::string_view view) { return py::bytes(view.data(), view.size()); }

// An image's journal header, for tests of registration and commits.
class JournalHeaderOfImage {
 public:
  JournalHeaderOfImage(const RadosCluster& cluster, const std::string& pool, const std::string& ns,
                       const std::string& name)
      : JournalHeaderOfImage(Open(cluster, pool, ns, name)) {}

  py::dict ReadUncommitted(const std::string& client_id) {
    JournalReader reader(&header_, data_io_);
    const auto read = Unwrap(WithoutGil([&] { return reader.ReadUncommitted(client_id); }));
    py::list entries;
    for (const auto& e : read.sequence.entries) {
      entries.append(py::make_tuple(e.entry.tag_tid, e.entry.entry_tid, e.object_number, Bytes(e.entry.payload)));
    }
    py::dict d;
    d["entries"] = entries;
    d["waiting"] = read.sequence.waiting;
    d["skipped_stale"] = read.sequence.skipped_stale;
    d["objects_read"] = read.objects_read;
    d["position_after"] = Positions(
        CommitPositionAfter(read.committed, read.sequence.entries, header_.layout().splay_width));
    return d;
  }

  // One replay pass onto the image `name` of `replica_cluster`, opened
  // and closed again without the GIL (journal_replay.h).
  py::dict ReplayOnto(const std::string& client_id, const RadosCluster& replica_cluster, const std::string& pool,
                      const std::string& ns, const std::string& name, unsigned max_in_flight,
                      uint64_t max_read_bytes, std::shared_ptr<MemoryBudget> budget) {
    const auto pass = Unwrap(WithoutGil([&]() -> Result<JournalReplayPass> {
      IoCtx io = OpenPool(replica_cluster, pool, ns);
      auto replica = RbdImage::OpenByName(io, name);
      if (!replica.ok()) return replica.status();
      JournalReplayOptions options;
      options.apply.max_in_flight = max_in_flight;
      options.max_read_bytes = max_read_bytes;
      options.budget = budget.get();
      return ReplayJournalOnce(&header_, data_io_, client_id, replica.value(), options);
    }));
    py::dict d;
    d["entries_read"] = pass.entries_read;
    d["entries_committed"] = pass.entries_committed;
    d["entries_uncommitted"] = pass.entries_uncommitted;
    d["objects_read"] = pass.objects_read;
    d["waiting"] = pass.waiting;
    d["read_more"] = pass.read_more;
    d["bytes_read"] = pass.bytes_read;
    d["committed"] = Positions(pass.committed);
    d["writes"] = pass.applied.writes;
    d["bytes_written"] = pass.applied.bytes_written;
    d["discards"] = pass.applied.discards;
    d["bytes_discarded"] = pass.applied.bytes_discarded;
    d["ops_applied"] = pass.applied.ops_applied;
    d["ops_failed_on_primary"] = pass.applied.ops_failed_on_primary;
    d["not_applied"] = pass.applied.not_applied;
    if (pass.last_applied_time) {
      d["last_applied_time"] = pass.last_applied_time->seconds + pass.last_applied_time->nanoseconds * 1e-9;
    } else {
      d["last_applied_time"] = py::none();
    }
    return d;
  }

  py::dict State() {
    const JournalLayout& layout = header_.layout();
    const JournalSets sets = Unwrap(header_.Sets());
    py::list clients;
    for (const auto& client : Unwrap(header_.Clients())) clients.append(ClientToDict(client));
    py::dict d;
    d["order"] = layout.order;
    d["splay_width"] = layout.splay_width;
    d["pool_id"] = layout.pool_id;
    d["minimum_set"] = sets.minimum;
    d["active_set"] = sets.active;
    d["clients"] = clients;
    return d;
  }
  py::dict Client(const std::string& id) { return ClientToDict(Unwrap(header_.Client(id))); }
  void RegisterMirrorPeer(const std::string& id, const std::string& local_image_id) {
    Check(header_.Register(id, EncodeMirrorPeerClientData(local_image_id, JournalMirrorPeerState::kReplaying)));
  }
  void Register(const std::string& id, py::bytes data) { Check(header_.Register(id, std::string(data))); }
  void Unregister(const std::string& id) { Check(header_.Unregister(id)); }
  void Commit(const std::string& id, const std::vector<std::tuple<uint64_t, uint64_t, uint64_t>>& positions) {
    JournalCommitPosition position;
    for (const auto& [object_number, tag_tid, entry_tid] : positions) {
      position.push_back({object_number, tag_tid, entry_tid});
    }
    Check(header_.Commit(id, position));
  }
  py::list Tags(const std::string& client_id) {
    py::list tags;
    for (const auto& tag : Unwrap(header_.Tags(client_id, std::nullopt))) {
      const auto data = Unwrap(DecodeJournalTagData(tag.data));
      py::dict d;
      d["tid"] = tag.tid;
      d["tag_class"] = tag.tag_class;
      d["mirror_uuid"] = data.mirror_uuid;
      d["predecessor"] = py::make_tuple(data.predecessor_mirror_uuid, data.predecessor_commit_valid,
                                        data.predecessor_tag_tid, data.predecessor_entry_tid);
      tags.append(d);
    }
    return tags;
  }
  std::string DataObjectName(uint64_t n) const { return header_.DataObjectName(n); }

 private:
  static py::list Positions(const JournalCommitPosition& position) {
    py::list positions;
    for (const auto& p : position) positions.append(py::make_tuple(p.object_number, p.tag_tid, p.entry_tid));
    return positions;
  }

  static py::dict ClientToDict(const JournalClient& client) {
    py::dict d;
    d["id"] = client.id;
    d["state"] = client.state == JournalClientState::kConnected ? "connected" : "disconnected";
    d["commit_position"] = Positions(client.commit_position);
    auto data = DecodeJournalClientData(client.data);
    if (data.ok()) {
      py::dict meta;
      meta["type"] = data.value().type;
      meta["tag_class"] = data.value().tag_class;
      meta["image_id"] = data.value().image_id;
      meta["mirror_peer_state"] = data.value().mirror_peer_state;
      d["data"] = meta;
    } else {
      d["data"] = py::none();
    }
    return d;
  }

  struct Opened {
    JournalHeader header;
    librados::IoCtx data_io;
  };
  explicit JournalHeaderOfImage(Opened opened)
      : header_(std::move(opened.header)), data_io_(std::move(opened.data_io)) {}

  // The image is closed again before this returns: the header needs only its
  // pool and id. (Held open, read-write, its close waited forever once a
  // client of the test had taken its exclusive lock, in a destructor that
  // runs with the GIL.)
  static Opened Open(const RadosCluster& cluster, const std::string& pool, const std::string& ns,
                     const std::string& name) {
    IoCtx io = OpenPool(cluster, pool, ns);
    auto image = Unwrap(RbdImage::OpenByName(io, name));
    auto header = Unwrap(JournalHeader::Open(Unwrap(OpenHeaderObjects(cluster, image)), Unwrap(image.Id()),
                                             image.spec()));
    auto data_io = Unwrap(OpenJournalDataObjects(cluster, image, header.layout()));
    return {std::move(header), std::move(data_io)};
  }

  JournalHeader header_;
  librados::IoCtx data_io_;
};

// A decoded librbd journal event as a dict: type, type_name, version,
// timestamp ([seconds, nanoseconds] or None) and the event's own fields.
py::dict EventToDict(const JournalEvent& event) {
  py::dict d;
  d["type"] = event.type;
  d["type_name"] = JournalEventTypeName(event.type);
  d["version"] = event.version;
  d["timestamp"] = event.timestamp ? py::object(py::make_tuple(event.timestamp->seconds, event.timestamp->nanoseconds))
                                   : py::object(py::none());
  std::visit([&](const auto& e) {
    using E = std::decay_t<decltype(e)>;
    if constexpr (std::is_same_v<E, AioWriteEvent>) {
      d["offset"] = e.offset; d["length"] = e.length; d["data"] = Bytes(e.data);
    } else if constexpr (std::is_same_v<E, AioDiscardEvent>) {
      d["offset"] = e.offset; d["length"] = e.length; d["granularity_bytes"] = e.granularity_bytes;
    } else if constexpr (std::is_same_v<E, AioWriteSameEvent>) {
      d["offset"] = e.offset; d["length"] = e.length; d["data"] = Bytes(e.pattern);
    } else if constexpr (std::is_same_v<E, AioCompareAndWriteEvent>) {
      d["offset"] = e.offset; d["length"] = e.length; d["compare_data"] = Bytes(e.compare_data);
      d["data"] = Bytes(e.write_data);
    } else if constexpr (std::is_same_v<E, OpFinishEvent>) {
      d["op_tid"] = e.op_tid; d["result"] = e.result;
    } else if constexpr (std::is_same_v<E, SnapEvent>) {
      d["op_tid"] = e.op_tid; d["snap_name"] = e.snap_name; d["snap_namespace"] = e.snap_namespace.type;
    } else if constexpr (std::is_same_v<E, SnapRenameEvent>) {
      d["op_tid"] = e.op_tid; d["snap_id"] = e.snap_id; d["src_snap_name"] = e.src_snap_name;
      d["dst_snap_name"] = e.dst_snap_name;
    } else if constexpr (std::is_same_v<E, RenameEvent>) {
      d["op_tid"] = e.op_tid; d["image_name"] = e.image_name;
    } else if constexpr (std::is_same_v<E, ResizeEvent>) {
      d["op_tid"] = e.op_tid; d["size"] = e.size;
    } else if constexpr (std::is_same_v<E, FlattenEvent>) {
      d["op_tid"] = e.op_tid;
    } else if constexpr (std::is_same_v<E, SnapLimitEvent>) {
      d["op_tid"] = e.op_tid; d["limit"] = e.limit;
    } else if constexpr (std::is_same_v<E, UpdateFeaturesEvent>) {
      d["op_tid"] = e.op_tid; d["features"] = e.features; d["enabled"] = e.enabled;
    } else if constexpr (std::is_same_v<E, MetadataSetEvent>) {
      d["op_tid"] = e.op_tid; d["key"] = e.key; d["value"] = e.value;
    } else if constexpr (std::is_same_v<E, MetadataRemoveEvent>) {
      d["op_tid"] = e.op_tid; d["key"] = e.key;
    }
  }, event.body);
  return d;
}

}  // namespace

void BindTesting(py::module_& m) {
  const CopyOptions copy_defaults;
  m.def("image_delta",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           uint64_t from_snap_id, uint64_t to_snap_id, bool full_scan) {
          return ToDict(WithoutGil([&] {
            IoCtx ioctx = OpenPool(c, pool, ns);
            auto image = Unwrap(RbdImage::OpenByName(ioctx, name));
            return Unwrap(ComputeImageDelta(c, image, from_snap_id, to_snap_id, 64, {},
                                            full_scan ? DeltaDiscovery::kFullScan : DeltaDiscovery::kAuto));
          }));
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("from_snap_id"),
        py::arg("to_snap_id"), py::arg("full_scan") = false,
        "Byte ranges of the image that changed between two snapshots (any namespace); from the object "
        "maps when they can serve, or every object with full_scan=True.");
  m.def("copy_delta",
        [](const RadosCluster& src, const std::string& src_pool, const std::string& src_ns,
           const std::string& src_name, uint64_t from_snap_id, uint64_t to_snap_id, const RadosCluster& dst,
           const std::string& dst_pool, const std::string& dst_ns, const std::string& dst_name,
           uint64_t max_in_flight_bytes, uint64_t resume_offset, bool mark_created_objects, bool lock_target) {
          CopyOptions options;
          options.max_in_flight_bytes = max_in_flight_bytes;
          options.resume_offset = resume_offset;
          options.mark_created_objects = mark_created_objects;
          return ToDict(WithoutGil([&] {
            return Unwrap(CopyImageDelta(src, OpenPool(src, src_pool, src_ns), src_name, from_snap_id, to_snap_id,
                                         dst, OpenPool(dst, dst_pool, dst_ns), dst_name, lock_target, options));
          }));
        },
        py::arg("src"), py::arg("src_pool"), py::arg("src_ns"), py::arg("src_name"), py::arg("from_snap_id"),
        py::arg("to_snap_id"), py::arg("dst"), py::arg("dst_pool"), py::arg("dst_ns"), py::arg("dst_name"),
        py::arg("max_in_flight_bytes") = copy_defaults.max_in_flight_bytes,
        py::arg("resume_offset") = copy_defaults.resume_offset,
        py::arg("mark_created_objects") = copy_defaults.mark_created_objects, py::arg("lock_target") = false,
        "Apply the delta of a source image between two snapshots onto a target image (pipelined AIO).");
  m.def("rollback_head",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           const std::string& snap_name) {
          const auto r = WithoutGil([&] {
            IoCtx io = OpenPool(c, pool, ns);
            auto image = Unwrap(RbdImage::OpenByName(io, name));
            auto id = Unwrap(image.SnapshotIdByName(snap_name));
            if (!id) throw StatusError(Status::NotFound("snapshot '" + snap_name + "' of '" + image.spec() +
                                                        "' does not exist"));
            return Unwrap(RollbackHead(c, image, *id, snap_name));
          });
          return ToDict(r);
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("snap_name"),
        "Roll HEAD back to a user snapshot, touching only the objects changed since (benchmarks and tests).");
  py::class_<PreparedSnapshotOfImage>(m, "PreparedSnapshot")
      .def(py::init<const RadosCluster&, const std::string&, const std::string&, const std::string&>(),
           py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"),
           py::call_guard<py::gil_scoped_release>(), py::keep_alive<1, 2>(),
           "Open an image and ask for a snapshot id (see native/replica/prepared_snapshot.h).")
      .def("take", &PreparedSnapshotOfImage::Take, py::arg("snap_name"), py::call_guard<py::gil_scoped_release>(),
           "Take the snapshot with the id asked for; its id.");
  m.def("mark_objects_existing",
        [](const RadosCluster& c, const std::string& pool, const std::string& ns, const std::string& name,
           std::vector<uint64_t> object_nos) {
          WithoutGil([&] {
            IoCtx ioctx = OpenPool(c, pool, ns);
            auto image = Unwrap(RbdImage::OpenByName(ioctx, name));
            Check(Unwrap(ObjectMapMarker::Open(c, image)).MarkExisting(std::move(object_nos)));
          });
        },
        py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("object_nos"),
        "Mark objects as existing in an image's object map (see native/replica/object_map_marker.h).");
  py::class_<JournalHeaderOfImage>(m, "JournalHeader")
      .def(py::init<const RadosCluster&, const std::string&, const std::string&, const std::string&>(),
           py::arg("cluster"), py::arg("pool"), py::arg("ns"), py::arg("name"),
           py::call_guard<py::gil_scoped_release>(),
           // Its I/O contexts are the cluster's: the cluster lives as long.
           py::keep_alive<1, 2>(),
           "An image's journal header (see native/journal/journal_header.h).")
      .def("state", &JournalHeaderOfImage::State, "Layout, object sets and clients (their data decoded).")
      .def("client", &JournalHeaderOfImage::Client, py::arg("id"))
      .def("register_mirror_peer", &JournalHeaderOfImage::RegisterMirrorPeer, py::arg("id"),
           py::arg("local_image_id"), py::call_guard<py::gil_scoped_release>())
      .def("register", &JournalHeaderOfImage::Register, py::arg("id"), py::arg("data"))
      .def("unregister", &JournalHeaderOfImage::Unregister, py::arg("id"),
           py::call_guard<py::gil_scoped_release>())
      .def("commit", &JournalHeaderOfImage::Commit, py::arg("id"), py::arg("positions"),
           py::call_guard<py::gil_scoped_release>())
      .def("tags", &JournalHeaderOfImage::Tags, py::arg("client_id"))
      .def("data_object_name", &JournalHeaderOfImage::DataObjectName, py::arg("object_number"))
      .def("replay_onto", &JournalHeaderOfImage::ReplayOnto, py::arg("client_id"), py::arg("replica_cluster"),
           py::arg("pool"), py::arg("ns"), py::arg("name"), py::arg("max_in_flight") = 16,
           py::arg("max_read_bytes") = 64ull << 20, py::arg("budget") = nullptr,
           "One replay pass onto a replica image (see native/journal/journal_replay.h).")
      .def("read_uncommitted", &JournalHeaderOfImage::ReadUncommitted, py::arg("client_id"),
           "The entries the client has not committed, in replay order (see native/journal/journal_reader.h).");
  m.def("parse_journal_object",
        [](py::bytes data, uint64_t start) {
          const std::string bytes = data;
          const auto parsed = Unwrap(ParseJournalObject(bytes, start));
          py::list entries;
          for (const auto& e : parsed.entries) {
            py::dict entry;
            entry["tag_tid"] = e.tag_tid; entry["entry_tid"] = e.entry_tid; entry["offset"] = e.offset;
            entry["payload"] = Bytes(e.payload);
            entries.append(entry);
          }
          py::dict out;
          out["entries"] = entries; out["end"] = parsed.end; out["incomplete_tail"] = parsed.incomplete_tail;
          return out;
        },
        py::arg("data"), py::arg("start") = 0,
        "The entries of a journal data object's bytes from offset `start` (see native/journal/journal_entry.h).");
  m.def("decode_journal_event",
        [](py::bytes payload) {
          const std::string bytes = payload;
          return EventToDict(Unwrap(DecodeJournalEvent(bytes)));
        },
        py::arg("payload"), "The librbd event of a journal entry's payload (see native/journal/journal_event.h).");
}

}  // namespace mirror_snapshot::binding
