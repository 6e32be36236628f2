#include "native/delta/image_delta.h"

#include <cerrno>
#include <optional>
#include <utility>
#include <vector>

#include "native/ceph/data_objects.h"
#include "native/delta/object_delta.h"
#include "native/delta/object_map_reader.h"
#include "native/delta/snap_set_lister.h"

namespace mirror_snapshot {

constexpr uint64_t kScannedReportEvery = 4096;  // objects between on_scanned calls

const char* ToString(DeltaSource source) {
  return source == DeltaSource::kObjectMap ? "object_map" : "full_scan";
}

Result<ImageDelta> ComputeImageDelta(const RadosCluster& cluster, const RbdImage& image,
                                     uint64_t from_snap_id, uint64_t to_snap_id,
                                     unsigned max_in_flight,
                                     const std::function<void(uint64_t, uint64_t)>& on_scanned,
                                     DeltaDiscovery discovery) {
  if (from_snap_id != 0 && from_snap_id > to_snap_id) {
    return Status::Error(EINVAL, "delta of '" + image.spec() + "': its start, snapshot " + std::to_string(from_snap_id) +
                                     ", is newer than its end, snapshot " + std::to_string(to_snap_id));
  }
  auto to_size = image.SnapshotSize(to_snap_id);
  if (!to_size.ok()) return to_size.status();
  uint64_t from_size = 0;
  if (from_snap_id != 0) {
    auto size = image.SnapshotSize(from_snap_id);
    if (!size.ok()) return size.status();
    from_size = size.value();
  }
  const std::string& spec = image.spec();
  auto layout = ImageLayout(image);
  if (!layout.ok()) return layout.status();
  const ObjectLayout& l = layout.value();

  ImageDelta delta;
  delta.size_at_to = to_size.value();
  delta.to_snap_id = to_snap_id;
  delta.layout = l;
  const uint64_t span = std::max(to_size.value(), from_size);
  delta.objects_in_image = (span + l.object_size - 1) / l.object_size;

  std::vector<uint64_t> candidates;
  if (discovery == DeltaDiscovery::kAuto) {
    auto found = ReadObjectMapCandidates(cluster, image, l, from_snap_id, to_snap_id);
    if (!found.ok()) return found.status();
    if (found.value().objects) {
      candidates = std::move(*found.value().objects);
      delta.source = DeltaSource::kObjectMap;
    } else {
      delta.full_scan_reason = std::move(found.value().why_not);
    }
  } else {
    delta.full_scan_reason = "a full scan was asked for";
  }
  const bool from_maps = delta.source == DeltaSource::kObjectMap;
  const uint64_t objects = from_maps ? candidates.size() : delta.objects_in_image;
  auto object_at = [&](uint64_t i) { return from_maps ? candidates[i] : i; };
  Status status = ForEachSnapSet(
      cluster, l, objects, object_at, max_in_flight, spec,
      [&](uint64_t object_no, const std::optional<ObjectSnapSet>& set) {
        ++delta.objects_scanned;
        if (on_scanned && delta.objects_scanned % kScannedReportEvery == 0) on_scanned(delta.objects_scanned, objects);
        if (!set) return Status::Ok();
        const ObjectDelta od = ComputeObjectDelta(*set, from_snap_id, to_snap_id);
        if (od.unchanged()) return Status::Ok();
        ++delta.objects_changed;
        const uint64_t base = object_no * l.object_size;
        Extents& data = od.created ? delta.created : delta.changed;
        // Merged as they come: the delta holds runs of changes, not one
        // range per object (a first sync of a full image is one range).
        for (const auto& [off, len] : od.changed) AppendInOrder(&data, base + off, len);
        for (const auto& [off, len] : od.zeroed) AppendInOrder(&delta.zeroed, base + off, len);
        return Status::Ok();
      });
  if (!status.ok()) return status;

  // Object deltas are in object order already; clip to the image at `to`.
  delta.changed = Intersect(Normalize(std::move(delta.changed)), {{0, delta.size_at_to}});
  delta.created = Intersect(delta.created, {{0, delta.size_at_to}});
  delta.zeroed = Normalize(std::move(delta.zeroed));
  return delta;
}

}  // namespace mirror_snapshot
