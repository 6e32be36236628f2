// Which data objects can differ between two snapshots, from the object maps
// of the snapshots (fast-diff), the way librbd's object_map::DiffRequest and
// rbd-mirror read them. Pure logic; object_map_reader.h fetches the maps.
//
// Why it is enough: librbd copies the head's map into each new snapshot's
// map and then marks the head's kExists objects kExistsClean, and every write
// marks its object kExists again; removing a snapshot merges its kExists
// marks into the next snapshot's map before the snapshot leaves the header.
// So an object written between two snapshots is kExists in the map of some
// snapshot after the first, up to the second.
#pragma once

#include <cstdint>
#include <vector>

#include "native/delta/object_map.h"

namespace mirror_snapshot {

// A snapshot's map and the number of objects the image had at that
// snapshot's size (the map may be longer: only that many count).
struct SnapshotObjectMap {
  const ObjectMap* map = nullptr;
  uint64_t objects = 0;

  ObjectState at(uint64_t object_no) const {
    return object_no < objects ? map->at(object_no) : ObjectState::kNonexistent;
  }
};

// Ascending object numbers that may differ between `from` and the last map of
// `later`. `later` holds the map of every snapshot after `from` up to the
// `to` snapshot, oldest first. `from` null means "from nothing": every object
// that exists at `to`. Objects past the end at one side and present at the
// other (a grow or a shrink) are included.
std::vector<uint64_t> ObjectsThatMayDiffer(const SnapshotObjectMap* from,
                                           const std::vector<SnapshotObjectMap>& later);

// Ascending object numbers marked written (kExists, or kPending) in any of
// `maps`: for the snapshots up to and including `from`.
//
// Why: `rbd snap rollback` to a snapshot older than `from` writes that
// snapshot's map over the head's, so an object it reverts (written after the
// older snapshot, changed between `from` and `to`) can be kExistsClean all
// along from `from` to `to`. Such an object was written after the older
// snapshot, so a map from the one after it up to `from` marks it (a removed
// snapshot's marks move to the next one): these objects are asked too.
// (A rollback to `from` or to a later snapshot needs nothing more: what it
// reverts is back to a state the chain from `from` describes.)
std::vector<uint64_t> ObjectsWrittenIn(const std::vector<SnapshotObjectMap>& maps);

// The sorted union of two ascending lists.
std::vector<uint64_t> MergeObjectLists(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);

}  // namespace mirror_snapshot
