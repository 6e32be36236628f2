// PreparedSnapshot: a replica's local snapshot whose id is asked of the
// monitors while the copy runs, so that taking it once the copy is done
// costs a few OSD operations instead of a monitor round.
//
// Why: a snapshot id is a pool update, and the monitors answer it with their
// next Paxos commit. An idle cluster commits about once a second
// (paxos_propose_interval), so librbd, which asks for the id only when the
// snapshot is taken, added 0.2-1 s to every sync.
//
// Taking the snapshot is what librbd does for a user snapshot of an image
// without journaling, in an order a crash cannot break: a copy of the head
// object map for the snapshot, cls_rbd snapshot_add on the header, the head's
// map marked clean (fast-diff), and a header-update notification so that open
// handles refresh. (librbd adds the snapshot first; killed before the map, it
// leaves a snapshot nobody can open: see snapshot_object_map.h.) A crash
// between the map and the snapshot leaves the map, a few KiB, unused.
//
// Only for a replica (this client is its only writer) whose librbd handle
// writes no more data once the snapshot is taken: that handle's in-memory
// object map still holds the states from before the snapshot.
#pragma once

#include <rados/librados.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "native/base/result.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

class PreparedSnapshot {
 public:
  // Starts asking for an id when `image` can be snapshotted this way (no
  // journaling; no fancy striping, which ImageLayout does not describe);
  // otherwise, or if the request cannot be sent, Take() says so and the
  // caller uses librbd. `cluster` is the client `image` was
  // opened with; both must outlive this.
  static PreparedSnapshot Begin(const RadosCluster& cluster, const RbdImage& image);

  PreparedSnapshot(PreparedSnapshot&&) noexcept;
  PreparedSnapshot& operator=(PreparedSnapshot&&) noexcept;
  ~PreparedSnapshot();  // gives an unused id back to the pool

  // Takes snapshot `name` of the image's current data with the id asked
  // for; its id. ENOTSUP, ESTALE (a newer snapshot came first), EEXIST and
  // errors of the id request or of writing the object map leave the image as
  // it was: librbd can take the snapshot instead.
  Result<uint64_t> Take(const std::string& name);

 private:
  struct Pending;
  explicit PreparedSnapshot(std::unique_ptr<Pending> pending);

  std::unique_ptr<Pending> pending_;
};

}  // namespace mirror_snapshot
