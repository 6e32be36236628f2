"""Health review of 2026-12-06, finding 10: only _refresh() is guarded in Replayer._run: an exception from
the watcher, _kick (full_pools -> MgrModule.get('osd_map')), _retry_due or
the budget's set_limit ends the replayer thread. The health thread goes on
reporting the frozen state (green), nothing is replicated or retried again,
and nothing says so."""
import logging
import time
from typing import Any, Dict, List

from mirror_snapshot.replayer import Replayer
from test_replayer_listing import FakeWatcher, RecordingPool
from test_replayer_status import FakeLocal, FakeNative, FakePeers

LOG = logging.getLogger('review')


class Watcher(FakeWatcher):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def wait(self, seconds: float) -> List[str]:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError('HeaderWatcher: internal error')   # any one-off failure
        time.sleep(0.01)
        return []


class Native(FakeNative):
    def __init__(self) -> None:
        super().__init__(0.0)
        self.watcher = Watcher()

    def HeaderWatcher(self) -> Watcher:  # noqa: N802
        return self.watcher

    def MemoryBudget(self, limit: int) -> Any:  # noqa: N802
        return type('Budget', (), {'set_limit': lambda self, n: None})()

    def TaskPool(self, n: int) -> None:  # noqa: N802
        return None

    def rbd_pools(self, cluster: Any) -> List[str]:
        return []


def test_a_one_off_failure_in_the_loop_does_not_end_the_replayer() -> None:
    native = Native()
    sent: List[Dict[str, Any]] = []
    replayer = Replayer(native, FakeLocal(), FakePeers(), RecordingPool(), LOG, {}.get, sent.append, lambda: set())
    replayer.start()
    try:
        time.sleep(1.5)
        assert replayer._thread is not None and replayer._thread.is_alive(), \
            f'replayer thread ended; health meanwhile: {sent[-1:]}'
    finally:
        replayer.stop()


def test_a_failing_loop_says_so_in_health_and_clears_when_it_recovers() -> None:
    native = Native()
    sent: List[Dict[str, Any]] = []
    replayer = Replayer(native, FakeLocal(), FakePeers(), RecordingPool(), LOG, {}.get, sent.append, lambda: set())
    replayer.start()
    try:
        deadline = time.monotonic() + 5
        while replayer._loop_error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        replayer._report_health()
        detail = sent[-1].get('MIRROR_SNAPSHOT_REPLAY_FAILED', {}).get('detail', [])
        assert any('internal error in the replayer loop: HeaderWatcher: internal error' in d for d in detail), sent[-1]
        deadline = time.monotonic() + 5
        while native.watcher.calls < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        replayer._report_health()
        assert sent[-1] == {}, sent[-1]
    finally:
        replayer.stop()
