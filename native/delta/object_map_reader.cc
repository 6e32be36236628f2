#include "native/delta/object_map_reader.h"

#include <rados/librados.hpp>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "native/ceph/cls_encoding.h"
#include "native/ceph/data_objects.h"
#include "native/ceph/rbd_object_names.h"
#include "native/delta/object_map.h"
#include "native/delta/object_map_diff.h"

namespace mirror_snapshot {
namespace {

constexpr uint64_t kNoSnap = static_cast<uint64_t>(-2);  // CEPH_NOSNAP: the head

std::string SnapIdInput(uint64_t snap_id) {
  std::string in;
  AppendLe(&in, snap_id, 8);
  return in;
}

class HeaderReader {
 public:
  HeaderReader(librados::IoCtx* io, std::string image_id, std::string spec)
      : io_(io), image_id_(std::move(image_id)), spec_(std::move(spec)) {}

  // Every snapshot id of the image (all namespaces), from the header.
  Result<std::vector<uint64_t>> SnapshotIds() {
    auto out = Exec("get_snapcontext", "");
    if (!out.ok()) return out.status();
    const std::string& bytes = out.value();
    if (bytes.size() < 12) return Malformed("get_snapcontext");
    const uint64_t count = ReadLe(bytes, 8, 4);
    if (bytes.size() != 12 + 8 * count) return Malformed("get_snapcontext");
    std::vector<uint64_t> ids;
    for (uint64_t i = 0; i < count; ++i) ids.push_back(ReadLe(bytes, 12 + 8 * i, 8));
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // The image's features as the header has them now (not a handle's cache).
  Result<uint64_t> Features() {
    auto out = Exec("get_features", SnapIdInput(kNoSnap));
    if (!out.ok()) return out.status();
    if (out.value().size() != 16) return Malformed("get_features");
    return ReadLe(out.value(), 0, 8);
  }

  Result<uint64_t> Flags(uint64_t snap_id) {
    auto out = Exec("get_flags", SnapIdInput(snap_id));
    if (!out.ok()) return out.status();
    if (out.value().size() != 8) return Malformed("get_flags");
    return ReadLe(out.value(), 0, 8);
  }

  Result<uint64_t> Size(uint64_t snap_id) {
    auto out = Exec("get_size", SnapIdInput(snap_id));
    if (!out.ok()) return out.status();
    if (out.value().size() != 9) return Malformed("get_size");
    return ReadLe(out.value(), 1, 8);  // u8 order, then u64 size
  }

  // The map object of `snap_id`, whole.
  Result<std::string> MapObject(uint64_t snap_id) {
    const std::string oid = ObjectMapName(image_id_, snap_id);
    uint64_t size = 0;
    int rc = io_->stat(oid, &size, nullptr);
    if (rc < 0) return Status::FromErrno(rc, "reading " + oid + " of '" + spec_ + "'");
    librados::bufferlist bl;
    rc = io_->read(oid, bl, size, 0);
    if (rc < 0) return Status::FromErrno(rc, "reading " + oid + " of '" + spec_ + "'");
    return bl.to_str();
  }

 private:
  Result<std::string> Exec(const char* method, const std::string& input) {
    librados::bufferlist in, out;
    in.append(input);
    const int rc = io_->exec(HeaderObjectName(image_id_), "rbd", method, in, out);
    if (rc < 0) return Status::FromErrno(rc, std::string("rbd.") + method + " on the header of '" + spec_ + "'");
    return out.to_str();
  }

  Status Malformed(const char* method) const {
    return Status::Error(EIO, std::string("rbd.") + method + " on the header of '" + spec_ + "' answered malformed data");
  }

  librados::IoCtx* io_;
  std::string image_id_;
  std::string spec_;
};

std::string SnapName(uint64_t snap_id) { return "snapshot " + std::to_string(snap_id); }

// Why snapshot `snap_id`'s map cannot serve, from its flags ("" when it can);
// `which` names it in the reason. A failed Result is an I/O error.
Result<std::string> FlagsProblem(HeaderReader& header, uint64_t snap_id, const std::string& which) {
  auto flags = header.Flags(snap_id);
  if (!flags.ok()) {
    if (flags.status().code() == ENOENT) return SnapName(snap_id) + " was removed during the read";
    return flags.status();
  }
  if ((flags.value() & (RBD_FLAG_OBJECT_MAP_INVALID | RBD_FLAG_FAST_DIFF_INVALID)) != 0) {
    return "the object map of " + which + " is marked invalid";
  }
  return std::string();
}

ObjectMapCandidates NotUsable(std::string why) {
  ObjectMapCandidates out;
  out.why_not = std::move(why);
  return out;
}

}  // namespace

Result<ObjectMapCandidates> ReadObjectMapCandidates(const RadosCluster& cluster, const RbdImage& image,
                                                    const ObjectLayout& layout, uint64_t from_snap_id,
                                                    uint64_t to_snap_id) {
  uint64_t cached_features = 0;
  int rc = rbd_get_features(image.handle(), &cached_features);
  if (rc < 0) return Status::FromErrno(rc, "reading the features of '" + image.spec() + "'");
  if ((cached_features & RBD_FEATURE_OBJECT_MAP) == 0) {
    return NotUsable("object-map is not enabled on the primary image");
  }
  auto image_id = image.Id();
  if (!image_id.ok()) return image_id.status();
  auto opened = OpenHeaderObjects(cluster, image);
  if (!opened.ok()) return opened.status();
  librados::IoCtx io = std::move(opened).value();
  HeaderReader header(&io, image_id.value(), image.spec());
  // Features from the header, before and after the maps are read: disabling
  // fast-diff stops librbd from merging a removed snapshot's marks into the
  // next map (and clears the invalid flags), so a disable, a removal and an
  // enable while the maps are read would go unseen in the maps themselves.
  auto fast_diff_on = [&]() -> Result<bool> {
    auto features = header.Features();
    if (!features.ok()) return features.status();
    const uint64_t needed = RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF;
    return (features.value() & needed) == needed;
  };
  auto on_before = fast_diff_on();
  if (!on_before.ok()) return on_before.status();
  if (!on_before.value()) return NotUsable("fast-diff is not enabled on the primary image");

  // The snapshots whose maps are read: `from` (its states are the start),
  // then every snapshot after it up to `to`, in order; and the snapshots
  // before `from`, whose written marks stand for a rollback to one of them
  // (ObjectsWrittenIn, object_map_diff.h).
  auto ids = header.SnapshotIds();
  if (!ids.ok()) return ids.status();
  auto has = [&](uint64_t id) { return std::binary_search(ids.value().begin(), ids.value().end(), id); };
  if (!has(to_snap_id)) return NotUsable(SnapName(to_snap_id) + " is not in the header any more");
  if (from_snap_id != 0 && !has(from_snap_id)) {
    return NotUsable(SnapName(from_snap_id) + " is not in the header any more");
  }
  std::vector<uint64_t> wanted;  // ascending: the older ones, `from`, then up to `to`
  if (from_snap_id != 0) {
    for (uint64_t id : ids.value()) {
      if (id <= to_snap_id) wanted.push_back(id);
    }
  } else {
    wanted.push_back(to_snap_id);  // from nothing: only what exists at `to` matters
  }

  std::vector<std::unique_ptr<ObjectMap>> maps;
  std::vector<SnapshotObjectMap> sized;
  for (uint64_t id : wanted) {
    const std::string which = SnapName(id) + (id < from_snap_id ? " (older than the delta's start, kept for a "
                                                                  "rollback to it)" : "");
    auto problem = FlagsProblem(header, id, which);
    if (!problem.ok()) return problem.status();
    if (!problem.value().empty()) return NotUsable(problem.value());
    auto size = header.Size(id);
    if (!size.ok()) {
      if (size.status().code() == ENOENT) return NotUsable(SnapName(id) + " was removed during the read");
      return size.status();
    }
    auto bytes = header.MapObject(id);
    if (!bytes.ok()) {
      if (bytes.status().code() == ENOENT) return NotUsable("the object map of " + which + " is missing");
      return bytes.status();
    }
    auto map = ObjectMap::Decode(bytes.value());
    if (!map.ok()) return NotUsable("the object map of " + which + ": " + map.status().message());
    const uint64_t objects = (size.value() + layout.object_size - 1) / layout.object_size;
    if (map.value().size() < objects) {
      return NotUsable("the object map of " + which + " covers " + std::to_string(map.value().size()) +
                       " objects, the snapshot has " + std::to_string(objects));
    }
    maps.push_back(std::make_unique<ObjectMap>(std::move(map).value()));
    sized.push_back(SnapshotObjectMap{maps.back().get(), objects});
  }

  // Still enabled, and every map read still valid (a feature disabled and
  // enabled again meanwhile leaves every snapshot's map flagged invalid).
  auto on_after = fast_diff_on();
  if (!on_after.ok()) return on_after.status();
  if (!on_after.value()) return NotUsable("fast-diff was disabled on the primary image during the read");
  for (uint64_t id : wanted) {
    auto problem = FlagsProblem(header, id, SnapName(id));
    if (!problem.ok()) return problem.status();
    if (!problem.value().empty()) return NotUsable(problem.value() + " (since the read began)");
  }

  ObjectMapCandidates out;
  if (from_snap_id == 0) {
    out.objects = ObjectsThatMayDiffer(nullptr, sized);
    return out;
  }
  const auto from_at = std::find(wanted.begin(), wanted.end(), from_snap_id) - wanted.begin();
  const std::vector<SnapshotObjectMap> up_to_from(sized.begin(), sized.begin() + from_at + 1);
  const std::vector<SnapshotObjectMap> later(sized.begin() + from_at + 1, sized.end());
  out.objects = MergeObjectLists(ObjectsThatMayDiffer(&sized[from_at], later), ObjectsWrittenIn(up_to_from));
  return out;
}

}  // namespace mirror_snapshot
