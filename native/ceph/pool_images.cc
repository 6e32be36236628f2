#include "native/ceph/pool_images.h"

#include <rbd/librbd.h>

#include <array>
#include <cerrno>
#include <map>

namespace mirror_snapshot {
namespace {

std::vector<std::string> SplitNul(const char* buf, size_t len) {
  std::vector<std::string> out;
  const char* p = buf;
  const char* end = buf + len;
  while (p < end && *p != '\0') {
    out.emplace_back(p);
    p += out.back().size() + 1;
  }
  return out;
}

Result<bool> HasRbdApplication(const IoCtx& pool) {
  std::array<char, 1024> apps{};
  size_t len = apps.size();
  const int rc = rados_application_list(pool.handle(), apps.data(), &len);
  if (rc < 0) return Status::FromErrno(rc, "listing applications of pool '" + pool.pool_name() + "'");
  for (const auto& app : SplitNul(apps.data(), len)) {
    if (app == "rbd") return true;
  }
  return false;
}

}  // namespace

Result<std::vector<std::string>> ListRbdPools(const RadosCluster& cluster) {
  std::vector<char> buf(4096);
  int rc = 0;
  for (;;) {
    rc = rados_pool_list(cluster.handle(), buf.data(), buf.size());
    if (rc < 0) return Status::FromErrno(rc, "listing pools");
    if (static_cast<size_t>(rc) <= buf.size()) break;
    buf.resize(static_cast<size_t>(rc));
  }
  std::vector<std::string> out;
  for (const auto& name : SplitNul(buf.data(), static_cast<size_t>(rc))) {
    auto pool = IoCtx::Open(cluster, name);
    if (!pool.ok()) continue;  // deleted meanwhile
    auto is_rbd = HasRbdApplication(pool.value());
    if (!is_rbd.ok()) return is_rbd.status();
    if (is_rbd.value()) out.push_back(name);
  }
  return out;
}

Result<std::vector<std::string>> ListNamespaces(const IoCtx& pool) {
  std::vector<char> buf(1024);
  for (;;) {
    size_t size = buf.size();
    const int rc = rbd_namespace_list(pool.handle(), buf.data(), &size);
    if (rc == -ERANGE) {
      buf.resize(size);
      continue;
    }
    if (rc < 0) return Status::FromErrno(rc, "listing namespaces of pool '" + pool.pool_name() + "'");
    std::vector<std::string> out{""};
    for (auto& ns : SplitNul(buf.data(), size)) out.push_back(std::move(ns));
    return out;
  }
}

Result<bool> NamespaceExists(const IoCtx& pool, const std::string& ns) {
  if (ns.empty()) return true;
  bool exists = false;
  const int rc = rbd_namespace_exists(pool.handle(), ns.c_str(), &exists);
  if (rc < 0) return Status::FromErrno(rc, "looking up namespace '" + pool.pool_name() + "/" + ns + "'");
  return exists;
}

Result<std::vector<ImageIdName>> ListImages(const IoCtx& ioctx) {
  std::vector<rbd_image_spec_t> specs(64);
  // More images each time it is asked again means a pool filling fast; a
  // few rounds with room to spare keep up with any creation rate.
  for (int attempt = 0; attempt < 8; ++attempt) {
    size_t count = specs.size();
    const int rc = rbd_list2(ioctx.handle(), specs.data(), &count);
    if (rc == -ERANGE) {
      specs.resize(count + count / 4 + 16);
      continue;
    }
    if (rc < 0) return Status::FromErrno(rc, "listing images of " + ioctx.Describe());
    std::vector<ImageIdName> out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i) out.push_back({specs[i].id, specs[i].name});
    rbd_image_spec_list_cleanup(specs.data(), count);
    return out;
  }
  return Status::Error(ERANGE, "listing images of " + ioctx.Describe() + ": images keep being created");
}

Result<std::vector<MirroredImage>> ListMirroredImages(const IoCtx& ioctx, std::optional<MirrorMode> mode) {
  // Names by id, from the image directory.
  std::map<std::string, std::string> names;
  {
    auto images = ListImages(ioctx);
    if (!images.ok()) return images.status();
    for (auto& image : images.value()) names[image.id] = std::move(image.name);
  }

  std::vector<MirroredImage> out;
  rbd_mirror_image_mode_t filter =
      mode == MirrorMode::kJournal ? RBD_MIRROR_IMAGE_MODE_JOURNAL : RBD_MIRROR_IMAGE_MODE_SNAPSHOT;
  std::string start;
  constexpr size_t kPage = 256;
  for (;;) {
    std::array<char*, kPage> ids{};
    std::array<rbd_mirror_image_mode_t, kPage> modes{};
    std::array<rbd_mirror_image_info_t, kPage> infos{};
    size_t count = kPage;
    const int rc = rbd_mirror_image_info_list(ioctx.handle(), mode ? &filter : nullptr, start.c_str(), kPage,
                                              ids.data(), modes.data(), infos.data(), &count);
    if (rc == -ENOENT) return out;  // mirroring never enabled in this pool/namespace
    if (rc < 0) return Status::FromErrno(rc, "listing mirrored images of " + ioctx.Describe());
    for (size_t i = 0; i < count; ++i) {
      if (infos[i].state != RBD_MIRROR_IMAGE_ENABLED) continue;
      MirroredImage image;
      image.id = ids[i];
      image.global_id = infos[i].global_id != nullptr ? infos[i].global_id : "";
      image.primary = infos[i].primary;
      image.mode = modes[i] == RBD_MIRROR_IMAGE_MODE_JOURNAL ? MirrorMode::kJournal : MirrorMode::kSnapshot;
      auto name = names.find(image.id);
      if (name == names.end()) continue;  // in the trash, or being removed
      image.name = name->second;
      out.push_back(std::move(image));
    }
    if (count > 0) start = ids[count - 1];
    rbd_mirror_image_info_list_cleanup(ids.data(), infos.data(), count);
    if (count < kPage) return out;
  }
}

Result<ImageIdentity> IdentifyImage(const IoCtx& ioctx, const std::string& name) {
  auto exists = NamespaceExists(ioctx, ioctx.ns());
  if (!exists.ok()) return exists.status();
  if (!exists.value()) return Status::NotFound("namespace '" + ioctx.Describe() + "' does not exist");
  auto image = RbdImage::OpenByName(ioctx, name);
  if (!image.ok()) return image.status();
  auto id = image.value().Id();
  if (!id.ok()) return id.status();
  auto mirror = image.value().Mirror();
  if (!mirror.ok()) return mirror.status();
  return ImageIdentity{std::move(id).value(), mirror.value()};
}

}  // namespace mirror_snapshot
