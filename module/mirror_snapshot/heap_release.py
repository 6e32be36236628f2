"""Handing the C heap's free memory back to the system, periodically.

glibc's malloc keeps what is freed in its arenas (up to 8 per core, shared
by the mgr's ~150 threads) and gives pages back by itself only from the top
of the main heap. Measured in the soak (docs/benchmarks.md): the heap in use
stayed flat while the free memory the arenas kept grew with bursts of syncs
and at each peer client replaced after a blocklist, and the RSS with it;
malloc_trim(0) handed 10-20 MiB of it back. tcmalloc releases such memory
in the background; glibc only when asked, so this thread asks every
`heap_release_interval` seconds (malloc_trim, without the GIL; it walks
every arena, milliseconds). `mirror snapshot memory` shows the last one.
"""
import threading
import time
from typing import Any, Callable, Dict, Optional

from .memory_report import release_heap

# heap_mmap_threshold's default: 16 MiB journal objects and the read
# buffers librados fills with them are mapped alone (docs/benchmarks.md:
# with glibc's rising threshold a replayed image left the mgr's RSS 578 MiB
# higher for 94 MiB in use; with this, 128 MiB).
DEFAULT_MMAP_THRESHOLD = 4 << 20

# While the release is off, how often the option is looked at again.
OFF_RECHECK_SECONDS = 60.0
# A release slower than this is said at WARNING.
SLOW_SECONDS = 0.1
# After a failure, on top of the interval (a failure before the wait must not spin).
FAILURE_BACKOFF_SECONDS = 1.0


class HeapRelease:
    def __init__(self, native: Any, interval: Callable[[], float], log: Any,
                 clock: Callable[[], float] = time.time) -> None:
        self._native = native
        self._interval = interval  # seconds; 0: never
        self._log = log
        self._clock = clock
        self._stopping = threading.Event()
        self._nudged = threading.Event()  # set by stop() and nudge()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._last: Optional[Dict[str, Any]] = None
        self._failures = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name='mirror_snapshot.heap_release', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._nudged.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def last(self) -> Optional[Dict[str, Any]]:
        """The last release: when, and the RSS it handed back."""
        with self._lock:
            return dict(self._last) if self._last is not None else None

    def release_once(self) -> Dict[str, Any]:
        result = release_heap(self._native)
        result['at'] = self._clock()
        with self._lock:
            self._last = result
        if result['seconds'] > SLOW_SECONDS:
            # It holds each arena's lock in turn: every thread of the mgr that allocates waits.
            self._log.warning(f"releasing free heap memory took {result['seconds']:.3f} s")
        return result

    def nudge(self) -> None:
        """The option changed: look at it now rather than after the current wait."""
        self._nudged.set()

    def _wait_seconds(self) -> float:
        try:
            interval = float(self._interval() or 0)
        except (TypeError, ValueError):
            interval = 0.0
        return max(interval, 0.0)

    def _wait(self, seconds: float) -> bool:
        """Waits `seconds` or until nudged; whether to stop."""
        self._nudged.wait(seconds)
        self._nudged.clear()
        return self._stopping.is_set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                interval = self._wait_seconds()
                if self._wait(interval if interval > 0 else OFF_RECHECK_SECONDS):
                    return
                if interval <= 0 or self._wait_seconds() <= 0:
                    continue  # off, or the option changed: look again
                result = self.release_once()
                self._failures = 0
                if result['rss_returned_bytes'] >= 1 << 20:
                    self._log.debug(f"handed {result['rss_returned_bytes'] / (1 << 20):.1f} MiB of free heap "
                                    'memory back to the system')
            except Exception as e:  # never let the loop die
                self._failures += 1
                if self._failures in (1, 10) or self._failures % 100 == 0:
                    self._log.warning(f'releasing free heap memory failed ({self._failures} in a row): {e}')
                if self._stopping.wait(FAILURE_BACKOFF_SECONDS):
                    return


def apply_mmap_threshold(native: Any, value: Any, log: Any, applied: Optional[int] = None) -> Optional[int]:
    """Sets heap_mmap_threshold in the process (mallopt) unless it is 0 or
    already set; the threshold in effect after the call (None: glibc's)."""
    try:
        wanted = int(value or 0)
    except (TypeError, ValueError):
        wanted = 0
    if wanted <= 0 or wanted == applied:
        return applied
    if native.set_heap_mmap_threshold(wanted):
        log.info(f'C heap blocks of {wanted} bytes and more are mapped alone (heap_mmap_threshold)')
        return wanted
    log.warning(f'heap_mmap_threshold {wanted}: the C allocator did not take it (not glibc malloc, or too large)')
    return applied
