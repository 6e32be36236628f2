"""The module on site-b replicates site-a's snapshot-mode images by itself.

For every case: the SHA-256 of the primary's mirror snapshot equals that of
the secondary's local snapshot holding it, and the secondary is not more
allocated than the primary.
"""
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import List

import pytest
import rbd

from replication import (assert_replica_matches, copying_past, image_status,
                         reset_option, reset_slow_sync, snapshot_now, start_slow_sync, wait_for_health,
                         wait_synced)
from sandbox import Images, Site, resize, sandbox, wait_for

MiB = 1 << 20


def write_case(image: rbd.Image, rng: random.Random, kind: str) -> None:
    size = image.size()
    if kind == 'random-4k':
        for _ in range(200):
            image.write(rng.randbytes(4096), rng.randrange(0, size - 4096, 4096))
    elif kind == 'large-sequential':
        image.write(rng.randbytes(24 * MiB), 0)
    elif kind == 'object-boundaries':
        for obj in range(1, 7):
            image.write(rng.randbytes(64 * 1024), obj * 4 * MiB - 32 * 1024)
    elif kind == 'discard-zero':
        image.discard(0, 4 * MiB)                 # a whole object
        image.discard(5 * MiB, 100 * 1024)       # part of one
        image.write_zeroes(8 * MiB, 4 * MiB)     # whole object of zeroes
        image.write_zeroes(13 * MiB + 4096, 8192)
    elif kind == 'grow':
        resize(image, size + 12 * MiB)
        image.write(rng.randbytes(MiB), size + 8 * MiB)
    elif kind == 'shrink':
        resize(image, size - 10 * MiB)
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize('kind', ['random-4k', 'large-sequential', 'object-boundaries', 'discard-zero',
                                  'grow', 'shrink'])
def test_replicates_every_delta_kind(images: Images, site_b: Site, clients, kind: str) -> None:
    a, _ = clients
    rng = random.Random(kind)
    images.create('img', size='32M')
    with a.image('img') as image:
        image.write(rng.randbytes(20 * MiB), 0)   # a first sync with data
        image.discard(9 * MiB, 2 * MiB)
    first = snapshot_now(images, 'img')
    assert_replica_matches(images, site_b, clients, 'img', first)
    with a.image('img') as image:
        write_case(image, rng, kind)
    second = snapshot_now(images, 'img')
    status = assert_replica_matches(images, site_b, clients, 'img', second)
    assert status['role'] == 'secondary' and status['state'] == 'idle'
    assert status['last_error'] is None
    assert status['last_sync']['bytes'] > 0 or kind == 'shrink'
    # Where the step's time went: its phases add up to its duration.
    phases = status['last_sync']['phase_seconds']
    assert {'connecting', 'scanning', 'copying', 'snapshotting'} <= set(phases), phases
    step = sum(seconds for phase, seconds in phases.items() if phase != 'connecting')
    assert abs(step - status['last_sync']['seconds']) < 1.0, status['last_sync']
    # The image has fast-diff (rbd's default features): the delta came from
    # the object maps, which asked only the objects the maps marked.
    last = status['last_sync']
    assert last['delta_source'] == 'object_map' and last['full_scan_reason'] is None, last
    assert last['objects_in_image'] >= 8 and last['objects_scanned'] <= last['objects_in_image'], last
    if kind != 'random-4k':  # 200 random writes touch all 8 objects; the others leave some alone
        assert last['objects_scanned'] < last['objects_in_image'], last


def test_first_sync_is_sparse(images: Images, site_b: Site, clients) -> None:
    a, b = clients
    rng = random.Random(3)
    images.create('sparse', size='256M')
    with a.image('sparse') as image:
        for _ in range(32):
            image.write(rng.randbytes(64 * 1024), rng.randrange(0, 256 * MiB - 65536, 65536))
    snap = snapshot_now(images, 'sparse')
    status = assert_replica_matches(images, site_b, clients, 'sparse', snap)
    # Only the 2 MiB written travel, not the 4 MiB objects around them.
    assert status['last_sync']['bytes'] <= 2 * MiB, status['last_sync']
    # A first sync asks only the objects that exist (at most 32 of 64).
    assert status['last_sync']['delta_source'] == 'object_map', status['last_sync']
    assert status['last_sync']['objects_scanned'] <= 32 < status['last_sync']['objects_in_image'], status['last_sync']


def test_an_image_without_fast_diff_is_scanned_whole_and_status_says_why(images: Images, site_b: Site,
                                                                          clients) -> None:
    a, _ = clients
    spec = images.spec('plain')
    images.site.rbd('create', '--size', '16M', '--image-feature', 'layering,exclusive-lock', spec)
    images.site.rbd('mirror', 'image', 'enable', spec, 'snapshot')
    images.created.append(spec)
    with a.image('plain') as image:
        image.write(b'p' * 65536, 5 * MiB)
    snap = snapshot_now(images, 'plain')
    status = assert_replica_matches(images, site_b, clients, 'plain', snap)
    last = status['last_sync']
    assert last['delta_source'] == 'full_scan', last
    assert 'object-map is not enabled' in last['full_scan_reason'], last
    assert last['objects_scanned'] == last['objects_in_image'] == 4, last


def test_non_default_object_size_and_data_pool(images: Images, site_b: Site, clients) -> None:
    a, b = clients
    rng = random.Random(5)
    spec = images.spec('layout')
    images.site.rbd('create', '--size', '24M', '--object-size', '1M', '--data-pool', 'rbd_data', spec)
    images.site.rbd('mirror', 'image', 'enable', spec, 'snapshot')
    images.created.append(spec)
    with a.image('layout') as image:
        image.write(rng.randbytes(5 * MiB), 3 * MiB + 1234)
    first = snapshot_now(images, 'layout')
    assert_replica_matches(images, site_b, clients, 'layout', first)
    with a.image('layout') as image:
        image.write(rng.randbytes(300 * 1024), 10 * MiB - 1000)
        image.discard(4 * MiB, MiB)
    second = snapshot_now(images, 'layout')
    assert_replica_matches(images, site_b, clients, 'layout', second)
    info = json.loads(site_b.rbd('info', '--format', 'json', spec).stdout)
    assert info['order'] == 20
    assert info['data_pool'] == 'rbd_data'


def osd_write_ops(site: Site, osd: str = 'osd.0') -> int:
    return int(site.ceph_json('daemon', osd, 'perf', 'dump', 'osd')['osd']['op_w'])


def test_created_objects_of_many_small_extents_cost_few_osd_writes(images: Images, site_b: Site,
                                                                   clients) -> None:
    """New objects of scattered small writes (a random-write delta): the extents of one object
    reach site-b's OSD in a couple of write ops, not one op per extent."""
    a, _ = clients
    rng = random.Random(13)
    images.create('scatter', size='64M')
    first = snapshot_now(images, 'scatter')
    assert_replica_matches(images, site_b, clients, 'scatter', first)
    objects, extents_per_object, extent = 16, 32, 16 * 1024
    with a.image('scatter') as image:
        for obj in range(objects):
            # Every other 16 KiB slot: the extents never merge into one.
            for slot in sorted(rng.sample(range(0, 128, 2), extents_per_object)):
                image.write(rng.randbytes(extent), obj * 4 * MiB + slot * 2 * extent)
    before = osd_write_ops(site_b)
    second = snapshot_now(images, 'scatter')
    status = assert_replica_matches(images, site_b, clients, 'scatter', second)
    ops = osd_write_ops(site_b) - before
    assert status['last_sync']['bytes'] == objects * extents_per_object * extent, status['last_sync']
    # One op per extent would be 512; per object: a librbd write, one op with the rest, the
    # object map update. The record, snapshot and object map snapshot add a handful.
    assert ops < objects * extents_per_object // 4, ops


def test_several_images_sync_at_once(images: Images, site_b: Site, clients) -> None:
    a, _ = clients
    names = [f'multi{i}' for i in range(5)]
    for i, name in enumerate(names):
        images.create(name, size='24M')
        with a.image(name) as image:
            image.write(random.Random(i).randbytes(12 * MiB), i * MiB)
    snaps = {name: snapshot_now(images, name) for name in names}
    for name in names:
        assert_replica_matches(images, site_b, clients, name, snaps[name])
    listed = site_b.mirror_snapshot_json('status')['images']
    ours = {row['image'] for row in listed if row['image'].startswith(f'rbd/{images.namespace}/')}
    assert ours == {images.spec(n) for n in names}


def test_pruned_middle_snapshots_are_skipped(images: Images, site_b: Site, clients) -> None:
    a, _ = clients
    rng = random.Random(9)
    images.create('pruned', size='24M')
    with a.image('pruned') as image:
        image.write(rng.randbytes(4 * MiB), 0)
    first = snapshot_now(images, 'pruned')
    assert_replica_matches(images, site_b, clients, 'pruned', first)
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_skip_pools', 'rbd')
    try:
        wait_for(lambda: image_status(site_b, images.spec('pruned'))['state'] == 'error', 30,
                 what='replay of pool rbd paused')
        for i in range(6):   # more than rbd_mirroring_max_mirroring_snapshots (5): the middle ones go
            with a.image('pruned') as image:
                image.write(rng.randbytes(MiB), (i + 1) * 2 * MiB)
            images.site.mirror_snapshot('create', images.spec('pruned'))
        ids = [s['id'] for s in images.mirror_snapshots(images.spec('pruned'))]
        assert first in ids, 'the synced snapshot is pinned, so never pruned'
        newest = ids[-1]
        assert len(ids) <= 5
    finally:
        reset_option(site_b, 'replay_skip_pools', '')
    status = assert_replica_matches(images, site_b, clients, 'pruned', newest)
    assert status['last_sync']['skipped_snapshots'] >= 1


def test_new_snapshots_are_noticed_within_seconds(images: Images, site_b: Site, clients) -> None:
    a, _ = clients
    images.create('quick', size='16M')
    first = snapshot_now(images, 'quick')
    wait_synced(site_b, images.spec('quick'), first)
    with a.image('quick') as image:
        image.write(b'x' * 65536, 0)
    started = time.time()
    second = snapshot_now(images, 'quick')
    status = wait_synced(site_b, images.spec('quick'), second, timeout=30)
    assert status['last_sync']['finished'] - started < 10, status['last_sync']


def test_status_on_both_sites(images: Images, site_a: Site, site_b: Site, clients) -> None:
    images.create('shown', size='16M')
    snap = snapshot_now(images, 'shown')
    wait_synced(site_b, images.spec('shown'), snap)
    primary = site_a.mirror_snapshot_json('image', 'status', images.spec('shown'))
    assert primary['role'] == 'primary'
    assert primary['last_complete']['primary_snap_id'] == snap
    pins = {p['fsid']: p for p in primary['secondaries']}
    assert pins[site_b.fsid()]['from_snap_id'] == snap == pins[site_b.fsid()]['to_snap_id']
    secondary = site_b.mirror_snapshot_json('image', 'status', images.spec('shown'))
    for field in ('role', 'state', 'last_complete', 'in_flight', 'last_sync', 'last_error'):
        assert field in secondary
    plain = site_b.mirror_snapshot('image', 'status', images.spec('shown')).stdout.decode()
    assert 'secondary' in plain and f'mirror_snapshot.primary.{snap}' in plain
    missing = site_b.mirror_snapshot('image', 'status', images.spec('nosuch'), check=False)
    assert missing.returncode == 2 and b'nosuch' in missing.stderr
    bad = site_b.mirror_snapshot('image', 'status', 'rbd/', check=False)
    assert bad.returncode == 22


def wrong_key_file(tmp_path: Path) -> str:
    """A file holding a well-formed cephx key that site-a does not know."""
    key = subprocess.run(['ceph-authtool', '--gen-print-key'], capture_output=True, check=True).stdout
    path = tmp_path / 'wrong.key'
    path.write_bytes(key)
    return str(path)


@pytest.mark.parametrize('fault', ['unreachable', 'wrong-key'])
def test_peer_fault_is_an_error_then_recovers(images: Images, site_b: Site, clients, tmp_path: Path,
                                             fault: str) -> None:
    """The peer record points to no monitor, or carries a key site-a rejects:
    error naming the peer, health warning; once the record is right again the
    image catches up by itself."""
    a, _ = clients
    images.create('peerless', size='16M')
    first = snapshot_now(images, 'peerless')
    wait_synced(site_b, images.spec('peerless'), first)
    peer = json.loads(site_b.rbd('mirror', 'pool', 'info', 'rbd', '--all', '--format', 'json').stdout)['peers'][0]
    if fault == 'unreachable':
        broken, restored = ('mon-host', 'v2:127.0.0.1:1'), ('mon-host', peer['mon_host'])
    else:
        good = tmp_path / 'good.key'
        good.write_text(peer['key'])
        broken, restored = ('key-file', wrong_key_file(tmp_path)), ('key-file', str(good))
    site_b.rbd('mirror', 'pool', 'peer', 'set', 'rbd', peer['uuid'], *broken)
    try:
        site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/refresh_interval', '5')
        status = wait_for(lambda: (s := image_status(site_b, images.spec('peerless'))) and
                          s['state'] == 'error' and s, 90, what='peer error reported')
        assert "peer 'site-a'" in status['last_error'], status['last_error']
        if fault == 'wrong-key':
            assert 'denied' in status['last_error'].lower() or 'permitted' in status['last_error'].lower(), \
                status['last_error']
        wait_for_health(site_b, 'MIRROR_SNAPSHOT_REPLAY_FAILED', present=True)
    finally:
        site_b.rbd('mirror', 'pool', 'peer', 'set', 'rbd', peer['uuid'], *restored)
    with a.image('peerless') as image:
        image.write(b'y' * 4096, 4096)
    second = snapshot_now(images, 'peerless')
    try:
        assert_replica_matches(images, site_b, clients, 'peerless', second)
    finally:
        reset_option(site_b, 'refresh_interval', '60')
    wait_for_health(site_b, 'MIRROR_SNAPSHOT_REPLAY_FAILED', present=False)


def test_existing_local_image_is_never_overwritten(images: Images, site_b: Site, clients) -> None:
    _, b = clients
    site_b.rbd('namespace', 'create', f'rbd/{images.namespace}', check=False)
    site_b.rbd('create', '--size', '8M', images.spec('taken'))
    with b.image('taken') as image:
        image.write(b'local data' * 100, 0)
    before = b.digest('taken')
    images.create('taken', size='16M')
    snapshot_now(images, 'taken')
    status = wait_for(lambda: (s := image_status(site_b, images.spec('taken'))) and
                      s['state'] == 'error' and s, 60, what='conflict reported')
    assert 'not a replica' in status['last_error']
    assert b.digest('taken') == before


def user_snapshot_names(site: Site, spec: str) -> set:
    return {s['name'] for s in json.loads(site.rbd('snap', 'ls', '--format', 'json', spec).stdout)}


def test_user_snapshots_follow_the_primary_and_local_ones_stay(images: Images, site_b: Site, clients) -> None:
    """User snapshots taken on the primary are replicated; one the primary
    removes is removed at the next sync; one an operator took on the
    secondary is never touched."""
    a, b = clients
    spec = images.spec('users')
    images.create('users', size='16M')
    with a.image('users') as image:
        image.write(b'1' * 4096, 0)
        image.create_snap('kept')
        image.write(b'2' * 4096, 0)
        image.create_snap('gone')
        image.write(b'3' * 4096, 0)
    first = snapshot_now(images, 'users')
    assert_replica_matches(images, site_b, clients, 'users', first)
    assert {'kept', 'gone'} <= user_snapshot_names(site_b, spec)
    assert b.digest('users', snap_name='gone') == a.digest('users', snap_name='gone')
    # Clients cannot snapshot a replica (it is fenced: EROFS); one an operator
    # took anyway (the fence lifted by force) is never touched.
    refused = site_b.rbd('snap', 'create', f'{spec}@operator', check=False)
    assert refused.returncode == 30 and b'Read-only file system' in refused.stderr, refused.stderr
    b.set_fence('users', False)
    site_b.rbd('snap', 'create', f'{spec}@operator')

    images.site.rbd('snap', 'rm', f'{spec}@gone')
    with a.image('users') as image:
        image.write(b'4' * 4096, 0)
    second = snapshot_now(images, 'users')
    assert_replica_matches(images, site_b, clients, 'users', second)
    names = user_snapshot_names(site_b, spec)
    assert 'gone' not in names and {'kept', 'operator'} <= names, names
    assert b.digest('users', snap_name='kept') == a.digest('users', snap_name='kept')


def test_cloned_image_and_its_parent(images: Images, site_b: Site, clients) -> None:
    a, b = clients
    rng = random.Random(11)
    images.create('parent', size='32M')
    with a.image('parent') as image:
        image.write(rng.randbytes(16 * MiB), 2 * MiB)
    base = images.spec('parent') + '@base'
    images.site.rbd('snap', 'create', base)
    images.site.rbd('snap', 'protect', base)
    parent_snap = snapshot_now(images, 'parent')
    assert_replica_matches(images, site_b, clients, 'parent', parent_snap)
    # The user snapshot taken between mirror snapshots is replicated too.
    assert b.digest('parent', snap_name='base') == a.digest('parent', snap_name='base')

    child = images.spec('child')
    images.site.rbd('clone', base, child)
    images.site.rbd('mirror', 'image', 'enable', child, 'snapshot')
    images.created.insert(0, child)
    try:
        with a.image('child') as image:
            for obj in (0, 3, 5):                      # copy-ups of parent objects
                image.write(rng.randbytes(8192), obj * 4 * MiB + 100_000)
            image.discard(6 * MiB + 4096, 64 * 1024)  # zeroes inside a parent object
            image.write(rng.randbytes(MiB), 20 * MiB)  # beyond the parent's data
        first = snapshot_now(images, 'child')
        assert_replica_matches(images, site_b, clients, 'child', first)
        info = json.loads(site_b.rbd('info', '--format', 'json', child).stdout)
        assert info['parent']['image'] == 'parent' and info['parent']['snapshot'] == 'base'
        with a.image('child') as image:
            image.write(rng.randbytes(4096), 9 * MiB)   # another copy-up
            resize(image, 24 * MiB)
        second = snapshot_now(images, 'child')
        assert_replica_matches(images, site_b, clients, 'child', second)
    finally:
        images.site.rbd('mirror', 'image', 'disable', '--force', child, check=False)
        images.site.rbd('snap', 'purge', child, check=False)
        images.site.rbd('rm', '--no-progress', child, check=False)
        images.site.rbd('snap', 'unprotect', base, check=False)
        images.site.rbd('snap', 'rm', base, check=False)


def test_full_secondary_pool_pauses_with_an_error(images: Images, site_b: Site, clients) -> None:
    a, _ = clients
    rng = random.Random(13)
    images.create('full', size='32M')
    first = snapshot_now(images, 'full')
    wait_synced(site_b, images.spec('full'), first)
    site_b.ceph('osd', 'pool', 'set-quota', 'rbd', 'max_bytes', '1')
    try:
        wait_for(lambda: 'full' in site_b.ceph_json('osd', 'dump')['pools'][
            [p['pool_name'] for p in site_b.ceph_json('osd', 'dump')['pools']].index('rbd')]['flags_names'],
            60, what="site-b's pool rbd flagged full")
        with a.image('full') as image:
            image.write(rng.randbytes(8 * MiB), 0)
        second = snapshot_now(images, 'full')
        status = wait_for(lambda: (s := image_status(site_b, images.spec('full'))) and
                          s['state'] == 'error' and s, 60, what='full pool reported')
        assert "pool 'rbd' on this site is full" in status['last_error']
        assert status['last_complete']['primary_snap_id'] == first   # nothing half-written is complete
        wait_for_health(site_b, 'MIRROR_SNAPSHOT_REPLAY_FAILED', present=True)
    finally:
        site_b.ceph('osd', 'pool', 'set-quota', 'rbd', 'max_bytes', '0')
    assert_replica_matches(images, site_b, clients, 'full', second)


def pool_flagged_full(site: Site, pool: str) -> bool:
    pools = site.ceph_json('osd', 'dump')['pools']
    return any(p['pool_name'] == pool and 'full' in p['flags_names'].split(',') for p in pools)


def test_full_data_pool_pauses_its_images_and_others_keep_syncing(images: Images, site_b: Site,
                                                                  clients) -> None:
    """An image whose data lives in a separate data pool (rbd create --data-pool, an EC pool in
    production) is paused when that pool is full on site-b, like one whose own pool is full; an
    image of the same pool without a data pool keeps syncing (review #13)."""
    a, _ = clients
    rng = random.Random(17)
    spec = images.spec('ec')
    images.site.rbd('create', '--size', '32M', '--data-pool', 'rbd_data', spec)
    images.site.rbd('mirror', 'image', 'enable', spec, 'snapshot')
    images.created.append(spec)
    images.create('plain', size='32M')
    with a.image('ec') as image:
        image.write(rng.randbytes(4 * MiB), 0)
    first = snapshot_now(images, 'ec')
    wait_synced(site_b, spec, first)
    site_b.ceph('osd', 'pool', 'set-quota', 'rbd_data', 'max_bytes', '1')
    try:
        wait_for(lambda: pool_flagged_full(site_b, 'rbd_data'), 90, what="site-b's pool rbd_data flagged full")
        with a.image('ec') as image:
            image.write(rng.randbytes(8 * MiB), 4 * MiB)
        second = snapshot_now(images, 'ec')
        status = wait_for(lambda: (s := image_status(site_b, spec)) and s['state'] == 'error' and s, 60,
                          what='full data pool reported')
        assert "data pool 'rbd_data' on this site is full" in status['last_error']
        assert status['last_complete']['primary_snap_id'] == first   # nothing half-written is complete
        wait_for_health(site_b, 'MIRROR_SNAPSHOT_REPLAY_FAILED', present=True)
        detail = site_b.ceph_json('health', 'detail')['checks']['MIRROR_SNAPSHOT_REPLAY_FAILED']
        assert any("data pool 'rbd_data'" in d['message'] for d in detail['detail']), detail
        # The image's own pool is not full: its other images keep syncing.
        assert not pool_flagged_full(site_b, 'rbd')
        with a.image('plain') as image:
            image.write(rng.randbytes(6 * MiB), MiB)
        plain = snapshot_now(images, 'plain')
        assert_replica_matches(images, site_b, clients, 'plain', plain)
        status = image_status(site_b, spec)
        assert status['state'] == 'error' and status['last_complete']['primary_snap_id'] == first
    finally:
        site_b.ceph('osd', 'pool', 'set-quota', 'rbd_data', 'max_bytes', '0')
    # Room again: it goes on by itself.
    status = assert_replica_matches(images, site_b, clients, 'ec', second)
    assert status['last_error'] is None


def restart_module(site: Site) -> None:
    """A mgr failover, then wait for the module's client (options read at start) to be in place."""
    site.ceph('mgr', 'fail')
    wait_for(lambda: site.ceph('mirror', 'snapshot', 'version', check=False).returncode == 0, 180,
             what='the module to answer')
    wait_for(lambda: any(c.get('name') == 'mirror_snapshot'
                         for c in site.ceph_json('mgr', 'dump').get('active_clients', [])), 60,
             what='the native client registered with the mgr')


def mgr_log_lines(site: Site, needle: str) -> List[str]:
    return [line for log in (site.dir / 'log').glob('mgr.*.log') if not log.name.endswith('mirror_snapshot.log')
            for line in log.read_text(errors='replace').splitlines() if needle in line]


def test_a_sync_blocked_by_an_unanswering_osd_frees_its_thread(
        persistent_images: Images, images: Images, site_b: Site, persistent_clients, clients) -> None:
    """An OSD of site-b that stops answering (its PGs inactive) blocks a sync's operations in
    librados; after local_op_timeout they fail (ETIMEDOUT, retried later) and the sync thread is
    freed: with one sync thread, an image of another pool still syncs (review #13)."""
    a, _ = clients
    stuck = persistent_images.spec('stuck')   # pool rbd_persist: site-b's osd.1 alone
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/max_concurrent_image_syncs', '1')
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/local_op_timeout', '10')
    osd = None
    try:
        restart_module(site_b)
        persistent_images.create('stuck', size='8M')
        first = snapshot_now(persistent_images, 'stuck')
        wait_synced(site_b, stuck, first)
        images.create('plain', size='8M')
        osd = site_b.pause_osd('osd.1')   # alive, answering nothing
        with persistent_clients[0].image('stuck') as image:
            image.write(b'\1' * MiB, 0)
        second = snapshot_now(persistent_images, 'stuck')
        time.sleep(2)   # its sync has the only thread
        with a.image('plain') as image:
            image.write(b'\2' * MiB, 0)
        plain = snapshot_now(images, 'plain')
        wait_synced(site_b, images.spec('plain'), plain, timeout=120)
        # `status` answers with an OSD of its own site answering nothing: the
        # secondaries from memory, and why this site's primaries are missing.
        started = time.monotonic()
        rows = site_b.mirror_snapshot_json('status')['images']
        assert time.monotonic() - started < 30
        by_image = {row['image']: row for row in rows}
        assert by_image[images.spec('plain')]['role'] == 'secondary', rows
        unlisted = by_image['(this site)']
        assert unlisted['state'] == 'error' and 'primary images were not listed' in unlisted['last_error'], rows
        assert wait_for(lambda: [line for line in mgr_log_lines(site_b, f"replaying '{stuck}' failed")
                                 if 'Connection timed out' in line], 30, what="stuck's step failing with ETIMEDOUT")
        proc = site_b.mirror_snapshot('image', 'status', stuck, '--format', 'json', check=False)
        assert proc.returncode == 0, proc.stderr
        status = json.loads(proc.stdout)
        assert status['state'] == 'error' and 'did not answer in time' in status['last_error'], status
        assert status['last_complete']['primary_snap_id'] == first
    finally:
        if osd is not None:
            site_b.resume_osd('osd.1', osd)
        reset_option(site_b, 'max_concurrent_image_syncs', '16')
        reset_option(site_b, 'local_op_timeout', '60')
        restart_module(site_b)
    # The OSD answers again: the image goes on by itself.
    assert_replica_matches(persistent_images, site_b, persistent_clients, 'stuck', second)


def test_deleted_primary_mid_sync_is_never_complete(images: Images, site_b: Site, clients) -> None:
    _, b = clients
    try:
        # 1 GiB: the copy runs at 300-500 MiB/s and a status poll takes some 0.3 s.
        first, second = start_slow_sync(images, site_b, 'doomed', '1G', one_chunk=True)
        wait_for(copying_past(site_b, images.spec('doomed'), 0, 0.9), 60, interval=0.05, what='sync copying')
        # Held still by stopping site-b's OSD while the primary goes, so that
        # the deletion lands mid-copy.
        with site_b.paused_osd('osd.0'):
            images.site.rbd('mirror', 'image', 'disable', '--force', images.spec('doomed'))
            images.site.rbd('snap', 'purge', images.spec('doomed'), check=False)
            images.site.rbd('rm', '--no-progress', images.spec('doomed'))
    finally:
        reset_slow_sync(site_b)

    def settled():
        s = image_status(site_b, images.spec('doomed'))
        return s if s and s['state'] == 'error' and s['last_error'] else None
    status = wait_for(settled, 90, what='deleted primary reported')
    assert status['last_complete']['primary_snap_id'] == first, status
    with b.image('doomed', read_only=True) as image:
        names = [snap['name'] for snap in image.list_snaps()]
    assert f'mirror_snapshot.primary.{second}' not in names
    assert f'mirror_snapshot.primary.{first}' in names


def test_a_replica_whose_primary_is_gone_is_kept_until_the_operator_removes_it(images: Images, site_b: Site,
                                                                              clients) -> None:
    """A DR copy is never deleted behind the operator's back; nor is it left
    beyond their reach (fenced, `rbd snap purge` fails with EROFS)."""
    a, b = clients
    spec, child = images.spec('gone'), images.spec('child')
    images.create('gone', size='16M')
    with a.image('gone') as image:
        image.write(b'kept' * 1024, 4 * MiB)
    base = spec + '@base'
    images.site.rbd('snap', 'create', base)
    images.site.rbd('snap', 'protect', base)
    snap = snapshot_now(images, 'gone')
    wait_synced(site_b, spec, snap)
    images.site.rbd('clone', base, child)
    images.site.rbd('mirror', 'image', 'enable', child, 'snapshot')
    images.created.insert(0, child)
    wait_synced(site_b, child, snapshot_now(images, 'child'))
    held = b.digest('gone', snap_name=f'mirror_snapshot.primary.{snap}')

    def refused(expected: int, text: str, *args: str) -> None:
        proc = site_b.mirror_snapshot('image', 'remove', *args, check=False)
        assert proc.returncode == expected, (args, proc.returncode, proc.stderr)
        assert text in proc.stderr.decode(), proc.stderr

    def untouched() -> None:
        assert b.digest('gone', snap_name=f'mirror_snapshot.primary.{snap}') == held
        assert site_b.rbd('snap', 'purge', spec, check=False).returncode == 30   # EROFS: still fenced

    # While site-a mirrors it: refused, and nothing of it goes.
    refused(16, f"is the replica of '{spec}', which its peer still mirrors", spec)
    untouched()
    site_b.rbd('create', '--size', '1M', images.spec('plain'))
    refused(22, "is not a replica: rbd rm removes it", images.spec('plain'))
    refused(2, 'does not exist', images.spec('nope'))

    # The primaries go (the clone first, as Ceph wants): the replayer leaves
    # both replicas as they were, fenced, with their data.
    images.site.rbd('mirror', 'image', 'disable', child)
    images.site.rbd('rm', '--no-progress', child)
    images.site.rbd('snap', 'unprotect', base)
    images.site.rbd('snap', 'rm', base)
    images.site.rbd('mirror', 'image', 'disable', spec)
    images.site.rbd('rm', '--no-progress', spec)
    time.sleep(5)
    untouched()
    # A copy made here inherits the replica record, not the fence: never taken for a replica.
    site_b.rbd('cp', '--no-progress', spec, images.spec('copy'))
    refused(22, "carries a replica record but not the replayer's fence", images.spec('copy'))
    # While the child's replica depends on one of its snapshots, nothing of the parent's is touched.
    refused(16, "has clones of its snapshot 'base'", spec)
    untouched()

    for name, first in (('child', 0), ('gone', snap)):
        report = json.loads(site_b.mirror_snapshot('image', 'remove', images.spec(name), '--format',
                                                   'json').stdout)
        assert (report['image'], report['forced']) == (images.spec(name), False), report
        assert report['snapshots_removed'] >= 1 and (not first or report['primary_snap_id'] == first), report
        assert name not in rbd.RBD().list(b.ioctx)
    refused(2, 'does not exist', spec)


def test_killed_mgr_resumes_from_the_checkpoint(images: Images, site_b: Site, clients) -> None:
    try:
        _, second = start_slow_sync(images, site_b, 'resumed', '1G', one_chunk=True)
        wait_for(copying_past(site_b, images.spec('resumed'), 0.25, 0.9), 90, interval=0.05,
                 what='sync past its first checkpoints')
        active = site_b.active_mgr()
        os.kill(site_b.daemon_pid(f'mgr.{active}'), signal.SIGKILL)
        status = wait_for(lambda: (s := image_status(site_b, images.spec('resumed'))) and
                          s['last_complete'] and s['last_complete']['primary_snap_id'] == second and s,
                          240, interval=1, what='sync finished by the next mgr')
    finally:
        reset_slow_sync(site_b)
        sandbox('up')   # the killed mgr comes back as a standby
    assert status['last_sync']['resumed_at'] >= 64 * MiB, status['last_sync']
    assert_replica_matches(images, site_b, clients, 'resumed', second)


def test_next_mgr_blocklists_its_predecessors_peer_clients(images: Images, site_a: Site, site_b: Site) -> None:
    """The monitors fence a failed mgr's clients of its own cluster only; the
    next instance of the module fences those it had on the peer cluster, so
    that none of them keeps a primary image's exclusive lock (~30 s)."""
    def recorded() -> list:
        proc = site_b.ceph('config-key', 'get', 'mgr/mirror_snapshot/peer_clients', check=False)
        return json.loads(proc.stdout).get('site-a', []) if proc.returncode == 0 else []
    images.create('fenced', size='8M')
    wait_synced(site_b, images.spec('fenced'), snapshot_now(images, 'fenced'))
    before = set(wait_for(recorded, 60, what="site-b's peer clients recorded"))
    try:
        active = site_b.active_mgr()
        os.kill(site_b.daemon_pid(f'mgr.{active}'), signal.SIGKILL)
        site_b.ceph('mgr', 'fail', active)
        nonces = {a.rsplit('/', 1)[1] for a in before}

        def fenced() -> bool:
            listed = site_a.ceph('osd', 'blocklist', 'ls').stdout.decode()
            return all(f'/{n} ' in listed for n in nonces)
        wait_for(fenced, 90, what="the dead mgr's peer clients blocklisted on site-a")
        # The new instance records its own clients instead.
        wait_for(lambda: (now := set(recorded())) and not (now & before), 60, what='the record replaced')
    finally:
        sandbox('up')   # the killed mgr comes back as a standby
