// The C heap of the process this module runs in (ceph-mgr links glibc's
// malloc, not tcmalloc, on Debian: `ceph tell mgr heap stats` has nothing to
// say there). What an operator needs to tell a leak from memory the
// allocator keeps: bytes in use versus bytes free but still resident.
#pragma once

#include <cstdint>

namespace mirror_snapshot {

struct ProcessHeap {
  bool available = false;      // false: not glibc >= 2.33 malloc (e.g. tcmalloc): the figures are zero
  uint64_t arena_bytes = 0;    // obtained from the system by brk and arenas (mallinfo2 arena)
  uint64_t in_use_bytes = 0;   // allocated and not freed (uordblks)
  uint64_t free_bytes = 0;     // freed, kept by the allocator (fordblks; still counted once trimmed)
  uint64_t mmapped_bytes = 0;  // large blocks mapped one by one (hblkhd)
  uint64_t releasable_bytes = 0;  // free at the top of the main heap (keepcost)
};

// mallinfo2() of the whole process (every arena).
ProcessHeap ReadProcessHeap();

// malloc_trim(0): hands the free pages of every arena back to the system.
// Whether any memory was returned.
bool ReleaseFreeHeapMemory();

// mallopt(M_MMAP_THRESHOLD): blocks of `bytes` and more get a mapping of
// their own, unmapped when freed. glibc's default threshold rises to the
// largest such block freed, after which 16 MiB journal objects and librados
// read buffers come from the arenas, which keep them resident once freed
// (docs/benchmarks.md). Setting it fixes it for the process (glibc's
// rising default comes back only with a restart). False if the allocator
// is not glibc's or refused the value (more than 32 MiB on 64-bit).
bool SetHeapMmapThreshold(uint64_t bytes);

}  // namespace mirror_snapshot
