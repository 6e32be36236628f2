"""The release of the primary's older snapshots after a sync (issue 17,
invariant 7: bounded resources). It used to run on a new thread per sync
(std::async inside the step), and the soak saw site-b's thread count jump
by up to 16 at its samples. It now runs on the replayer's release pool, a
fixed set of threads: one job per image at a time, never on a sync slot,
and never while a role change has the image (held back until it ends).

Runs the Replayer against a fake of the module's native interface, with a
sync pool and a release pool whose jobs run only when the test lets them.
"""
import logging
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

from fake_peer import FakePeer
from mirror_snapshot.replayer import Replayer, ReplayedImage

LOG = logging.getLogger('test_replayer_release')


class FakeProgress:
    def view(self) -> Dict[str, Any]:
        now = time.time()
        return {'phase': 'idle', 'updated': now, 'started': now, 'bytes_done': 0, 'bytes_total': 0,
                'from_snap_id': 0, 'to_snap_id': 0}

    def set_cancelled(self, cancelled: bool) -> None:
        pass


class FakeNative:
    """Each replay_image call syncs the next snapshot (ids 10, 11, ...) once,
    then finds the image up to date; release_primary_snapshots records its
    calls and the thread they ran on."""
    def __init__(self) -> None:
        self.next_snap = 10
        self.pending_syncs = 0
        self.releases: List[Tuple[str, int, str]] = []  # (remote_id, older_than, thread name)
        self.release_error: Any = None
        self.release_started = threading.Event()
        self.release_may_end = threading.Event()
        self.release_may_end.set()

    def ReplayProgress(self) -> FakeProgress:  # noqa: N802 (the native class's name)
        return FakeProgress()

    def replay_image(self, remote: Any, local: Any, pool: str, ns: str, remote_id: str, *args: Any) -> Dict[str, Any]:
        state = {'primary_snap_id': self.next_snap, 'local_snap_id': 3, 'local_snap_name': 'x',
                 'primary_snap_time': 1, 'inflight_to_snap_id': 0, 'checkpoint_offset': 0}
        if self.pending_syncs == 0:
            return {'outcome': 'up_to_date', 'seconds': 0.0, 'notes': [], 'adopted': False, 'state': state,
                    'newest_primary_snap_id': self.next_snap}
        self.pending_syncs -= 1
        previous, self.next_snap = self.next_snap, self.next_snap + 1
        return {'outcome': 'synced', 'seconds': 0.01, 'bytes_copied': 4096, 'completed_at': time.time(),
                'skipped_snapshots': 0, 'phase_seconds': {}, 'resumed': False, 'resumed_at': 0, 'notes': [],
                'adopted': False, 'state': state, 'newest_primary_snap_id': self.next_snap,
                'release_older_than': previous}

    def release_primary_snapshots(self, remote: Any, local: Any, pool: str, ns: str, remote_id: str,
                                  local_fsid: str, older_than: int) -> int:
        self.release_started.set()
        self.release_may_end.wait(10)
        self.releases.append((remote_id, older_than, threading.current_thread().name))
        if self.release_error is not None:
            raise self.release_error
        return 1

    def image_data_pool(self, remote: Any, pool: str, ns: str, remote_id: str) -> str:
        return ''


class ManualPool:
    """Jobs wait until run_next() runs the oldest on the caller's thread."""
    def __init__(self, native: FakeNative, name: str) -> None:
        self.native = native
        self.name = name
        self.jobs: List[Callable[[Any], None]] = []

    def submit(self, job: Callable[[Any], None]) -> None:
        self.jobs.append(job)

    def run_next(self) -> None:
        job = self.jobs.pop(0)
        previous = threading.current_thread().name
        threading.current_thread().name = self.name
        try:
            job(self.native)
        finally:
            threading.current_thread().name = previous


class FakeCluster:
    def fsid(self) -> str:
        return 'fsid'


class FakePeers:
    def on_ready(self, listener: Callable[[Any], None]) -> None:
        pass

    def get(self, peer: Any, wait: float = 0.0, retry_now: bool = False) -> FakeCluster:
        return FakeCluster()

    def failed(self, peer: Any, error: BaseException) -> None:
        pass


class FakeLocal:
    def get(self) -> FakeCluster:
        return FakeCluster()


def make_replayer() -> Tuple[Replayer, FakeNative, ManualPool, ManualPool, ReplayedImage]:
    native = FakeNative()
    syncs = ManualPool(native, 'sync')
    releases = ManualPool(native, 'release')
    replayer = Replayer(native, FakeLocal(), FakePeers(), syncs, LOG, {}.get, lambda checks: None,
                        lambda: set(), releases)
    image = ReplayedImage(native, 'rbd', '', {'name': 'vm', 'id': 'id-vm', 'global_id': 'g', 'primary': True},
                          FakePeer())
    replayer._images[image.key] = image
    return replayer, native, syncs, releases, image


def test_a_sync_hands_the_release_to_the_release_pool_not_its_own_slot() -> None:
    replayer, native, syncs, releases, image = make_replayer()
    native.pending_syncs = 1
    replayer._kick(image.key)
    syncs.run_next()
    assert native.releases == [], 'the release ran in the sync slot'
    assert len(releases.jobs) == 1
    releases.run_next()
    assert native.releases == [('id-vm', 10, 'release')]


def test_releases_of_one_image_queue_one_job_that_takes_the_newest_bound() -> None:
    replayer, native, syncs, releases, image = make_replayer()
    native.pending_syncs = 3   # one sync job, three steps: 10 -> 11 -> 12 -> 13
    replayer._kick(image.key)
    syncs.run_next()
    assert len(releases.jobs) == 1, 'one release job per image at a time (the pool stays bounded)'
    releases.run_next()
    assert native.releases == [('id-vm', 12, 'release')], 'the queued job releases up to the newest bound'
    native.pending_syncs = 1
    replayer._kick(image.key)
    syncs.run_next()
    assert len(releases.jobs) == 1, 'once run, the next sync queues a job again'


def test_a_release_failure_is_not_an_image_error_and_the_next_sync_releases_again() -> None:
    replayer, native, syncs, releases, image = make_replayer()
    native.pending_syncs = 1
    native.release_error = OSError(110, "peer 'site-a': timed out")
    replayer._kick(image.key)
    syncs.run_next()
    releases.run_next()
    assert image.last_error is None
    assert not image.release_job
    native.release_error = None
    native.pending_syncs = 1
    replayer._kick(image.key)
    syncs.run_next()
    releases.run_next()
    assert native.releases[-1][1] == 11


def run_on_thread(pool: ManualPool) -> threading.Thread:
    job = pool.jobs.pop(0)
    thread = threading.Thread(target=lambda: job(pool.native), name='release')
    thread.start()
    return thread


def sync_and_hold_its_release(replayer: Replayer, native: FakeNative, syncs: ManualPool, releases: ManualPool,
                              image: ReplayedImage) -> threading.Thread:
    """One sync; its release runs on a thread of its own and waits inside
    the native call until native.release_may_end is set."""
    native.pending_syncs = 1
    replayer._kick(image.key)
    syncs.run_next()
    native.release_may_end.clear()
    running = run_on_thread(releases)
    assert native.release_started.wait(5)
    return running


def test_a_bound_that_comes_while_a_release_runs_waits_for_it_then_runs_once() -> None:
    """Found by the adversarial review: the job cleared its bound when it
    started, so the next sync queued a second job of the same image."""
    replayer, native, syncs, releases, image = make_replayer()
    first = sync_and_hold_its_release(replayer, native, syncs, releases, image)
    native.pending_syncs = 2           # two more snapshots sync meanwhile
    replayer._kick(image.key)
    syncs.run_next()
    assert releases.jobs == [], 'a second release job of the image was queued while one ran'
    native.release_may_end.set()
    first.join(5)
    assert len(releases.jobs) == 1, 'the bound that came meanwhile was dropped'
    releases.run_next()
    assert [older for _, older, _ in native.releases] == [10, 12]
    assert releases.jobs == [] and not image.release_job


def test_a_role_change_does_not_wait_for_a_release_hung_on_the_primary() -> None:
    """A release only touches primary snapshots older than the replica's
    newest: a forced promote while the primary's OSDs do not answer must
    not wait for it (the adversarial review: up to minutes of EBUSY)."""
    replayer, native, syncs, releases, image = make_replayer()
    hung = sync_and_hold_its_release(replayer, native, syncs, releases, image)
    started = time.monotonic()
    paused = replayer.pause('rbd', '', 'vm')
    assert time.monotonic() - started < 1.0, 'pause() waited for a release of the primary\'s snapshots'
    native.release_may_end.set()
    hung.join(5)
    replayer.resume(paused)


def test_a_release_held_back_by_a_role_change_runs_after_it() -> None:
    replayer, native, syncs, releases, image = make_replayer()
    native.pending_syncs = 1
    replayer._kick(image.key)
    syncs.run_next()                     # synced: release < 10 queued
    paused = replayer.pause('rbd', '', 'vm')
    releases.run_next()                  # runs during the role change: does nothing
    assert native.releases == [], 'a release ran while a role change had the image'
    replayer.resume(paused)              # e.g. a promote refused with EBUSY
    assert len(releases.jobs) == 1, 'the release held back was never queued again'
    releases.run_next()
    assert native.releases[-1][1] == 10


def test_releases_failing_in_a_row_are_said_once_at_warning(caplog: Any) -> None:
    replayer, native, syncs, releases, image = make_replayer()
    native.release_error = OSError(13, 'Permission denied')
    for _ in range(5):
        native.pending_syncs = 1
        replayer._kick(image.key)
        syncs.run_next()
        releases.run_next()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and 'releasing' in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert '3 times in a row' in warnings[0].getMessage() and 'Permission denied' in warnings[0].getMessage()
    assert image.last_error is None
