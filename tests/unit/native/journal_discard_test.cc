// DiscardedExtents: what a journaled discard zeroes, as librbd's
// ImageDiscardRequest::prune_object_extents cuts it.
#include "native/journal/journal_discard.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace mirror_snapshot {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kObject = 4 * kMiB;

TEST(JournalDiscard, GranularityZeroZeroesTheExtentExactly) {
  EXPECT_EQ(DiscardedExtents(5000, 3000, 0, kObject), (Extents{{5000, 3000}}));
  // Across objects: one extent, not one per object.
  EXPECT_EQ(DiscardedExtents(kObject - 10, 20, 0, kObject), (Extents{{kObject - 10, 20}}));
}

TEST(JournalDiscard, PiecesShrinkInwardToTheGranularity) {
  EXPECT_EQ(DiscardedExtents(100, 200 * kKiB, 64 * kKiB, kObject), (Extents{{64 * kKiB, 128 * kKiB}}));
  // Aligned already: unchanged.
  EXPECT_EQ(DiscardedExtents(64 * kKiB, 128 * kKiB, 64 * kKiB, kObject), (Extents{{64 * kKiB, 128 * kKiB}}));
}

TEST(JournalDiscard, APieceSmallerThanTheGranularityIsDropped) {
  EXPECT_TRUE(DiscardedExtents(100, 60 * kKiB, 64 * kKiB, kObject).empty());
  EXPECT_TRUE(DiscardedExtents(0, 0, 64 * kKiB, kObject).empty());
}

TEST(JournalDiscard, EachObjectIsAlignedOnItsOwn) {
  // 100 KiB on each side of an object boundary: each piece rounds inward
  // within its object; the two touching results merge.
  EXPECT_EQ(DiscardedExtents(kObject - 100 * kKiB, 200 * kKiB, 64 * kKiB, kObject),
            (Extents{{kObject - 64 * kKiB, 128 * kKiB}}));
}

TEST(JournalDiscard, AtObjectSizeGranularityOnlyWholeObjectsAndObjectTailsGo) {
  // A piece reaching its object's end is kept whole (librbd truncates the
  // object); one that does not is dropped; a whole object stays.
  EXPECT_EQ(DiscardedExtents(kMiB, 3 * kMiB, static_cast<uint32_t>(kObject), kObject), (Extents{{kMiB, 3 * kMiB}}));
  EXPECT_TRUE(DiscardedExtents(0, kMiB, static_cast<uint32_t>(kObject), kObject).empty());
  EXPECT_EQ(DiscardedExtents(kMiB, 2 * kObject, static_cast<uint32_t>(kObject), kObject),
            (Extents{{kMiB, 2 * kObject - kMiB}}));
  // An older librbd's "skip partial discards" (decoded as UINT32_MAX) and a
  // granularity above the object size act as the object size.
  EXPECT_EQ(DiscardedExtents(kMiB, 3 * kMiB, UINT32_MAX, kObject), (Extents{{kMiB, 3 * kMiB}}));
  EXPECT_EQ(DiscardedExtents(kMiB, 3 * kMiB, static_cast<uint32_t>(8 * kMiB), kObject), (Extents{{kMiB, 3 * kMiB}}));
}

TEST(JournalDiscard, TheImagesShortLastObjectIsNotAnObjectEnd) {
  // The image ends 3 MiB into its last object: a discard up to the image's
  // end does not reach that object's end, so it is aligned, and dropped.
  EXPECT_TRUE(DiscardedExtents(kObject + kMiB, 2 * kMiB, static_cast<uint32_t>(kObject), kObject).empty());
}

TEST(JournalDiscard, AGranularityThatIsNotAPowerOfTwoGetsCephsBitArithmetic) {
  // p2roundup(5000, 12288) = 16384 and p2align(30000, 12288) = 20480, where
  // rounding by division would give 12288 and 24576.
  EXPECT_EQ(DiscardedExtents(5000, 25000, 12288, kObject), (Extents{{16384, 4096}}));
}

}  // namespace
}  // namespace mirror_snapshot
