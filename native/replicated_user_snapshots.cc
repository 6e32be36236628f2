#include "native/replicated_user_snapshots.h"

#include <set>

#include "native/parse_unsigned.h"

namespace mirror_snapshot {

Status MarkReplicatedUserSnapshot(const RbdImage& local, const std::string& name, uint64_t primary_snap_id) {
  return local.SetMetadata(kReplicatedUserSnapPrefix + name, std::to_string(primary_snap_id));
}

Result<unsigned> RemoveUserSnapshotsGoneFromPrimary(const RbdImage& remote, const RbdImage& local) {
  auto marks = local.MetadataWithPrefix(kReplicatedUserSnapPrefix);
  if (!marks.ok()) return marks.status();
  if (marks.value().empty()) return 0u;
  auto primary = remote.UserSnapshots();
  if (!primary.ok()) return primary.status();
  std::set<uint64_t> on_primary;
  for (const auto& s : primary.value()) on_primary.insert(s.id);

  unsigned removed = 0;
  for (const auto& [key, value] : marks.value()) {
    const auto primary_id = ParseUnsigned(value);
    if (primary_id && on_primary.count(*primary_id)) continue;
    const std::string name = key.substr(std::string(kReplicatedUserSnapPrefix).size());
    auto id = local.SnapshotIdByName(name);
    if (!id.ok()) return id.status();
    if (id.value()) {
      Status status = local.RemoveSnapshot(*id.value());
      if (!status.ok()) return status;
      ++removed;
    }
    Status status = local.RemoveMetadata(key);
    if (!status.ok()) return status;
  }
  return removed;
}

}  // namespace mirror_snapshot
