"""A peer that stops answering mid-listing never holds up other peers'
images (issue 17, invariant 6). Its client connected fine; then its OSDs
stopped answering, so listing its images blocks for the op timeout (60 s).
The replayer's loop must not wait for it: other peers' images are listed,
watched and kicked within seconds, the dead peer's images stay tracked, and
a listing that takes too long is reported in health.

Runs the Replayer's refresh against a fake of the module's native interface.
"""
import logging
import threading
import time
from typing import Any, Callable, Dict, List, Set

import pytest

from fake_peer import FakePeer
from mirror_snapshot import replayer as replayer_module
from mirror_snapshot.replayer import Replayer
from test_replayer_status import FakeLocal, FakeNative, FakePeers

LOG = logging.getLogger('test_replayer_listing')
DEAD = FakePeer(site_name='dead', mon_host='v2:127.0.0.1:1', uuid='uuid-dead')
ALIVE = FakePeer(site_name='alive', mon_host='v2:127.0.0.1:2', uuid='uuid-alive')


class ListingNative(FakeNative):
    """Pool 'slow' has the dead peer, pool 'fast' the live one. Listing the
    dead peer blocks until `unblock` is set."""
    def __init__(self) -> None:
        super().__init__(0.0)
        self.unblock = threading.Event()
        self.images: Dict[str, List[Dict[str, Any]]] = {
            'slow': [{'name': 'vm-slow', 'id': 'id-slow', 'global_id': 'g-slow', 'primary': True}],
            'fast': [{'name': 'vm-fast', 'id': 'id-fast', 'global_id': 'g-fast', 'primary': True}],
        }

    def rbd_pools(self, cluster: Any) -> List[str]:
        return ['fast', 'slow']

    def peer_sites(self, cluster: Any, pool: str) -> List[FakePeer]:
        return [DEAD if pool == 'slow' else ALIVE]

    def namespaces(self, remote: Any, pool: str) -> List[str]:
        if pool == 'slow':
            assert self.unblock.wait(30)
        return ['']

    def mirrored_images(self, remote: Any, pool: str, ns: str) -> List[Dict[str, Any]]:
        return self.images[pool]


class FakeWatcher:
    def __init__(self) -> None:
        self.watched: Set[str] = set()
        self._lock = threading.Lock()

    def watch(self, cluster: Any, pool: str, ns: str, oid: str, key: str) -> None:
        with self._lock:
            self.watched.add(key)

    def unwatch(self, key: str) -> None:
        with self._lock:
            self.watched.discard(key)

    def keys(self) -> List[str]:
        with self._lock:
            return sorted(self.watched)


class RecordingPool:
    def __init__(self) -> None:
        self.submitted: List[Callable[[Any], None]] = []

    def submit(self, job: Callable[[Any], None]) -> None:
        self.submitted.append(job)


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(replayer_module, 'LISTING_SLOW_SECONDS', 1.0, raising=False)
    native = ListingNative()
    pool = RecordingPool()
    health: List[Dict[str, Any]] = []
    replayer = Replayer(native, FakeLocal(), FakePeers(), pool, LOG, {}.get, health.append, lambda: set())
    replayer._watcher = FakeWatcher()
    yield replayer, native, pool, health
    native.unblock.set()


def tracked(replayer: Replayer) -> Set[str]:
    return {image.name for image in replayer._images.values()}


def test_a_peer_that_stops_answering_does_not_hold_up_the_others(setup: Any) -> None:
    replayer, native, pool, _ = setup
    started = time.monotonic()
    replayer._refresh()
    assert time.monotonic() - started < 3.0
    assert tracked(replayer) == {'vm-fast'}
    assert len(pool.submitted) == 1  # vm-fast was kicked
    assert 'fast//id-fast' in replayer._watcher.keys()


def test_a_slow_listing_is_reported_and_its_images_stay(setup: Any) -> None:
    replayer, native, pool, health = setup
    native.unblock.set()
    replayer._refresh()  # both listed once
    assert tracked(replayer) == {'vm-fast', 'vm-slow'}
    native.unblock.clear()
    replayer._refresh()
    time.sleep(1.1)
    started = time.monotonic()
    replayer._refresh()  # the same listing, still running: not a second one
    assert time.monotonic() - started < 3.0
    assert tracked(replayer) == {'vm-fast', 'vm-slow'}, 'the slow peer\'s image must stay tracked'
    assert 'slow//id-slow' in replayer._watcher.keys(), 'and stay watched'
    replayer._report_health()
    detail = health[-1]['MIRROR_SNAPSHOT_REPLAY_FAILED']['detail']
    assert any('dead' in line and 'do not answer' in line for line in detail), detail
    native.unblock.set()
    time.sleep(0.2)
    replayer._refresh()  # its listing ended: the error goes
    replayer._report_health()
    assert 'MIRROR_SNAPSHOT_REPLAY_FAILED' not in health[-1]
