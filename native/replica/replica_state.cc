#include "native/replica/replica_state.h"

#include <charconv>
#include <functional>
#include <map>
#include <sstream>
#include <string_view>

#include "native/base/key_values.h"

namespace mirror_snapshot {
namespace {

constexpr std::string_view kLocalSnapshotPrefix = "mirror_snapshot.primary.";

template <typename Number>
bool ParseNumber(std::string_view text, Number* out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseDouble(const std::string& text, double* out) {
  if (text.empty()) return false;
  std::istringstream in(text);
  in >> *out;
  return !in.fail() && in.eof();
}

}  // namespace

std::string EncodeReplicaState(const ReplicaState& s) {
  std::ostringstream out;
  out << "remote_fsid=" << s.remote_fsid << ",remote_image_id=" << s.remote_image_id
      << ",global_id=" << s.global_id << ",primary_snap_id=" << s.primary_snap_id
      << ",local_snap_id=" << s.local_snap_id << ",primary_snap_time=" << s.primary_snap_time
      << ",inflight_to_snap_id=" << s.inflight_to_snap_id << ",inflight_from_snap_id=" << s.inflight_from_snap_id
      << ",checkpoint_offset=" << s.checkpoint_offset
      << ",inflight_bytes_total=" << s.inflight_bytes_total << ",inflight_started=" << s.inflight_started
      << ",last_sync_seconds=" << s.last_sync_seconds << ",last_sync_bytes=" << s.last_sync_bytes
      << ",last_sync_finished=" << s.last_sync_finished;
  if (!s.inflight_lock_owner.empty()) out << ",inflight_lock_owner=" << s.inflight_lock_owner;
  if (s.inflight_doubtful) out << ",inflight_doubtful=1";
  if (s.promoted) {
    out << ",promoted=1,promoted_snap_id=" << s.promoted_snap_id << ",promoted_at=" << s.promoted_at;
  }
  return out.str();
}

std::optional<ReplicaState> DecodeReplicaState(const std::string& text) {
  ReplicaState s;
  const std::map<std::string, std::function<bool(const std::string&)>> fields = {
      {"remote_fsid", [&](const std::string& v) { s.remote_fsid = v; return true; }},
      {"remote_image_id", [&](const std::string& v) { s.remote_image_id = v; return true; }},
      {"global_id", [&](const std::string& v) { s.global_id = v; return true; }},
      {"primary_snap_id", [&](const std::string& v) { return ParseNumber(v, &s.primary_snap_id); }},
      {"local_snap_id", [&](const std::string& v) { return ParseNumber(v, &s.local_snap_id); }},
      {"primary_snap_time", [&](const std::string& v) { return ParseNumber(v, &s.primary_snap_time); }},
      {"inflight_to_snap_id", [&](const std::string& v) { return ParseNumber(v, &s.inflight_to_snap_id); }},
      {"inflight_from_snap_id", [&](const std::string& v) { return ParseNumber(v, &s.inflight_from_snap_id); }},
      {"checkpoint_offset", [&](const std::string& v) { return ParseNumber(v, &s.checkpoint_offset); }},
      {"inflight_bytes_total", [&](const std::string& v) { return ParseNumber(v, &s.inflight_bytes_total); }},
      {"inflight_started", [&](const std::string& v) { return ParseNumber(v, &s.inflight_started); }},
      {"inflight_lock_owner", [&](const std::string& v) { s.inflight_lock_owner = v; return true; }},
      {"inflight_doubtful", [&](const std::string& v) { s.inflight_doubtful = v == "1"; return v == "0" || v == "1"; }},
      {"last_sync_seconds", [&](const std::string& v) { return ParseDouble(v, &s.last_sync_seconds); }},
      {"last_sync_bytes", [&](const std::string& v) { return ParseNumber(v, &s.last_sync_bytes); }},
      {"last_sync_finished", [&](const std::string& v) { return ParseNumber(v, &s.last_sync_finished); }},
      {"promoted", [&](const std::string& v) { s.promoted = v == "1"; return v == "0" || v == "1"; }},
      {"promoted_snap_id", [&](const std::string& v) { return ParseNumber(v, &s.promoted_snap_id); }},
      {"promoted_at", [&](const std::string& v) { return ParseNumber(v, &s.promoted_at); }},
  };
  const bool parsed = ForEachKeyValue(text, [&](std::string_view key, std::string_view value) {
    const auto field = fields.find(std::string(key));
    return field == fields.end() || field->second(std::string(value));
  });
  if (!parsed) return std::nullopt;
  if (s.remote_fsid.empty() || s.remote_image_id.empty() || s.global_id.empty()) return std::nullopt;
  return s;
}

std::string LocalSnapshotName(uint64_t primary_snap_id) {
  return std::string(kLocalSnapshotPrefix) + std::to_string(primary_snap_id);
}

std::optional<uint64_t> PrimarySnapIdOfLocalName(const std::string& name) {
  const std::string_view view = name;
  if (view.substr(0, kLocalSnapshotPrefix.size()) != kLocalSnapshotPrefix) return std::nullopt;
  uint64_t id = 0;
  if (!ParseNumber(view.substr(kLocalSnapshotPrefix.size()), &id)) return std::nullopt;
  return id;
}

}  // namespace mirror_snapshot
