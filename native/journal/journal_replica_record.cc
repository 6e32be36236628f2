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

std::string JournalClientId(const std::string& fsid) { return "mirror_snapshot." + fsid; }

}  // namespace mirror_snapshot
