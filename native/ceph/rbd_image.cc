#include "native/ceph/rbd_image.h"

#include <algorithm>
#include <cerrno>
#include <utility>

namespace mirror_snapshot {
namespace {

Status OpenError(int rc, const std::string& spec) {
  if (rc == -ENOENT) return Status::NotFound("image '" + spec + "' does not exist");
  return Status::FromErrno(rc, "opening image '" + spec + "'");
}

// Calls fill(buffer, &size) until the buffer is large enough (librbd returns
// -ERANGE and the needed size).
template <typename Fill>
Result<std::string> GrowingBuffer(Fill fill, const std::string& what) {
  std::string buffer(256, '\0');
  for (int attempt = 0; attempt < 8; ++attempt) {
    size_t size = buffer.size();
    const int rc = fill(buffer.data(), &size);
    if (rc == -ERANGE) {
      buffer.assign(std::max(size, buffer.size() * 2), '\0');
      continue;
    }
    if (rc < 0) return Status::FromErrno(rc, what);
    buffer.resize(size);
    return buffer;
  }
  return Status::Error(ERANGE, what + ": value keeps growing");
}

// Splits librbd's "a\0b\0...\0" lists.
std::vector<std::string> SplitNulList(const std::string& buffer) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < buffer.size()) {
    const size_t end = buffer.find('\0', start);
    const size_t stop = end == std::string::npos ? buffer.size() : end;
    if (stop > start) out.emplace_back(buffer, start, stop - start);
    start = stop + 1;
  }
  return out;
}

}  // namespace

const char* ToString(MirrorMode mode) {
  switch (mode) {
    case MirrorMode::kDisabled: return "disabled";
    case MirrorMode::kJournal: return "journal";
    case MirrorMode::kSnapshot: return "snapshot";
  }
  return "unknown";
}

const char* ToString(MirrorSnapshotState state) {
  switch (state) {
    case MirrorSnapshotState::kPrimary: return "primary";
    case MirrorSnapshotState::kPrimaryDemoted: return "primary-demoted";
    case MirrorSnapshotState::kNonPrimary: return "non-primary";
    case MirrorSnapshotState::kNonPrimaryDemoted: return "non-primary-demoted";
  }
  return "unknown";
}

Result<RbdImage> RbdImage::OpenByName(const IoCtx& ioctx, const std::string& name) {
  const std::string spec = ioctx.Describe() + "/" + name;
  rbd_image_t image = nullptr;
  const int rc = rbd_open(ioctx.handle(), name.c_str(), &image, nullptr);
  if (rc < 0) return OpenError(rc, spec);
  return RbdImage(image, spec, ioctx.ns(), ioctx.pool_id());
}

Result<RbdImage> RbdImage::OpenById(const IoCtx& ioctx, const std::string& id) {
  const std::string spec = ioctx.Describe() + "/id:" + id;
  rbd_image_t image = nullptr;
  const int rc = rbd_open_by_id(ioctx.handle(), id.c_str(), &image, nullptr);
  if (rc < 0) return OpenError(rc, spec);
  return RbdImage(image, spec, ioctx.ns(), ioctx.pool_id());
}

RbdImage::RbdImage(RbdImage&& other) noexcept
    : image_(std::exchange(other.image_, nullptr)),
      spec_(std::move(other.spec_)),
      ns_(std::move(other.ns_)),
      pool_id_(other.pool_id_) {}

RbdImage& RbdImage::operator=(RbdImage&& other) noexcept {
  if (this != &other) {
    if (image_ != nullptr) rbd_close(image_);
    image_ = std::exchange(other.image_, nullptr);
    spec_ = std::move(other.spec_);
    ns_ = std::move(other.ns_);
    pool_id_ = other.pool_id_;
  }
  return *this;
}

RbdImage::~RbdImage() {
  if (image_ != nullptr) rbd_close(image_);
}

Result<std::string> RbdImage::Id() const {
  auto id = GrowingBuffer([&](char* buf, size_t* size) {
    const int rc = rbd_get_id(image_, buf, *size);
    if (rc == -ERANGE) *size *= 2;
    return rc;
  }, "getting the id of '" + spec_ + "'");
  if (!id.ok()) return id.status();
  std::string value = std::move(id).value();
  value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
  return value;
}

Result<MirrorInfo> RbdImage::Mirror() const {
  rbd_mirror_image_info_t info{};
  int rc = rbd_mirror_image_get_info(image_, &info, sizeof(info));
  if (rc < 0) return Status::FromErrno(rc, "getting mirror info of '" + spec_ + "'");
  MirrorInfo out;
  out.primary = info.primary;
  out.global_id = info.global_id != nullptr ? info.global_id : "";
  const bool enabled = info.state == RBD_MIRROR_IMAGE_ENABLED;
  out.disabling = info.state == RBD_MIRROR_IMAGE_DISABLING;
  rbd_mirror_image_get_info_cleanup(&info);
  if (!enabled) return out;
  rbd_mirror_image_mode_t mode{};
  rc = rbd_mirror_image_get_mode(image_, &mode);
  if (rc < 0) return Status::FromErrno(rc, "getting mirror mode of '" + spec_ + "'");
  out.mode = mode == RBD_MIRROR_IMAGE_MODE_SNAPSHOT ? MirrorMode::kSnapshot : MirrorMode::kJournal;
  return out;
}

namespace {

int NoProgress(uint64_t, uint64_t, void*) { return 0; }

// Every snapshot with its namespace type, oldest first.
Result<std::vector<std::pair<SnapshotInfo, rbd_snap_namespace_type_t>>> ListSnapshots(rbd_image_t image,
                                                                                       const std::string& spec) {
  std::vector<rbd_snap_info_t> snaps(16);
  int count = 0;
  for (;;) {
    int max = static_cast<int>(snaps.size());
    count = rbd_snap_list(image, snaps.data(), &max);
    if (count == -ERANGE) {
      snaps.resize(static_cast<size_t>(max) + 1);
      continue;
    }
    if (count < 0) return Status::FromErrno(count, "listing snapshots of '" + spec + "'");
    break;
  }
  std::vector<std::pair<SnapshotInfo, rbd_snap_namespace_type_t>> out;
  for (int i = 0; i < count; ++i) {
    rbd_snap_namespace_type_t type{};
    if (rbd_snap_get_namespace_type(image, snaps[i].id, &type) < 0) continue;  // removed meanwhile
    out.push_back({SnapshotInfo{snaps[i].id, snaps[i].name, snaps[i].size}, type});
  }
  rbd_snap_list_end(snaps.data());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first.id < b.first.id; });
  return out;
}

}  // namespace

Result<std::vector<SnapshotInfo>> RbdImage::UserSnapshots() const {
  auto all = ListSnapshots(image_, spec_);
  if (!all.ok()) return all.status();
  std::vector<SnapshotInfo> out;
  for (auto& [info, type] : all.value()) {
    if (type == RBD_SNAP_NAMESPACE_TYPE_USER) out.push_back(std::move(info));
  }
  return out;
}

Result<uint64_t> RbdImage::CreateSnapshot(const std::string& name) const {
  // No quiesce round: this handle is the image's only writer. EEXIST is an
  // error: a snapshot of that name is someone else's, never this one.
  int rc = rbd_snap_create2(image_, name.c_str(), RBD_SNAP_CREATE_SKIP_QUIESCE, &NoProgress, nullptr);
  if (rc < 0) return Status::FromErrno(rc, "creating snapshot '" + name + "' of '" + spec_ + "'");
  uint64_t id = 0;
  rc = rbd_snap_get_id(image_, name.c_str(), &id);
  if (rc < 0) return Status::FromErrno(rc, "reading the id of snapshot '" + name + "' of '" + spec_ + "'");
  return id;
}

Result<uint64_t> RbdImage::Size() const {
  uint64_t size = 0;
  const int rc = rbd_get_size(image_, &size);
  if (rc < 0) return Status::FromErrno(rc, "reading the size of '" + spec_ + "'");
  return size;
}

Result<std::optional<ParentSpec>> RbdImage::Parent() const {
  rbd_linked_image_spec_t image{};
  rbd_snap_spec_t snap{};
  const int rc = rbd_get_parent(image_, &image, &snap);
  if (rc == -ENOENT) return std::optional<ParentSpec>();
  if (rc < 0) return Status::FromErrno(rc, "reading the parent of '" + spec_ + "'");
  ParentSpec parent{image.pool_name, image.pool_namespace, image.image_name, image.image_id, snap.name, snap.id};
  rbd_linked_image_spec_cleanup(&image);
  rbd_snap_spec_cleanup(&snap);
  return std::optional<ParentSpec>(std::move(parent));
}

Result<std::optional<uint64_t>> RbdImage::ParentOverlap() const {
  // librbd answers an overlap (0) for an image with no parent, and for the
  // snapshots of a flattened clone: its parent is what says.
  auto parent = Parent();
  if (!parent.ok()) return parent.status();
  if (!parent.value()) return std::optional<uint64_t>();
  uint64_t overlap = 0;
  const int rc = rbd_get_overlap(image_, &overlap);
  if (rc == -ENOENT) return std::optional<uint64_t>();
  if (rc < 0) return Status::FromErrno(rc, "reading the parent overlap of '" + spec_ + "'");
  return std::optional<uint64_t>(overlap);
}

Result<std::vector<MirrorSnapshot>> RbdImage::MirrorSnapshots() const {
  auto all = ListSnapshots(image_, spec_);
  if (!all.ok()) return all.status();
  std::vector<MirrorSnapshot> out;
  Status error;
  for (const auto& [info, type] : all.value()) {
    if (type != RBD_SNAP_NAMESPACE_TYPE_MIRROR) continue;  // user/trash/group snapshot
    rbd_snap_mirror_namespace_t ns{};
    const int rc = rbd_snap_get_mirror_namespace(image_, info.id, &ns, sizeof(ns));
    if (rc == -ENOENT) continue;
    if (rc < 0) {
      error = Status::FromErrno(rc, "reading mirror snapshot " + std::to_string(info.id) + " of '" + spec_ + "'");
      break;
    }
    MirrorSnapshot snap;
    snap.id = info.id;
    snap.name = info.name;
    snap.state = static_cast<MirrorSnapshotState>(ns.state);
    snap.complete = ns.complete;
    snap.primary_mirror_uuid = ns.primary_mirror_uuid != nullptr ? ns.primary_mirror_uuid : "";
    snap.primary_snap_id = ns.primary_snap_id;
    const char* uuid = ns.mirror_peer_uuids;
    for (size_t n = 0; n < ns.mirror_peer_uuids_count && uuid != nullptr; ++n) {
      snap.peer_uuids.emplace_back(uuid);
      uuid += snap.peer_uuids.back().size() + 1;
    }
    rbd_snap_mirror_namespace_cleanup(&ns, sizeof(ns));
    timespec ts{};
    if (rbd_snap_get_timestamp(image_, snap.id, &ts) == 0) snap.timestamp = ts.tv_sec;
    out.push_back(std::move(snap));
  }
  if (!error.ok()) return error;
  return out;
}

Result<uint64_t> RbdImage::CreateMirrorSnapshot(uint32_t flags) const {
  uint64_t snap_id = 0;
  const int rc = rbd_mirror_image_create_snapshot2(image_, flags, &snap_id);
  if (rc < 0) return Status::FromErrno(rc, "creating a mirror snapshot of '" + spec_ + "'");
  return snap_id;
}

Status RbdImage::RemoveSnapshot(uint64_t snap_id) const {
  const int rc = rbd_snap_remove_by_id(image_, snap_id);
  if (rc < 0 && rc != -ENOENT) {
    return Status::FromErrno(rc, "removing snapshot " + std::to_string(snap_id) + " of '" + spec_ + "'");
  }
  return Status::Ok();
}

Status RbdImage::RemoveUserSnapshot(const std::string& name) const {
  librbd_progress_fn_t no_progress = [](uint64_t, uint64_t, void*) { return 0; };
  const int rc = rbd_snap_remove2(image_, name.c_str(), RBD_SNAP_REMOVE_UNPROTECT, no_progress, nullptr);
  if (rc < 0 && rc != -ENOENT) {
    return Status::FromErrno(rc, "removing snapshot '" + name + "' of '" + spec_ + "'" +
                                     (rc == -EBUSY ? " (it has clones)" : ""));
  }
  return Status::Ok();
}

Result<std::optional<uint64_t>> RbdImage::SnapshotIdByName(const std::string& name) const {
  uint64_t id = 0;
  const int rc = rbd_snap_get_id(image_, name.c_str(), &id);
  if (rc == -ENOENT) return std::optional<uint64_t>();
  if (rc < 0) return Status::FromErrno(rc, "looking up snapshot '" + name + "' of '" + spec_ + "'");
  return std::optional<uint64_t>(id);
}

Result<uint64_t> RbdImage::SnapshotSize(uint64_t snap_id) const {
  std::vector<rbd_snap_info_t> snaps(64);
  int max = static_cast<int>(snaps.size());
  int count = rbd_snap_list(image_, snaps.data(), &max);
  if (count == -ERANGE) {
    snaps.resize(static_cast<size_t>(max));
    count = rbd_snap_list(image_, snaps.data(), &max);
  }
  if (count < 0) return Status::FromErrno(count, "listing snapshots of '" + spec_ + "'");
  std::optional<uint64_t> size;
  for (int i = 0; i < count; ++i) {
    if (snaps[i].id == snap_id) size = snaps[i].size;
  }
  rbd_snap_list_end(snaps.data());
  if (!size) return Status::NotFound("snapshot " + std::to_string(snap_id) + " of '" + spec_ + "' does not exist");
  return *size;
}

Status RbdImage::Resize(uint64_t size) const {
  const int rc = rbd_resize(image_, size);
  if (rc < 0) return Status::FromErrno(rc, "resizing '" + spec_ + "' to " + std::to_string(size) + " bytes");
  return Status::Ok();
}

Status RbdImage::SetSnapshot(uint64_t snap_id) const {
  const int rc = rbd_snap_set_by_id(image_, snap_id);
  if (rc < 0) return Status::FromErrno(rc, "reading snapshot " + std::to_string(snap_id) + " of '" + spec_ + "'");
  return Status::Ok();
}

Status RbdImage::SetHead() const {
  const int rc = rbd_snap_set(image_, nullptr);
  if (rc < 0) return Status::FromErrno(rc, "returning to the head of '" + spec_ + "'");
  return Status::Ok();
}

Status RbdImage::AcquireExclusiveLock() const {
  const int rc = rbd_lock_acquire(image_, RBD_LOCK_MODE_EXCLUSIVE);
  if (rc < 0) return Status::FromErrno(rc, "taking the exclusive lock of '" + spec_ + "'");
  return Status::Ok();
}

Result<std::vector<std::string>> RbdImage::LockOwners() const {
  rbd_lock_mode_t mode;
  std::vector<char*> owners(8);
  size_t max = owners.size();
  int rc = rbd_lock_get_owners(image_, &mode, owners.data(), &max);
  if (rc == -ERANGE) {
    owners.resize(max);
    rc = rbd_lock_get_owners(image_, &mode, owners.data(), &max);
  }
  // EINVAL: no exclusive-lock feature, or a non-primary image (read-only:
  // no client can be writing it either).
  if (rc == -ENOENT || rc == -EOPNOTSUPP || rc == -EINVAL) return std::vector<std::string>();
  if (rc < 0) return Status::FromErrno(rc, "reading the lock owners of '" + spec_ + "'");
  std::vector<std::string> out(owners.begin(), owners.begin() + static_cast<std::ptrdiff_t>(max));
  rbd_lock_get_owners_cleanup(owners.data(), max);
  return out;
}

namespace {

Status MirrorCall(int rc, const std::string& what, const std::string& spec) {
  if (rc < 0) return Status::FromErrno(rc, what + " '" + spec + "'");
  return Status::Ok();
}

}  // namespace

Status RbdImage::EnableSnapshotMirroring() const {
  return MirrorCall(rbd_mirror_image_enable2(image_, RBD_MIRROR_IMAGE_MODE_SNAPSHOT),
                    "enabling snapshot mirroring of", spec_);
}

Status RbdImage::EnableJournalMirroring() const {
  return MirrorCall(rbd_mirror_image_enable2(image_, RBD_MIRROR_IMAGE_MODE_JOURNAL),
                    "enabling journal mirroring of", spec_);
}

Status RbdImage::EnableJournaling() const {
  uint64_t features = 0;
  int rc = rbd_get_features(image_, &features);
  if (rc < 0) return Status::FromErrno(rc, "reading the features of '" + spec_ + "'");
  if ((features & RBD_FEATURE_JOURNALING) != 0) return Status::Ok();  // librbd refuses to enable it twice
  rc = rbd_update_features(image_, RBD_FEATURE_JOURNALING, 1);
  if (rc < 0) return Status::FromErrno(rc, "enabling the journaling feature of '" + spec_ + "'");
  return Status::Ok();
}

Status RbdImage::DisableJournaling() const {
  uint64_t features = 0;
  int rc = rbd_get_features(image_, &features);
  if (rc < 0) return Status::FromErrno(rc, "reading the features of '" + spec_ + "'");
  if ((features & RBD_FEATURE_JOURNALING) == 0) return Status::Ok();
  rc = rbd_update_features(image_, RBD_FEATURE_JOURNALING, 0);
  if (rc < 0) return Status::FromErrno(rc, "disabling the journaling feature of '" + spec_ + "'");
  return Status::Ok();
}

Status RbdImage::DisableMirroring(bool force) const {
  return MirrorCall(rbd_mirror_image_disable(image_, force), "disabling mirroring of", spec_);
}

Status RbdImage::DemoteMirroring() const {
  return MirrorCall(rbd_mirror_image_demote(image_), "demoting", spec_);
}

Status RbdImage::PromoteMirroring(bool force) const {
  return MirrorCall(rbd_mirror_image_promote(image_, force), "promoting", spec_);
}

Result<std::string> RbdImage::ConfigValue(const std::string& option) const {
  std::vector<rbd_config_option_t> options(256);
  int max = static_cast<int>(options.size());
  int rc = rbd_config_image_list(image_, options.data(), &max);
  if (rc == -ERANGE) {
    options.resize(static_cast<size_t>(max));
    rc = rbd_config_image_list(image_, options.data(), &max);
  }
  if (rc < 0) return Status::FromErrno(rc, "listing the configuration of '" + spec_ + "'");
  std::optional<std::string> value;
  for (int i = 0; i < max; ++i) {
    if (option == options[i].name) value = options[i].value;
  }
  rbd_config_image_list_cleanup(options.data(), max);
  if (!value) return Status::NotFound("no option '" + option + "' for image '" + spec_ + "'");
  return *value;
}

Result<std::map<std::string, std::string>> RbdImage::MetadataWithPrefix(const std::string& prefix) const {
  std::map<std::string, std::string> out;
  std::string start = prefix;
  for (;;) {
    std::string keys(4096, '\0'), values(16384, '\0');
    size_t keys_len = keys.size(), values_len = values.size();
    int rc = rbd_metadata_list(image_, start.c_str(), 64, keys.data(), &keys_len, values.data(), &values_len);
    if (rc == -ERANGE) {
      keys.assign(keys_len, '\0');
      values.assign(values_len, '\0');
      rc = rbd_metadata_list(image_, start.c_str(), 64, keys.data(), &keys_len, values.data(), &values_len);
    }
    if (rc < 0) return Status::FromErrno(rc, "listing metadata of '" + spec_ + "'");
    keys.resize(keys_len);
    values.resize(values_len);
    const auto key_list = SplitNulList(keys);
    const auto value_list = SplitNulList(values);
    bool past_prefix = false;
    for (size_t i = 0; i < key_list.size(); ++i) {
      if (key_list[i].compare(0, prefix.size(), prefix) != 0) {
        past_prefix = true;
        break;
      }
      out[key_list[i]] = i < value_list.size() ? value_list[i] : "";
    }
    if (past_prefix || key_list.size() < 64) return out;
    start = key_list.back();
  }
}

Result<std::optional<std::string>> RbdImage::Metadata(const std::string& key) const {
  auto value = GrowingBuffer(
      [&](char* buffer, size_t* size) { return rbd_metadata_get(image_, key.c_str(), buffer, size); },
      "reading metadata '" + key + "' of '" + spec_ + "'");
  if (!value.ok() && value.status().code() == ENOENT) return std::optional<std::string>();
  if (!value.ok()) return value.status();
  std::string text = std::move(value).value();
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return std::optional<std::string>(std::move(text));
}

Status RbdImage::SetMetadata(const std::string& key, const std::string& value) const {
  const int rc = rbd_metadata_set(image_, key.c_str(), value.c_str());
  if (rc < 0) return Status::FromErrno(rc, "setting metadata '" + key + "' of '" + spec_ + "'");
  return Status::Ok();
}

Status RbdImage::RemoveMetadata(const std::string& key) const {
  const int rc = rbd_metadata_remove(image_, key.c_str());
  if (rc < 0 && rc != -ENOENT) {
    return Status::FromErrno(rc, "removing metadata '" + key + "' of '" + spec_ + "'");
  }
  return Status::Ok();
}

}  // namespace mirror_snapshot
