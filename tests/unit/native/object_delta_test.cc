#include <gtest/gtest.h>

#include "native/base/extent_set.h"
#include "native/delta/object_delta.h"

namespace mirror_snapshot {
namespace {

constexpr uint64_t k4M = 4 << 20;

TEST(Extents, NormalizeMergesAndSorts) {
  EXPECT_EQ(Normalize({{10, 5}, {0, 5}, {5, 2}, {30, 0}, {12, 10}}), (Extents{{0, 7}, {10, 12}}));
}

TEST(Extents, IntersectAndSubtract) {
  const Extents a{{0, 10}, {20, 10}}, b{{5, 20}};
  EXPECT_EQ(Intersect(a, b), (Extents{{5, 5}, {20, 5}}));
  EXPECT_EQ(Subtract(a, b), (Extents{{0, 5}, {25, 5}}));
  EXPECT_EQ(Subtract(a, {}), a);
  EXPECT_EQ(Subtract({{0, 100}}, {{0, 10}, {20, 10}, {90, 20}}), (Extents{{10, 10}, {30, 60}}));
  EXPECT_EQ(TotalLength(a), 20u);
}

CloneInfo Clone(uint64_t id, std::vector<uint64_t> snaps, Extents overlap, uint64_t size) {
  return CloneInfo{id, std::move(snaps), std::move(overlap), size};
}
CloneInfo Head(uint64_t size) { return CloneInfo{kHeadId, {}, {}, size}; }

TEST(ObjectDelta, UnchangedSinceTheSnapshot) {
  // Written before snap 4, never touched again: only a head, seq older than 4.
  const ObjectSnapSet set{{Head(k4M)}, 3};
  EXPECT_EQ(ServingClone(set, 4), 0u);
  EXPECT_TRUE(ComputeObjectDelta(set, 4, 6).unchanged());
  EXPECT_TRUE(ComputeObjectDelta(set, 4, kHeadId).unchanged());
}

TEST(ObjectDelta, WrittenBetweenTheSnapshots) {
  // Existed at 4, then 64 KiB at offset 1 MiB rewritten after snapshot 4:
  // clone 4 shares everything else with the head.
  const ObjectSnapSet set{{Clone(4, {4}, {{0, 1 << 20}, {(1 << 20) + 65536, k4M - (1 << 20) - 65536}}, k4M),
                           Head(k4M)}, 4};
  const ObjectDelta d = ComputeObjectDelta(set, 4, 6);  // 6 taken after the write
  EXPECT_TRUE(d.exists_at_to);
  EXPECT_EQ(d.changed, (Extents{{1 << 20, 65536}}));
  EXPECT_TRUE(d.zeroed.empty());
}

TEST(ObjectDelta, ChangesAccumulateAcrossIntermediateClones) {
  // Snapshots 4, 6, 8 with a write after each of 4 and 6.
  const ObjectSnapSet set{{Clone(4, {4}, {{0, 100}, {200, 800}}, 1000),
                           Clone(6, {6}, {{0, 500}, {600, 400}}, 1000), Head(1000)}, 6};
  EXPECT_EQ(ComputeObjectDelta(set, 4, 8).changed, (Extents{{100, 100}, {500, 100}}));
  EXPECT_EQ(ComputeObjectDelta(set, 6, 8).changed, (Extents{{500, 100}}));
  EXPECT_EQ(ComputeObjectDelta(set, 4, 6).changed, (Extents{{100, 100}}));
}

TEST(ObjectDelta, CreatedAfterTheFromSnapshot) {
  // Head only, but it has seen snapshot context 5: created after snapshot 4.
  const ObjectSnapSet set{{Head(8192)}, 5};
  EXPECT_FALSE(ServingClone(set, 4));
  const ObjectDelta d = ComputeObjectDelta(set, 4, 6);
  EXPECT_EQ(d.changed, (Extents{{0, 8192}}));
  // ...and from nothing (a first copy) it is all data too.
  EXPECT_EQ(ComputeObjectDelta(set, 0, 6).changed, (Extents{{0, 8192}}));
}

TEST(ObjectDelta, RemovedAfterTheFromSnapshot) {
  // Existed at 4 (clone 4), removed afterwards: no head.
  const ObjectSnapSet set{{Clone(4, {4}, {}, k4M)}, 4};
  const ObjectDelta d = ComputeObjectDelta(set, 4, 6);
  EXPECT_FALSE(d.exists_at_to);
  EXPECT_TRUE(d.changed.empty());
  EXPECT_EQ(d.zeroed, (Extents{{0, k4M}}));
}

TEST(ObjectDelta, TruncatedBetweenTheSnapshots) {
  const ObjectSnapSet set{{Clone(4, {4}, {{0, 4096}}, 65536), Head(4096)}, 4};
  const ObjectDelta d = ComputeObjectDelta(set, 4, 6);
  EXPECT_TRUE(d.changed.empty());
  EXPECT_EQ(d.zeroed, (Extents{{4096, 65536 - 4096}}));
}

TEST(ObjectDelta, ObjectThatDidNotExistAtEitherSnapshot) {
  // Created after 6, so absent at both 4 and 6.
  const ObjectSnapSet set{{Head(100)}, 7};
  EXPECT_TRUE(ComputeObjectDelta(set, 4, 6).unchanged());
  EXPECT_FALSE(ComputeObjectDelta(set, 4, 6).exists_at_to);
}

TEST(ObjectDelta, SnapshotInsideACloneRangeWhereTheObjectDidNotExist) {
  // Clone 6 serves only snapshot 6: the object did not exist at 4.
  const ObjectSnapSet set{{Clone(6, {6}, {{0, 10}}, 10), Head(20)}, 6};
  EXPECT_FALSE(ServingClone(set, 4));
  EXPECT_EQ(ServingClone(set, 6), 0u);
  EXPECT_EQ(ComputeObjectDelta(set, 4, 6).changed, (Extents{{0, 10}}));
  EXPECT_EQ(ComputeObjectDelta(set, 6, kHeadId).changed, (Extents{{10, 10}}));
}

}  // namespace
}  // namespace mirror_snapshot
