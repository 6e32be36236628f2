"""Trust: a replica snapshot recorded complete equals the primary's, whatever
clients, operators and other tools do on either site (issue 17).

- The replica belongs to the replayer: clients get EROFS; what changes it
  anyway (the fence lifted by force, a crash) is found before anything is
  recorded complete.
- User snapshots are matched by id, never by name.
- A sync never completes against a primary snapshot that vanished."""
import os
import signal
import subprocess
import threading
import time

import pytest
import rbd

from replication import (assert_replica_matches, copying_past, image_status, reset_option, reset_slow_sync,
                         snapshot_now, start_slow_sync, wait_synced)
from sandbox import SANDBOX_SCRIPT, Images, Site, resize, sandbox, wait_for

MiB = 1 << 20
EROFS = 30


def features(site: Site, spec: str) -> list:
    import json
    return json.loads(site.rbd('info', '--format', 'json', spec).stdout)['features']


def slow_sync(images: Images, site_b: Site, name: str):
    # 1 GiB: the copy runs at up to 500 MiB/s and a status poll takes some 0.3 s.
    return start_slow_sync(images, site_b, name, '1G', one_chunk=True)


def snapshot_names(client, name: str) -> set:
    with client.image(name, read_only=True) as image:
        return {s['name'] for s in image.list_snaps()}


def error_of(site_b: Site, spec: str, text: str, timeout: float = 90) -> dict:
    """The image's status once its last error contains `text`."""
    return wait_for(lambda: (s := image_status(site_b, spec)) and s['last_error'] and
                    text in s['last_error'] and s, timeout, what=f"'{text}' reported for {spec}")


# -- 2. The replica belongs to the replayer ---------------------------------------------------------

def test_clients_cannot_change_a_replica(images: Images, site_b: Site, clients) -> None:
    a, b = clients
    spec = images.spec('fenced')
    images.create('fenced', size='16M')
    with a.image('fenced') as image:
        image.write(b'a' * 4096, 0)
    first = snapshot_now(images, 'fenced')
    assert_replica_matches(images, site_b, clients, 'fenced', first)
    assert 'non-primary' in features(site_b, spec)

    with b.image('fenced') as image:
        with pytest.raises(rbd.ReadOnlyImage):
            image.write(b'x' * 4096, 8 * MiB)
        with pytest.raises(rbd.ReadOnlyImage):
            image.resize(8 * MiB)
        with pytest.raises(rbd.ReadOnlyImage):
            image.create_snap('mine')
        with pytest.raises(rbd.ReadOnlyImage):
            image.rollback_to_snap(f'mirror_snapshot.primary.{first}')
    for args in (('resize', '--allow-shrink', '--size', '8M', spec), ('snap', 'create', f'{spec}@x'),
                 ('bench', '--io-type', 'write', '--io-total', '4K', spec)):
        proc = site_b.rbd(*args, check=False)
        assert proc.returncode != 0, args
    # ...and it stays so across syncs.
    with a.image('fenced') as image:
        image.write(b'b' * 4096, 4096)
    second = snapshot_now(images, 'fenced')
    assert_replica_matches(images, site_b, clients, 'fenced', second)
    assert 'non-primary' in features(site_b, spec)


@pytest.mark.parametrize('change', ['write', 'shrink', 'grow'])
def test_a_replica_changed_by_force_is_never_recorded_complete(images: Images, site_b: Site, clients,
                                                               change: str) -> None:
    a, b = clients
    spec = images.spec('forced')
    images.create('forced', size='32M')
    with a.image('forced') as image:
        image.write(b'a' * MiB, 24 * MiB)
    first = snapshot_now(images, 'forced')
    assert_replica_matches(images, site_b, clients, 'forced', first)

    b.set_fence('forced', False)   # a forced operation, or a client of an old module
    with b.image('forced') as image:
        if change == 'write':
            image.write(b'z' * 4096, 12 * MiB)
        else:
            resize(image, 24 * MiB if change == 'shrink' else 40 * MiB)
    with a.image('forced') as image:
        image.write(b'c' * 4096, 0)
    second = snapshot_now(images, 'forced')
    text = 'was written since snapshot' if change == 'write' else 'was resized since snapshot'
    status = error_of(site_b, spec, text)
    assert status['last_complete']['primary_snap_id'] == first, status
    assert 'replication stopped' in status['last_error']
    assert f'mirror_snapshot.primary.{second}' not in snapshot_names(b, 'forced')


def test_a_client_cannot_write_a_replica_during_a_sync(images: Images, site_b: Site, clients) -> None:
    a, b = clients
    spec = images.spec('busy')
    try:
        first, second = slow_sync(images, site_b, 'busy')
        wait_for(copying_past(site_b, spec, 0.05, 0.7), 90, interval=0.05, what='sync copying')
        with b.image('busy') as image:   # unfenced while the replayer writes: it holds the lock
            with pytest.raises((rbd.ReadOnlyImage, rbd.Error)):
                image.write(b'x' * 4096, 900 * MiB)
    finally:
        reset_slow_sync(site_b)
    assert_replica_matches(images, site_b, clients, 'busy', second)
    assert b.digest('busy') == a.digest('busy', snap_id=second)


def test_a_write_while_the_replayer_was_down_is_rolled_back_not_resumed(images: Images, site_b: Site,
                                                                        clients) -> None:
    """SIGKILL mid-sync leaves the replica unfenced and the dead mgr's lock;
    a client that takes the lock and writes makes the checkpoint worthless:
    the next mgr rolls the partial apply back and starts the delta again."""
    a, b = clients
    spec = images.spec('crashed')
    primary_osd = None   # osd.0 holds pool rbd on site-a
    try:
        first, second = slow_sync(images, site_b, 'crashed')
        wait_for(copying_past(site_b, spec, 0.2, 0.8), 90, interval=0.05, what='sync past a checkpoint')
        # The copy runs at some 300 MiB/s: held still by stopping the primary's
        # OSD, so that the kill lands in the middle of it.
        primary_osd = images.site.pause_osd('osd.0')
        site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_skip_pools', 'rbd')
        active = site_b.active_mgr()
        os.kill(site_b.daemon_pid(f'mgr.{active}'), signal.SIGKILL)
        site_b.ceph('mgr', 'fail', active)
        # The dead client's lock is broken by librbd once its watch is gone.
        try:
            with b.image('crashed') as image:
                wait_for(lambda: _try_write(image, b'X' * 65536, 1000 * MiB), 120, interval=2,
                         what='a client write to the unfenced replica')
        except AssertionError:   # why not, for the failure message
            for args in (('info', spec), ('lock', 'ls', spec), ('status', spec)):
                print(site_b.rbd(*args, check=False).stdout.decode())
            raise
    finally:
        if primary_osd is not None:
            images.site.resume_osd('osd.0', primary_osd)
        reset_slow_sync(site_b)
        reset_option(site_b, 'replay_skip_pools', '')
        sandbox('up')
    try:
        status = wait_synced(site_b, spec, second, timeout=120)
    except AssertionError:   # what the replica holds, for the failure message
        for args in (('image-meta', 'list', spec), ('snap', 'ls', '--all', spec), ('lock', 'ls', spec)):
            print(site_b.rbd(*args, check=False).stdout.decode())
        raise
    # The data first, then how it got there: rolled back, never resumed.
    assert_replica_matches(images, site_b, clients, 'crashed', second)
    assert b.digest('crashed') == a.digest('crashed', snap_id=second)
    last = status['last_sync']
    assert last.get('resumed_at') is None, last
    assert any('not resumed' in note for note in last.get('notes', [])), last


def _try_write(image: rbd.Image, data: bytes, offset: int) -> bool:
    try:
        image.write(data, offset)
        return True
    except rbd.Error:
        return False


# -- 1. Identity, never names ----------------------------------------------------------------------

def test_a_fence_put_back_by_an_error_is_no_proof_that_nobody_wrote(images: Images, site_b: Site, clients) -> None:
    """Found by the adversarial review: a first sync is under way when both of
    site-b's mgrs die (the fence stays lifted); a client breaks the dead
    step's lock and writes. The next step sees the lock changed and refuses
    to resume, and its error path put the fence back; the retry then took the
    fence for proof that nobody wrote, resumed, and recorded a snapshot whose
    data differed. The doubt is written down before the fence is lifted: the
    first sync is never recorded complete (remove the image to start again)."""
    a, b = clients
    spec = images.spec('fs')
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_image_in_flight_bytes', str(4 * MiB))
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_memory_bytes', str(16 * MiB))
    restarting = None
    try:
        images.create('fs', size='1G', mirror='')     # data first: the first sync copies it all
        images.site.rbd('bench', '--io-type', 'write', '--io-size', '4M', '--io-pattern', 'seq',
                        '--io-total', '1G', spec)
        images.site.rbd('mirror', 'image', 'enable', spec, 'snapshot')
        snap = images.mirror_snapshots(spec)[-1]['id']
        wait_for(copying_past(site_b, spec, 0.2, 0.7), 120, interval=0.05, what='first sync under way')
        # SIGKILL both mgrs of site-b: the step dies with the fence lifted.
        for mgr in ('x', 'y'):
            pid = site_b.daemon_pid(f'mgr.{mgr}')
            if pid:
                os.kill(pid, signal.SIGKILL)
        # A client writes the unfenced replica (librbd breaks the dead owner's lock).
        started = time.time()
        with b.image('fs') as image:
            image.write(b'Z' * 4096, 0)                 # below the checkpoint: never copied again
            image.write(b'Z' * 4096, 1000 * MiB)        # outside the delta
        print(f'client wrote the replica after {time.time() - started:.0f} s')
        restarting = subprocess.Popen([str(SANDBOX_SCRIPT), 'up'], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        assert restarting.wait(timeout=300) == 0
        seen = []

        def done():
            s = image_status(site_b, spec)
            if s and s.get('last_error') and s['last_error'] not in seen:
                seen.append(s['last_error'])
            last = s and s.get('last_complete')
            return s if last and last['primary_snap_id'] == snap else None
        # Long enough for the first step's refusal and a retry after its backoff.
        try:
            status = wait_for(done, 60, interval=1, what='the first sync recorded complete')
        except AssertionError:
            status = None
        print('errors seen:', seen)
        if status is not None:
            local = status['last_complete']['local_snap_name']
            assert b.digest('fs', snap_name=local) == a.digest('fs', snap_id=snap), \
                f'snapshot {snap} recorded complete on site-b with data differing from the primary\'s'
        assert seen and all('cannot be resumed' in error for error in seen), seen
    finally:
        reset_option(site_b, 'replay_memory_bytes', str(256 * MiB))
        reset_option(site_b, 'replay_image_in_flight_bytes', str(64 * MiB))
        if restarting is None:
            subprocess.run([str(SANDBOX_SCRIPT), 'up'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=300)


def test_a_client_open_across_the_lift_makes_the_delta_in_flight_doubtful(
        images: Images, site_b: Site, clients) -> None:
    """Found by the second adversarial review: the doubt was written down
    before the lift only when the replica was NOT fenced. A fenced replica with a delta in flight is lifted for the
    next step; a client that has it open (opened during the previous step)
    writes between the lift and the hold; the step finds it (OpenElsewhere,
    EBUSY 'not resumed until it is closed'), and the hold puts the fence
    back without recording any doubt. Once the client closes, the retry
    sees the fence, takes it for proof, resumes and records complete a
    snapshot that holds the client's write outside the delta."""
    a, b = clients
    spec = images.spec('ow')
    outcomes = {'written': 0, 'refused': 0}
    stop = threading.Event()
    try:
        first, second = start_slow_sync(images, site_b, 'ow', '1G', one_chunk=True)
        wait_for(copying_past(site_b, spec, 0.02, 0.9), 120, interval=0.05, what='the sync under way')
        app = b.image('ow')   # opened while the step holds it: its writes are refused meanwhile

        def writer() -> None:
            while not stop.is_set():
                try:
                    app.write(b'W' * 65536, 1000 * MiB)   # outside the delta (the first 512 MiB)
                    outcomes['written'] += 1
                except rbd.Error:
                    outcomes['refused'] += 1
                    time.sleep(0.002)
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        try:
            # A role change pauses the sync (ECANCELED mid-apply: fenced, in flight) and resumes it at
            # once: a resync of a replica finds its work done.
            site_b.mirror_snapshot('image', 'resync', spec, check=False)
            wait_for(lambda: outcomes['written'] > 0, 30, interval=0.1, what='a write in the lift-to-hold window')
            time.sleep(1)
        finally:
            stop.set()
            thread.join(10)
            app.close()
        print('writer:', outcomes, 'status:', image_status(site_b, spec))
        reset_slow_sync(site_b)

        # Either the client's write is rolled back and the delta redone, or it
        # is found and replication of the image stops with an error: never a
        # complete snapshot with it inside.
        def settled():
            s = image_status(site_b, spec)
            last = s and s['last_complete']
            if last and last['primary_snap_id'] == second:
                return s
            return s if s and s['state'] == 'error' and 'written since' in (s['last_error'] or '') else None
        status = wait_for(settled, 300, what='the sync complete or stopped')
        print('settled:', status)
        last = status['last_complete']
        if last and last['primary_snap_id'] == second:
            assert b.digest('ow', snap_name=last['local_snap_name']) == a.digest('ow', snap_id=second), (
                f'snapshot {second} recorded complete with a client\'s write in it (writer {outcomes}; '
                f'notes {status.get("last_sync")})')
    finally:
        stop.set()
        reset_slow_sync(site_b)


def test_a_reused_snapshot_name_never_skips_a_delta(images: Images, site_b: Site, clients) -> None:
    """The backup rotation: rbd snap rm img@daily; rbd snap create img@daily."""
    a, b = clients
    images.create('rotated', size='32M')
    with a.image('rotated') as image:
        image.write(b'X' * MiB, 0)
    snapshot_now(images, 'rotated')
    with a.image('rotated') as image:
        image.create_snap('daily')
        image.write(b'A' * MiB, 4 * MiB)
    s2 = snapshot_now(images, 'rotated')
    assert_replica_matches(images, site_b, clients, 'rotated', s2)
    assert b.digest('rotated', snap_name='daily') == a.digest('rotated', snap_name='daily')

    with a.image('rotated') as image:
        image.remove_snap('daily')
        image.write(b'B' * MiB, 8 * MiB)
        image.create_snap('daily')
        image.write(b'C' * MiB, 12 * MiB)
    s3 = snapshot_now(images, 'rotated')
    assert_replica_matches(images, site_b, clients, 'rotated', s3)
    assert b.digest('rotated', snap_name='daily') == a.digest('rotated', snap_name='daily')


def test_renames_are_followed_and_a_foreign_name_is_never_taken_for_a_copy(images: Images, site_b: Site,
                                                                           clients) -> None:
    a, b = clients
    spec = images.spec('names')
    images.create('names', size='32M')
    with a.image('names') as image:
        image.write(b'1' * MiB, 0)
        image.create_snap('weekly')
        image.write(b'2' * MiB, MiB)
    s1 = snapshot_now(images, 'names')
    assert_replica_matches(images, site_b, clients, 'names', s1)

    # An operator's snapshot named like the primary's next one (taken with the fence lifted).
    b.set_fence('names', False)
    site_b.rbd('snap', 'create', f'{spec}@monthly')
    operators = b.digest('names', snap_name='monthly')
    images.site.rbd('snap', 'rename', f'{spec}@weekly', f'{spec}@weekly-old')
    with a.image('names') as image:
        image.write(b'3' * MiB, 2 * MiB)
        image.create_snap('monthly')
        image.write(b'4' * MiB, 3 * MiB)
    s2 = snapshot_now(images, 'names')
    status = assert_replica_matches(images, site_b, clients, 'names', s2)
    names = snapshot_names(b, 'names')
    assert 'weekly-old' in names and 'weekly' not in names, names
    assert b.digest('names', snap_name='weekly-old') == a.digest('names', snap_name='weekly-old')
    assert b.digest('names', snap_name='monthly') == operators      # never touched
    assert any("'monthly'" in note for note in status['last_sync']['notes']), status['last_sync']


# -- 3. No completion against a vanished source ----------------------------------------------------

def test_a_target_removed_mid_sync_is_never_complete(images: Images, site_b: Site, clients) -> None:
    a, b = clients
    spec = images.spec('vanished')
    try:
        first, second = slow_sync(images, site_b, 'vanished')
        wait_for(copying_past(site_b, spec, 0.05, 0.6), 90, interval=0.05, what='sync copying')
        images.site.rbd('snap', 'rm', '--snap-id', str(second), spec)
    finally:
        reset_slow_sync(site_b)
    # The step fails (a read of the removed snapshot, or the re-check before
    # the local snapshot), and the next one rolls its partial apply back.
    status = wait_for(lambda: (s := image_status(site_b, spec)) and not s['in_flight'] and s, 120,
                      what='the partial apply towards the removed snapshot undone')
    assert status['last_complete'] and status['last_complete']['primary_snap_id'] == first, status
    assert f'mirror_snapshot.primary.{second}' not in snapshot_names(b, 'vanished')
    # Objects the partial apply created, gone at the next snapshot, are gone here too.
    with a.image('vanished') as image:
        image.discard(0, 256 * MiB)
    third = snapshot_now(images, 'vanished')
    assert_replica_matches(images, site_b, clients, 'vanished', third)
