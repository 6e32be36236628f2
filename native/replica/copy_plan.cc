#include "native/replica/copy_plan.h"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <string>

namespace mirror_snapshot {
namespace {

constexpr uint64_t kMinChunkBytes = 4096;

// Sorted by offset, no overlaps (touching is fine), no range past 2^64.
Status CheckSorted(const Extents& extents, const char* what) {
  uint64_t previous_end = 0;
  for (const auto& [offset, length] : extents) {
    if (length > std::numeric_limits<uint64_t>::max() - offset) {
      return Status::Error(EINVAL, std::string("the delta's ") + what + " range at offset " +
                                       std::to_string(offset) + " ends past 2^64");
    }
    if (offset < previous_end) {
      return Status::Error(EINVAL, std::string("the delta's ") + what + " ranges are not sorted or overlap at offset " +
                                       std::to_string(offset));
    }
    previous_end = offset + length;
  }
  return Status::Ok();
}

}  // namespace

CopyPlan::CopyPlan(const ImageDelta& delta, uint64_t chunk_bytes, uint64_t resume_offset)
    : object_size_(std::max<uint64_t>(delta.layout.object_size, 1)),
      chunk_bytes_(std::max(chunk_bytes, kMinChunkBytes)),
      resume_offset_(resume_offset),
      size_at_to_(delta.size_at_to) {
  sources_[0] = {&delta.changed, 0, PlannedChunk::Kind::kCopy};
  sources_[1] = {&delta.created, 0, PlannedChunk::Kind::kCreated};
  sources_[2] = {&delta.zeroed, 0, PlannedChunk::Kind::kZero};
  // Skip, in each list, the ranges that end at or below the resume point:
  // they yield nothing. Planned ends grow along a list, so a binary search.
  for (Source& source : sources_) {
    size_t low = 0, high = source.extents->size();
    while (low < high) {
      const size_t mid = low + (high - low) / 2;
      if (Clipped(source, mid).end <= resume_offset_) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    source.next = low;
  }
}

Result<CopyPlan> CopyPlan::Make(const ImageDelta& delta, uint64_t chunk_bytes, uint64_t resume_offset) {
  for (const auto& [list, what] : {std::pair{&delta.changed, "changed"}, std::pair{&delta.created, "created"},
                                   std::pair{&delta.zeroed, "zeroed"}}) {
    Status status = CheckSorted(*list, what);
    if (!status.ok()) return status;
  }
  CopyPlan plan(delta, chunk_bytes, resume_offset);
  // One walk over the ranges (not the chunks) left: their bytes, and no
  // overlap between the lists.
  CopyPlan walk = plan;
  uint64_t previous_end = 0;
  while (walk.StartNextRange()) {
    if (walk.range_.offset < previous_end) {
      return Status::Error(EINVAL, "the delta's ranges overlap at offset " + std::to_string(walk.range_.offset));
    }
    previous_end = walk.range_.end;
    const uint64_t first = walk.kind_ == PlannedChunk::Kind::kCreated ? walk.pos_
                                                                      : std::max(walk.pos_, resume_offset);
    plan.planned_bytes_ += walk.range_.end - first;
    walk.in_range_ = false;
  }
  return plan;
}

CopyPlan::Range CopyPlan::Clipped(const Source& source, size_t index) const {
  const auto& [offset, length] = (*source.extents)[index];
  Range range{offset, offset + length};
  // Nothing to zero past the image's end at `to`: the final shrink drops it.
  if (source.kind == PlannedChunk::Kind::kZero) range.end = std::max(offset, std::min(range.end, size_at_to_));
  return range;
}

uint64_t CopyPlan::Step(PlannedChunk::Kind kind) const {
  return kind == PlannedChunk::Kind::kCreated ? object_size_ : chunk_bytes_;
}

uint64_t CopyPlan::FirstPiece(const Range& range, PlannedChunk::Kind kind) const {
  if (resume_offset_ <= range.offset) return range.offset;
  const uint64_t step = Step(kind);
  return std::max(range.offset, resume_offset_ - resume_offset_ % step);
}

bool CopyPlan::StartNextRange() {
  Source* lowest = nullptr;
  Range lowest_range;
  for (Source& source : sources_) {
    while (source.next < source.extents->size() && Clipped(source, source.next).empty()) ++source.next;
    if (source.next == source.extents->size()) continue;
    const Range range = Clipped(source, source.next);
    if (lowest == nullptr || range.offset < lowest_range.offset) {
      lowest = &source;
      lowest_range = range;
    }
  }
  if (lowest == nullptr) return false;
  ++lowest->next;
  in_range_ = true;
  kind_ = lowest->kind;
  range_ = lowest_range;
  pos_ = FirstPiece(range_, kind_);
  return true;
}

std::optional<PlannedChunk> CopyPlan::Next() {
  for (;;) {
    if (!in_range_ && !StartNextRange()) return std::nullopt;
    if (pos_ >= range_.end) {
      in_range_ = false;
      continue;
    }
    // Pieces end at the next step boundary (written so that it cannot
    // overflow near 2^64) or at the range's end.
    const uint64_t step = Step(kind_);
    const uint64_t piece_base = pos_ - pos_ % step;
    const uint64_t stop = range_.end - piece_base > step ? piece_base + step : range_.end;
    const uint64_t start = kind_ == PlannedChunk::Kind::kCreated ? (stop > resume_offset_ ? pos_ : stop)
                                                                  : std::max(pos_, resume_offset_);
    const uint64_t object_no = pos_ / object_size_;
    pos_ = stop;
    if (start < stop) return PlannedChunk{start, stop - start, kind_, object_no};
  }
}

}  // namespace mirror_snapshot
