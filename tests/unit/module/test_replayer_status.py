"""What `status` says of an image while its sync waits for a slot, and what
last_sync says of the time a sync held its slot (issue 17: the soak found
`status` reading idle while 150 of 200 images were behind, and each sync's
`seconds` leaving out two thirds of the time its slot was busy).

Runs the Replayer against a fake of the module's native interface and a
sync pool whose jobs run only when the test lets them.
"""
import enum
import logging
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Set

from fake_peer import FakePeer
from mirror_snapshot.replayer import Replayer, ReplayedImage

LOG = logging.getLogger('test_replayer_status')


class FakeProgress:
    def __init__(self) -> None:
        self.phase = 'idle'

    def view(self) -> Dict[str, Any]:
        now = time.time()
        return {'phase': self.phase, 'updated': now, 'started': now, 'bytes_done': 0, 'bytes_total': 0,
                'from_snap_id': 0, 'to_snap_id': 0}

    def set_cancelled(self, cancelled: bool) -> None:
        pass


class FakeNative:
    """replay_image syncs one snapshot per call, then finds the image up to
    date; `housekeeping` seconds pass after the record says complete."""
    ReplayOutcome = enum.Enum('ReplayOutcome', 'waiting up_to_date synced local_primary split_brain')

    def __init__(self, housekeeping: float) -> None:
        self.housekeeping = housekeeping
        self.synced: Set[str] = set()

    def ReplayProgress(self) -> FakeProgress:  # noqa: N802 (the native class's name)
        return FakeProgress()

    def replay_image(self, remote: Any, local: Any, pool: str, ns: str, remote_id: str, name: str,
                     remote_fsid: str, local_fsid: str, progress: FakeProgress, *args: Any) -> Dict[str, Any]:
        state = {'primary_snap_id': 7, 'local_snap_id': 3, 'local_snap_name': 'x', 'primary_snap_time': 1,
                 'inflight_to_snap_id': 0, 'checkpoint_offset': 0}
        if remote_id in self.synced:
            return {'outcome': self.ReplayOutcome.up_to_date, 'seconds': 0.0, 'notes': [], 'adopted': False, 'state': state,
                    'newest_primary_snap_id': 7, 'ready_to_promote': False,
                    'primary_demoted': False}
        self.synced.add(remote_id)
        time.sleep(self.housekeeping)
        return {'outcome': self.ReplayOutcome.synced, 'seconds': 0.01, 'bytes_copied': 4096, 'completed_at': time.time(),
                'skipped_snapshots': 0, 'phase_seconds': {}, 'resumed': False, 'resumed_at': 0, 'notes': [],
                'delta_source': 'object_map', 'full_scan_reason': '', 'objects_scanned': 1, 'objects_in_image': 4,
                'adopted': False, 'state': state, 'newest_primary_snap_id': 7, 'ready_to_promote': False,
                'primary_demoted': False}

    def image_data_pool(self, remote: Any, pool: str, ns: str, remote_id: str) -> str:
        return ''


class ManualPool:
    """A sync pool of one slot whose jobs wait until run_next()."""
    def __init__(self, native: FakeNative) -> None:
        self.native = native
        self.jobs: List[Callable[[Any], None]] = []

    def submit(self, job: Callable[[Any], None]) -> None:
        self.jobs.append(job)

    def run_next(self) -> None:
        self.jobs.pop(0)(self.native)


class FakeRemote:
    def fsid(self) -> str:
        return 'remote-fsid'


class FakePeers:
    def on_ready(self, listener: Callable[[Any], None]) -> None:
        pass

    def get(self, peer: Any, wait: float = 0.0, retry_now: bool = False) -> FakeRemote:
        return FakeRemote()

    def failed(self, peer: Any, error: BaseException) -> None:
        raise AssertionError(f'no peer fails here: {error}')

    def retain(self, peers: Any) -> None:
        pass


class FakeLocal:
    def get(self) -> FakeRemote:
        return FakeRemote()


def make_replayer(housekeeping: float = 0.0) -> 'tuple[Replayer, ManualPool]':
    native = FakeNative(housekeeping)
    pool = ManualPool(native)
    options: Dict[str, Any] = {}
    replayer = Replayer(native, FakeLocal(), FakePeers(), pool, LOG, options.get, lambda checks: None,
                        lambda: set())
    for n in ('a', 'b'):
        image = ReplayedImage(native, 'rbd', '', {'name': f'vm-{n}', 'id': f'id-{n}', 'global_id': f'g-{n}',
                                                  'primary': True}, FakePeer())
        replayer._images[image.key] = image
    return replayer, pool


def state_of(replayer: Replayer, name: str) -> Optional[str]:
    status = replayer.find('rbd', '', name)
    return status['state'] if status else None


def test_an_image_waiting_for_a_sync_slot_is_queued_not_idle() -> None:
    replayer, pool = make_replayer()
    replayer._kick('rbd//id-a')
    replayer._kick('rbd//id-b')
    assert state_of(replayer, 'vm-a') == 'queued'
    assert state_of(replayer, 'vm-b') == 'queued'
    pool.run_next()
    assert state_of(replayer, 'vm-a') == 'idle'
    assert state_of(replayer, 'vm-b') == 'queued'
    pool.run_next()
    assert state_of(replayer, 'vm-b') == 'idle'


def test_last_sync_counts_the_wait_for_a_slot_and_the_whole_time_in_it() -> None:
    replayer, pool = make_replayer(housekeeping=0.2)
    replayer._kick('rbd//id-a')
    replayer._kick('rbd//id-b')
    pool.run_next()  # vm-a: 0.2 s in its slot, of which 0.01 s until complete
    pool.run_next()  # vm-b waited for vm-a's slot
    a = replayer.find('rbd', '', 'vm-a')['last_sync']
    b = replayer.find('rbd', '', 'vm-b')['last_sync']
    assert a['seconds'] == 0.01
    assert a['step_seconds'] >= 0.2
    assert b['queued_seconds'] >= 0.2 > a['queued_seconds']
    # How the step found its delta, as the native step said ('' reason: none).
    assert (a['delta_source'], a['full_scan_reason'], a['objects_scanned'], a['objects_in_image']) == \
        ('object_map', None, 1, 4)


def test_a_sync_running_is_not_queued() -> None:
    replayer, pool = make_replayer()
    replayer._kick('rbd//id-a')
    seen: List[Optional[str]] = []
    native = pool.native
    real = native.replay_image

    def watching(*args: Any) -> Dict[str, Any]:
        seen.append(state_of(replayer, 'vm-a'))
        return real(*args)
    native.replay_image = watching  # type: ignore[assignment]
    worker = threading.Thread(target=pool.run_next)
    worker.start()
    worker.join(10)
    # Started (no replica yet, between phases): not waiting for a slot.
    assert seen == ['waiting', 'idle'], seen  # the first call, then the one that finds it up to date


def test_a_stalled_sync_says_its_seconds_in_status_and_a_steady_line_in_health() -> None:
    """Health goes to ceph-mgr when it changes (health_report.py): a stall's
    running seconds belong in status, not in the health detail."""
    native = FakeNative(0.0)
    sent: List[Dict[str, Any]] = []
    replayer = Replayer(native, FakeLocal(), FakePeers(), ManualPool(native), LOG,
                        {'replay_stall_seconds': 60}.get, sent.append, lambda: set())
    image = ReplayedImage(native, 'rbd', '', {'name': 'vm-a', 'id': 'id-a', 'global_id': 'g-a',
                                              'primary': True}, FakePeer())
    replayer._images[image.key] = image
    image.running = True
    image.progress.phase = 'copying'
    stalled_since = time.time() - 100
    image.progress.view = lambda: dict(FakeProgress().view(), phase='copying',  # type: ignore[assignment]
                                       updated=stalled_since)
    replayer._report_health()
    stalled_since -= 1   # a second later
    replayer._report_health()
    details = [checks['MIRROR_SNAPSHOT_REPLAY_FAILED']['detail'] for checks in sent]
    assert details[0] == details[1], details
    assert "stalled: no progress for more than 60 s in phase copying" in details[0][0]
    status = replayer.find('rbd', '', 'vm-a')
    assert status['state'] == 'error' and 'stalled: no progress for 101 s' in status['last_error'], status


def test_a_split_brain_is_an_outcome_reported_apart_and_retried_with_backoff() -> None:
    """The native step reports split-brain as an outcome with its reason (no
    message prefix to match): the image leaves the replicas' status, gets
    the split-brain health check (not the replay-failure one), is retried with
    backoff, and a later step that syncs clears all of it."""
    native = FakeNative(0.0)
    sent: List[Dict[str, Any]] = []
    pool = ManualPool(native)
    replayer = Replayer(native, FakeLocal(), FakePeers(), pool, LOG, {}.get, sent.append, lambda: set())
    image = ReplayedImage(native, 'rbd', '', {'name': 'vm-a', 'id': 'id-a', 'global_id': 'g-a',
                                              'primary': True}, FakePeer())
    replayer._images[image.key] = image
    reason = "split-brain: 'rbd/vm-a' is primary on both sites; resync the one whose writes are to be discarded"
    real = native.replay_image
    native.replay_image = lambda *args: {  # type: ignore[assignment]
        'outcome': native.ReplayOutcome.split_brain, 'reason': reason, 'seconds': 0.0, 'notes': [],
        'adopted': False, 'state': {}, 'newest_primary_snap_id': 7}
    replayer._kick(image.key)
    pool.run_next()
    assert replayer.find('rbd', '', 'vm-a') is None          # its status is the primary's
    assert replayer.split_brain('rbd', '', 'vm-a') == reason
    assert image.failures == 1 and image.retry_at > time.monotonic()
    replayer._report_health()
    assert set(sent[-1]) == {'MIRROR_SNAPSHOT_SPLIT_BRAIN'}, sent[-1]
    assert sent[-1]['MIRROR_SNAPSHOT_SPLIT_BRAIN']['detail'] == [f"'rbd/vm-a': {reason}"]

    native.replay_image = real  # type: ignore[assignment]   # resolved: the next step syncs
    replayer._kick(image.key)
    pool.run_next()
    assert replayer.split_brain('rbd', '', 'vm-a') is None
    assert replayer.find('rbd', '', 'vm-a')['state'] == 'idle'
    replayer._report_health()
    assert sent[-1] == {}, sent[-1]


def test_ready_to_promote_is_the_native_steps_verdict_and_an_error_withdraws_it() -> None:
    """The rule (the demoted primary's final snapshot is here, nothing in
    flight) lives in C++ beside the promote (FinalSnapshotSynced): status
    shows what the last step found, and no readiness with an error."""
    replayer, pool = make_replayer()
    native = pool.native
    real = native.replay_image
    native.replay_image = lambda *args: dict(real(*args), ready_to_promote=True,  # type: ignore[assignment]
                                             primary_demoted=True)
    replayer._kick('rbd//id-a')
    pool.run_next()
    status = replayer.find('rbd', '', 'vm-a')
    # Both from the step's one reading of the primary (the listing said primary).
    assert status['ready_to_promote'] is True and status['primary']['state'] == 'demoted', status

    def failing(*args: Any) -> Dict[str, Any]:
        raise OSError(5, 'reading the primary failed')
    native.replay_image = failing  # type: ignore[assignment]
    replayer._peers.failed = lambda peer, error: None  # type: ignore[assignment]
    replayer._kick('rbd//id-a')
    pool.run_next()
    status = replayer.find('rbd', '', 'vm-a')
    assert status['state'] == 'error' and status['ready_to_promote'] is False, status
