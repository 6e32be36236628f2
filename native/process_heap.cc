#include "native/process_heap.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mirror_snapshot {

ProcessHeap ReadProcessHeap() {
  ProcessHeap heap;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 info = mallinfo2();
  heap.available = true;
  heap.arena_bytes = info.arena;
  heap.in_use_bytes = info.uordblks;
  heap.free_bytes = info.fordblks;
  heap.mmapped_bytes = info.hblkhd;
  heap.releasable_bytes = info.keepcost;
#endif
  return heap;
}

bool ReleaseFreeHeapMemory() {
#if defined(__GLIBC__)
  return malloc_trim(0) != 0;
#else
  return false;
#endif
}

}  // namespace mirror_snapshot
