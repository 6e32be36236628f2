// What changed in one RADOS object between two snapshots, from the object's
// snap set (what `list_snaps` returns). Pure logic.
//
// Why: librbd's public diff_iterate only accepts *user* snapshots as its
// starting point (a mirror snapshot name gives ENOENT), so the delta between
// two primary mirror snapshots is computed here, object by object, from the
// clone/overlap information RADOS keeps for every object.
//
// A snap set lists the object's clones, oldest first, then its head (id
// kHeadId) if the object exists now. Clone c holds the object's data for the
// snapshots in c.snaps (those in (previous clone id, c.id] at which the
// object existed); c.overlap is the byte ranges c shares with the next newer
// clone (or head). seq is the newest snapshot id the object has seen.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "native/base/extent_set.h"

namespace mirror_snapshot {

inline constexpr uint64_t kHeadId = static_cast<uint64_t>(-2);  // CEPH_NOSNAP

struct CloneInfo {
  uint64_t id = 0;
  std::vector<uint64_t> snaps;
  Extents overlap;
  uint64_t size = 0;
};

struct ObjectSnapSet {
  std::vector<CloneInfo> clones;  // ascending id, head (kHeadId) last if present
  uint64_t seq = 0;
};

struct ObjectDelta {
  bool exists_at_to = false;
  // Absent at `from`, present at `to`: `changed` is the whole object, but
  // only its allocated extents hold data (a sparse read at `to` finds them).
  bool created = false;
  uint64_t size_at_to = 0;
  Extents changed;  // read these from the `to` snapshot and write them
  Extents zeroed;   // no data at `to` (truncated or removed): zero/discard them
  bool unchanged() const { return changed.empty() && zeroed.empty(); }
};

// Index into clones of the clone (or head) holding the object's data at
// `snap`, or nullopt if the object did not exist at that snapshot.
std::optional<size_t> ServingClone(const ObjectSnapSet& set, uint64_t snap);

// The change from `from_snap` (0: nothing, i.e. a first full copy) to
// `to_snap` (a snapshot id, or kHeadId for the live object).
ObjectDelta ComputeObjectDelta(const ObjectSnapSet& set, uint64_t from_snap, uint64_t to_snap);

}  // namespace mirror_snapshot
