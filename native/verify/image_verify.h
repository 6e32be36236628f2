// Verifying a secondary: the data of a primary snapshot (peer cluster)
// against the local snapshot that holds it, object by object, in parallel.
// Each side's OSDs checksum their objects (crc32c per 64 KiB, the `checksum`
// op), so no data crosses the network; short tails are read and summed here,
// and a missing object counts as zeros (or, in a clone, as the parent's
// data, read through librbd).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"

namespace mirror_snapshot {

struct VerifyReport {
  uint64_t size = 0;
  uint64_t objects_compared = 0;
  uint64_t bytes_compared = 0;
  std::vector<std::pair<uint64_t, uint64_t>> mismatches;  // image extents (offset, length), 64 KiB granular
  bool size_mismatch = false;
  double seconds = 0;
};

// `primary` and `secondary` must be set to the snapshots given.
Result<VerifyReport> VerifyImages(const RadosCluster& primary_cluster, const RbdImage& primary,
                                  uint64_t primary_snap_id, const RadosCluster& secondary_cluster,
                                  const RbdImage& secondary, uint64_t secondary_snap_id, unsigned threads = 8);

struct ReplicaVerifyReport {
  uint64_t primary_snap_id = 0;
  std::string local_snap_name;
  VerifyReport result;
};

// Verifies the secondary `name` (this cluster) against its primary on
// `remote`: primary snapshot `primary_snap_id` (0: the last one synced)
// against the local snapshot holding it. EINVAL if the image is not a
// secondary; ENOENT if either snapshot is gone.
Result<ReplicaVerifyReport> VerifyReplica(const RadosCluster& local, const IoCtx& io, const std::string& name,
                                          const RadosCluster& remote, uint64_t primary_snap_id);

}  // namespace mirror_snapshot
