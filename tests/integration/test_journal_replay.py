"""native/replay/journal_image_replayer.h against the sandbox: a journal-mode
primary on site-a, its replica on site-b, driven step by step through the
native binding (the module, which drives the same steps, stays off the pool
meanwhile).

A bootstrap while a client keeps writing the primary, then replay steps:
the replica equals the primary once the writer stops and a step caught up;
the sync point is gone from the primary; the replica stays fenced between
steps; a replica a client wrote behind the replayer's back is refused; a
client disconnected from the journal is an error saying so."""
import json
import random
import threading
import time
from typing import Dict

import pytest

from replication import Client
from sandbox import Images, wait_for

# These tests step the native code themselves: site-b's module stays off their pool.
pytestmark = pytest.mark.usefixtures('replayer_off_pool_rbd')

MiB = 1 << 20


def journal_primary(images: Images, name: str) -> str:
    spec = images.spec(name)
    images.site.rbd('create', '--size', '64M', '--image-feature',
                    'layering,exclusive-lock,object-map,fast-diff,journaling',
                    '--journal-object-size', '1M', '--journal-splay-width', '2', spec)
    images.created.append(spec)
    images.site.rbd('mirror', 'image', 'enable', spec, 'journal')
    return spec


class Replayer:
    """One journal-mode image, site-a -> site-b, a step at a time."""

    def __init__(self, native, images: Images, site_b, name: str) -> None:
        self.native, self.images, self.site_b, self.name = native, images, site_b, name
        self.remote = native.Cluster.connect(str(images.site.conf))
        self.local = native.Cluster.connect(str(site_b.conf))
        client = Client(images.site, images.namespace)
        try:
            with client.image(name) as image:
                self.remote_image_id = image.id()
        finally:
            client.close()

    def step(self, **options) -> Dict:
        return self.native.replay_journal_image(
            self.remote, self.local, self.images.pool, self.images.namespace, self.remote_image_id, self.name,
            self.remote.fsid(), self.local.fsid(), **options)

    def until_caught_up(self, limit: int = 50) -> Dict:
        for _ in range(limit):
            result = self.step()
            if result['outcome'] == 'replayed' and result['caught_up'] and result['entries_applied'] == 0:
                return result
        raise AssertionError(f'not caught up after {limit} steps: {result}')


def random_writer(client: Client, name: str, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    with client.image(name) as image:
        while not stop.is_set():
            length = rng.choice([4096, 65536, 1 << 20])
            offset = rng.randrange(0, 64 * MiB - length)
            if rng.random() < 0.8:
                image.write(bytes([rng.randrange(1, 256)]) * length, offset)
            else:
                image.discard(offset, length)
            time.sleep(0.002)


def test_a_bootstrap_under_writes_then_replay_gives_the_primary_image(native, images: Images, site_b) -> None:
    journal_primary(images, 'jr')
    primary = Client(images.site, images.namespace)
    replica = Client(site_b, images.namespace)
    with primary.image('jr') as image:
        image.write(b'\x11' * (32 * MiB), 0)       # data before the bootstrap
        image.create_snap('before')                 # not replicated: older than the sync point
    replayer = Replayer(native, images, site_b, 'jr')
    seed = random.randrange(1 << 30)
    print(f'seed {seed}')
    stop = threading.Event()
    writer = threading.Thread(target=random_writer, args=(primary, 'jr', stop, seed))
    # The writer starts after the bootstrap's first step: with it running
    # during the sync point's creation the test hung once in ten runs (a
    # librbd call of the writer blocked for minutes; not understood yet).
    steps = [replayer.step(max_read_bytes=2 * MiB)]
    writer.start()
    try:
        steps += [replayer.step(max_read_bytes=2 * MiB) for _ in range(5)]  # replay under writes
        assert steps[0]['outcome'] == 'bootstrapping' and steps[0]['bytes_copied'] >= 32 * MiB, steps[0]
        assert [s['outcome'] for s in steps[1:]] == ['replayed'] * 5, steps
        assert sum(s['entries_applied'] for s in steps) > 0, steps
        with primary.image('jr') as image:
            image.create_snap('during')
            image.resize(80 * MiB)
    finally:
        stop.set()
        writer.join()
    with primary.image('jr') as image:
        image.metadata_set('user.after', 'yes')
        image.write(b'\x22' * (6 * MiB), 8 * MiB)
    # One pass reads one object set (2 MiB of entries): the rest is behind,
    # and as much of the journal as the bytes the primary wrote.
    partial = replayer.step(max_read_bytes=MiB, max_passes=1)
    done = replayer.until_caught_up()
    try:
        assert not partial['caught_up'] and partial['bytes_behind'] >= 3 * MiB, partial
        assert partial['entries_behind'] > 0, partial
        assert done['bytes_behind'] == 0 and done['entries_behind'] == 0, done
        assert done['entries_applied_total'] > 0 and done['last_applied'] > 0, done
        assert replica.digest('jr') == primary.digest('jr')
        assert replica.digest('jr', snap_name='during') == primary.digest('jr', snap_name='during')
        with replica.image('jr', read_only=True) as image:
            assert [s['name'] for s in image.list_snaps()] == ['during']
            assert dict(image.metadata_list()).get('user.after') == 'yes'
        with primary.image('jr', read_only=True) as image:  # the sync point is gone
            assert [s['name'] for s in image.list_snaps()] == ['before', 'during']
        # Fenced between steps: a client cannot write the replica.
        with pytest.raises(Exception) as refused:
            with replica.image('jr') as image:
                image.write(b'client', 0)
        assert 'Read-only' in str(refused.value) or 'read-only' in str(refused.value), refused.value
        clients = [c['id'] for c in native.testing.JournalHeader(replayer.remote, images.pool, images.namespace,
                                                                 'jr').state()['clients']]
        assert done['client_id'] in clients, clients
    finally:
        primary.close()
        replica.close()


def test_a_replica_written_behind_the_replayer_is_refused(native, images: Images, site_b) -> None:
    journal_primary(images, 'jw')
    replayer = Replayer(native, images, site_b, 'jw')
    replayer.until_caught_up()
    replica = Client(site_b, images.namespace)
    try:
        replica.set_fence('jw', False)              # forced, as an operator could
        with replica.image('jw') as image:
            image.write(b'not the primary', 0)
        with pytest.raises(OSError) as refused:
            replayer.step()
        assert refused.value.errno == 16 and 'resync' in str(refused.value), refused.value
    finally:
        replica.close()


def test_a_disconnected_replayer_says_it_needs_a_resync(native, images: Images, site_b) -> None:
    journal_primary(images, 'jd')
    replayer = Replayer(native, images, site_b, 'jd')
    done = replayer.until_caught_up()
    images.site.rbd('journal', 'client', 'disconnect', '--pool', images.pool, '--namespace', images.namespace,
                    '--image', 'jd', '--client-id', done['client_id'])
    with pytest.raises(OSError) as stale:
        replayer.step()
    assert stale.value.errno == 116 and 'resync' in str(stale.value), stale.value
    # The way out the message names: the replica removed, a new bootstrap
    # registers our client afresh and catches up.
    replica = Client(site_b, images.namespace)
    try:
        replica.set_fence('jd', False)
        site_b.rbd('rm', '--no-progress', images.spec('jd'))
        primary = Client(images.site, images.namespace)
        try:
            with primary.image('jd') as image:
                image.write(b'after the resync', 4096)
            replayer.until_caught_up()
            assert replica.digest('jd') == primary.digest('jd')
        finally:
            primary.close()
    finally:
        replica.close()


def test_writes_racing_a_rollback_end_as_on_the_primary(native, images: Images, site_b) -> None:
    """A rollback's start is journaled before librbd blocks writes: what is
    journaled until its finish reached the primary before the rollback,
    which overwrote it. Applied after it, it would survive on the replica."""
    journal_primary(images, 'jb')
    primary = Client(images.site, images.namespace)
    replica = Client(site_b, images.namespace)
    replayer = Replayer(native, images, site_b, 'jb')
    replayer.until_caught_up()
    try:
        with primary.image('jb') as image:
            image.write(b'\x01' * (64 * MiB), 0)
            image.create_snap('S')
        image = primary.image('jb')
        stop = threading.Event()

        def writer() -> None:
            rng = random.Random(1)
            pending, n = [], 0
            while not stop.is_set():
                n += 1
                pending.append(image.aio_write(bytes([n % 250 + 2]) * 65536, rng.randrange(0, 1024) * 65536,
                                               lambda c: None))
                if len(pending) >= 16:
                    pending.pop(0).wait_for_complete_and_cb()
            for c in pending:
                c.wait_for_complete_and_cb()

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            time.sleep(1.0)
            image.rollback_to_snap('S')
            time.sleep(0.05)
        finally:
            stop.set()
            thread.join()
            image.close()
        replayer.until_caught_up()
        assert replica.digest('jb') == primary.digest('jb')
    finally:
        primary.close()
        replica.close()


RESIZING_CLIENT = '''
import rados, rbd
c = rados.Rados(conffile={conf!r}); c.connect()
io = c.open_ioctx({pool!r}); io.set_namespace({ns!r})
image = rbd.Image(io, 'jo')
image.write(b'x', 0)
print('ready', flush=True)
image.resize({size})
'''


def test_an_operation_its_writer_did_not_finish_is_applied_as_the_next_owner_does(native, images: Images,
                                                                                  site_b) -> None:
    """A client killed in the middle of a shrink leaves the Resize start
    without its OpFinish; the next lock owner's librbd completes it. The
    replica must be shrunk too, not left at the old size."""
    import os
    import signal
    import subprocess
    import sys
    object_size = 16384
    spec = images.spec('jo')
    images.site.rbd('create', '--size', '256M', '--object-size', str(object_size), '--image-feature',
                    'layering,exclusive-lock,journaling', spec)
    images.created.append(spec)
    images.site.rbd('mirror', 'image', 'enable', spec, 'journal')
    primary = Client(images.site, images.namespace)
    replica = Client(site_b, images.namespace)
    try:
        with primary.image('jo') as image:
            pending = [image.aio_write(b'\x77' * 512, offset, lambda c: None)
                       for offset in range(0, 256 * MiB, object_size)]
            for c in pending:
                c.wait_for_complete_and_cb()
        replayer = Replayer(native, images, site_b, 'jo')
        replayer.until_caught_up()
        script = RESIZING_CLIENT.format(conf=str(images.site.conf), pool=images.pool, ns=images.namespace,
                                        size=object_size)
        proc = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b'ready'
        time.sleep(0.5)                               # in the middle of trimming 16384 objects
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        status = json.loads(images.site.rbd('status', '--format', 'json', spec).stdout)
        for watcher in status.get('watchers', []):
            images.site.ceph('osd', 'blocklist', 'add', watcher['address'], '600')
        wait_for(lambda: not json.loads(images.site.rbd('status', '--format', 'json', spec).stdout).get('watchers'),
                 timeout=90, what='the killed client\'s watch to go')
        with primary.image('jo') as image:           # the next owner finishes the shrink
            image.write(b'\x33' * 512, 0)
        replayer.until_caught_up()
        assert replica.digest('jo') == primary.digest('jo')
    finally:
        primary.close()
        replica.close()


KILLED_STEPS = '''
import sys
sys.path.insert(0, {module_dir!r})
import _native as native
remote = native.Cluster.connect({remote_conf!r})
local = native.Cluster.connect({local_conf!r})
print('ready', flush=True)
while True:
    native.replay_journal_image(remote, local, {pool!r}, {ns!r}, {image_id!r}, {name!r}, remote.fsid(),
                                local.fsid(), max_read_bytes=1 << 20, max_in_flight_bytes=4 << 20)
'''


@pytest.mark.parametrize('kill_after', [0.3, 1.5, 4.0])
def test_a_step_killed_anywhere_resumes_to_the_primary_image(native, images: Images, site_b, kill_after) -> None:
    """SIGKILL of a process running steps, during the bootstrap's copy or
    positioning or a replay: the next steps finish the job and the replica
    equals the primary (or, killed between a step's lift of the fence and
    its lock, refuse with EBUSY; then a new bootstrap does)."""
    import os
    import signal
    import subprocess
    import sys
    from sandbox import BUILD_DIR
    journal_primary(images, 'jk')
    primary = Client(images.site, images.namespace)
    replica = Client(site_b, images.namespace)
    try:
        with primary.image('jk') as image:
            for i in range(0, 64 * MiB, 4 * MiB):
                image.write(bytes([i // MiB + 1]) * (4 * MiB), i)
        replayer = Replayer(native, images, site_b, 'jk')
        script = KILLED_STEPS.format(module_dir=str(BUILD_DIR / 'mgr_module' / 'mirror_snapshot'),
                                     remote_conf=str(images.site.conf), local_conf=str(site_b.conf),
                                     pool=images.pool, ns=images.namespace, image_id=replayer.remote_image_id,
                                     name='jk')
        with primary.image('jk') as image:
            image.write(b'\xff' * 4096, 0)               # the writer owns the lock, as a VM's client does
            proc = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            assert proc.stdout.readline().strip() == b'ready', proc.stderr.read()
            for i in range(200):                         # entries for the replay part
                image.write(bytes([i % 250 + 1]) * 65536, (i * 7919 * 4096) % (60 * MiB))
            # Killed before the writer closes: librbd 16.2 can abort a close
            # that races a notification (the bootstrap's snapshot asks the
            # lock owner; docs/operations.md), which ended a CI-like run.
            time.sleep(kill_after)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        # The killed client's watch on the replica outlives it (until the
        # OSD times it out): fenced off as an operator would, to go on now.
        # On the primary too (its header and journal), or removing it at the
        # end would wait the watch out (30 s).
        def watchers(site):
            return json.loads(site.rbd('status', '--format', 'json', images.spec('jk')).stdout).get('watchers', [])

        for site in (site_b, images.site):
            for watcher in watchers(site):
                site.ceph('osd', 'blocklist', 'add', watcher['address'], '600')
            wait_for(lambda: not watchers(site), timeout=90, what='the killed client\'s watch to go')
        try:
            replayer.until_caught_up()
        except OSError as e:
            # Killed between lifting the replica's fence and taking its lock:
            # nothing proves no client wrote it then, and the replayer says
            # so. The way out it names, a new bootstrap, must work.
            assert e.errno == 16 and 'could have been written' in str(e), e
            replica.set_fence('jk', False)
            site_b.rbd('rm', images.spec('jk'))
            replayer.until_caught_up()
        assert replica.digest('jk') == primary.digest('jk')
    finally:
        primary.close()
        replica.close()
