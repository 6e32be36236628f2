"""ImageCommands runs one role change per image at a time (issue 17, invariant 5),
and removes a replica only once its peer no longer mirrors the primary.

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
from mirror_snapshot.image_commands import ImageCommands, promote_text, remove_text, resync_text

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
        return self.peers

    peers = [FakePeer(site_name='peer', mon_host='v2:127.0.0.1:1')]

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

    # Removing a replica: its record, the peer's mirrored images, the removal.
    replicas: Dict[str, Dict[str, Any]] = {}
    peer_images: List[Dict[str, Any]] = []
    peer_listing_error: Optional[OSError] = None

    def replica_state(self, cluster: Any, pool: str, ns: str, image: str) -> Optional[Dict[str, Any]]:
        if image == 'missing':
            raise OSError(errno.ENOENT, f"image '{pool}/{image}' does not exist")
        return self.replicas.get(image)

    def mirrored_images(self, cluster: Any, pool: str, ns: str) -> List[Dict[str, Any]]:
        self.calls.append(('list peer', cluster.fsid()))
        if self.peer_listing_error is not None:
            raise self.peer_listing_error
        return self.peer_images

    def remove_replica(self, cluster: Any, pool: str, ns: str, image: str,
                       expected_global_id: str) -> Dict[str, Any]:
        self._run('remove', image)
        assert self.replicas[image]['global_id'] == expected_global_id
        state = self.replicas.pop(image)
        return {'global_id': state['global_id'], 'primary_snap_id': state['primary_snap_id'],
                'snapshots_removed': 2}


class FakeCluster:
    def __init__(self, fsid: str = 'fsid') -> None:
        self._fsid = fsid

    def fsid(self) -> str:
        return self._fsid


class FakeLocal:
    def get(self) -> FakeCluster:
        return FakeCluster()


class FakePeers:
    """Each peer's cluster has the fsid `fsid-<site name>`; the first peer's is 'fsid'."""
    unreachable: set = set()

    def get(self, peer: FakePeer, wait: float = 0.0, retry_now: bool = False) -> FakeCluster:
        if peer.site_name in self.unreachable:
            raise OSError(errno.ETIMEDOUT, 'connection timed out')
        return FakeCluster('fsid' if peer.site_name == 'peer' else f'fsid-{peer.site_name}')

    def failed(self, peer: FakePeer, error: Exception) -> None:
        pass


class FakeReplayer:
    def __init__(self) -> None:
        self.paused: List[str] = []

    def pause(self, pool: str, ns: str, name: str, global_id: str = '') -> str:
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
    fake = FakeNative()
    fake.replicas = {'vm': {'global_id': 'g-vm', 'primary_snap_id': 7, 'remote_fsid': 'fsid', 'promoted': False}}
    fake.peer_images = []
    return fake


@pytest.fixture
def replayer() -> FakeReplayer:
    return FakeReplayer()


@pytest.fixture
def peers() -> FakePeers:
    fake = FakePeers()
    fake.unreachable = set()
    return fake


@pytest.fixture
def commands(native: FakeNative, replayer: FakeReplayer, peers: FakePeers) -> ImageCommands:
    return ImageCommands(native, FakeLocal(), peers, replayer, FakeScheduler(), LOG)


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


def test_a_replica_whose_primary_is_gone_is_removed(commands: ImageCommands, native: FakeNative,
                                                    replayer: FakeReplayer) -> None:
    native.peer_images = [{'name': 'other', 'global_id': 'g-other'}]
    report = commands.remove('rbd/vm', False)
    assert native.calls == [('list peer', 'fsid'), ('remove', 'vm')]
    assert (report['image'], report['primary_snap_id'], report['forced']) == ('rbd/vm', 7, False)
    assert remove_text(report) == ('removed replica rbd/vm: it held primary snapshot 7; '
                                   '2 snapshot(s) removed with it')
    assert replayer.paused == []


def test_a_replica_whose_primary_is_still_mirrored_is_kept_even_renamed(commands: ImageCommands,
                                                                        native: FakeNative,
                                                                        replayer: FakeReplayer) -> None:
    native.peer_images = [{'name': 'vm-renamed', 'global_id': 'g-vm'}]
    with pytest.raises(CommandError) as refused:
        commands.remove('rbd/vm', False)
    assert refused.value.code == errno.EBUSY
    assert "'rbd/vm' is the replica of 'rbd/vm-renamed', which its peer still mirrors" in refused.value.message
    assert ('remove', 'vm') not in native.calls and 'vm' in native.replicas
    assert replayer.paused == []


def test_without_the_peers_word_a_replica_is_removed_only_by_force(commands: ImageCommands,
                                                                   native: FakeNative) -> None:
    native.peer_listing_error = OSError(errno.ETIMEDOUT, 'the peer did not answer')
    with pytest.raises(CommandError) as failed:
        commands.remove('rbd/vm', False)
    assert failed.value.code == errno.ENOTCONN and 'vm' in native.replicas
    assert "cannot check that the primary of 'rbd/vm' is gone (" in failed.value.message
    assert "peer" in failed.value.message and '--force removes it without asking' in failed.value.message
    report = commands.remove('rbd/vm', True)
    assert report['forced'] and '(forced)' in remove_text(report)
    assert native.calls[-1] == ('remove', 'vm')
    assert len([c for c in native.calls if c[0] == 'list peer']) == 1  # --force does not ask


def test_the_peer_asked_is_the_primarys_cluster_of_several(commands: ImageCommands, native: FakeNative,
                                                           peers: FakePeers) -> None:
    """A pool with two rx peers: the replica comes from the second, which still mirrors it."""
    native.peers = [FakePeer(site_name='peer', mon_host='v2:127.0.0.1:1'),
                    FakePeer(site_name='c', mon_host='v2:127.0.0.1:2', uuid='uuid-c')]
    native.replicas['vm']['remote_fsid'] = 'fsid-c'
    native.peer_images = [{'name': 'vm', 'global_id': 'g-vm'}]
    with pytest.raises(CommandError) as refused:
        commands.remove('rbd/vm', False)
    assert refused.value.code == errno.EBUSY and 'vm' in native.replicas
    assert native.calls == [('list peer', 'fsid-c')]   # the first peer is another cluster: not asked
    peers.unreachable = {'c'}
    with pytest.raises(CommandError) as unknown:
        commands.remove('rbd/vm', False)
    assert unknown.value.code == errno.ENOTCONN and 'vm' in native.replicas


def test_no_peer_being_the_primarys_cluster_is_no_proof_that_the_primary_is_gone(commands: ImageCommands,
                                                                               native: FakeNative) -> None:
    native.replicas['vm']['remote_fsid'] = 'fsid-elsewhere'
    with pytest.raises(CommandError) as refused:
        commands.remove('rbd/vm', False)
    assert refused.value.code == errno.ENOTCONN
    assert "no rx peer of pool 'rbd' is its primary's cluster (fsid fsid-elsewhere)" in refused.value.message
    assert 'vm' in native.replicas


def test_a_promoted_image_is_refused_as_a_primary_before_the_peer_is_asked(commands: ImageCommands,
                                                                          native: FakeNative) -> None:
    native.replicas['vm']['promoted'] = True
    for force in (False, True):
        with pytest.raises(CommandError) as refused:
            commands.remove('rbd/vm', force)
        assert refused.value.code == errno.EINVAL and 'was promoted: it is a primary' in refused.value.message
    assert native.calls == []


def test_a_pool_or_namespace_the_peer_no_longer_has_means_the_primary_is_gone(commands: ImageCommands,
                                                                             native: FakeNative) -> None:
    native.peer_listing_error = OSError(errno.ENOENT, "pool 'rbd' does not exist")
    assert commands.remove('rbd/vm', False)['primary_snap_id'] == 7


def test_a_connection_failing_with_enoent_is_no_proof_that_the_primary_is_gone(commands: ImageCommands,
                                                                              native: FakeNative,
                                                                              peers: FakePeers) -> None:
    def no_such_key(peer: FakePeer, wait: float = 0.0, retry_now: bool = False) -> FakeCluster:
        raise OSError(errno.ENOENT, 'the peer key is missing')
    peers.get = no_such_key  # type: ignore[method-assign]
    with pytest.raises(CommandError) as refused:
        commands.remove('rbd/vm', False)
    assert refused.value.code == errno.ENOTCONN and 'vm' in native.replicas


def test_only_replicas_are_removed(commands: ImageCommands, native: FakeNative) -> None:
    with pytest.raises(CommandError) as refused:
        commands.remove('rbd/plain', False)
    assert (refused.value.code, refused.value.message) == (errno.EINVAL, "'rbd/plain' is not a replica: rbd rm "
                                                                          "removes it")
    with pytest.raises(OSError) as missing:
        commands.remove('rbd/missing', True)
    assert missing.value.errno == errno.ENOENT
    assert native.calls == []


def test_a_removal_and_a_promote_of_one_replica_never_run_at_once(commands: ImageCommands,
                                                                  native: FakeNative) -> None:
    native.release.clear()
    thread, outcome = start(lambda: commands.promote('rbd/vm', True))
    assert native.entered.wait(TIMEOUT)
    with pytest.raises(CommandError) as refused:
        commands.remove('rbd/vm', True)
    assert refused.value.code == errno.EBUSY and 'a promote of' in refused.value.message
    native.release.set()
    thread.join(TIMEOUT)
    assert 'error' not in outcome and 'vm' in native.replicas
