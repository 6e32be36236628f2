#include "native/replica/replicated_user_snapshots.h"

#include <cerrno>
#include <map>
#include <optional>

#include <rbd/librbd.h>

#include "native/base/parse_unsigned.h"

namespace mirror_snapshot {
namespace {

std::string MarkKey(const std::string& name) { return kReplicatedUserSnapPrefix + name; }

// Removes a copy (if it is there, local snapshot `id`) and then its mark.
// A copy that clones still use stays, with its mark (EBUSY is not an error:
// it goes once they do).
Status RemoveCopy(const RbdImage& local, const std::string& name, const std::string& mark_key,
                  std::optional<uint64_t> id, unsigned* removed) {
  if (id) {
    int is_protected = 0;
    if (rbd_snap_is_protected(local.handle(), name.c_str(), &is_protected) == 0 && is_protected) {
      const int rc = rbd_snap_unprotect(local.handle(), name.c_str());
      if (rc == -EBUSY) return Status::Ok();
      if (rc < 0) return Status::FromErrno(rc, "unprotecting snapshot '" + name + "' of '" + local.spec() + "'");
    }
    Status status = local.RemoveSnapshot(*id);
    if (status.code() == EBUSY) return Status::Ok();
    if (!status.ok()) return status;
    ++*removed;
  }
  return local.RemoveMetadata(mark_key);
}

}  // namespace

Status MarkReplicatedUserSnapshot(const RbdImage& local, const std::string& name, uint64_t primary_snap_id) {
  return local.SetMetadata(MarkKey(name), std::to_string(primary_snap_id));
}

Result<unsigned> ReconcileUserSnapshotCopies(const RbdImage& remote, const RbdImage& local) {
  auto marks = local.MetadataWithPrefix(kReplicatedUserSnapPrefix);
  if (!marks.ok()) return marks.status();
  if (marks.value().empty()) return 0u;
  auto primary = remote.UserSnapshots();
  if (!primary.ok()) return primary.status();
  std::map<uint64_t, std::string> on_primary;  // id -> name now
  for (const auto& s : primary.value()) on_primary.emplace(s.id, s.name);

  unsigned changed = 0;
  for (const auto& [key, value] : marks.value()) {
    const std::string name = key.substr(std::string(kReplicatedUserSnapPrefix).size());
    const auto primary_id = ParseUnsigned(value);
    const auto now = primary_id ? on_primary.find(*primary_id) : on_primary.end();
    auto id = local.SnapshotIdByName(name);
    if (!id.ok()) return id.status();
    if (now != on_primary.end() && now->second == name) continue;  // still the same snapshot, same name
    if (now != on_primary.end() && id.value()) {
      // Renamed on the primary: follow, unless the new name is taken here.
      auto taken = local.SnapshotIdByName(now->second);
      if (!taken.ok()) return taken.status();
      if (!taken.value()) {
        const int rc = rbd_snap_rename(local.handle(), name.c_str(), now->second.c_str());
        if (rc < 0) {
          return Status::FromErrno(rc, "renaming snapshot '" + name + "' of '" + local.spec() + "' to '" +
                                           now->second + "' as on the primary");
        }
        Status status = MarkReplicatedUserSnapshot(local, now->second, *primary_id);
        if (!status.ok()) return status;
        status = local.RemoveMetadata(key);
        if (!status.ok()) return status;
        ++changed;
        continue;
      }
      // The new name is held by another snapshot: the copy goes, and the
      // primary's snapshot is copied anew if it is still ahead of the replica.
    }
    Status status = RemoveCopy(local, name, key, id.value(), &changed);
    if (!status.ok()) return status;
  }
  return changed;
}

Result<unsigned> RemoveUserSnapshotCopiesAfter(const RbdImage& local, uint64_t local_snap_id) {
  auto marks = local.MetadataWithPrefix(kReplicatedUserSnapPrefix);
  if (!marks.ok()) return marks.status();
  unsigned removed = 0;
  for (const auto& [key, value] : marks.value()) {
    const std::string name = key.substr(std::string(kReplicatedUserSnapPrefix).size());
    auto id = local.SnapshotIdByName(name);
    if (!id.ok()) return id.status();
    if (id.value() && *id.value() <= local_snap_id) continue;
    Status status = RemoveCopy(local, name, key, id.value(), &removed);
    if (!status.ok()) return status;
  }
  return removed;
}

Result<UserSnapshotCopy> FindUserSnapshotCopy(const RbdImage& local, const std::string& name,
                                              uint64_t primary_snap_id) {
  auto id = local.SnapshotIdByName(name);
  if (!id.ok()) return id.status();
  if (!id.value()) return UserSnapshotCopy::kMissing;
  auto mark = local.Metadata(MarkKey(name));
  if (!mark.ok()) return mark.status();
  if (mark.value() && ParseUnsigned(*mark.value()) == primary_snap_id) return UserSnapshotCopy::kHeld;
  return UserSnapshotCopy::kNameTaken;
}

}  // namespace mirror_snapshot
