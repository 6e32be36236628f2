#include "native/primary/prune_policy.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "native/base/key_values.h"
#include "native/base/parse_unsigned.h"

namespace mirror_snapshot {

std::vector<uint64_t> SnapshotsToPrune(const std::vector<MirrorSnapshot>& snapshots, uint64_t keep,
                                       const std::set<uint64_t>& pinned) {
  std::vector<const MirrorSnapshot*> primary;
  for (const auto& snap : snapshots) {
    if (snap.is_primary()) primary.push_back(&snap);
  }
  std::sort(primary.begin(), primary.end(), [](auto* a, auto* b) { return a->id < b->id; });
  if (primary.size() <= keep || primary.empty()) return {};

  const uint64_t newest = primary.back()->id;
  std::vector<const MirrorSnapshot*> candidates;
  for (auto* snap : primary) {
    if (snap->id != newest && pinned.count(snap->id) == 0) candidates.push_back(snap);
  }
  // Incomplete first, then oldest first (the sort above is by id = age).
  std::stable_partition(candidates.begin(), candidates.end(), [](auto* s) { return !s->complete; });

  uint64_t excess = primary.size() - keep;
  std::vector<uint64_t> out;
  for (auto* snap : candidates) {
    if (excess == 0) break;
    out.push_back(snap->id);
    --excess;
  }
  return out;
}

std::optional<SyncPin> ParseSyncPin(const std::string& value) {
  SyncPin pin;
  bool have_to = false;
  const bool parsed = ForEachKeyValue(value, [&](std::string_view key, std::string_view text) {
    if (key == "from") {
      if (text == "-") return true;
      pin.from_snap_id = ParseUnsigned(text);
      return pin.from_snap_id.has_value();
    }
    if (key == "to") {
      const auto to = ParseUnsigned(text);
      if (!to) return false;
      pin.to_snap_id = *to;
      have_to = true;
    } else if (key == "updated") {
      const auto updated = ParseUnsigned(text);
      if (!updated || *updated > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
      pin.updated = static_cast<int64_t>(*updated);
    }  // unknown fields are ignored: newer secondaries may add some
    return true;
  });
  if (!parsed) return std::nullopt;
  if (!have_to) return std::nullopt;
  return pin;
}

std::string FormatSyncPin(const SyncPin& pin) {
  return "from=" + (pin.from_snap_id ? std::to_string(*pin.from_snap_id) : std::string("-")) +
         ",to=" + std::to_string(pin.to_snap_id) + ",updated=" + std::to_string(pin.updated);
}

}  // namespace mirror_snapshot
