#include "native/base/process_heap.h"

#include <climits>

#if defined(__GLIBC__)
#include <dlfcn.h>
#include <malloc.h>
#endif

namespace mirror_snapshot {
namespace {

// A ceph-mgr built with tcmalloc (upstream and cephadm builds) takes malloc
// from it: glibc's heap is then nearly empty and its figures would mislead.
bool TcmallocLoaded() {
#if defined(__GLIBC__)
  return dlsym(RTLD_DEFAULT, "tc_malloc") != nullptr;
#else
  return false;
#endif
}

}  // namespace

ProcessHeap ReadProcessHeap() {
  ProcessHeap heap;
  if (TcmallocLoaded()) return heap;
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
  if (TcmallocLoaded()) return false;
  return malloc_trim(0) != 0;
#else
  return false;
#endif
}

bool SetHeapMmapThreshold(uint64_t bytes) {
#if defined(__GLIBC__)
  if (TcmallocLoaded() || bytes == 0 || bytes > static_cast<uint64_t>(INT_MAX)) return false;
  return mallopt(M_MMAP_THRESHOLD, static_cast<int>(bytes)) != 0;
#else
  return false;
#endif
}

}  // namespace mirror_snapshot
