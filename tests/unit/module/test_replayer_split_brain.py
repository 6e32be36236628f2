"""Health review of 2026-12-06, finding 6: MIRROR_SNAPSHOT_SPLIT_BRAIN does not tell the truth when the peer
also has trouble: (a) a retry that fails on the way (peer unreachable, being
reconnected) clears the split-brain check although both sites are still
primary; (b) a failed listing of the peer writes its error over the
split-brain reason and that error is reported *as* the split-brain."""
import errno
import logging
from typing import Any, Dict, List

from fake_peer import FakePeer
from mirror_snapshot.replayer import ReplayedImage, Replayer
from test_replayer_listing import FakeWatcher
from test_replayer_status import FakeLocal, FakeNative, FakePeers, ManualPool

LOG = logging.getLogger('review')
REASON = "split-brain: 'rbd/vm-a' is primary on both sites; resync the one whose writes are to be discarded"
SPLIT = 'MIRROR_SNAPSHOT_SPLIT_BRAIN'


class Native(FakeNative):
    def __init__(self) -> None:
        super().__init__(0.0)

    def rbd_pools(self, cluster: Any) -> List[str]:
        return ['rbd']

    def peer_sites(self, cluster: Any, pool: str) -> List[FakePeer]:
        return [FakePeer()]


def split_brained() -> Any:
    native = Native()
    sent: List[Dict[str, Any]] = []
    pool = ManualPool(native)
    peers = FakePeers()
    peers.failed = lambda peer, error: None  # type: ignore[assignment]
    replayer = Replayer(native, FakeLocal(), peers, pool, LOG, {}.get, sent.append, lambda: set())
    replayer._watcher = FakeWatcher()
    image = ReplayedImage(native, 'rbd', '', {'name': 'vm-a', 'id': 'id-a', 'global_id': 'g-a',
                                              'primary': True}, FakePeer())
    replayer._images[image.key] = image
    native.replay_image = lambda *args: {  # type: ignore[assignment]
        'outcome': native.ReplayOutcome.split_brain, 'reason': REASON, 'seconds': 0.0, 'notes': [],
        'adopted': False, 'state': {}, 'newest_primary_snap_id': 7, 'ready_to_promote': False,
        'primary_demoted': False}
    replayer._kick(image.key)
    pool.run_next()
    replayer._report_health()
    assert sent[-1][SPLIT]['detail'] == [f"'rbd/vm-a': {REASON}"]
    return replayer, native, pool, peers, image, sent


def test_a_retry_that_cannot_reach_the_peer_does_not_clear_the_split_brain() -> None:
    replayer, native, pool, peers, image, sent = split_brained()
    # The backoff retry: the peer's client was dropped, the reconnect fails.
    peers.get = lambda peer, wait=0.0, retry_now=False: (_ for _ in ()).throw(  # type: ignore[assignment]
        OSError(errno.ETIMEDOUT, "peer 'site-a' (v2:127.0.0.1:3300): Connection timed out"))
    replayer._kick(image.key)
    pool.run_next()
    replayer._report_health()
    # Nothing was resolved: both images are still primary.
    assert SPLIT in sent[-1], sent[-1]


def test_a_failed_listing_does_not_replace_the_split_brain_reason() -> None:
    replayer, native, pool, peers, image, sent = split_brained()
    native.namespaces = lambda remote, pool: (_ for _ in ()).throw(  # type: ignore[assignment]
        OSError(errno.ETIMEDOUT, 'Connection timed out'))
    replayer._refresh()
    replayer._report_health()
    assert sent[-1][SPLIT]['detail'] == [f"'rbd/vm-a': {REASON}"], sent[-1]
    assert replayer.split_brain('rbd', '', 'vm-a') == REASON   # what `status` shows on the primary row


def test_images_promoted_here_are_not_reported_as_failing_replication() -> None:
    """After `promote --force` with site-a down (the forced-failover runbook), the
    promoted images are primary here; status shows them as primaries, health lists each
    as 'cannot be replicated' with the peer's error."""
    native = Native()
    sent: List[Dict[str, Any]] = []
    peers = FakePeers()
    peers.failed = lambda peer, error: None  # type: ignore[assignment]
    replayer = Replayer(native, FakeLocal(), peers, ManualPool(native), LOG, {}.get, sent.append, lambda: set())
    replayer._watcher = FakeWatcher()
    image = ReplayedImage(native, 'rbd', '', {'name': 'vm-a', 'id': 'id-a', 'global_id': 'g-a',
                                              'primary': True}, FakePeer())
    image.outcome = 'local_primary'   # what the step after the promote found
    replayer._images[image.key] = image
    native.namespaces = lambda remote, pool: (_ for _ in ()).throw(  # type: ignore[assignment]
        OSError(errno.ETIMEDOUT, 'Connection timed out'))   # site-a is down
    replayer._refresh()
    replayer._report_health()
    assert replayer.find('rbd', '', 'vm-a') is None    # status: not a replica here
    detail = sent[-1]['MIRROR_SNAPSHOT_REPLAY_FAILED']['detail']
    assert not any(line.startswith("'rbd/vm-a'") for line in detail), detail


def test_a_role_change_here_clears_the_split_brain_verdict() -> None:
    """`image resync --force` (the runbook's way out) pauses and resumes the
    image: the old verdict goes, the next step gives its own."""
    replayer, native, pool, peers, image, sent = split_brained()
    paused = replayer.pause('rbd', '', 'vm-a')
    replayer.resume(paused)
    assert replayer.split_brain('rbd', '', 'vm-a') is None
    replayer._report_health()
    assert SPLIT not in sent[-1], sent[-1]
