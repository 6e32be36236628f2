// DeltaCopier: applies an ImageDelta of a source image (set to the delta's
// `to` snapshot) onto a target image, with reads and writes overlapping
// (librbd and librados AIO) and memory bounded by the bytes in flight.
#pragma once

#include <cstdint>
#include <functional>

#include "native/base/memory_budget.h"
#include "native/base/result.h"
#include "native/ceph/io_ctx.h"
#include "native/ceph/rados_cluster.h"
#include "native/ceph/rbd_image.h"
#include "native/delta/image_delta.h"

namespace mirror_snapshot {

struct CopyProgress {
  uint64_t bytes_total = 0;   // changed + created + zeroed bytes of the delta
  uint64_t bytes_done = 0;
  // Every range below this image offset is applied: a resume may start here.
  uint64_t checkpoint_offset = 0;
};

struct CopyOptions {
  uint64_t max_in_flight_bytes = kDefaultInFlightBytes;  // this copy's own cap
  // Shared with other copies (optional): every chunk in flight takes its
  // bytes from it. A copy with nothing in flight always takes one chunk.
  MemoryBudget* budget = nullptr;
  uint64_t chunk_bytes = 4ull << 20;
  uint64_t resume_offset = 0;  // ranges below it are already applied
  // Created objects (absent at `from`) are copied extent by extent; their
  // holes are skipped, which is right only while the target has nothing
  // there. Set this when it may (a clone's parent shows through, or a
  // partial apply of another delta is being redone): holes are then zeroed.
  bool zero_created_gaps = false;
  // The target's cluster. When set, and the target is a plain image (no
  // parent, journal or fancy striping) written with librbd's cache off, the
  // writes of a created object after its first data write go to the OSD as
  // one librados operation instead of one librbd write each: a delta of many
  // small extents (random writes) costs the OSD a few ops per object, not one
  // per extent. The first write goes through librbd, which marks the object
  // in the object map (and takes the exclusive lock) before the rest is sent.
  const RadosCluster* target_cluster = nullptr;
  // With `target_cluster`, and when this handle holds the target's exclusive
  // lock (or it has none): every write of a created object goes as one
  // librados operation, after one cls_rbd call marks in the object map all
  // the objects ready at that moment, instead of a librbd first write marking
  // each. The handle's in-memory object map then misses those objects, and
  // librbd skips a discard or trim of an object its map says is absent: set
  // this only when nothing is written through the handle after this copy
  // (the last delta before a local snapshot taken without librbd's writes).
  bool mark_created_objects = false;
  // Polled between chunks: true stops the copy (ECANCELED) once what is in
  // flight has finished. The checkpoint reported so far stays valid.
  std::function<bool()> cancelled;
  // Called on the copying thread, at most every `progress_every_bytes`.
  std::function<void(const CopyProgress&)> on_progress;
  uint64_t progress_every_bytes = 64ull << 20;
};

struct CopyStats {
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t bytes_zeroed = 0;  // written as write_zeroes (all-zero data or removed ranges)
  uint64_t objects_marked = 0;  // created objects written after marking them ourselves
  uint64_t max_chunks_in_flight = 0;  // the most chunks the copy held at once (they exist only in flight)
};

// `source` must be set to the snapshot the delta goes `to`; `source_cluster`
// is the client it was opened with (created objects are read with librados).
// The target is resized to delta.size_at_to (grown first, shrunk last).
Result<CopyStats> ApplyDelta(const RadosCluster& source_cluster, const RbdImage& source,
                             const ImageDelta& delta, const RbdImage& target, const CopyOptions& options);

// The image `source_name` of `source_io` between two of its snapshots, copied
// onto the image `target_name` of `target_io` with ApplyDelta: the whole
// delta path of one sync without its records (benchmarks and tests drive the
// copier with it). `lock_target` takes the target's exclusive lock first, as
// the replayer's handle holds it. `options.target_cluster` is set to `target`.
Result<CopyStats> CopyImageDelta(const RadosCluster& source_cluster, const IoCtx& source_io,
                                 const std::string& source_name, uint64_t from_snap_id, uint64_t to_snap_id,
                                 const RadosCluster& target_cluster, const IoCtx& target_io,
                                 const std::string& target_name, bool lock_target, CopyOptions options);

}  // namespace mirror_snapshot
