#include "native/base/process_heap.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace mirror_snapshot {
namespace {

constexpr size_t kMiB = 1 << 20;

// A block of `bytes`, written so that it is really allocated; how many
// bytes glibc had mapped alone (mallinfo2 hblkhd) while it was.
size_t MappedWhileAllocated(size_t bytes) {
  void* volatile block = std::malloc(bytes);
  EXPECT_NE(block, nullptr);
  std::memset(block, 1, bytes);
  const size_t mapped = mallinfo2().hblkhd;
  std::free(block);
  return mapped;
}

TEST(ProcessHeap, BlocksPastAFixedThresholdAreMappedEveryTime) {
  ASSERT_TRUE(SetHeapMmapThreshold(4 * kMiB));
  EXPECT_GE(MappedWhileAllocated(16 * kMiB), 16 * kMiB);
  // glibc's own threshold would have risen to 16 MiB with that free: the
  // next block of the size would come from an arena, resident once freed.
  EXPECT_GE(MappedWhileAllocated(16 * kMiB), 16 * kMiB);
  EXPECT_LT(MappedWhileAllocated(1 * kMiB), 1 * kMiB);
}

TEST(ProcessHeap, ThresholdsGlibcRefusesAreRefused) {
  EXPECT_FALSE(SetHeapMmapThreshold(0));
  EXPECT_FALSE(SetHeapMmapThreshold(1ull << 40));
}

TEST(ProcessHeap, ItsFiguresAreGlibcs) {
  const ProcessHeap heap = ReadProcessHeap();
  EXPECT_TRUE(heap.available);
  EXPECT_GT(heap.in_use_bytes, 0u);
}

}  // namespace
}  // namespace mirror_snapshot
