"""The pools of this cluster flagged full, read from the mgr's OSD map once
per new map, not once per question.

`get('osd_map')` has ceph-mgr dump the whole OSD map into Python objects:
every pool with its removed-snapshot queue, every blocklist entry. The
replayer asks before every sync and in its once-a-second health report, so
with hundreds of images syncing a minute the dumps were the module's largest
allocation churn, for a flag that changes with the map only. The module calls
invalidate() on each osd_map notification (the monitors publish at most about
one map a second); the answer is read again when next asked, and at least
every MAX_AGE seconds in case a notification was missed.
"""
import threading
import time
from typing import Any, Callable, Dict, FrozenSet, Optional

MAX_AGE_SECONDS = 60.0


class FullPools:
    def __init__(self, read_osd_map: Callable[[], Dict[str, Any]],
                 clock: Callable[[], float] = time.monotonic, max_age: float = MAX_AGE_SECONDS) -> None:
        self._read_osd_map = read_osd_map
        self._clock = clock
        self._max_age = max_age
        self._lock = threading.Lock()
        self._pools: FrozenSet[str] = frozenset()
        self._read_at: Optional[float] = None  # None: read at the next question

    def invalidate(self) -> None:
        """A new OSD map was published: the next question reads it."""
        with self._lock:
            self._read_at = None

    def __call__(self) -> FrozenSet[str]:
        """Pools flagged full (OSDs full, or a quota reached)."""
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._max_age:
                pools = self._read_osd_map().get('pools', [])
                self._pools = frozenset(p['pool_name'] for p in pools
                                        if 'full' in p.get('flags_names', '').split(','))
                self._read_at = now
            return self._pools
