"""ImageCommands runs one role change per image at a time (issue 17, invariant 5).

A command that times out goes on running on its native thread; a retry
meanwhile must be refused ("already running"), never run a second promote or
resync of the same image at once. Runs against a fake of the module's native
interface (the calls image_commands.py makes) and of the replayer.
"""
import errno
import logging
import threading
from typing import Any, Dict, List, Optional, Tuple

import pytest

from fake_peer import FakePeer
from mirror_snapshot.errors import CommandError
from mirror_snapshot.image_commands import ImageCommands, promote_text, resync_text

LOG = logging.getLogger('test_image_commands')
TIMEOUT = 10.0


class FakeNative:
    """The role-change calls; each one can be held until `release` is set."""
    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.calls: List[Tuple[str, str]] = []
        self.running = 0
        self.most_running = 0
        self.fail_with: Optional[OSError] = None
        self.promoted: set = set()
        self._lock = threading.Lock()

    def parse_level_spec(self, text: str) -> Dict[str, str]:
        pool, _, image = text.partition('/')
        return {'kind': 'image' if image else 'pool', 'pool': pool, 'namespace': '', 'image': image,
                'spec': text}

    def peer_sites(self, cluster: Any, pool: str) -> List[FakePeer]:
        return [FakePeer(site_name='peer', mon_host='v2:127.0.0.1:1')]

    def _run(self, what: str, image: str) -> None:
        with self._lock:
            self.calls.append((what, image))
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        self.entered.set()
        try:
            assert self.release.wait(TIMEOUT)
            if self.fail_with is not None:
                raise self.fail_with
        finally:
            with self._lock:
                self.running -= 1

    def promote_image(self, cluster: Any, pool: str, ns: str, image: str, remote: Any,
                      force: bool) -> Dict[str, Any]:
        self._run('promote', image)
        already = image in self.promoted
        self.promoted.add(image)
        return {'primary_snap_id': 4, 'recovery_point': 100, 'promoted_snap_id': 9, 'forced': force,
                'rolled_back': None, 'already': already}

    def request_journal_resync(self, cluster: Any, pool: str, ns: str, image: str, remote: Any) -> bool:
        return False  # snapshot-mode images only here

    def resync_image(self, cluster: Any, pool: str, ns: str, image: str, remote: Any, local_fsid: str,
                     remote_fsid: str, force: bool) -> Dict[str, Any]:
        self._run('resync', image)
        return {'common_snap_id': 4, 'base_snap_id': 9, 'rolled_back': None, 'state': {},
                'already': False, 'resumed': False}

    def demote_image(self, cluster: Any, pool: str, ns: str, image: str) -> Dict[str, Any]:
        self._run('demote', image)
        return {'demoted_snap_id': 5, 'already': False}


class FakeCluster:
    def fsid(self) -> str:
        return 'fsid'


class FakeLocal:
    def get(self) -> FakeCluster:
        return FakeCluster()


class FakePeers:
    def get(self, peer: FakePeer, wait: float = 0.0, retry_now: bool = False) -> FakeCluster:
        return FakeCluster()

    def failed(self, peer: FakePeer, error: Exception) -> None:
        pass


class FakeReplayer:
    def __init__(self) -> None:
        self.paused: List[str] = []

    def pause(self, pool: str, ns: str, name: str) -> str:
        self.paused.append(name)
        return name

    def resume(self, paused: str) -> None:
        self.paused.remove(paused)

    def refresh_soon(self) -> None:
        pass


class FakeScheduler:
    def schedules_changed(self) -> None:
        pass


@pytest.fixture
def native() -> FakeNative:
    return FakeNative()


@pytest.fixture
def replayer() -> FakeReplayer:
    return FakeReplayer()


@pytest.fixture
def commands(native: FakeNative, replayer: FakeReplayer) -> ImageCommands:
    return ImageCommands(native, FakeLocal(), FakePeers(), replayer, FakeScheduler(), LOG)


def start(target: Any, *args: Any) -> Tuple[threading.Thread, Dict[str, Any]]:
    """Runs a command on its own thread, as the mgr's executor does."""
    outcome: Dict[str, Any] = {}

    def run() -> None:
        try:
            outcome['result'] = target(*args)
        except Exception as e:  # handed to the test
            outcome['error'] = e

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize('first,second', [('promote', 'promote'), ('resync', 'promote'),
                                          ('promote', 'resync'), ('demote', 'resync')])
def test_a_second_role_change_of_an_image_is_refused_while_one_runs(
        commands: ImageCommands, native: FakeNative, first: str, second: str) -> None:
    calls = {'promote': lambda: commands.promote('rbd/vm', True),
             'resync': lambda: commands.resync('rbd/vm', False),
             'demote': lambda: commands.demote('rbd/vm')}
    native.release.clear()
    thread, outcome = start(calls[first])
    assert native.entered.wait(TIMEOUT)

    with pytest.raises(CommandError) as refused:
        calls[second]()
    assert refused.value.code == errno.EBUSY
    assert f"a {first} of 'rbd/vm' is already running" in refused.value.message

    native.release.set()
    thread.join(TIMEOUT)
    assert 'error' not in outcome, outcome
    assert native.most_running == 1
    assert native.calls == [(first, 'vm')]


def test_other_images_change_roles_at_the_same_time(commands: ImageCommands, native: FakeNative) -> None:
    native.release.clear()
    thread, _ = start(lambda: commands.promote('rbd/one', True))
    assert native.entered.wait(TIMEOUT)
    second, outcome = start(lambda: commands.promote('rbd/two', True))
    threading.Event().wait(0.2)
    native.release.set()
    for t in (thread, second):
        t.join(TIMEOUT)
    assert 'error' not in outcome, outcome
    assert sorted(native.calls) == [('promote', 'one'), ('promote', 'two')]
    assert native.most_running == 2


def test_a_retry_after_the_first_ended_runs_and_reports_the_work_done(
        commands: ImageCommands, native: FakeNative, replayer: FakeReplayer) -> None:
    first = commands.promote('rbd/vm', True)
    again = commands.promote('rbd/vm', True)
    assert not first['already'] and again['already']
    assert 'is primary already' in promote_text(again)
    assert replayer.paused == []  # every pause was resumed


def test_a_failed_role_change_frees_the_image(commands: ImageCommands, native: FakeNative,
                                              replayer: FakeReplayer) -> None:
    native.fail_with = OSError(errno.EIO, 'boom')
    with pytest.raises(OSError):
        commands.resync('rbd/vm', False)
    native.fail_with = None
    report = commands.resync('rbd/vm', False)
    assert report['base_snap_id'] == 9
    assert 'is now the secondary of its peer' in resync_text(report)
    assert replayer.paused == []


def test_a_journal_mode_promote_names_its_recovery_point_not_snapshot_zero() -> None:
    report = {'image': 'rbd/vm', 'primary_snap_id': 0, 'promoted_snap_id': 0, 'recovery_point': 1796665855,
              'forced': False, 'rolled_back': None, 'already': False}
    text = promote_text(report)
    assert 'journal entry' in text and '1796665855' in text and 'snapshot 0' not in text
    again = promote_text(dict(report, already=True))
    assert 'is primary already' in again and 'snapshot' not in again
    snapshot_mode = promote_text(dict(report, primary_snap_id=12, promoted_snap_id=3))
    assert 'holds primary snapshot 12' in snapshot_mode and 'first snapshot here 3' in snapshot_mode
