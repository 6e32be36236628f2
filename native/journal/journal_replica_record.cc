#include "native/journal/journal_replica_record.h"

#include <cerrno>
#include <string>

namespace mirror_snapshot {

Result<std::optional<JournalReplicaState>> ReadJournalReplicaState(const RbdImage& image) {
  auto meta = image.Metadata(kJournalReplicaStateKey);
  if (!meta.ok()) return meta.status();
  if (!meta.value()) return std::optional<JournalReplicaState>();
  auto state = DecodeJournalReplicaState(*meta.value());
  if (!state) {
    return Status::Error(EINVAL, "image '" + image.spec() + "' has an unreadable " +
                                     std::string(kJournalReplicaStateKey) + " record");
  }
  return std::optional<JournalReplicaState>(*state);
}

Status WriteJournalReplicaState(const RbdImage& image, const JournalReplicaState& state) {
  return image.SetMetadata(kJournalReplicaStateKey, EncodeJournalReplicaState(state));
}

std::string EncodeSnapshotNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += std::to_string(name.size()) + ":" + name;
  return out;
}

std::optional<std::vector<std::string>> DecodeSnapshotNames(std::string_view encoded) {
  std::vector<std::string> names;
  while (!encoded.empty()) {
    const size_t colon = encoded.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 10) return std::nullopt;
    uint64_t length = 0;
    for (char c : encoded.substr(0, colon)) {
      if (c < '0' || c > '9') return std::nullopt;
      length = length * 10 + static_cast<uint64_t>(c - '0');
    }
    encoded.remove_prefix(colon + 1);
    if (length > encoded.size()) return std::nullopt;
    names.emplace_back(encoded.substr(0, length));
    encoded.remove_prefix(length);
  }
  return names;
}

std::string JournalClientId(const std::string& fsid) { return "mirror_snapshot." + fsid; }

}  // namespace mirror_snapshot
