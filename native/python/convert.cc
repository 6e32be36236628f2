#include "native/python/convert.h"

#include <pybind11/stl.h>

#include <vector>

namespace mirror_snapshot::binding {

namespace sched = scheduler;

py::dict ToDict(const sched::Schedule& s) {
  py::dict out;
  out["kind"] = s.kind() == sched::Schedule::Kind::kCron ? "cron" : "interval";
  out["expression"] = s.expression();
  out["start_time"] = s.start_time();
  out["time_zone"] = s.time_zone();
  out["canonical"] = s.canonical();
  return out;
}

py::dict ToDict(const MirroredImage& image) {
  py::dict out;
  out["id"] = image.id;
  out["name"] = image.name;
  out["global_id"] = image.global_id;
  out["primary"] = image.primary;
  out["mode"] = ToString(image.mode);
  return out;
}

py::dict ToDict(const MirrorSnapshot& snap) {
  py::dict out;
  out["id"] = snap.id;
  out["name"] = snap.name;
  out["timestamp"] = snap.timestamp;
  out["state"] = snap.state;  // a MirrorSnapshotState (bind_cluster.cc)
  out["complete"] = snap.complete;
  out["peer_uuids"] = snap.peer_uuids;
  out["primary_mirror_uuid"] = snap.primary_mirror_uuid;
  out["primary_snap_id"] = snap.primary_snap_id;
  return out;
}

py::dict ToDict(const ProcessHeap& heap) {
  py::dict out;
  out["available"] = heap.available;
  out["arena_bytes"] = heap.arena_bytes;
  out["in_use_bytes"] = heap.in_use_bytes;
  out["free_bytes"] = heap.free_bytes;
  out["mmapped_bytes"] = heap.mmapped_bytes;
  out["releasable_bytes"] = heap.releasable_bytes;
  return out;
}

py::dict ToDict(const SnapshotRun& run) {
  py::dict out;
  out["image_id"] = run.image_id;
  out["snap_id"] = run.snap_id ? py::object(py::int_(*run.snap_id)) : py::object(py::none());
  out["skipped"] = run.skipped;
  out["pruned"] = run.pruned;
  out["pinned"] = std::vector<uint64_t>(run.pinned.begin(), run.pinned.end());
  out["keep"] = run.keep;
  return out;
}

py::dict ToDict(const SecondarySyncPin& pin) {
  auto or_none = [](const auto& value) { return value ? py::object(py::int_(*value)) : py::object(py::none()); };
  py::dict out;
  out["fsid"] = pin.fsid;
  // An unreadable record: every field None (it pins nothing).
  out["from_snap_id"] = pin.pin ? or_none(pin.pin->from_snap_id) : py::object(py::none());
  out["to_snap_id"] = pin.pin ? py::object(py::int_(pin.pin->to_snap_id)) : py::object(py::none());
  // 0: a record without `updated` (None, as for an unreadable one).
  out["updated"] = pin.pin && pin.pin->updated != 0 ? py::object(py::int_(pin.pin->updated)) : py::object(py::none());
  return out;
}

py::dict ToDict(const ImageDelta& delta) {
  py::dict out;
  out["changed"] = delta.changed;
  out["zeroed"] = delta.zeroed;
  out["created"] = delta.created;
  out["size_at_to"] = delta.size_at_to;
  out["objects_scanned"] = delta.objects_scanned;
  out["objects_changed"] = delta.objects_changed;
  out["objects_in_image"] = delta.objects_in_image;
  out["source"] = ToString(delta.source);
  out["full_scan_reason"] = delta.full_scan_reason;
  return out;
}

py::dict ToDict(const CopyStats& stats) {
  py::dict out;
  out["bytes_read"] = stats.bytes_read;
  out["bytes_written"] = stats.bytes_written;
  out["bytes_zeroed"] = stats.bytes_zeroed;
  out["objects_marked"] = stats.objects_marked;
  out["max_chunks_in_flight"] = stats.max_chunks_in_flight;
  return out;
}

py::dict ToDict(const ReplicaState& s) {
  py::dict out;
  out["remote_fsid"] = s.remote_fsid;
  out["remote_image_id"] = s.remote_image_id;
  out["global_id"] = s.global_id;
  out["primary_snap_id"] = s.primary_snap_id;
  out["local_snap_id"] = s.local_snap_id;
  out["local_snap_name"] = s.primary_snap_id ? LocalSnapshotName(s.primary_snap_id) : std::string();
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

py::dict ToDict(const RollbackReport& r) {
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

py::dict ToDict(const ReplayResult& r) {
  py::dict out;
  out["outcome"] = r.outcome;  // a ReplayOutcome (bind_replay.cc)
  out["reason"] = r.reason;
  out["ready_to_promote"] = r.ready_to_promote;
  out["primary_demoted"] = r.primary_demoted;
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
  // None when the step read no delta (waiting, up to date, split-brain, ...).
  out["delta_source"] = r.delta_source ? py::object(py::str(ToString(*r.delta_source))) : py::object(py::none());
  out["full_scan_reason"] = r.full_scan_reason;
  out["objects_scanned"] = r.objects_scanned;
  out["objects_in_image"] = r.objects_in_image;
  return out;
}

py::dict ToDict(const JournalStepResult& r) {
  py::dict d;
  switch (r.outcome) {
    case JournalStepOutcome::kBootstrapping: d["outcome"] = "bootstrapping"; break;
    case JournalStepOutcome::kReplayed: d["outcome"] = "replayed"; break;
    case JournalStepOutcome::kLocalPrimary: d["outcome"] = "local_primary"; break;
    case JournalStepOutcome::kSplitBrain: d["outcome"] = "split_brain"; break;
  }
  d["primary_demoted"] = r.primary_demoted;
  d["phase"] = JournalReplicaPhaseName(r.state.phase);
  d["client_id"] = r.state.client_id;
  d["bytes_copied"] = r.bytes_copied;
  d["entries_applied"] = r.entries_applied;
  d["entries_applied_total"] = r.state.entries_applied;
  d["bytes_written"] = r.bytes_written;
  d["passes"] = r.passes;
  d["caught_up"] = r.caught_up;
  d["waiting"] = r.waiting;
  d["entries_behind"] = r.entries_behind ? py::cast(*r.entries_behind) : py::none();
  d["bytes_behind"] = r.bytes_behind ? py::cast(*r.bytes_behind) : py::none();
  d["last_applied"] = r.state.last_applied_ns * 1e-9;
  d["bootstrapped_at"] = r.state.bootstrapped_at;
  d["seconds"] = r.seconds;
  d["notes"] = r.notes;
  return d;
}

py::dict ToDict(const ReplayProgressView& v) {
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

py::dict ToDict(const DemoteReport& report) {
  py::dict out;
  out["demoted_snap_id"] = report.demoted_snap_id;
  out["already"] = report.already;
  return out;
}

py::dict ToDict(const PromoteReport& r) {
  py::dict out;
  out["primary_snap_id"] = r.primary_snap_id;
  out["recovery_point"] = r.recovery_point;
  out["promoted_snap_id"] = r.promoted_snap_id;
  out["forced"] = r.forced;
  out["rolled_back"] = r.rolled_back ? py::object(ToDict(r.rollback)) : py::object(py::none());
  out["already"] = r.already;
  return out;
}

py::dict ToDict(const ResyncReport& r) {
  py::dict out;
  out["common_snap_id"] = r.common_snap_id;
  out["base_snap_id"] = r.base_snap_id;
  out["rolled_back"] = r.rolled_back ? py::object(ToDict(r.rollback)) : py::object(py::none());
  out["state"] = ToDict(r.state);
  out["already"] = r.already;
  out["resumed"] = r.resumed;
  return out;
}

py::dict ToDict(const ReplicaVerifyReport& r) {
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
}

}  // namespace mirror_snapshot::binding
