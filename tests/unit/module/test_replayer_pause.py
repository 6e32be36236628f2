"""Found by the adversarial review of issue 17 (invariant 6: nothing wedges silently).

Replayer.pause() finds the images of a role change by (pool, ns, name), and
resume() finds them again by that name, ignoring the PausedImage.images it
was given. A primary renamed while the role change runs (the next refresh sets
ReplayedImage.name to the new name) is then never resumed: it stays paused
(its progress cancelled), _kick() returns at once for it, no error is shown,
and its replica is never synced again until the module restarts."""
import logging
from typing import Any, Dict, List

from fake_peer import FakePeer
from mirror_snapshot.replayer import Replayer, image_key

LOG = logging.getLogger('test_adversarial_replayer_pause')


class FakeProgress:
    def __init__(self) -> None:
        self.cancelled = False

    def set_cancelled(self, value: bool) -> None:
        self.cancelled = value


class FakeNative:
    def __init__(self) -> None:
        self.images: List[Dict[str, Any]] = []

    def ReplayProgress(self) -> FakeProgress:  # noqa: N802 (the native class's name)
        return FakeProgress()

    def namespaces(self, remote: Any, pool: str) -> List[str]:
        return ['']

    def mirrored_images(self, remote: Any, pool: str, ns: str) -> List[Dict[str, Any]]:
        return list(self.images)


class FakePeers:
    def on_ready(self, listener: Any) -> None:
        pass

    def get(self, peer: Any, **kwargs: Any) -> Any:
        return object()


class FakeWatcher:
    def watch(self, *args: Any) -> None:
        pass


class FakeSyncs:
    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, job: Any) -> None:
        self.submitted += 1   # never run: the test plays the sync's end itself


def test_an_image_renamed_on_the_primary_during_a_role_change_is_resumed() -> None:
    native = FakeNative()
    syncs = FakeSyncs()
    replayer = Replayer(native, local=None, peers=FakePeers(), syncs=syncs, log=LOG,
                        option=lambda name: None, set_health=lambda checks: None, full_pools=lambda: set())
    replayer._watcher = FakeWatcher()
    peer = FakePeer()
    key = image_key('rbd', '', 'id1')

    native.images = [{'name': 'vm', 'id': 'id1', 'global_id': 'g1', 'primary': True}]
    replayer._refresh_pool('rbd', peer)
    image = replayer._images[key]
    image.running = False           # its first sync ended

    paused = replayer.pause('rbd', '', 'vm')        # a promote / resync of rbd/vm starts
    assert image.paused
    native.images = [{'name': 'vm-renamed', 'id': 'id1', 'global_id': 'g1', 'primary': True}]
    replayer._refresh_pool('rbd', peer)             # renamed on the primary meanwhile
    submitted = syncs.submitted
    replayer.resume(paused)                         # the role change ends
    replayer._kick(key)                             # a change on the primary, a retry...
    assert not image.paused and not image.progress.cancelled, \
        'the image stays paused after the role change ended: it is never synced again'
    assert syncs.submitted > submitted, 'its sync was not started again'


def test_a_replica_not_yet_renamed_after_its_primary_is_paused_by_its_own_name() -> None:
    """A role change names the image as it is here; if its primary was renamed
    and no step has followed yet, pause must still find it (else a sync
    renames and writes it while the role change runs)."""
    native = FakeNative()
    replayer = Replayer(native, local=None, peers=FakePeers(), syncs=FakeSyncs(), log=LOG,
                        option=lambda name: None, set_health=lambda checks: None, full_pools=lambda: set())
    replayer._watcher = FakeWatcher()
    peer = FakePeer()
    native.images = [{'name': 'vm', 'id': 'id1', 'global_id': 'g1', 'primary': True}]
    replayer._refresh_pool('rbd', peer)
    image = replayer._images[image_key('rbd', '', 'id1')]
    image.running = False
    native.images = [{'name': 'vm-renamed', 'id': 'id1', 'global_id': 'g1', 'primary': True}]
    replayer._refresh_pool('rbd', peer)             # renamed there; the replica here is still 'vm'
    image.running = False
    paused = replayer.pause('rbd', '', 'vm')
    assert image.paused and image in paused.images
    replayer.resume(paused)
    assert not image.paused
