#include "native/replica/copy_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <type_traits>
#include <vector>

namespace mirror_snapshot {
namespace {

constexpr uint64_t kKiB = 1 << 10;
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kTiB = 1ull << 40;
using Kind = PlannedChunk::Kind;

// The plan as the copier made it before it was lazy (every chunk built up
// front, from all ranges sorted together): the oracle.
std::vector<PlannedChunk> EagerPlan(const ImageDelta& delta, uint64_t chunk_bytes_option, uint64_t resume_offset) {
  struct Range {
    uint64_t offset, length;
    Kind kind;
    bool operator<(const Range& o) const { return offset < o.offset; }
  };
  const uint64_t object_size = std::max<uint64_t>(delta.layout.object_size, 1);
  std::vector<Range> ranges;
  for (const auto& [off, len] : delta.changed) ranges.push_back({off, len, Kind::kCopy});
  for (const auto& [off, len] : delta.created) ranges.push_back({off, len, Kind::kCreated});
  for (const auto& [off, len] : delta.zeroed) {
    if (off < delta.size_at_to) ranges.push_back({off, std::min(len, delta.size_at_to - off), Kind::kZero});
  }
  std::sort(ranges.begin(), ranges.end());
  const uint64_t chunk_bytes = std::max<uint64_t>(chunk_bytes_option, 4096);
  std::vector<PlannedChunk> chunks;
  for (const Range& r : ranges) {
    const uint64_t step = r.kind == Kind::kCreated ? object_size : chunk_bytes;
    const uint64_t end = r.offset + r.length;
    for (uint64_t pos = r.offset; pos < end;) {
      const uint64_t stop = std::min(end, (pos / step + 1) * step);
      const uint64_t start = r.kind == Kind::kCreated ? (stop > resume_offset ? pos : stop)
                                                      : std::max(pos, resume_offset);
      if (start < stop) chunks.push_back({start, stop - start, r.kind, pos / object_size});
      pos = stop;
    }
  }
  return chunks;
}

CopyPlan MakePlan(const ImageDelta& delta, uint64_t chunk_bytes, uint64_t resume_offset) {
  auto plan = CopyPlan::Make(delta, chunk_bytes, resume_offset);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  return std::move(plan).value();
}

std::vector<PlannedChunk> Drain(CopyPlan plan) {
  std::vector<PlannedChunk> chunks;
  while (auto chunk = plan.Next()) chunks.push_back(*chunk);
  return chunks;
}

uint64_t TotalBytes(const std::vector<PlannedChunk>& chunks) {
  uint64_t total = 0;
  for (const auto& c : chunks) total += c.length;
  return total;
}

std::string Describe(const std::vector<PlannedChunk>& chunks) {
  std::string out;
  for (const auto& c : chunks) {
    // Appended piece by piece: GCC 12 at -O2 reports a false -Wrestrict in `"(" + std::string`.
    out.append("(").append(std::to_string(c.offset)).append("+").append(std::to_string(c.length));
    out.append(" k").append(std::to_string(static_cast<int>(c.kind)));
    out.append(" o").append(std::to_string(c.object_no)).append(") ");
  }
  return out;
}

void ExpectSameAsEager(const ImageDelta& delta, uint64_t chunk_bytes, uint64_t resume_offset) {
  const CopyPlan plan = MakePlan(delta, chunk_bytes, resume_offset);
  const std::vector<PlannedChunk> lazy = Drain(plan);
  const std::vector<PlannedChunk> eager = EagerPlan(delta, chunk_bytes, resume_offset);
  EXPECT_EQ(lazy, eager) << "chunk_bytes " << chunk_bytes << " resume " << resume_offset << "\nlazy:  "
                         << Describe(lazy) << "\neager: " << Describe(eager);
  EXPECT_EQ(plan.planned_bytes(), TotalBytes(eager));
}

ImageDelta Delta(uint64_t object_size, uint64_t size_at_to, Extents changed, Extents created, Extents zeroed) {
  ImageDelta delta;
  delta.layout.object_size = object_size;
  delta.size_at_to = size_at_to;
  delta.changed = std::move(changed);
  delta.created = std::move(created);
  delta.zeroed = std::move(zeroed);
  return delta;
}

// The plan keeps cursors, never a container of chunks or ranges: what it
// holds does not depend on the delta (a structural bound, checked at compile time).
static_assert(std::is_trivially_copyable_v<CopyPlan>, "CopyPlan must hold no container");
static_assert(sizeof(CopyPlan) <= 256, "CopyPlan is a few cursors");

TEST(CopyPlan, MixedDeltaIsPlannedAsBefore) {
  // 4 MiB objects; an image of 40 MiB at `to` that was 48 MiB at `from`.
  const ImageDelta delta = Delta(4 * kMiB, 40 * kMiB,
                                 /*changed=*/{{100 * kKiB, 8 * kKiB}, {5 * kMiB, 9 * kMiB}, {30 * kMiB, 4 * kKiB}},
                                 /*created=*/{{16 * kMiB, 4 * kMiB}, {20 * kMiB, 4 * kMiB}, {24 * kMiB, kMiB}},
                                 /*zeroed=*/{{2 * kMiB, kMiB}, {36 * kMiB, 12 * kMiB}});
  for (uint64_t chunk : {4 * kKiB, 1 * kMiB, 3 * kMiB, 4 * kMiB, 16 * kMiB}) ExpectSameAsEager(delta, chunk, 0);

  const std::vector<PlannedChunk> chunks = Drain(MakePlan(delta, 4 * kMiB, 0));
  ASSERT_FALSE(chunks.empty());
  for (size_t i = 1; i < chunks.size(); ++i) {
    EXPECT_LE(chunks[i - 1].offset + chunks[i - 1].length, chunks[i].offset) << "offset order, no overlap";
  }
  // Zeroing stops at the size at `to`; a created object is one chunk.
  EXPECT_EQ(chunks.back(), (PlannedChunk{36 * kMiB, 4 * kMiB, Kind::kZero, 9}));
  EXPECT_NE(std::find(chunks.begin(), chunks.end(), PlannedChunk{24 * kMiB, kMiB, Kind::kCreated, 6}), chunks.end());
}

TEST(CopyPlan, ResumeInsideAChangedExtentStartsAtTheResumePoint) {
  const ImageDelta delta = Delta(4 * kMiB, 64 * kMiB, {{kMiB, 10 * kMiB}}, {}, {});
  const std::vector<PlannedChunk> chunks = Drain(MakePlan(delta, 4 * kMiB, 5 * kMiB + 12 * kKiB));
  // Pieces are cut at 4 MiB boundaries: [4, 8) MiB starts at the resume point.
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0], (PlannedChunk{5 * kMiB + 12 * kKiB, 3 * kMiB - 12 * kKiB, Kind::kCopy, 1}));
  EXPECT_EQ(chunks[1], (PlannedChunk{8 * kMiB, 3 * kMiB, Kind::kCopy, 2}));
}

TEST(CopyPlan, ResumeInsideACreatedObjectRedoesTheWholeObject) {
  const ImageDelta delta = Delta(4 * kMiB, 64 * kMiB, {}, {{0, 16 * kMiB}}, {});
  const std::vector<PlannedChunk> chunks = Drain(MakePlan(delta, kMiB, 9 * kMiB + 512));
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0], (PlannedChunk{8 * kMiB, 4 * kMiB, Kind::kCreated, 2}));
  EXPECT_EQ(chunks[1], (PlannedChunk{12 * kMiB, 4 * kMiB, Kind::kCreated, 3}));
  // On an object boundary, the object below it is done.
  EXPECT_EQ(Drain(MakePlan(delta, kMiB, 12 * kMiB)).front(), (PlannedChunk{12 * kMiB, 4 * kMiB, Kind::kCreated, 3}));
}

TEST(CopyPlan, ResumeOffsetsEverywhereMatchTheEagerPlan) {
  const ImageDelta delta = Delta(4 * kMiB, 40 * kMiB,
                                 {{100 * kKiB, 8 * kKiB}, {5 * kMiB, 9 * kMiB}, {30 * kMiB, 4 * kKiB}},
                                 {{16 * kMiB, 4 * kMiB}, {20 * kMiB, 4 * kMiB}, {24 * kMiB, kMiB}},
                                 {{2 * kMiB, kMiB}, {36 * kMiB, 12 * kMiB}});
  // Every 64 KiB, plus a point just off each boundary.
  for (uint64_t resume = 0; resume <= 50 * kMiB; resume += 64 * kKiB) {
    for (uint64_t at : {resume, resume + 1, resume + 4095}) {
      ExpectSameAsEager(delta, kMiB, at);
      ExpectSameAsEager(delta, 4 * kMiB, at);
    }
  }
}

TEST(CopyPlan, AnEmptyDeltaPlansNothing) {
  const ImageDelta delta = Delta(4 * kMiB, 4 * kTiB, {}, {}, {});
  CopyPlan plan = MakePlan(delta, 4 * kMiB, 0);
  EXPECT_EQ(plan.planned_bytes(), 0u);
  EXPECT_FALSE(plan.Next().has_value());
  EXPECT_FALSE(plan.Next().has_value());  // and stays done
  // Only zeroing past the end at `to`: nothing either.
  const ImageDelta shrunk = Delta(4 * kMiB, 8 * kMiB, {}, {}, {{8 * kMiB, 8 * kMiB}});
  EXPECT_FALSE(MakePlan(shrunk, 4 * kMiB, 0).Next().has_value());
}

TEST(CopyPlan, AResumePastTheDeltaPlansNothing) {
  const ImageDelta delta = Delta(4 * kMiB, 64 * kMiB, {{0, 8 * kMiB}}, {{8 * kMiB, 8 * kMiB}}, {{16 * kMiB, kMiB}});
  CopyPlan plan = MakePlan(delta, 4 * kMiB, 17 * kMiB);
  EXPECT_EQ(plan.planned_bytes(), 0u);
  EXPECT_FALSE(plan.Next().has_value());
}

TEST(CopyPlan, RandomDeltasMatchTheEagerPlan) {
  // Seeded: a failure names its seed and is reproducible.
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 random(seed);
    auto pick = [&](uint64_t low, uint64_t high) { return std::uniform_int_distribution<uint64_t>(low, high)(random); };
    const uint64_t object_size = uint64_t{1} << pick(12, 22);  // 4 KiB .. 4 MiB
    const uint64_t objects = pick(1, 64);
    ImageDelta delta;
    delta.layout.object_size = object_size;
    delta.size_at_to = pick(0, objects * object_size);
    // Object by object, as ComputeImageDelta makes it: a created object is
    // its size at `to`; a changed one has a few sector-aligned ranges, and
    // zeroes what it lost.
    for (uint64_t object = 0; object < objects; ++object) {
      const uint64_t base = object * object_size;
      const uint64_t sectors = object_size / 512;
      switch (pick(0, 3)) {
        case 0:
          break;  // unchanged
        case 1:
          if (base < delta.size_at_to) {
            delta.created.emplace_back(base, pick(1, std::min(object_size, delta.size_at_to - base)));
          }
          break;
        case 2: {
          uint64_t sector = 0;
          for (int n = static_cast<int>(pick(1, 3)); n > 0 && sector + 1 < sectors; --n) {
            const uint64_t start = pick(sector, sectors - 1);
            const uint64_t length = pick(1, sectors - start);
            delta.changed.emplace_back(base + start * 512, length * 512);
            sector = start + length + 1;
          }
          break;
        }
        default: {
          const uint64_t kept = pick(0, sectors - 1) * 512;
          delta.zeroed.emplace_back(base + kept, object_size - kept);
        }
      }
    }
    delta.changed = Intersect(Normalize(delta.changed), {{0, delta.size_at_to}});
    delta.zeroed = Normalize(delta.zeroed);
    const uint64_t chunk_bytes = uint64_t{1} << pick(10, 23);  // below the 4 KiB floor too
    SCOPED_TRACE("seed " + std::to_string(seed));
    ExpectSameAsEager(delta, chunk_bytes, 0);
    for (int i = 0; i < 8; ++i) ExpectSameAsEager(delta, chunk_bytes, pick(0, objects * object_size + object_size));
  }
}

TEST(CopyPlan, AHugeSparseImageIsPlannedFromItsExtentsNotItsSize) {
  // 1 PiB at `to`, three small writes far apart: three chunks, found at once.
  const uint64_t size = 1ull << 50;
  const ImageDelta delta = Delta(4 * kMiB, size, {{0, 4 * kKiB}, {size / 2, 8 * kKiB}}, {{size - 4 * kMiB, 4 * kMiB}}, {});
  CopyPlan plan = MakePlan(delta, 4 * kMiB, 0);
  EXPECT_EQ(plan.planned_bytes(), 4 * kMiB + 12 * kKiB);
  const std::vector<PlannedChunk> chunks = Drain(plan);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[1], (PlannedChunk{size / 2, 8 * kKiB, Kind::kCopy, size / 2 / (4 * kMiB)}));
  EXPECT_EQ(chunks[2], (PlannedChunk{size - 4 * kMiB, 4 * kMiB, Kind::kCreated, size / (4 * kMiB) - 1}));
}

TEST(CopyPlan, AFull4TiBFirstSyncIsIteratedOneChunkAtATime) {
  // A first sync of a fully written 4 TiB image: one object per chunk, each
  // made when asked for (the plan holds none of them: see the static_asserts).
  const uint64_t size = 4 * kTiB;
  const ImageDelta delta = Delta(4 * kMiB, size, {}, {{0, size}}, {});
  CopyPlan plan = MakePlan(delta, 4 * kMiB, 0);
  EXPECT_EQ(plan.planned_bytes(), size);
  uint64_t count = 0, bytes = 0, expected_offset = 0;
  while (auto chunk = plan.Next()) {
    ASSERT_EQ(chunk->offset, expected_offset);
    ASSERT_EQ(chunk->object_no, count);
    ++count;
    bytes += chunk->length;
    expected_offset += chunk->length;
  }
  EXPECT_EQ(count, size / (4 * kMiB));
  EXPECT_EQ(bytes, size);
}

TEST(CopyPlan, AResumeNearTheEndOfAMillionExtentsStartsThere) {
  // One created extent per object (1 Mi objects, not merged): the resume
  // point is found by a binary search, and only the rest is planned.
  const uint64_t objects = 1 << 20;
  ImageDelta delta;
  delta.layout.object_size = 4 * kMiB;
  delta.size_at_to = objects * 4 * kMiB;
  for (uint64_t i = 0; i < objects; ++i) delta.created.emplace_back(i * 4 * kMiB, 4 * kMiB);
  const uint64_t resume = (objects - 2) * 4 * kMiB + kMiB;
  CopyPlan plan = MakePlan(delta, 4 * kMiB, resume);
  EXPECT_EQ(plan.planned_bytes(), 8 * kMiB);
  const std::vector<PlannedChunk> chunks = Drain(plan);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0], (PlannedChunk{(objects - 2) * 4 * kMiB, 4 * kMiB, Kind::kCreated, objects - 2}));
}

TEST(CopyPlan, FourGiBAndFourTiBPlansDifferOnlyInTheirChunkCount) {
  // Same chunk shapes whatever the size: the 4 TiB plan is the 4 GiB one, longer.
  for (uint64_t size : {4 * kGiB, 4 * kTiB}) {
    const ImageDelta delta = Delta(4 * kMiB, size, {}, {{0, size}}, {});
    CopyPlan plan = MakePlan(delta, 4 * kMiB, 0);
    EXPECT_EQ(plan.Next(), (PlannedChunk{0, 4 * kMiB, Kind::kCreated, 0}));
    EXPECT_EQ(plan.planned_bytes(), size);
  }
}

TEST(CopyPlan, UnsortedOrOverlappingListsAreRefused) {
  auto refused = [](const ImageDelta& delta) {
    auto plan = CopyPlan::Make(delta, 4 * kMiB, 0);
    if (plan.ok()) return false;
    EXPECT_EQ(plan.status().code(), EINVAL);
    EXPECT_FALSE(plan.status().message().empty());
    return true;
  };
  EXPECT_TRUE(refused(Delta(4 * kMiB, 64 * kMiB, {{8 * kMiB, kMiB}, {0, kMiB}}, {}, {})));            // unsorted
  EXPECT_TRUE(refused(Delta(4 * kMiB, 64 * kMiB, {{0, 2 * kMiB}, {kMiB, kMiB}}, {}, {})));             // overlap
  EXPECT_TRUE(refused(Delta(4 * kMiB, 64 * kMiB, {{0, 2 * kMiB}}, {}, {{kMiB, kMiB}})));                // across lists
  EXPECT_TRUE(refused(Delta(4 * kMiB, 64 * kMiB, {{~0ull - 10, 100}}, {}, {})));                        // past 2^64
  EXPECT_FALSE(refused(Delta(4 * kMiB, 64 * kMiB, {{0, kMiB}}, {{4 * kMiB, 4 * kMiB}}, {{kMiB, kMiB}})));  // touching
}

}  // namespace
}  // namespace mirror_snapshot
