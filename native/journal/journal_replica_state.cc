#include "native/journal/journal_replica_state.h"

#include <array>
#include <charconv>
#include <functional>
#include <map>
#include <sstream>

#include "native/base/key_values.h"

namespace mirror_snapshot {
namespace {

constexpr std::array<std::pair<JournalReplicaPhase, const char*>, 4> kPhases = {{
    {JournalReplicaPhase::kRegistered, "registered"},
    {JournalReplicaPhase::kCopying, "copying"},
    {JournalReplicaPhase::kPositioning, "positioning"},
    {JournalReplicaPhase::kReplaying, "replaying"},
}};

template <typename Number>
bool ParseNumber(std::string_view text, Number* out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string JournalReplicaPhaseName(JournalReplicaPhase phase) {
  for (const auto& [p, name] : kPhases) {
    if (p == phase) return name;
  }
  return "unknown";
}

std::string EncodeJournalReplicaState(const JournalReplicaState& s) {
  std::ostringstream out;
  out << "phase=" << JournalReplicaPhaseName(s.phase) << ",client_id=" << s.client_id
      << ",sync_snap_id=" << s.sync_snap_id << ",copy_checkpoint=" << s.copy_checkpoint
      << ",entries_applied=" << s.entries_applied << ",last_applied_ns=" << s.last_applied_ns
      << ",bootstrapped_at=" << s.bootstrapped_at;
  if (!s.sync_snap_name.empty()) out << ",sync_snap_name=" << s.sync_snap_name;
  if (s.sync_point_found) out << ",sync_point_tag=" << s.sync_point_tag << ",sync_point_entry=" << s.sync_point_entry;
  if (!s.step_lock_owner.empty()) out << ",step_lock_owner=" << s.step_lock_owner;
  return out.str();
}

std::optional<JournalReplicaState> DecodeJournalReplicaState(const std::string& text) {
  JournalReplicaState s;
  bool phase_seen = false;
  const std::map<std::string, std::function<bool(const std::string&)>> fields = {
      {"phase",
       [&](const std::string& v) {
         for (const auto& [p, name] : kPhases) {
           if (v == name) {
             s.phase = p;
             phase_seen = true;
           }
         }
         return phase_seen;
       }},
      {"client_id", [&](const std::string& v) { s.client_id = v; return true; }},
      {"sync_snap_id", [&](const std::string& v) { return ParseNumber(v, &s.sync_snap_id); }},
      {"sync_snap_name", [&](const std::string& v) { s.sync_snap_name = v; return true; }},
      {"copy_checkpoint", [&](const std::string& v) { return ParseNumber(v, &s.copy_checkpoint); }},
      {"sync_point_tag", [&](const std::string& v) { s.sync_point_found = true; return ParseNumber(v, &s.sync_point_tag); }},
      {"sync_point_entry", [&](const std::string& v) { return ParseNumber(v, &s.sync_point_entry); }},
      {"step_lock_owner", [&](const std::string& v) { s.step_lock_owner = v; return true; }},
      {"entries_applied", [&](const std::string& v) { return ParseNumber(v, &s.entries_applied); }},
      {"last_applied_ns", [&](const std::string& v) { return ParseNumber(v, &s.last_applied_ns); }},
      {"bootstrapped_at", [&](const std::string& v) { return ParseNumber(v, &s.bootstrapped_at); }},
  };
  const bool parsed = ForEachKeyValue(text, [&](std::string_view key, std::string_view value) {
    const auto field = fields.find(std::string(key));
    return field == fields.end() || field->second(std::string(value));  // newer fields are skipped
  });
  if (!parsed || !phase_seen || s.client_id.empty()) return std::nullopt;
  return s;
}

std::string JournalSyncSnapshotName(const std::string& client_id, int64_t nonce) {
  return ".mirror_snapshot.sync." + client_id + "." + std::to_string(nonce);
}

bool IsJournalSyncSnapshotOf(const std::string& name, const std::string& client_id) {
  const std::string prefix = ".mirror_snapshot.sync." + client_id + ".";
  return name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace mirror_snapshot
