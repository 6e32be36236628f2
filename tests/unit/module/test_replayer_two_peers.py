"""The replayer with one pool and two peers (one-to-many mirroring): cases
found by the second adversarial review of issue 17 (each seen failing before
its fix). Runs against fakes of the module's native interface."""
import logging
import threading
import time
from typing import Any, Dict, List

import pytest

from fake_peer import FakePeer
from mirror_snapshot import replayer as replayer_module
from mirror_snapshot.replayer import Replayer, image_key
from test_replayer_listing import FakeWatcher, RecordingPool
from test_replayer_status import FakeLocal, FakeNative, FakePeers

LOG = logging.getLogger('test_replayer_two_peers')
PEER_1 = FakePeer(site_name='site-a', mon_host='v2:127.0.0.1:1', uuid='uuid-1')
PEER_2 = FakePeer(site_name='site-c', mon_host='v2:127.0.0.1:2', uuid='uuid-2')


class TwoPeersNative(FakeNative):
    """One pool with two peers (one-to-many snapshot mirroring)."""
    def __init__(self) -> None:
        super().__init__(0.0)
        self.images: Dict[str, List[Dict[str, Any]]] = {
            PEER_1.uuid: [{'name': 'vm1', 'id': 'id-1', 'global_id': 'g1', 'primary': True}],
            PEER_2.uuid: [{'name': 'vm2', 'id': 'id-2', 'global_id': 'g2', 'primary': True}],
        }

    def rbd_pools(self, cluster: Any) -> List[str]:
        return ['rbd']

    def peer_sites(self, cluster: Any, pool: str) -> List[FakePeer]:
        return [PEER_1, PEER_2]

    def namespaces(self, remote: Any, pool: str) -> List[str]:
        return ['']

    def mirrored_images(self, remote: Any, pool: str, ns: str) -> List[Dict[str, Any]]:
        return self.images[remote.uuid]


class PeersByRecord(FakePeers):
    def get(self, peer: Any, wait: float = 0.0, retry_now: bool = False) -> Any:
        return peer  # the "cluster" of a peer: its record (a different one per peer)


def test_pausing_an_image_whose_sync_only_waits_for_a_slot_does_not_time_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`running` is 'a sync job is queued or runs'; pause() waited
    for running to go False. With every sync slot busy (the soak had 150
    images behind 16 slots; a first sync of a big image holds one for
    hours), a promote of an image that merely waits for a slot fails with
    'did not stop in time' though nothing of it runs: at failover time."""
    monkeypatch.setattr(replayer_module, 'PAUSE_TIMEOUT_SECONDS', 0.5)
    pool = RecordingPool()   # every slot busy: the job is queued, never started
    replayer = Replayer(TwoPeersNative(), FakeLocal(), PeersByRecord(), pool, LOG, {}.get,
                        lambda checks: None, lambda: set())
    replayer._watcher = FakeWatcher()
    replayer._refresh_pool('rbd', PEER_1)   # found and kicked: queued
    image = replayer._images[image_key('rbd', '', 'id-1')]
    assert image.running and not image.started
    paused = replayer.pause('rbd', '', 'vm1')   # raised TimeoutError
    replayer.resume(paused)


class LateListingPeers(PeersByRecord):
    """The listing of PEER_2 ends just after the loop stopped waiting for it
    (retain() runs between the wait and the clean-up of _refresh)."""
    def __init__(self, release: threading.Event, listing_done: threading.Event) -> None:
        self.release = release
        self.listing_done = listing_done

    def retain(self, peers: Any) -> None:
        self.release.set()
        assert self.listing_done.wait(5)
        time.sleep(0.05)


class LateNative(TwoPeersNative):
    def __init__(self, release: threading.Event, listing_done: threading.Event) -> None:
        super().__init__()
        self.release = release
        self.listing_done = listing_done

    def mirrored_images(self, remote: Any, pool: str, ns: str) -> List[Dict[str, Any]]:
        if remote.uuid == PEER_2.uuid:
            assert self.release.wait(5)
        return self.images[remote.uuid]


class DoneWatcher(FakeWatcher):
    def __init__(self, native: 'LateNative') -> None:
        super().__init__()
        self.native = native

    def watch(self, cluster: Any, pool: str, ns: str, oid: str, key: str) -> None:
        super().watch(cluster, pool, ns, oid, key)
        if key == image_key('rbd', '', 'id-2'):
            self.native.listing_done.set()


def test_an_image_found_by_a_listing_that_ends_late_stays_watched(monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing that outlives LISTING_WAIT_SECONDS adds and watches
    the images it finds from its own thread. If it ends after the wait but
    before `busy` is computed, its pool is not busy, its new keys are not in
    `seen`, and the clean-up unwatches them; the next refresh takes the
    stale finished listing (same peer) without watching again, so the new
    image goes unwatched (its snapshots unnoticed) for two refreshes."""
    monkeypatch.setattr(replayer_module, 'LISTING_WAIT_SECONDS', 0.2)
    release, listing_done = threading.Event(), threading.Event()
    native = LateNative(release, listing_done)
    replayer = Replayer(native, FakeLocal(), LateListingPeers(release, listing_done), RecordingPool(), LOG,
                        {}.get, lambda checks: None, lambda: set())
    watcher = DoneWatcher(native)
    replayer._watcher = watcher
    replayer._refresh()
    key = image_key('rbd', '', 'id-2')
    assert key in replayer._images
    assert key in watcher.keys(), 'the image found by the late listing was unwatched by the same refresh'
