"""Role changes (issue 17, invariant 5): held against clients, and crash-safe.

Writers during a forced promote: a client keeps opening and writing the
secondary while a forced promote rolls back a partial apply; the first mirror
snapshot taken as primary (P0, which failback takes to equal the consistency
point X) must hold X exactly.

Crash injection: SIGKILL the mgr
of the site running a forced promote, a resync, or the automatic failback, at
a random moment of it; then run the command again (as an operator whose
command timed out would) until it succeeds. The image must end in the role
asked for, with the data of the consistency point: 0 mismatches allowed.

Each round swaps the roles twice: a forced promote of the secondary (killed),
a resync of the old primary (killed); then a demote, a clean promote, and the
automatic failback of the other side (killed). ROLE_CRASH_SEED picks another
sequence; ROLE_CRASH_ROUNDS the number of rounds (default 3)."""
import errno
import json
import os
import random
import struct
import subprocess
import time
from typing import Dict, List, Optional, Tuple

import threading

import pytest
import rbd

from replication import (assert_replica_matches, copying_past, image_status, reset_slow_sync, snapshot_now,
                         start_slow_sync, wait_for_health, wait_synced)
from sandbox import Images, Site, sandbox, wait_for
from test_crash_loop import fail_over
from test_failover import create_on, role_change, wait_secondary_of
from test_image_changes import Family

MiB = 1 << 20
ROUNDS = int(os.environ.get('ROLE_CRASH_ROUNDS', '3'))
SPLIT_BRAIN = 'MIRROR_SNAPSHOT_SPLIT_BRAIN'


class Side:
    """One site's view of the test image: its Site and a librbd client."""
    def __init__(self, site: Site, client) -> None:
        self.site = site
        self.client = client

    @property
    def name(self) -> str:
        return self.site.name


def command(side: Side, spec: str, verb: str, *flags: str) -> subprocess.Popen:
    """Starts the command and returns once the active mgr has received it
    (its audit line is in the mgr's log)."""
    log = side.site.dir / 'log' / f'mgr.{side.site.active_mgr()}.log'
    start = log.stat().st_size
    proc = subprocess.Popen(['ceph', '-c', str(side.site.conf), 'mirror', 'snapshot', 'image', verb, spec,
                             *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    audit = f'"prefix": "mirror snapshot image {verb}"'.encode()

    def received() -> bool:
        with open(log, 'rb') as f:
            f.seek(start)
            return audit in f.read()
    wait_for(received, 30, interval=0.002, what=f'{verb} received by the mgr of {side.name}')
    return proc


def until_done(side: Side, spec: str, verb: str, *flags: str, timeout: float = 180) -> Tuple[Dict, int]:
    """Runs the command until it succeeds (EBUSY, EAGAIN, ETIMEDOUT and a
    starting module are retried); its report and how many tries it took."""
    tries = 0
    deadline = time.monotonic() + timeout
    while True:
        tries += 1
        proc = side.site.mirror_snapshot('image', verb, spec, *flags, '--format', 'json', check=False)
        if proc.returncode == 0:
            return json.loads(proc.stdout), tries
        # EBUSY (already running, or a lock not broken yet), EAGAIN (starting),
        # ENOTCONN (peer not connected yet), ETIMEDOUT.
        if proc.returncode not in (16, 11, 107, 110) or time.monotonic() > deadline:
            raise AssertionError(f'{verb} {spec} on {side.name}: rc {proc.returncode}: {proc.stderr.decode()}')
        time.sleep(2)


def write(side: Side, rng: random.Random) -> None:
    with side.client.image('rc') as image:
        for _ in range(rng.randrange(8, 32)):
            image.write(rng.randbytes(64 * 1024), rng.randrange(0, image.size() - 64 * 1024, 4096))


def create_snapshot(side: Side, spec: str) -> int:
    return side.site.mirror_snapshot_json('create', spec)['snap_id']


def secondary_holding(side: Side, spec: str, snap_id: int, ready: bool = False) -> Dict:
    return wait_secondary_of(side.site, spec, snap_id, ready, timeout=180)


def kill_during(side: Side, proc: Optional[subprocess.Popen], rng: random.Random, window: float) -> float:
    """Freezes `side`'s OSD (pool rbd) `delay` s after `proc` started, so that
    a role change under way stops at its next OSD operation, SIGKILLs the
    active mgr there, thaws the OSD and waits for the module to answer again;
    returns the delay, counted from the command's arrival at the mgr. (A
    role change takes some 50 ms there: without the freeze, the kill would
    land after it nearly every time.)"""
    delay = rng.uniform(0.0, window)
    time.sleep(delay)
    with side.site.paused_osd('osd.0'):
        restarting = fail_over(side.site, kill=True)
    if proc is not None:
        proc.wait(timeout=300)  # the command's answer: lost with its mgr, or given before
    assert restarting.wait(timeout=180) == 0
    wait_for(lambda: side.site.mirror_snapshot('version', check=False).returncode == 0, 120,
             what=f'the module on {side.name} to answer')
    return delay


def test_killed_role_changes_are_finished_by_a_retry(images: Images, site_a: Site, site_b: Site, clients,
                                                     capsys) -> None:
    a, b = clients
    rng = random.Random(int(os.environ.get('ROLE_CRASH_SEED', '20261206')))
    spec = images.spec('rc')
    images.create('rc', size='256M')
    primary, secondary = Side(site_a, a), Side(site_b, b)
    write(primary, rng)
    secondary_holding(secondary, spec, create_snapshot(primary, spec))
    rows: List[Dict] = []
    try:
        for round_ in range(ROUNDS):
            # 1. Forced promote of the secondary, killed at a random moment.
            write(primary, rng)
            held = create_snapshot(primary, spec)
            secondary_holding(secondary, spec, held)
            write(primary, rng)  # never synced: the consistency point stays `held`
            expected = primary.client.digest('rc', snap_id=held)
            delay = kill_during(secondary, command(secondary, spec, 'promote', '--force'), rng, 0.08)
            report, tries = until_done(secondary, spec, 'promote', '--force')
            matches = secondary.client.digest('rc') == expected
            rows.append({'round': round_ + 1, 'what': f'promote --force on {secondary.name}', 'delay': delay,
                         'tries': tries, 'already': report.get('already'), 'matches': matches})
            assert matches, (report, rows)
            assert image_status(secondary.site, spec)['role'] == 'primary'

            # 2. Resync of the old primary (split-brain now), killed.
            write(secondary, rng)
            delay = kill_during(primary, command(primary, spec, 'resync', '--force'), rng, 0.08)
            report, tries = until_done(primary, spec, 'resync', '--force')
            newest = create_snapshot(secondary, spec)
            secondary_holding(primary, spec, newest)
            matches = primary.client.digest('rc') == secondary.client.digest('rc', snap_id=newest)
            rows.append({'round': round_ + 1, 'what': f'resync --force on {primary.name}', 'delay': delay,
                         'tries': tries, 'already': report.get('already'), 'matches': matches})
            assert matches, (report, rows)
            for side in (primary, secondary):
                wait_for_health(side.site, SPLIT_BRAIN, False)
            primary, secondary = secondary, primary

            # 3. Planned failover; the old primary's automatic failback is killed.
            write(primary, rng)
            demoted = primary.site.mirror_snapshot_json('image', 'demote', spec)['demoted_snap_id']
            secondary_holding(secondary, spec, demoted, ready=True)
            until_done(secondary, spec, 'promote')
            delay = kill_during(primary, None, rng, 0.08)  # the old primary adopts by itself meanwhile
            write(secondary, rng)
            newest = create_snapshot(secondary, spec)
            secondary_holding(primary, spec, newest)
            matches = primary.client.digest('rc') == secondary.client.digest('rc', snap_id=newest)
            rows.append({'round': round_ + 1, 'what': f'automatic failback on {primary.name}', 'delay': delay,
                         'tries': 0, 'already': None, 'matches': matches})
            assert matches, rows
            primary, secondary = secondary, primary
    finally:
        sandbox('up')
        with capsys.disabled():
            print('\n  round  what                               killed after  tries  found done  data')
            for r in rows:
                print(f"  {r['round']:5}  {r['what']:33}  {r['delay']:10.2f} s  {r['tries']:5}  "
                      f"{str(r['already']):10}  {'ok' if r['matches'] else 'MISMATCH'}")
    assert len(rows) == 3 * ROUNDS


def test_clients_writing_during_a_forced_promote_never_get_into_its_first_snapshot(
        images: Images, site_a: Site, site_b: Site, clients) -> None:
    a, b = clients
    spec = images.spec('held')
    stop = threading.Event()
    outcomes: Dict[str, int] = {'written': 0, 'refused': 0}

    def writer() -> None:
        # Opens the image afresh each time, as a VM started on site-b would.
        while not stop.is_set():
            try:
                with b.image('held') as image:
                    image.write(b'w' * 4096, 512 * MiB)
                outcomes['written'] += 1
            except rbd.Error:
                outcomes['refused'] += 1
            time.sleep(0.005)

    try:
        first, _ = start_slow_sync(images, site_b, 'held', '1G', one_chunk=True)
        wait_for(copying_past(site_b, spec, 0.1, 0.8), 90, interval=0.05, what='sync half-way')
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            promoted = site_b.mirror_snapshot_json('image', 'promote', spec, '--force')
        finally:
            stop.set()
            thread.join(30)
    finally:
        reset_slow_sync(site_b)
    print(f"client writes during the promote: {outcomes}; report {promoted}")
    assert promoted['primary_snap_id'] == first and promoted['rolled_back'], promoted
    assert outcomes['refused'] > 0, outcomes  # the writer really tried while the image was held
    # P0 holds the consistency point, whatever the writer managed after the promote.
    assert b.digest('held', snap_id=promoted['promoted_snap_id']) == a.digest('held', snap_id=first)


REPLICA_KEY = 'mirror_snapshot.replica'


def cls_metadata_set(ioctx, image_id: str, key: str, value: bytes) -> None:
    """cls_rbd metadata_set, past the fence (as the module's HeaderMetadataWriter does)."""
    k = key.encode()
    payload = struct.pack('<I', 1) + struct.pack('<I', len(k)) + k + struct.pack('<I', len(value)) + value
    ioctx.execute(f'rbd_header.{image_id}', 'rbd', 'metadata_set', payload)


def half_promoted(images: Images, site_a: Site, site_b: Site, clients, name: str) -> str:
    """A secondary left as a promote whose mgr died between role_change.cc's
    WriteReplicaState(promoted) and EnableSnapshotMirroring leaves it:
    promoted=1, no P0, the fence lifted (a SIGKILL lands in that gap by luck
    only, so the state is made exactly). Returns the digest of X."""
    a, b = clients
    spec = images.spec(name)
    images.create(name, size='16M')
    with a.image(name) as image:
        image.write(b'A' * MiB, 0)
    wait_secondary_of(site_b, spec, snapshot_now(images, name))
    demoted = role_change(site_a, 'demote', spec)['demoted_snap_id']
    wait_secondary_of(site_b, spec, demoted, ready=True)
    with b.image(name, read_only=True) as image:
        image_id = image.id()
        record = dict(image.metadata_list())[REPLICA_KEY]
    assert 'promoted=1' not in record
    cls_metadata_set(b.ioctx, image_id, REPLICA_KEY,
                     (record + f',promoted=1,promoted_snap_id=0,promoted_at={int(time.time())}').encode())
    b.set_fence(name, False)
    return a.digest(name, snap_id=demoted)


def mirrored(b, name: str) -> bool:
    with b.image(name, read_only=True) as image:
        return image.mirror_image_get_info()['state'] == rbd.RBD_MIRROR_IMAGE_ENABLED


def test_a_promote_stopped_half_way_is_finished_and_never_discards_writes_unasked(
        images: Images, site_a: Site, site_b: Site, clients) -> None:
    """Found by the two adversarial reviews. A promote whose mgr died after it
    recorded the image promoted and before Ceph's mirroring took P0 left the
    image writable, unmirrored and unheld; nothing finished it, and the
    retried promote took P0 of a HEAD with writes made after X, so the
    failback recorded complete snapshots that differ. Then the first fix had
    the next start finish it by rolling back whatever was written, under a
    client that had the image open. Now:
    - unchanged since X: the next start finishes it (P0 = X);
    - written since, by a client that closed it: the next start says so and
      leaves it; the operator's promote rolls the writes back (P0 = X);
    - open in a client: nothing is rolled back under it."""
    a, b = clients
    x_clean = half_promoted(images, site_a, site_b, clients, 'pk')
    x_written = half_promoted(images, site_a, site_b, clients, 'pw')
    half_promoted(images, site_a, site_b, clients, 'po')
    with b.image('pw') as image:
        image.write(b'B' * MiB, 4 * MiB)   # a client wrote the half-promoted image, and closed it
    app = b.image('po')                    # the failed-over application: open, writing
    try:
        app.write(b'B' * MiB, 4 * MiB)
        app.flush()
        fail_over(site_b, kill=True).wait()   # the next start

        wait_for(lambda: mirrored(b, 'pk'), 120, what='the promote finished by the next mgr')
        retried = role_change(site_b, 'promote', images.spec('pk'))   # the operator's retry finds it done
        assert retried['already'], retried
        assert b.digest('pk', snap_id=retried['promoted_snap_id']) == x_clean, 'P0 is not X'

        def refused(name: str, why: str):
            status = image_status(site_b, images.spec(name))
            return status if status and why in (status.get('last_error') or '') else None
        wait_for(lambda: refused('pw', 'was written since'), 60, what="the written image's promote refused")
        wait_for(lambda: refused('po', 'is being written by'), 60, what="the open image's promote refused")
        assert not mirrored(b, 'pw') and not mirrored(b, 'po')
        assert app.read(4 * MiB, MiB) == b'B' * MiB, 'a write of a client that has the image open was undone'
    finally:
        app.close()

    retried = role_change(site_b, 'promote', images.spec('pw'))   # the operator's call: roll back
    assert retried['rolled_back'] and not retried['already'], retried
    p0 = retried['promoted_snap_id']
    assert b.digest('pw', snap_id=p0) == x_written, 'P0 holds writes made after X'

    # The automatic failback of site-a: site-b's next snapshot, synced there, is equal.
    with b.image('pw') as image:
        image.write(b'C' * MiB, 8 * MiB)
    on_b = create_on(site_b, images.spec('pw'))
    wait_secondary_of(site_a, images.spec('pw'), on_b, timeout=180)
    assert a.digest('pw', snap_name=f'mirror_snapshot.primary.{on_b}') == b.digest('pw', snap_id=on_b)


def test_a_promote_of_a_clone_before_its_parent_is_refused_and_changes_nothing(
        images: Images, site_a: Site, site_b: Site, clients) -> None:
    """Found by the adversarial review: Ceph mirrors a clone only if its parent
    is mirrored, and the promote found out after it had recorded the replica
    promoted and lifted its fence: the replica was left writable, no longer
    replicated, with a bare 'Invalid argument'. Refused first now, naming the
    parent; the replica stays fenced and goes on syncing."""
    a, b = clients
    family = Family(images, site_b, clients)
    try:
        first = snapshot_now(images, 'child')
        assert_replica_matches(images, site_b, clients, 'child', first)
        refused = site_b.mirror_snapshot('image', 'promote', family.child, '--force', check=False)
        assert refused.returncode == errno.EBUSY, refused
        assert b'promote the parent first' in refused.stderr, refused.stderr
        with pytest.raises(rbd.Error):
            with b.image('child') as image:
                image.write(b'x' * 4096, 0)
        with a.image('child') as image:
            image.write(b'y' * 4096, MiB)
        second = snapshot_now(images, 'child')
        wait_synced(site_b, family.child, second, timeout=120)
        assert_replica_matches(images, site_b, clients, 'child', second)
    finally:
        family.cleanup()
