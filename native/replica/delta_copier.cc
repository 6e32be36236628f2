#include "native/replica/delta_copier.h"

#include <rados/librados.hpp>
#include <rbd/features.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "native/base/crc32c.h"
#include "native/base/extent_set.h"
#include "native/ceph/data_objects.h"
#include "native/replica/copy_plan.h"
#include "native/replica/object_map_marker.h"

namespace mirror_snapshot {
namespace {

// Completions only record the result and wake the driver thread: no librbd
// or librados call that can block is made from their callback threads.
struct Signal {
  std::mutex mutex;
  std::condition_variable cv;
};

// One write to the target: data, or zeroes when `data` is nullptr.
struct Write {
  uint64_t offset, length;  // image offsets
  const char* data;
};

// One piece of work on one range of the image:
//   kCopy    read the range at `to` (librbd), then write it (or zero it);
//   kZero    zero the range;
//   kCreated find the object's non-zero 64 KiB blocks at `to` from checksums
//            computed by the OSD, read only those (librados), write them.
//            (A sparse read is the fallback: on memstore it returns every byte.)
struct Chunk {
  using Kind = PlannedChunk::Kind;  // what CopyPlan made it for
  enum class State { kQueued, kProbing, kReading, kWriting, kWritten };

  uint64_t offset = 0;
  uint64_t length = 0;
  Kind kind = Kind::kCopy;
  State state = State::kQueued;
  uint64_t object_no = 0;  // kCreated

  std::string buffer;                        // kCopy: the data read
  librados::bufferlist checksums;            // kCreated: the probe's answer
  int checksums_rval = 0;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // kCreated: object ranges read...
  std::vector<librados::bufferlist> range_data;       // ...and their data
  std::vector<int> range_rvals;
  librados::bufferlist sparse_data;          // kCreated fallback: the data of...
  std::map<uint64_t, uint64_t> sparse_map;   // ...these object extents
  int sparse_rval = 0;
  bool probed = false;
  std::unique_ptr<librados::ObjectReadOperation> read_op;
  std::vector<Write> rest;  // kCreated: sent as one librados op after the first write
  std::unique_ptr<librados::ObjectWriteOperation> write_op;
  std::unique_ptr<librados::AioCompletion> rados_completion;
  std::vector<rbd_completion_t> completions;

  Signal* signal = nullptr;
  int outstanding = 0;     // guarded by signal->mutex
  bool completed = false;  // guarded by signal->mutex
  int result = 0;          // guarded by signal->mutex: the first error
};

void Finished(Chunk* chunk, int rc) {
  std::lock_guard<std::mutex> lock(chunk->signal->mutex);
  if (rc < 0 && chunk->result == 0) chunk->result = rc;
  if (--chunk->outstanding == 0) {
    chunk->completed = true;
    chunk->signal->cv.notify_all();
  }
}

void OnRbdComplete(rbd_completion_t completion, void* arg) {
  Finished(static_cast<Chunk*>(arg), static_cast<int>(rbd_aio_get_return_value(completion)));
}

void OnRadosComplete(rados_completion_t, void* arg) {
  auto* chunk = static_cast<Chunk*>(arg);
  Finished(chunk, chunk->rados_completion->get_return_value());
}

// librbd calls the progress callback of rbd_resize2 unconditionally.
int IgnoreProgress(uint64_t, uint64_t, void*) { return 0; }

// memcmp against a block of zeros: vectorised, unlike a byte loop.
bool AllZero(const char* data, uint64_t length) {
  static const char kZeros[4096] = {};
  while (length > 0) {
    const uint64_t n = std::min<uint64_t>(length, sizeof(kZeros));
    if (std::memcmp(data, kZeros, n) != 0) return false;
    data += n;
    length -= n;
  }
  return true;
}

// A buffer cut into runs of data and runs of zeros; a zero run is at least
// `block` bytes (blocks counted from the buffer's start), shorter zero
// stretches stay inside data runs.
struct Run {
  uint64_t offset, length;  // within the buffer
  bool zero;
};

std::vector<Run> SplitZeroRuns(const char* data, uint64_t length, uint64_t block) {
  std::vector<Run> runs;
  for (uint64_t pos = 0; pos < length;) {
    const uint64_t n = std::min(block, length - pos);
    const bool zero = AllZero(data + pos, n);
    if (!runs.empty() && runs.back().zero == zero) {
      runs.back().length += n;
    } else {
      runs.push_back({pos, n, zero});
    }
    pos += n;
  }
  return runs;
}

constexpr uint64_t kProbeBlock = 64 << 10;   // created objects: checksum granularity
constexpr uint32_t kCrcInit = kCrc32cSeed;

uint32_t ZeroBlockCrc() {
  static const uint32_t crc = Crc32cOfZeros(kCrcInit, kProbeBlock);
  return crc;
}

// The object ranges worth reading: blocks whose checksum is not that of
// zeros, merged, plus the unprobed tail. nullopt if the answer is malformed.
std::optional<std::vector<std::pair<uint64_t, uint64_t>>> NonZeroRanges(librados::bufferlist& answer,
                                                                         uint64_t probed, uint64_t length) {
  if (answer.length() < 4) return std::nullopt;
  const char* p = answer.c_str();
  const uint32_t count = ReadLe32(p);
  if (answer.length() < 4 + 4ull * count || count * kProbeBlock != probed) return std::nullopt;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  auto add = [&](uint64_t off, uint64_t len) {
    if (!ranges.empty() && ranges.back().first + ranges.back().second == off) {
      ranges.back().second += len;
    } else {
      ranges.emplace_back(off, len);
    }
  };
  for (uint32_t i = 0; i < count; ++i) {
    if (ReadLe32(p + 4 + 4ull * i) != ZeroBlockCrc()) add(i * kProbeBlock, kProbeBlock);
  }
  if (length > probed) add(probed, length - probed);
  return ranges;
}

// The hints rbd-mirror's deep copy gives its writes: a replica's data is not
// read back soon, so bluestore need not keep it in its cache. (No speed-up
// was measured on the memstore sandbox; see docs/benchmarks.md.)
constexpr int kTargetWriteFlags = LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL | LIBRADOS_OP_FLAG_FADVISE_NOCACHE;

constexpr uint64_t kSparseBlock = 4096;       // created objects: zero blocks are holes
// Chunks one copy keeps in flight at most, whatever their size: a delta of
// many small extents keeps its bookkeeping (a few hundred bytes a chunk) to
// well under a MiB, and the objecter queues no more than this anyway
// (objecter_inflight_ops defaults to 1024).
constexpr size_t kMaxChunksInFlight = 1024;
constexpr uint64_t kZeroRunInCopy = 64 << 10;  // changed ranges: long zero runs become write_zeroes

class Pipeline {
 public:
  // `target_objects`: the target's data objects, or nullptr to write only
  // through librbd. `marker`: with them, created objects are written wholly
  // through them, marked in the object map by it (see FlushMarks).
  Pipeline(librados::IoCtx* objects, const RbdImage& source, const ImageDelta& delta, const RbdImage& target,
           librados::IoCtx* target_objects, const ObjectLayout& target_layout, const ObjectMapMarker* marker,
           const CopyOptions& options, CopyStats* stats)
      : objects_(objects),
        source_(source),
        delta_(delta),
        target_(target),
        target_objects_(target_objects),
        target_layout_(target_layout),
        marker_(marker),
        options_(options),
        stats_(stats) {}

  // Starts the chunk's next phase. Returns a negative errno if an operation
  // could not be submitted. A phase with nothing to do completes at once.
  int Start(Chunk* c) {
    c->signal = &signal_;
    if (c->state == Chunk::State::kQueued && c->kind == Chunk::Kind::kCopy) {
      c->state = Chunk::State::kReading;
      return StartRead(c);
    }
    if (c->state == Chunk::State::kQueued && c->kind == Chunk::Kind::kCreated) {
      const uint64_t probed = c->length / kProbeBlock * kProbeBlock;
      if (probed == 0) {
        c->state = Chunk::State::kReading;
        return StartSparseRead(c);
      }
      c->state = Chunk::State::kProbing;
      return StartProbe(c, probed);
    }
    if (c->state == Chunk::State::kProbing) {
      c->state = Chunk::State::kReading;
      std::optional<std::vector<std::pair<uint64_t, uint64_t>>> ranges;
      if (c->checksums_rval == 0) ranges = NonZeroRanges(c->checksums, c->length / kProbeBlock * kProbeBlock, c->length);
      if (!ranges) return StartSparseRead(c);  // no usable checksums: read it all
      c->probed = true;
      c->ranges = std::move(*ranges);
      if (!c->ranges.empty()) return StartRangesRead(c);
      c->state = Chunk::State::kWriting;  // nothing but zeros
      return SubmitCreated(c, CreatedObjectWrites(c));
    }
    c->state = Chunk::State::kWriting;
    switch (c->kind) {
      case Chunk::Kind::kZero:
        return Submit(c, {{c->offset, c->length, nullptr}});
      case Chunk::Kind::kCopy: {
        stats_->bytes_read += c->length;
        // Zeros on the target may overwrite old data: write_zeroes keeps it sparse.
        std::vector<Write> writes;
        for (const Run& run : SplitZeroRuns(c->buffer.data(), c->length, kZeroRunInCopy)) {
          writes.push_back({c->offset + run.offset, run.length, run.zero ? nullptr : c->buffer.data() + run.offset});
        }
        return Submit(c, writes);
      }
      case Chunk::Kind::kCreated:
        return SubmitCreated(c, CreatedObjectWrites(c));
    }
    return 0;
  }

  // The writes of a created object held back until its first write was done:
  // one librados operation on the target's data object.
  int SubmitRest(Chunk* c) {
    const uint64_t base = c->object_no * target_layout_.object_size;
    c->write_op = std::make_unique<librados::ObjectWriteOperation>();
    for (const Write& w : c->rest) {
      if (w.data == nullptr) {
        stats_->bytes_zeroed += w.length;
        c->write_op->zero(w.offset - base, w.length);
      } else {
        stats_->bytes_written += w.length;
        // No copy: the chunk keeps the data until the operation completes.
        c->write_op->write(w.offset - base, librados::bufferlist::static_from_mem(const_cast<char*>(w.data),
                                                                                  w.length));
        c->write_op->set_op_flags2(kTargetWriteFlags);
      }
    }
    c->rest.clear();
    Arm(c, 1);
    c->rados_completion.reset(librados::Rados::aio_create_completion(c, &OnRadosComplete));
    return target_objects_->aio_operate(DataObjectName(target_layout_, c->object_no), c->rados_completion.get(),
                                        c->write_op.get());
  }

  // Marks the created objects waiting to be written in the object map, in
  // one call, then sends each one's writes as one librados operation. Called
  // before waiting: a waiting chunk has nothing in flight to wake us.
  Status FlushMarks() {
    if (to_mark_.empty()) return Status::Ok();
    std::vector<uint64_t> objects;
    for (const Chunk* c : to_mark_) objects.push_back(c->object_no);
    Status status = marker_->MarkExisting(std::move(objects));
    if (!status.ok()) return status;
    stats_->objects_marked += to_mark_.size();
    for (Chunk* c : to_mark_) {
      const int rc = SubmitRest(c);
      if (rc < 0) {
        return Status::FromErrno(rc, "submitting a write to '" + target_.spec() + "' at offset " +
                                         std::to_string(c->offset));
      }
    }
    to_mark_.clear();
    return Status::Ok();
  }

  // Blocks until at least one chunk completed a phase; returns them with results.
  std::vector<std::pair<Chunk*, int>> WaitForCompletions(const std::deque<std::unique_ptr<Chunk>>& chunks) {
    std::vector<std::pair<Chunk*, int>> out;
    std::unique_lock<std::mutex> lock(signal_.mutex);
    signal_.cv.wait(lock, [&] {
      return std::any_of(chunks.begin(), chunks.end(), [](const auto& c) { return c->completed; });
    });
    for (const auto& c : chunks) {
      if (c->completed) {
        c->completed = false;
        out.emplace_back(c.get(), c->result);
        c->result = 0;
      }
    }
    return out;
  }

  // Releases the chunk's completions; waits for them first if `wait`.
  static void Release(Chunk* c, bool wait) {
    for (rbd_completion_t completion : c->completions) {
      if (wait) rbd_aio_wait_for_complete(completion);
      rbd_aio_release(completion);
    }
    c->completions.clear();
    if (c->rados_completion) {
      // Not just wait_for_complete(): librados runs our callback after it
      // marks the op complete, and the callback reads the completion.
      if (wait) c->rados_completion->wait_for_complete_and_cb();
      c->rados_completion.reset();
    }
    c->write_op.reset();
  }

 private:
  void Arm(Chunk* c, int operations) {
    std::lock_guard<std::mutex> lock(signal_.mutex);
    c->completed = false;
    c->result = 0;
    c->outstanding = operations;
  }

  int StartRead(Chunk* c) {
    Arm(c, 1);
    c->buffer.resize(c->length);
    rbd_completion_t completion = nullptr;
    rbd_aio_create_completion(c, &OnRbdComplete, &completion);
    c->completions.push_back(completion);
    return rbd_aio_read2(source_.handle(), c->offset, c->length, c->buffer.data(), completion, 0);
  }

  int StartProbe(Chunk* c, uint64_t probed) {
    Arm(c, 1);
    librados::bufferlist init;
    const uint32_t value = kCrcInit;  // le32 on every platform Ceph runs on
    init.append(reinterpret_cast<const char*>(&value), sizeof(value));
    c->read_op = std::make_unique<librados::ObjectReadOperation>();
    c->read_op->checksum(LIBRADOS_CHECKSUM_TYPE_CRC32C, init, 0, probed, kProbeBlock, &c->checksums,
                         &c->checksums_rval);
    return Operate(c);
  }

  int StartRangesRead(Chunk* c) {
    Arm(c, 1);
    c->range_data.assign(c->ranges.size(), librados::bufferlist());
    c->range_rvals.assign(c->ranges.size(), 0);
    c->read_op = std::make_unique<librados::ObjectReadOperation>();
    for (size_t i = 0; i < c->ranges.size(); ++i) {
      c->read_op->read(c->ranges[i].first, c->ranges[i].second, &c->range_data[i], &c->range_rvals[i]);
    }
    return Operate(c);
  }

  int Operate(Chunk* c) {
    c->rados_completion.reset(librados::Rados::aio_create_completion(c, &OnRadosComplete));
    return objects_->aio_operate(DataObjectName(delta_.layout, c->object_no), c->rados_completion.get(),
                                 c->read_op.get(), nullptr);
  }

  int StartSparseRead(Chunk* c) {
    Arm(c, 1);
    c->read_op = std::make_unique<librados::ObjectReadOperation>();
    c->read_op->sparse_read(0, delta_.layout.object_size, &c->sparse_map, &c->sparse_data, &c->sparse_rval);
    return Operate(c);
  }

  // The writes of a created object: its non-zero data; its holes only when
  // the target may hold data there.
  std::vector<Write> CreatedObjectWrites(Chunk* c) {
    const uint64_t base = c->object_no * delta_.layout.object_size;
    const uint64_t object_end = std::min(base + delta_.layout.object_size, delta_.size_at_to);
    struct Piece {
      uint64_t offset;  // within the object
      const char* data;
      uint64_t length;
    };
    std::vector<Piece> pieces;
    if (c->probed) {
      for (size_t i = 0; i < c->ranges.size(); ++i) {
        librados::bufferlist& bl = c->range_data[i];
        if (bl.length() > 0) pieces.push_back({c->ranges[i].first, bl.c_str(), bl.length()});
      }
    } else if (!c->sparse_map.empty()) {
      const char* data = c->sparse_data.c_str();
      uint64_t pos = 0;
      for (const auto& [off, len] : c->sparse_map) {
        pieces.push_back({off, data + pos, len});
        pos += len;
      }
    }
    std::vector<Write> writes;
    Extents holes = {{base, object_end - base}};
    for (const Piece& piece : pieces) {
      const uint64_t at = base + piece.offset;
      const uint64_t n = std::min(piece.length, object_end > at ? object_end - at : 0);
      if (n == 0) continue;
      stats_->bytes_read += n;
      holes = Subtract(holes, {{at, n}});
      for (const Run& run : SplitZeroRuns(piece.data, n, kSparseBlock)) {
        if (!run.zero) {
          writes.push_back({at + run.offset, run.length, piece.data + run.offset});
        } else if (options_.zero_created_gaps) {
          writes.push_back({at + run.offset, run.length, nullptr});
        }
      }
    }
    if (options_.zero_created_gaps) {
      for (const auto& [off, len] : holes) writes.push_back({off, len, nullptr});
    }
    return writes;
  }

  // A created object's writes: all through librbd; or (with the target's
  // data objects at hand) its first data write through librbd and the rest
  // held back for SubmitRest; or (with a marker too) all held back for
  // FlushMarks. Either way the object map says "exists" before the object
  // does, as librbd keeps it, and a crash never leaves an object unmarked.
  int SubmitCreated(Chunk* c, std::vector<Write> writes) {
    if (marker_ != nullptr && !writes.empty()) {
      c->rest = std::move(writes);
      to_mark_.push_back(c);
      return 0;
    }
    if (target_objects_ != nullptr && writes.size() > 1) {
      auto first = std::find_if(writes.begin(), writes.end(), [](const Write& w) { return w.data != nullptr; });
      if (first != writes.end()) {
        const Write lead = *first;
        writes.erase(first);
        c->rest = std::move(writes);
        return Submit(c, {lead});
      }
    }
    return Submit(c, writes);
  }

  int Submit(Chunk* c, const std::vector<Write>& writes) {
    if (writes.empty()) {
      Arm(c, 1);
      Finished(c, 0);
      return 0;
    }
    Arm(c, static_cast<int>(writes.size()));
    for (const Write& w : writes) {
      rbd_completion_t completion = nullptr;
      rbd_aio_create_completion(c, &OnRbdComplete, &completion);
      c->completions.push_back(completion);
      int rc = 0;
      if (w.data == nullptr) {
        stats_->bytes_zeroed += w.length;
        rc = rbd_aio_write_zeroes(target_.handle(), w.offset, w.length, completion, 0, 0);
      } else {
        stats_->bytes_written += w.length;
        rc = rbd_aio_write2(target_.handle(), w.offset, w.length, w.data, completion, kTargetWriteFlags);
      }
      if (rc < 0) {
        // Account for the writes that will never complete, then report.
        std::lock_guard<std::mutex> lock(signal_.mutex);
        c->outstanding -= static_cast<int>(writes.size() - (c->completions.size() - 1));
        rbd_aio_release(completion);
        c->completions.pop_back();
        return rc;
      }
    }
    return 0;
  }

  librados::IoCtx* objects_;
  const RbdImage& source_;
  const ImageDelta& delta_;
  const RbdImage& target_;
  librados::IoCtx* target_objects_;
  const ObjectLayout& target_layout_;
  const ObjectMapMarker* marker_;
  const CopyOptions& options_;
  CopyStats* stats_;
  Signal signal_;
  std::vector<Chunk*> to_mark_;  // created objects read, waiting for FlushMarks
};

// The source's data objects, read at the delta's `to` snapshot.
Result<librados::IoCtx> OpenSourceObjects(const RadosCluster& cluster, const ImageDelta& delta,
                                          const std::string& spec) {
  auto io = OpenDataObjects(cluster, delta.layout, spec);
  if (io.ok()) io.value().snap_set_read(delta.to_snap_id);
  return io;
}

// Whether created objects may be written partly with librados (see
// CopyOptions::target_cluster): not through a journal, a parent's data
// (librbd copies it up) or a write-back cache (which could hold the first
// write after the rest reached the OSD).
Result<bool> TargetTakesObjectWrites(const RadosCluster& cluster, const RbdImage& target) {
  auto cache = cluster.ConfigValue("rbd_cache");
  if (!cache.ok()) return cache.status();
  if (cache.value() != "false") return false;
  uint64_t features = 0;
  const int rc = rbd_get_features(target.handle(), &features);
  if (rc < 0) return Status::FromErrno(rc, "reading features of '" + target.spec() + "'");
  if (features & (RBD_FEATURE_JOURNALING | RBD_FEATURE_STRIPINGV2)) return false;
  auto parent = target.Parent();
  if (!parent.ok()) return parent.status();
  return !parent.value().has_value();
}

// The target's data objects with its snapshot context, when created
// objects may be written through them; else nullopt.
Result<std::optional<librados::IoCtx>> OpenTargetObjects(const CopyOptions& options, const ImageDelta& delta,
                                                         const RbdImage& target, ObjectLayout* layout) {
  if (options.target_cluster == nullptr || delta.created.empty()) return std::optional<librados::IoCtx>();
  auto eligible = TargetTakesObjectWrites(*options.target_cluster, target);
  if (!eligible.ok()) return eligible.status();
  if (!eligible.value()) return std::optional<librados::IoCtx>();
  auto target_layout = ImageLayout(target);
  if (!target_layout.ok()) return target_layout.status();
  *layout = target_layout.value();
  auto io = OpenDataObjects(*options.target_cluster, *layout, target.spec());
  if (!io.ok()) return io.status();
  Status status = SetImageWriteContext(target, &io.value());
  if (!status.ok()) return status;
  return std::optional<librados::IoCtx>(std::move(io).value());
}

// A marker of the target's object map, when created objects may be written
// wholly with librados (see CopyOptions::mark_created_objects); else nullopt.
// It needs this handle to hold the exclusive lock, if the image has one:
// another holder's in-memory map would miss what is marked.
Result<std::optional<ObjectMapMarker>> OpenMarker(const CopyOptions& options, const RbdImage& target,
                                                  bool target_objects) {
  if (!options.mark_created_objects || !target_objects) return std::optional<ObjectMapMarker>();
  uint64_t features = 0;
  int rc = rbd_get_features(target.handle(), &features);
  if (rc < 0) return Status::FromErrno(rc, "reading features of '" + target.spec() + "'");
  if (features & RBD_FEATURE_EXCLUSIVE_LOCK) {
    int owner = 0;
    rc = rbd_is_exclusive_lock_owner(target.handle(), &owner);
    if (rc < 0) return Status::FromErrno(rc, "reading the lock owner of '" + target.spec() + "'");
    if (!owner) return std::optional<ObjectMapMarker>();
  }
  auto marker = ObjectMapMarker::Open(*options.target_cluster, target);
  if (!marker.ok()) return marker.status();
  return std::optional<ObjectMapMarker>(std::move(marker).value());
}

}  // namespace

Result<CopyStats> ApplyDelta(const RadosCluster& source_cluster, const RbdImage& source,
                             const ImageDelta& delta, const RbdImage& target, const CopyOptions& options) {
  CopyStats stats;
  uint64_t target_size = 0;
  int rc = rbd_get_size(target.handle(), &target_size);
  if (rc < 0) return Status::FromErrno(rc, "reading the size of '" + target.spec() + "'");
  if (target_size < delta.size_at_to) {
    rc = rbd_resize2(target.handle(), delta.size_at_to, false, &IgnoreProgress, nullptr);
    if (rc < 0) return Status::FromErrno(rc, "growing '" + target.spec() + "'");
  }
  librados::IoCtx objects;
  if (!delta.created.empty()) {
    auto opened = OpenSourceObjects(source_cluster, delta, source.spec());
    if (!opened.ok()) return opened.status();
    objects = std::move(opened).value();
  }
  ObjectLayout target_layout;
  auto target_objects = OpenTargetObjects(options, delta, target, &target_layout);
  if (!target_objects.ok()) return target_objects.status();
  auto marker = OpenMarker(options, target, target_objects.value().has_value());
  if (!marker.ok()) return marker.status();

  // Chunks are made as they are admitted: only those in flight exist.
  auto made_plan = CopyPlan::Make(delta, options.chunk_bytes, options.resume_offset);
  if (!made_plan.ok()) return made_plan.status();
  CopyPlan plan = std::move(made_plan).value();
  std::optional<PlannedChunk> next = plan.Next();
  std::deque<std::unique_ptr<Chunk>> in_flight;  // offset order
  Pipeline pipeline(&objects, source, delta, target,
                    target_objects.value() ? &*target_objects.value() : nullptr, target_layout,
                    marker.value() ? &*marker.value() : nullptr, options, &stats);
  CopyProgress progress;
  progress.bytes_total = TotalLength(delta.changed) + TotalLength(delta.created) + TotalLength(delta.zeroed);
  progress.checkpoint_offset = options.resume_offset;
  const uint64_t remaining = plan.planned_bytes();  // bytes below the resume point count as done
  progress.bytes_done = progress.bytes_total > remaining ? progress.bytes_total - remaining : 0;
  uint64_t next_report = progress.bytes_done + options.progress_every_bytes;
  uint64_t bytes_in_flight = 0;
  Status error;
  // Chunks may start while this copy's cap and the shared budget allow; a
  // copy with nothing in flight always starts one, so it cannot starve.
  auto admit = [&](uint64_t length) {
    const bool alone = in_flight.empty();
    if (!alone && bytes_in_flight + length > options.max_in_flight_bytes) return false;
    if (!alone && in_flight.size() >= kMaxChunksInFlight) return false;
    return options.budget == nullptr || options.budget->TryTake(length, alone);
  };

  auto fail = [&](int code, const Chunk* c, const std::string& what) {
    if (error.ok()) error = Status::FromErrno(code, what + " at offset " + std::to_string(c->offset));
  };

  while (error.ok() && (next || !in_flight.empty())) {
    if (options.cancelled && options.cancelled()) {
      error = Status::Error(ECANCELED, "the sync of '" + target.spec() + "' was stopped");
      break;
    }
    while (next && admit(next->length)) {
      auto c = std::make_unique<Chunk>();
      c->offset = next->offset;
      c->length = next->length;
      c->kind = next->kind;
      c->object_no = next->object_no;
      next = plan.Next();
      bytes_in_flight += c->length;
      Chunk* raw = c.get();
      in_flight.push_back(std::move(c));
      rc = pipeline.Start(raw);
      if (rc < 0) {
        fail(rc, raw, "submitting I/O for '" + target.spec() + "'");
        break;
      }
    }
    stats.max_chunks_in_flight = std::max<uint64_t>(stats.max_chunks_in_flight, in_flight.size());
    if (!error.ok()) break;
    error = pipeline.FlushMarks();
    if (!error.ok()) break;

    for (auto [c, result] : pipeline.WaitForCompletions(in_flight)) {
      const bool probing = c->state == Chunk::State::kProbing;
      const bool reading = c->state == Chunk::State::kReading || probing;
      Pipeline::Release(c, false);
      if (probing) {
        c->checksums_rval = result < 0 ? result : c->checksums_rval;  // any failure: fall back
        result = 0;
      }
      // The snap set said the object exists at `to`: ENOENT means the
      // snapshot went away (its clones trimmed), never "no data".
      if (result == 0 && reading && c->sparse_rval < 0) result = c->sparse_rval;
      for (int rval : c->range_rvals) {
        if (result == 0 && rval < 0) result = rval;
      }
      if (result == -ENOENT && reading) {
        fail(-ENOENT, c, "reading '" + source.spec() + "' at snapshot " + std::to_string(delta.to_snap_id) +
                            ": the object is gone (the snapshot was removed during the sync?)");
        break;
      }
      if (result < 0) {
        fail(result, c, reading ? "reading '" + source.spec() + "'" : "writing '" + target.spec() + "'");
        break;
      }
      if (reading) {
        rc = pipeline.Start(c);
        if (rc < 0) {
          fail(rc, c, "submitting a write to '" + target.spec() + "'");
          break;
        }
      } else if (!c->rest.empty()) {
        rc = pipeline.SubmitRest(c);
        if (rc < 0) {
          fail(rc, c, "submitting a write to '" + target.spec() + "'");
          break;
        }
      } else {
        c->state = Chunk::State::kWritten;
        c->buffer = std::string();
        c->sparse_data.clear();
        c->sparse_map.clear();
        c->range_data.clear();
        c->checksums.clear();
      }
    }
    // Retire written chunks from the front, in order: that is the checkpoint.
    while (!in_flight.empty() && in_flight.front()->state == Chunk::State::kWritten) {
      bytes_in_flight -= in_flight.front()->length;
      if (options.budget != nullptr) options.budget->Give(in_flight.front()->length);
      progress.bytes_done += in_flight.front()->length;
      progress.checkpoint_offset = in_flight.front()->offset + in_flight.front()->length;
      in_flight.pop_front();
    }
    if (options.on_progress && progress.bytes_done >= next_report) {
      options.on_progress(progress);
      next_report = progress.bytes_done + options.progress_every_bytes;
    }
  }
  // After an error, let what is still in flight finish before its buffers go.
  for (auto& c : in_flight) Pipeline::Release(c.get(), true);
  if (options.budget != nullptr) options.budget->Give(bytes_in_flight);
  if (!error.ok()) return error;

  if (target_size > delta.size_at_to) {
    rc = rbd_resize2(target.handle(), delta.size_at_to, true, &IgnoreProgress, nullptr);
    if (rc < 0) return Status::FromErrno(rc, "shrinking '" + target.spec() + "'");
  }
  progress.checkpoint_offset = std::max(progress.checkpoint_offset, delta.size_at_to);
  if (options.on_progress) options.on_progress(progress);
  return stats;
}

Result<CopyStats> CopyImageDelta(const RadosCluster& source_cluster, const IoCtx& source_io,
                                 const std::string& source_name, uint64_t from_snap_id, uint64_t to_snap_id,
                                 const RadosCluster& target_cluster, const IoCtx& target_io,
                                 const std::string& target_name, bool lock_target, CopyOptions options) {
  auto source = RbdImage::OpenByName(source_io, source_name);
  if (!source.ok()) return source.status();
  auto delta = ComputeImageDelta(source_cluster, source.value(), from_snap_id, to_snap_id);
  if (!delta.ok()) return delta.status();
  Status status = source.value().SetSnapshot(to_snap_id);
  if (!status.ok()) return status;
  auto target = RbdImage::OpenByName(target_io, target_name);
  if (!target.ok()) return target.status();
  if (lock_target) {
    status = target.value().AcquireExclusiveLock();
    if (!status.ok()) return status;
  }
  options.target_cluster = &target_cluster;
  return ApplyDelta(source_cluster, source.value(), delta.value(), target.value(), options);
}

}  // namespace mirror_snapshot
