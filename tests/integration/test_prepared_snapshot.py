"""A replica's local snapshot is taken with an id asked for while the copy
runs (native/replica/prepared_snapshot.h): without librbd, so these tests check it
leaves what librbd's own snapshot would, object maps included, and that
whatever it refuses leaves the image as it was."""
import json
from typing import Set

import pytest
import rbd

from replication import Client, MiB, assert_replica_matches, snapshot_now, wait_synced
from sandbox import Images, Site

OBJECT = 4 * MiB
RECORD = 'mirror_snapshot.replica'


def changed_objects(site: Site, spec: str, snap: str, from_snap: str = '') -> Set[int]:
    """Objects `rbd diff` reports changed, from the image's object maps (fast-diff)."""
    args = ['diff', '--whole-object', '--format', 'json', f'{spec}@{snap}']
    if from_snap:
        args[1:1] = ['--from-snap', from_snap]
    return {e['offset'] // OBJECT for e in json.loads(site.rbd(*args).stdout)}


def snapshot_flags(site: Site, spec: str, snap: str) -> list:
    return json.loads(site.rbd('info', '--format', 'json', f'{spec}@{snap}').stdout)['flags']


def write_objects(client: Client, name: str, objects, fill: bytes) -> None:
    with client.image(name) as image:
        for n in objects:
            image.write(fill * (64 << 10), n * OBJECT + 4096)


def test_prepared_snapshot_matches_what_librbd_takes(native, images: Images) -> None:
    spec = images.create('img', size='32M', mirror='')
    client = Client(images.site, images.namespace)
    cluster = native.Cluster.connect(str(images.site.conf))
    try:
        write_objects(client, 'img', [0, 2, 3], b'a')
        # Writable, so that it watches the header (read-only handles do not).
        with client.image('img') as reader:
            reader.list_snaps()  # an open handle that caches the snapshot list
            snap_id = native.testing.PreparedSnapshot(cluster, 'rbd', images.namespace, 'img').take('s1')
            # The header-update notification made the open handle refresh.
            assert {s['name']: s['id'] for s in reader.list_snaps()} == {'s1': snap_id}
        write_objects(client, 'img', [5], b'b')
        with client.image('img') as image:
            image.create_snap('s2')  # librbd's, after ours

        # The snapshot holds the data of its moment, and its own object map.
        assert client.digest('img', snap_name='s1') != client.digest('img', snap_name='s2')
        with client.image('img', snapshot='s1', read_only=True) as at_s1:
            assert at_s1.read(2 * OBJECT + 4096, 4) == b'aaaa'
            assert at_s1.read(5 * OBJECT + 4096, 4) == b'\0' * 4
        assert snapshot_flags(images.site, spec, 's1') == []
        assert changed_objects(images.site, spec, 's1') == {0, 2, 3}
        # The head's map was marked clean at s1: only object 5 changed since.
        assert changed_objects(images.site, spec, 's2', from_snap='s1') == {5}
        assert snapshot_flags(images.site, spec, 's2') == []
    finally:
        client.close()


def test_refusals_leave_the_image_as_it_was(native, images: Images) -> None:
    images.create('img', size='16M', mirror='')
    client = Client(images.site, images.namespace)
    cluster = native.Cluster.connect(str(images.site.conf))
    try:
        write_objects(client, 'img', [1], b'c')
        # A snapshot newer than the id asked for: the id is stale.
        stale = native.testing.PreparedSnapshot(cluster, 'rbd', images.namespace, 'img')
        with client.image('img') as image:
            image.create_snap('newer')
        with pytest.raises(OSError) as e:
            stale.take('late')
        assert e.value.errno == 116  # ESTALE
        # A name in use.
        with pytest.raises(OSError) as e:
            native.testing.PreparedSnapshot(cluster, 'rbd', images.namespace, 'img').take('newer')
        assert e.value.errno == 17  # EEXIST
        with client.image('img', read_only=True) as image:
            assert [s['name'] for s in image.list_snaps()] == ['newer']

        # Journaled images have their snapshots journaled: left to librbd.
        journaled = images.create('journaled', size='16M', mirror='')
        images.site.rbd('feature', 'enable', journaled, 'journaling')
        with pytest.raises(OSError) as e:
            native.testing.PreparedSnapshot(cluster, 'rbd', images.namespace, 'journaled').take('s')
        assert e.value.errno == 95  # ENOTSUP
        assert 'journal' in str(e.value)
        with client.image('journaled', read_only=True) as image:
            assert list(image.list_snaps()) == []
    finally:
        client.close()


def test_replica_snapshots_keep_fast_diff_exact(images: Images, site_b: Site) -> None:
    """Through the replayer: each local snapshot's object map says which
    objects its delta changed, no more, so a diff on the secondary (after a
    promotion, for failback) stays exact."""
    spec = images.create('img', size='32M')
    clients = (Client(images.site, images.namespace), Client(site_b, images.namespace))
    try:
        write_objects(clients[0], 'img', [0, 1, 6], b'd')
        s1 = snapshot_now(images, 'img')
        wait_synced(site_b, spec, s1)
        write_objects(clients[0], 'img', [3], b'e')
        s2 = snapshot_now(images, 'img')
        status = wait_synced(site_b, spec, s2)
        assert_replica_matches(images, site_b, clients, 'img', s2)
        first = f'mirror_snapshot.primary.{s1}'
        second = status['last_complete']['local_snap_name']
        assert changed_objects(site_b, spec, first) == {0, 1, 6}
        assert changed_objects(site_b, spec, second, from_snap=first) == {3}
        assert snapshot_flags(site_b, spec, second) == []
    finally:
        for c in clients:
            c.close()


def test_adopted_snapshot_without_its_object_map_is_completed(native, images: Images, site_b: Site,
                                                               clients) -> None:
    """A mgr killed inside librbd's snapshot create (which adds the snapshot,
    then its object map) leaves a snapshot nobody can open. The next mgr
    adopts it ("crashed after the local snapshot") and must first write its
    map and mark the head clean, as the create would have."""
    a, b = clients
    spec = images.create('img', size='32M')
    write_objects(a, 'img', [0, 1, 6], b'd')
    s1 = snapshot_now(images, 'img')
    wait_synced(site_b, spec, s1)
    # Held on the primary as it would be while s2 is in flight (the pin a
    # secondary keeps on its sync base; another secondary's, here).
    images.site.rbd('image-meta', 'set', spec, 'mirror_snapshot.sync.test-pin', f'from={s1},to={s1},updated=0')
    write_objects(a, 'img', [3], b'e')
    s2 = snapshot_now(images, 'img')
    wait_synced(site_b, spec, s2)
    at_s2 = a.digest('img', snap_id=s2)   # released on the primary once s3 is synced
    first, second = f'mirror_snapshot.primary.{s1}', f'mirror_snapshot.primary.{s2}'

    # The state such a crash leaves: the record still in flight to s2, the
    # local snapshot there without its map, the head's object 3 not yet clean.
    with b.image('img', read_only=True) as image:
        image_id = image.id()
        local_ids = {s['name']: s['id'] for s in image.list_snaps()}
    b.ioctx.remove_object(f'rbd_object_map.{image_id}.{local_ids[second]:016x}')
    with pytest.raises(rbd.ImageNotFound):
        b.image('img', snapshot=second, read_only=True)
    native.testing.mark_objects_existing(native.Cluster.connect(str(site_b.conf)), 'rbd', images.namespace, 'img', [3])
    record = dict(kv.split('=', 1) for kv in site_b.rbd('image-meta', 'get', spec, RECORD).stdout.decode()
                  .strip().split(','))
    record.update(primary_snap_id=str(s1), local_snap_id=str(local_ids[first]),
                  inflight_to_snap_id=str(s2), inflight_from_snap_id=str(s1))
    # (The replica is fenced against clients: lifted for the write, set again
    # as a step that failed after its snapshot leaves it.)
    b.set_fence('img', False)
    site_b.rbd('image-meta', 'set', spec, RECORD, ','.join(f'{k}={v}' for k, v in record.items()))
    b.set_fence('img', True)

    write_objects(a, 'img', [5], b'f')
    s3 = snapshot_now(images, 'img')   # the next step adopts s2, then syncs s3
    wait_synced(site_b, spec, s3)
    assert b.digest('img', snap_name=second) == at_s2
    assert changed_objects(site_b, spec, second, from_snap=first) == {3}
    assert snapshot_flags(site_b, spec, second) == []
    # The head was marked clean at s2: s3's delta is object 5 alone.
    assert changed_objects(site_b, spec, f'mirror_snapshot.primary.{s3}', from_snap=second) == {5}
    assert_replica_matches(images, site_b, clients, 'img', s3)
