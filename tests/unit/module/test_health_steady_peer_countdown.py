"""Health review of 2026-12-06, finding 1: a peer that stays unreachable re-sends the health checks on every
refresh (5 s) and every image retry: PeerConnections.get puts a countdown
'(next attempt in N s)' in its error, which reaches the health detail (pool
line and every image line of that peer)."""
import errno
import logging
import time
from typing import Any, Dict, List

from fake_peer import FakePeer
from mirror_snapshot.health_report import HealthReport
from mirror_snapshot.peer_connections import PeerConnections
from mirror_snapshot.replayer import ReplayedImage, Replayer
from test_replayer_listing import FakeWatcher, RecordingPool
from test_replayer_status import FakeLocal, FakeNative

LOG = logging.getLogger('review')
PEER = FakePeer(site_name='site-a')


class Mgr:
    def __init__(self) -> None:
        self.sent: List[Dict[str, Any]] = []

    def set_health_checks(self, checks: Dict[str, Any]) -> None:
        self.sent.append(checks)


class DeadPeerNative(FakeNative):
    def __init__(self) -> None:
        super().__init__(0.0)

    def rbd_pools(self, cluster: Any) -> List[str]:
        return ['rbd']

    def peer_sites(self, cluster: Any, pool: str) -> List[FakePeer]:
        return [PEER]

    def connect_peer(self, peer: Any, timeout: float) -> Any:
        raise OSError(errno.ETIMEDOUT, 'monitors did not answer')


def test_an_unchanged_unreachable_peer_is_not_sent_again_every_refresh() -> None:
    now = [0.0]
    native = DeadPeerNative()
    peers = PeerConnections(native, clock=lambda: now[0])
    mgr = Mgr()
    report = HealthReport(mgr.set_health_checks)
    replayer = Replayer(native, FakeLocal(), peers, RecordingPool(), LOG, {}.get,
                        lambda checks: report.set('replayer', checks), lambda: set())
    replayer._watcher = FakeWatcher()
    image = ReplayedImage(native, 'rbd', '', {'name': 'vm-a', 'id': 'id-a', 'global_id': 'g-a',
                                              'primary': True}, PEER)
    replayer._images[image.key] = image

    replayer._refresh()   # starts the first connection attempt
    deadline = time.monotonic() + 5
    while peers._peers[PEER].attempt is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    now[0] = 1.0
    replayer._refresh()
    replayer._report_health()
    established = len(mgr.sent)
    first = mgr.sent[-1]['MIRROR_SNAPSHOT_REPLAY_FAILED']['detail']
    for t in (2.0, 3.0, 4.0):   # nothing changed for the operator: the peer is still down
        now[0] = t
        replayer._refresh()
        replayer._report_health()
    print(first, mgr.sent[-1]['MIRROR_SNAPSHOT_REPLAY_FAILED']['detail'], sep='\n')
    assert len(mgr.sent) == established, (
        f'{len(mgr.sent) - established} more set_health_checks calls for an unchanged condition: '
        f'{first} -> {mgr.sent[-1]["MIRROR_SNAPSHOT_REPLAY_FAILED"]["detail"]}')
