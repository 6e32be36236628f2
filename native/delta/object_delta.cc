#include "native/delta/object_delta.h"

#include <algorithm>

namespace mirror_snapshot {

std::optional<size_t> ServingClone(const ObjectSnapSet& set, uint64_t snap) {
  for (size_t i = 0; i < set.clones.size(); ++i) {
    const CloneInfo& clone = set.clones[i];
    if (clone.id == kHeadId) {
      // No clone was made after `snap`: the head still holds that data,
      // unless the object was created after the snapshot (then the object
      // has seen a snapshot context at least as new as `snap`).
      if (snap == kHeadId || set.seq < snap) return i;
      return std::nullopt;
    }
    if (clone.id >= snap) {
      const bool existed = std::binary_search(clone.snaps.begin(), clone.snaps.end(), snap);
      return existed ? std::optional<size_t>(i) : std::nullopt;
    }
  }
  return std::nullopt;  // removed before `snap`, or never existed
}

ObjectDelta ComputeObjectDelta(const ObjectSnapSet& set, uint64_t from_snap, uint64_t to_snap) {
  ObjectDelta delta;
  const std::optional<size_t> to = ServingClone(set, to_snap);
  const std::optional<size_t> from =
      from_snap == 0 ? std::nullopt : ServingClone(set, from_snap);
  const uint64_t from_size = from ? set.clones[*from].size : 0;
  delta.exists_at_to = to.has_value();
  delta.size_at_to = to ? set.clones[*to].size : 0;

  if (!to) {
    if (from && from_size > 0) delta.zeroed = {{0, from_size}};
    return delta;
  }
  if (!from) {
    delta.created = true;
    delta.changed = Normalize({{0, delta.size_at_to}});
    return delta;
  }
  if (*from == *to) return delta;

  // Bytes identical from the `from` clone all the way to the `to` clone.
  Extents identical = {{0, from_size}};
  for (size_t k = *from; k < *to; ++k) {
    identical = Intersect(identical, Normalize(set.clones[k].overlap));
  }
  delta.changed = Subtract(Normalize({{0, delta.size_at_to}}), identical);
  if (from_size > delta.size_at_to) {
    delta.zeroed = {{delta.size_at_to, from_size - delta.size_at_to}};
  }
  return delta;
}

}  // namespace mirror_snapshot
