// CopyPlan: the pieces of work of an ImageDelta, in image offset order, made
// one at a time from the delta's extent lists. It only reads the lists and
// keeps a few cursors, so a sync holds the chunks it has in flight, never
// one per range of the whole delta: its memory does not grow with the image.
// Pure (no Ceph calls).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "native/base/extent_set.h"
#include "native/base/result.h"
#include "native/delta/image_delta.h"

namespace mirror_snapshot {

struct PlannedChunk {
  enum class Kind { kCopy, kZero, kCreated };
  uint64_t offset = 0;
  uint64_t length = 0;
  Kind kind = Kind::kCopy;
  uint64_t object_no = 0;  // the object the piece started in (kCreated: its object)
  bool operator==(const PlannedChunk&) const = default;
};

// Chunks in offset order: changed ranges (kCopy) and zeroed ranges (kZero,
// clipped to the size at `to`) cut at `chunk_bytes` boundaries, created
// objects (kCreated) one chunk per object. Everything below `resume_offset`
// is left out, except that a created object is redone whole unless it lies
// entirely below it. The plan starts there with a binary search: a resume
// near the end of a huge delta costs nothing before its first chunk.
class CopyPlan {
 public:
  // EINVAL unless each of the delta's lists is sorted and no two ranges
  // overlap (ComputeImageDelta's delta is so): the plan merges the lists in
  // one pass, and checkpoints need the chunks in offset order. The plan
  // reads the delta's lists: it must not outlive `delta`.
  static Result<CopyPlan> Make(const ImageDelta& delta, uint64_t chunk_bytes, uint64_t resume_offset);

  std::optional<PlannedChunk> Next();
  // Bytes of all the chunks the plan yields, counted when it was made.
  uint64_t planned_bytes() const { return planned_bytes_; }

 private:
  // One of the delta's three lists, and the next of its extents to start.
  struct Source {
    const Extents* extents = nullptr;
    size_t next = 0;
    PlannedChunk::Kind kind = PlannedChunk::Kind::kCopy;
  };
  struct Range {
    uint64_t offset = 0, end = 0;
    bool empty() const { return offset >= end; }
  };

  CopyPlan(const ImageDelta& delta, uint64_t chunk_bytes, uint64_t resume_offset);
  // The extent as planned (zeroed ranges clipped to the size at `to`).
  Range Clipped(const Source& source, size_t index) const;
  uint64_t Step(PlannedChunk::Kind kind) const;
  // Where the pieces of `range` start being planned: its start, or the
  // start of the piece holding the resume point.
  uint64_t FirstPiece(const Range& range, PlannedChunk::Kind kind) const;
  // Starts the lowest extent left of any list; false when none is left.
  bool StartNextRange();

  Source sources_[3];
  uint64_t object_size_;
  uint64_t chunk_bytes_;
  uint64_t resume_offset_;
  uint64_t size_at_to_;
  uint64_t planned_bytes_ = 0;
  // The range being cut into chunks, and where its next piece starts.
  bool in_range_ = false;
  PlannedChunk::Kind kind_ = PlannedChunk::Kind::kCopy;
  Range range_;
  uint64_t pos_ = 0;
};

}  // namespace mirror_snapshot
