#include "native/delta/object_map_diff.h"

#include <algorithm>
#include <iterator>

namespace mirror_snapshot {
namespace {

// librbd's rule for one step, previous snapshot -> next one.
bool MayDiffer(ObjectState before, ObjectState after) {
  if (after == ObjectState::kNonexistent) return before != ObjectState::kNonexistent;  // removed
  if (after == ObjectState::kExists) return true;                                      // written
  if (after == ObjectState::kPending) return true;  // a removal under way: pending again is a change too
  // Created, or any other change of state but "written" -> "untouched since".
  return before != after && !(before == ObjectState::kExists && after == ObjectState::kExistsClean);
}

}  // namespace

std::vector<uint64_t> ObjectsThatMayDiffer(const SnapshotObjectMap* from,
                                           const std::vector<SnapshotObjectMap>& later) {
  uint64_t objects = from != nullptr ? from->objects : 0;
  for (const auto& map : later) objects = std::max(objects, map.objects);
  std::vector<bool> differs(objects, false);
  const SnapshotObjectMap* before = from;
  for (const auto& after : later) {
    for (uint64_t i = 0; i < objects; ++i) {
      if (differs[i]) continue;
      const ObjectState was = before != nullptr ? before->at(i) : ObjectState::kNonexistent;
      if (MayDiffer(was, after.at(i))) differs[i] = true;
    }
    before = &after;
  }
  std::vector<uint64_t> out;
  for (uint64_t i = 0; i < objects; ++i) {
    if (differs[i]) out.push_back(i);
  }
  return out;
}

std::vector<uint64_t> ObjectsWrittenIn(const std::vector<SnapshotObjectMap>& maps) {
  uint64_t objects = 0;
  for (const auto& map : maps) objects = std::max(objects, map.objects);
  std::vector<uint64_t> out;
  for (uint64_t i = 0; i < objects; ++i) {
    for (const auto& map : maps) {
      const ObjectState state = map.at(i);
      if (state == ObjectState::kExists || state == ObjectState::kPending) {
        out.push_back(i);
        break;
      }
    }
  }
  return out;
}

std::vector<uint64_t> MergeObjectLists(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  std::vector<uint64_t> out;
  out.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace mirror_snapshot
