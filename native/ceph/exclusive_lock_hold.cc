#include "native/ceph/exclusive_lock_hold.h"

#include <rados/librados.hpp>
#include <rbd/features.h>

#include <cerrno>
#include <list>
#include <string_view>
#include <utility>

#include "native/ceph/data_objects.h"
#include "native/ceph/rbd_object_names.h"

namespace mirror_snapshot {
namespace {

// "v2:127.0.0.1:0/123" and "127.0.0.1:0/123" name the same client.
std::string_view WithoutAddressType(std::string_view address) {
  for (std::string_view type : {"v1:", "v2:", "any:"}) {
    if (address.substr(0, type.size()) == type) return address.substr(type.size());
  }
  return address;
}

// Whether `addresses` ("[v2:127.0.0.1:0/123,v1:...]") holds `address` whole:
// "127.0.0.1:0/12" is not in one naming client 123.
bool NamesAddress(std::string_view addresses, std::string_view address) {
  for (size_t at = addresses.find(address); at != std::string_view::npos; at = addresses.find(address, at + 1)) {
    const size_t end = at + address.size();
    if (end == addresses.size() || addresses[end] < '0' || addresses[end] > '9') return true;
  }
  return false;
}

}  // namespace

Result<ExclusiveLockHold> ExclusiveLockHold::Take(const RbdImage& image, const std::string& doing) {
  uint64_t features = 0;
  int rc = rbd_get_features(image.handle(), &features);
  if (rc < 0) return Status::FromErrno(rc, "reading features of '" + image.spec() + "'");
  if ((features & RBD_FEATURE_EXCLUSIVE_LOCK) == 0) {
    // Images made before every replica had the lock: it costs nothing.
    rc = rbd_update_features(image.handle(), RBD_FEATURE_EXCLUSIVE_LOCK, 1);
    if (rc < 0) return Status::FromErrno(rc, "enabling exclusive-lock on '" + image.spec() + "'");
  }
  rc = rbd_lock_acquire(image.handle(), RBD_LOCK_MODE_EXCLUSIVE);
  if (rc == -EINVAL) {
    return Status::Error(EROFS, "cannot hold the exclusive lock of '" + image.spec() + "' for " + doing +
                                    ": the image is read-only to this client (non-primary)");
  }
  if (rc < 0) {
    return Status::Error(rc == -EROFS || rc == -EBUSY ? EBUSY : -rc,
                         "cannot hold the exclusive lock of '" + image.spec() + "' for " + doing +
                             ": another client holds it (rbd lock ls / rbd status show which)");
  }
  auto owners = image.LockOwners();
  if (!owners.ok()) {
    rbd_lock_release(image.handle());
    return owners.status();
  }
  return ExclusiveLockHold(image.handle(), owners.value().empty() ? std::string() : owners.value().front());
}

ExclusiveLockHold::ExclusiveLockHold(ExclusiveLockHold&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), owner_(std::move(other.owner_)) {}

ExclusiveLockHold::~ExclusiveLockHold() { Release(); }

void ExclusiveLockHold::Release() {
  if (handle_ != nullptr) rbd_lock_release(std::exchange(handle_, nullptr));
}

Result<std::list<obj_watch_t>> HeaderWatchers(const RadosCluster& cluster, const RbdImage& image) {
  auto id = image.Id();
  if (!id.ok()) return id.status();
  auto header = OpenHeaderObjects(cluster, image);
  if (!header.ok()) return header.status();
  std::list<obj_watch_t> watchers;
  const int rc = header.value().list_watchers(HeaderObjectName(id.value()), &watchers);
  if (rc < 0) return Status::FromErrno(rc, "listing the clients that have '" + image.spec() + "' open");
  return watchers;
}

Result<std::string> LiveLockOwner(const RadosCluster& cluster, const RbdImage& image) {
  auto owners = image.LockOwners();
  if (!owners.ok()) return owners.status();
  if (owners.value().empty()) return std::string();
  const std::string& owner = owners.value().front();
  auto watchers = HeaderWatchers(cluster, image);
  if (!watchers.ok()) return watchers.status();
  // librbd names an owner by its messenger address ("127.0.0.1:0/123");
  // a watcher carries the same address while its client lives.
  const std::string_view address = WithoutAddressType(owner);
  auto self = cluster.Addresses();
  if (self.ok() && NamesAddress(self.value(), address)) return std::string();  // ours
  for (const auto& w : watchers.value()) {
    if (WithoutAddressType(w.addr) == address) return owner;
  }
  return std::string();  // died holding it: librbd breaks such a lock
}

}  // namespace mirror_snapshot
