"""PeerConnections (review #15): connecting never holds up a caller that
cannot wait, a dead peer is tried once per backoff period whatever the number
of its pools or images, and no client outlives its peer record."""
import errno
import threading
import time
from typing import Any, Dict, List

import pytest

from fake_peer import FakePeer
from mirror_snapshot.peer_connections import (BACKOFF_MAX_SECONDS, BACKOFF_MIN_SECONDS, PeerConnecting,
                                              PeerConnections, peer_error)

ALIVE = FakePeer(site_name='site-a', uuid='uuid-a', mon_host='v2:10.0.0.1:3300')
DEAD = FakePeer(site_name='site-c', uuid='uuid-c', mon_host='v2:10.0.0.3:3300')


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeNative:
    """connect_peer: a client for ALIVE at once; DEAD blocks until released,
    then fails with ETIMEDOUT, as librados does for a blackholed monitor."""

    def __init__(self) -> None:
        self.attempts: Dict[str, int] = {}
        self.release = threading.Event()
        self._lock = threading.Lock()

    def connect_peer(self, peer: FakePeer, timeout_seconds: int) -> object:
        with self._lock:
            self.attempts[peer.site_name] = self.attempts.get(peer.site_name, 0) + 1
        if peer.site_name == DEAD.site_name:
            self.release.wait(10)
            raise OSError(errno.ETIMEDOUT, f"peer '{peer.site_name}' ({peer.mon_host}): connecting as "
                                           f"'{peer.client_name}': Connection timed out")
        return object()


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.005)


def failed_once(native: FakeNative, peers: PeerConnections) -> None:
    """DEAD's first attempt ends in its error."""
    with pytest.raises(PeerConnecting):
        peers.get(DEAD)
    native.release.set()
    with pytest.raises(OSError) as failed:
        peers.get(DEAD, wait=5)
    assert failed.value.errno == errno.ETIMEDOUT


def test_a_caller_that_cannot_wait_is_never_held_up_by_a_dead_peer() -> None:
    native = FakeNative()
    peers = PeerConnections(native)
    started = time.monotonic()
    with pytest.raises(PeerConnecting) as connecting:
        peers.get(DEAD)  # the attempt runs in the background
    assert connecting.value.errno == errno.EAGAIN and "peer 'site-c'" in connecting.value.strerror
    first = peers.get(ALIVE, wait=5)
    assert peers.get(ALIVE) is first  # one client per peer
    assert time.monotonic() - started < 1.0
    native.release.set()


def test_a_dead_peer_is_tried_once_per_backoff_period_not_once_per_pool() -> None:
    native, clock = FakeNative(), Clock()
    peers = PeerConnections(native, clock=clock)
    failed_once(native, peers)
    for _ in range(20):  # twenty pools, or images, asking in one round
        with pytest.raises(OSError) as cached:
            peers.get(DEAD)
        assert cached.value.errno == errno.ETIMEDOUT
        assert 'next attempt in 5 s' in cached.value.strerror
    assert native.attempts[DEAD.site_name] == 1
    clock.now += BACKOFF_MIN_SECONDS
    with pytest.raises(OSError):
        peers.get(DEAD, wait=5)
    assert native.attempts[DEAD.site_name] == 2
    # The backoff doubles, up to its maximum.
    clock.now += BACKOFF_MIN_SECONDS
    with pytest.raises(OSError) as cached:
        peers.get(DEAD)
    assert native.attempts[DEAD.site_name] == 2 and 'next attempt in 5 s' in cached.value.strerror
    for _ in range(10):
        clock.now += BACKOFF_MAX_SECONDS
        with pytest.raises(OSError):
            peers.get(DEAD, wait=5)
    with pytest.raises(OSError) as cached:
        peers.get(DEAD)
    assert f'next attempt in {BACKOFF_MAX_SECONDS:.0f} s' in cached.value.strerror


def test_an_operator_command_tries_again_at_once() -> None:
    native, clock = FakeNative(), Clock()
    peers = PeerConnections(native, clock=clock)
    failed_once(native, peers)
    with pytest.raises(OSError):
        peers.get(DEAD, wait=5, retry_now=True)
    assert native.attempts[DEAD.site_name] == 2


def test_one_attempt_at_a_time_per_peer() -> None:
    native = FakeNative()
    peers = PeerConnections(native)
    errors: List[BaseException] = []

    def ask() -> None:
        try:
            peers.get(DEAD, wait=0.2)
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 8 and native.attempts[DEAD.site_name] == 1
    native.release.set()


def test_a_bad_connection_is_dropped_and_made_again() -> None:
    native = FakeNative()
    peers = PeerConnections(native)
    first = peers.get(ALIVE, wait=5)
    peers.failed(ALIVE, OSError(errno.ENOENT, 'no such image'))  # not the connection's fault
    assert peers.get(ALIVE) is first
    peers.failed(ALIVE, OSError(errno.ESHUTDOWN, 'blocklisted'))
    second = peers.get(ALIVE, wait=5)
    assert second is not first and native.attempts[ALIVE.site_name] == 2


def test_a_changed_key_is_a_new_client_and_the_old_one_goes() -> None:
    native = FakeNative()
    ready: List[Any] = []
    peers = PeerConnections(native)
    peers.on_ready(ready.append)
    old = peers.get(ALIVE, wait=5)
    rotated = FakePeer(site_name=ALIVE.site_name, uuid=ALIVE.uuid, mon_host=ALIVE.mon_host, secret='AQBother==')
    assert peers.get(rotated, wait=5) is not old
    assert ready == [ALIVE, rotated]
    peers.retain([rotated])
    assert peers.get(ALIVE, wait=5) is not old  # forgotten: connected anew
    assert native.attempts[ALIVE.site_name] == 3


def test_errors_name_the_peer_once() -> None:
    error = OSError(errno.ETIMEDOUT, "peer 'site-c' (v2:10.0.0.3:3300): Connection timed out")
    assert peer_error(DEAD, error) == "peer 'site-c' (v2:10.0.0.3:3300): Connection timed out"
    assert peer_error(DEAD, OSError(errno.ENOENT, 'pool rbd')) == "peer 'site-c' (v2:10.0.0.3:3300): pool rbd"


def test_the_pools_of_one_dead_peer_share_one_attempt_and_its_backoff() -> None:
    native, clock = FakeNative(), Clock()
    peers = PeerConnections(native, clock=clock)
    failed_once(native, peers)
    # The same peer's record in nine more pools: other uuids, same connection.
    for pool_no in range(9):
        with pytest.raises(OSError) as cached:
            peers.get(FakePeer(site_name=DEAD.site_name, uuid=f'uuid-pool-{pool_no}', mon_host=DEAD.mon_host))
        assert 'next attempt in' in cached.value.strerror
    assert native.attempts[DEAD.site_name] == 1
