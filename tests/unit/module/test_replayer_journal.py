"""How the replayer drives a journal-mode image (issue 19): bootstrap steps
run back to back, replay steps until the journal's end, then one look every
journal_poll_interval; a step that applies nothing does not spin; errors go
to status and backoff; status shows how far behind the primary it is.

Runs the Replayer against a fake of the module's native interface whose
replay_journal_image answers from a script.
"""
import errno
import logging
import time
from typing import Any, Callable, Dict, List

from fake_peer import FakePeer
from mirror_snapshot.replayer import Replayer, ReplayedImage

LOG = logging.getLogger('test_replayer_journal')


class FakeProgress:
    def __init__(self) -> None:
        self.cancelled = False

    def view(self) -> Dict[str, Any]:
        now = time.time()
        return {'phase': 'idle', 'updated': now, 'started': now, 'bytes_done': 0, 'bytes_total': 0,
                'from_snap_id': 0, 'to_snap_id': 0}

    def set_cancelled(self, cancelled: bool) -> None:
        self.cancelled = cancelled


def step(outcome: str = 'replayed', phase: str = 'replaying', entries: int = 0, caught_up: bool = True,
         waiting: bool = False, behind: Any = 0, copied: int = 0, demoted: bool = False,
         behind_bytes: Any = 0) -> Dict[str, Any]:
    return {'outcome': outcome, 'primary_demoted': demoted, 'phase': phase, 'client_id': 'mirror_snapshot.local-fsid', 'bytes_copied': copied,
            'entries_applied': entries, 'entries_applied_total': entries, 'bytes_written': entries * 4096,
            'passes': 1, 'caught_up': caught_up, 'waiting': waiting, 'entries_behind': behind,
            'bytes_behind': behind_bytes, 'last_applied': 1700000000.5 if entries else 0.0, 'bootstrapped_at': 1700000000, 'seconds': 0.5,
            'notes': []}


class FakeNative:
    """replay_journal_image answers the next scripted step (a dict, or an
    exception to raise); the snapshot path must never be taken."""

    def __init__(self, script: List[Any]) -> None:
        self.script = list(script)
        self.calls: List[Dict[str, Any]] = []

    def ReplayProgress(self) -> FakeProgress:  # noqa: N802 (the native class's name)
        return FakeProgress()

    def replay_journal_image(self, remote: Any, local: Any, pool: str, ns: str, remote_id: str, name: str,
                             remote_fsid: str, local_fsid: str, **kwargs: Any) -> Dict[str, Any]:
        self.calls.append(dict(kwargs, remote_id=remote_id, name=name))
        if kwargs['progress'].cancelled:
            raise OSError(errno.ECANCELED, 'paused')
        if not self.script:
            raise AssertionError('more steps than scripted')
        answer = self.script.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def replay_image(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        raise AssertionError('a journal-mode image took the snapshot path')

    def image_data_pool(self, remote: Any, pool: str, ns: str, remote_id: str) -> str:
        return ''


class InlinePool:
    """Runs a submitted job when the test says so."""

    def __init__(self, native: FakeNative) -> None:
        self.native = native
        self.jobs: List[Callable[[Any], None]] = []

    def submit(self, job: Callable[[Any], None]) -> None:
        self.jobs.append(job)

    def run_all(self) -> int:
        ran = 0
        while self.jobs:
            self.jobs.pop(0)(self.native)
            ran += 1
        return ran


class FakeCluster:
    def fsid(self) -> str:
        return 'fsid'


class FakePeers:
    def __init__(self) -> None:
        self.failures: List[BaseException] = []

    def on_ready(self, listener: Callable[[Any], None]) -> None:
        pass

    def get(self, peer: Any, wait: float = 0.0, retry_now: bool = False) -> FakeCluster:
        return FakeCluster()

    def failed(self, peer: Any, error: BaseException) -> None:
        self.failures.append(error)

    def retain(self, peers: Any) -> None:
        pass


class FakeLocal:
    def get(self) -> FakeCluster:
        return FakeCluster()


def make(script: List[Any], poll: float = 30.0) -> 'tuple[Replayer, InlinePool, FakeNative, ReplayedImage]':
    native = FakeNative(script)
    pool = InlinePool(native)
    options: Dict[str, Any] = {'journal_poll_interval': poll}
    replayer = Replayer(native, FakeLocal(), FakePeers(), pool, LOG, options.get, lambda checks: None,
                        lambda: set())
    image = ReplayedImage(native, 'rbd', '', {'name': 'vm', 'id': 'id-vm', 'global_id': 'g-vm', 'primary': True,
                                              'mode': 'journal'}, FakePeer())
    replayer._images[image.key] = image
    return replayer, pool, native, image


def test_a_bootstrap_runs_its_steps_back_to_back_then_replays_to_the_end() -> None:
    replayer, pool, native, image = make([
        step('bootstrapping', 'copying'),
        step('bootstrapping', 'positioning', copied=64 << 20),
        step('bootstrapping', 'replaying'),
        step(entries=500, caught_up=False, behind=1200),  # the step's passes ran out
        step(entries=1200, behind=3, behind_bytes=3 * 4200),
    ])
    assert replayer.find('rbd', '', 'vm')['state'] == 'waiting'
    replayer._kick(image.key)
    assert pool.run_all() == 1  # one job, five steps
    assert len(native.calls) == 5 and not native.script
    status = replayer.find('rbd', '', 'vm')
    assert status['mode'] == 'journal' and status['state'] == 'replaying', status
    journal = status['journal']
    assert journal['entries_behind_primary'] == 3 and journal['bytes_behind_primary'] == 3 * 4200
    assert journal['caught_up'] and journal['caught_up_at'] is not None
    assert journal['last_applied_entry_time'] == 1700000000.5
    # The rate is over the replay steps: 1700 entries in 1 s of steps.
    assert journal['replay_entries_per_sec'] == 1700 / 1.0
    assert status['last_complete'] is None and status['last_error'] is None
    # The copy ran under the shared memory budget, with the image's progress (a pause cancels it).
    assert all(c['progress'] is image.progress and 'budget' in c for c in native.calls)


def test_a_caught_up_image_is_looked_at_again_only_when_its_poll_is_due() -> None:
    replayer, pool, native, image = make([step(entries=10), step(entries=0)], poll=30.0)
    replayer._kick(image.key)
    pool.run_all()
    assert len(native.calls) == 1
    replayer._retry_due()
    assert pool.run_all() == 0  # not due for 30 s
    image.poll_at = time.monotonic() - 1
    replayer._retry_due()
    assert pool.run_all() == 1 and len(native.calls) == 2


def test_a_step_that_applies_nothing_short_of_the_end_waits_for_the_next_poll() -> None:
    # An operation's end not journaled yet: nothing can be committed, and
    # stepping again at once would spin on the same entries.
    replayer, pool, native, image = make([step(entries=0, caught_up=False), step(entries=0, caught_up=False)])
    replayer._kick(image.key)
    pool.run_all()
    assert len(native.calls) == 1
    # A bootstrap waiting for its sync point's entries to land waits too.
    replayer2, pool2, native2, image2 = make([step('bootstrapping', 'positioning', waiting=True), step()])
    replayer2._kick(image2.key)
    pool2.run_all()
    assert len(native2.calls) == 1
    assert replayer2.find('rbd', '', 'vm')['state'] == 'bootstrapping'


def test_an_error_is_shown_and_retried_with_backoff_and_a_later_step_clears_it() -> None:
    message = ('the replayer\'s client mirror_snapshot.x is disconnected from the journal of \'rbd/vm\': '
               'its replica needs a resync')
    replayer, pool, native, image = make([OSError(errno.ESTALE, message), step(entries=5)])
    replayer._kick(image.key)
    pool.run_all()
    status = replayer.find('rbd', '', 'vm')
    assert status['state'] == 'error' and status['last_error'] == message
    assert image.retry_at > time.monotonic() + 1  # backoff, not a spin
    replayer._retry_due()
    assert pool.run_all() == 0
    image.retry_at = 0.0
    replayer._retry_due()
    pool.run_all()
    status = replayer.find('rbd', '', 'vm')
    assert status['state'] == 'replaying' and status['last_error'] is None


def test_a_paused_image_is_not_stepped_and_resumes_afterwards() -> None:
    replayer, pool, native, image = make([step(entries=1)])
    paused = replayer.pause('rbd', '', 'vm')
    replayer._kick(image.key)
    assert pool.run_all() == 0 and not native.calls
    replayer.resume(paused)
    pool.run_all()
    assert len(native.calls) == 1 and replayer.find('rbd', '', 'vm')['state'] == 'replaying'


def test_a_replica_named_otherwise_is_paused_by_its_primarys_global_id() -> None:
    """After a restart, a replica that has not followed its primary's rename yet
    (here 'old', its primary now 'vm') is found by the global id its record holds."""
    replayer, pool, native, image = make([step(entries=1)])
    image.local_name = 'vm'   # what a restart sets: its rename is the next step's
    assert replayer.pause('rbd', '', 'old').images == []
    paused = replayer.pause('rbd', '', 'old', 'g-vm')
    assert paused.images == [image]
    replayer._kick(image.key)
    assert pool.run_all() == 0 and not native.calls
    replayer.resume(paused)


def test_ready_to_promote_once_the_demoted_primarys_journal_is_replayed_to_its_end() -> None:
    replayer, pool, native, image = make([step(entries=3, caught_up=False, demoted=True), step(demoted=True)])
    replayer._kick(image.key)
    pool.run_all()
    assert len(native.calls) == 2
    status = replayer.find('rbd', '', 'vm')
    assert status['ready_to_promote'] and status['primary']['state'] == 'demoted', status
    # Not before the end is replayed.
    replayer2, pool2, _, image2 = make([step(entries=0, caught_up=False, demoted=True)])
    replayer2._kick(image2.key)
    pool2.run_all()
    assert not replayer2.find('rbd', '', 'vm')['ready_to_promote']


def test_a_promoted_image_is_not_replayed_and_both_primary_is_split_brain() -> None:
    replayer, pool, native, image = make([step(), step('local_primary', demoted=True)])
    replayer._kick(image.key)
    pool.run_all()
    image.poll_at = 0.0
    replayer._retry_due()
    pool.run_all()
    assert replayer.find('rbd', '', 'vm') is None  # a primary here: its status is the primary's
    assert image.poll_at > time.monotonic() + 10  # looked at again at the refresh, not every poll
    replayer2, pool2, _, image2 = make([step('split_brain')])
    replayer2._kick(image2.key)
    pool2.run_all()
    assert 'split-brain' in replayer2.split_brain('rbd', '', 'vm')
    assert image2.retry_at > time.monotonic()  # retried with backoff


def test_a_busy_journal_gives_its_sync_slot_back_and_is_queued_again(monkeypatch) -> None:
    # A writer that never lets the replica catch up: after
    # JOURNAL_SLOT_SECONDS the job ends and the image goes to the back of
    # the queue, so snapshot-mode images waiting for a slot get theirs.
    import mirror_snapshot.replayer as replayer_module
    monkeypatch.setattr(replayer_module, 'JOURNAL_SLOT_SECONDS', 0.0)
    replayer, pool, native, image = make([step(entries=100, caught_up=False), step(entries=100, caught_up=False),
                                          step(entries=5)])
    replayer._kick(image.key)
    job = pool.jobs.pop(0)
    job(native)
    assert len(native.calls) == 1 and len(pool.jobs) == 1  # one step, then re-queued
    pool.run_all()
    assert len(native.calls) == 3 and not pool.jobs
