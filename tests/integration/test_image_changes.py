"""Clones and image changes on the primary (issue 17, invariant 4): a clone
shrunk and regrown (its parent overlap lowered), a clone flattened, an image
renamed. At every complete snapshot the replica reads what the primary read,
and shows the same parent and overlap."""
import json
import random
from typing import Dict, Optional, Tuple

import rbd

from replication import assert_replica_matches, image_status, snapshot_now, wait_synced
from sandbox import Images, Site, resize, wait_for

MiB = 1 << 20


def verify(site_b: Site, spec: str, snap_id: int) -> dict:
    return site_b.mirror_snapshot_json('image', 'verify', spec, str(snap_id))


def parent_view(image: rbd.Image) -> Optional[Tuple[str, str, int]]:
    """(parent image, parent snapshot, overlap) at the snapshot the handle is set to; None: no parent."""
    try:
        _, parent, snap = image.parent_info()
    except rbd.ImageNotFound:
        return None
    return parent, snap, image.overlap()


def primary_parent_view(client, name: str, snap_id: int):
    with client.image(name, read_only=True) as image:
        image.set_snap_by_id(snap_id)
        return parent_view(image)


def replica_parent_view(client, name: str, snap_id: int):
    with client.image(name, snapshot=f'mirror_snapshot.primary.{snap_id}', read_only=True) as image:
        return parent_view(image)


def assert_same_at_every_snapshot(images: Images, site_b: Site, clients, name: str, snaps: Dict[str, int]) -> None:
    """Data (SHA-256), parent and overlap of each complete replica snapshot
    equal the primary's, and `image verify` finds no mismatch."""
    a, b = clients
    spec = images.spec(name)
    for label, snap_id in snaps.items():
        local = f'mirror_snapshot.primary.{snap_id}'
        assert b.digest(name, snap_name=local) == a.digest(name, snap_id=snap_id), label
        assert replica_parent_view(b, name, snap_id) == primary_parent_view(a, name, snap_id), label
        checked = verify(site_b, spec, snap_id)
        assert checked['mismatches'] == [] and not checked['size_mismatch'], (label, checked)


def reads_zeros(image: rbd.Image, offset: int, length: int) -> bool:
    return image.read(offset, length) == bytes(length)


class Family:
    """A parent with data everywhere and a protected snapshot @base on site-a,
    replicated, and a clone of it, mirrored in snapshot mode."""

    def __init__(self, images: Images, site_b: Site, clients, size_mib: int = 32, mirror_child: bool = True) -> None:
        self.images = images
        self.parent_data = random.Random(7).randbytes(size_mib * MiB)
        a, _ = clients
        images.create('parent', size=f'{size_mib}M')
        with a.image('parent') as image:
            image.write(self.parent_data, 0)
        self.base = images.spec('parent') + '@base'
        images.site.rbd('snap', 'create', self.base)
        images.site.rbd('snap', 'protect', self.base)
        parent_snap = snapshot_now(images, 'parent')
        assert_replica_matches(images, site_b, clients, 'parent', parent_snap)
        self.child = images.spec('child')
        images.site.rbd('clone', self.base, self.child)
        images.created.insert(0, self.child)   # removed before its parent
        if mirror_child:
            self.mirror_child()

    def mirror_child(self) -> None:
        self.images.site.rbd('mirror', 'image', 'enable', self.child, 'snapshot')

    def cleanup(self) -> None:
        site = self.images.site
        site.rbd('mirror', 'image', 'disable', '--force', self.child, check=False)
        site.rbd('snap', 'purge', '--no-progress', self.child, check=False)
        site.rbd('rm', '--no-progress', self.child, check=False)
        site.rbd('snap', 'unprotect', self.base, check=False)


def test_a_clone_shrunk_and_regrown_reads_zeros_past_its_overlap_on_the_replica(images: Images, site_b: Site,
                                                                               clients) -> None:
    """Review #7: cls_rbd lowers a clone's parent overlap when it shrinks and
    never raises it again: the regrown part reads zeros, not the parent."""
    a, b = clients
    family = Family(images, site_b, clients)
    try:
        with a.image('child') as image:
            image.write(b'c' * 8192, 100_000)              # a copy-up below the new overlap
            image.write(b'd' * 8192, 20 * MiB + 100_000)   # one past it, cut by the shrink
        first = snapshot_now(images, 'child')
        assert_replica_matches(images, site_b, clients, 'child', first)
        assert replica_parent_view(b, 'child', first) == ('parent', 'base', 32 * MiB)

        with a.image('child') as image:
            resize(image, 10 * MiB + 4096)   # inside an object: part of it keeps reading the parent
            resize(image, 32 * MiB)
            assert image.overlap() == 10 * MiB + 4096
            assert reads_zeros(image, 10 * MiB + 4096, 22 * MiB - 4096)
            assert image.read(8 * MiB, 4096) == family.parent_data[8 * MiB:8 * MiB + 4096]
            image.write(b'e' * 4096, 28 * MiB)             # a new object past the overlap
        second = snapshot_now(images, 'child')
        assert_replica_matches(images, site_b, clients, 'child', second)
        assert_same_at_every_snapshot(images, site_b, clients, 'child', {'before': first, 'after': second})
        with b.image('child', snapshot=f'mirror_snapshot.primary.{second}', read_only=True) as image:
            assert reads_zeros(image, 10 * MiB + 4096, 18 * MiB - 4096)

        # And the step after it, with no resize, keeps it so.
        with a.image('child') as image:
            image.write(b'f' * 4096, 2 * MiB)
        third = snapshot_now(images, 'child')
        assert_replica_matches(images, site_b, clients, 'child', third)
        assert_same_at_every_snapshot(images, site_b, clients, 'child', {'after': second, 'next': third})
    finally:
        family.cleanup()


def test_a_clone_shrunk_and_regrown_before_mirroring(images: Images, site_b: Site, clients) -> None:
    """Shrunk with no snapshot, the clone's objects past the new size are
    just gone: the regrown part reads zeros through the lowered overlap,
    and no delta has an object there. The replica is created as a clone at
    the parent's full overlap: the primary's overlap is replayed at the
    first sync."""
    a, b = clients
    family = Family(images, site_b, clients, mirror_child=False)
    try:
        with a.image('child') as image:
            image.write(b'c' * 8192, 20 * MiB)   # a copy-up, cut by the shrink
            resize(image, 6 * MiB)
            resize(image, 32 * MiB)
            assert reads_zeros(image, 6 * MiB, 26 * MiB)
        family.mirror_child()
        first = snapshot_now(images, 'child')
        assert_replica_matches(images, site_b, clients, 'child', first)
        assert_same_at_every_snapshot(images, site_b, clients, 'child', {'first': first})
    finally:
        family.cleanup()


def test_a_clone_flattened_on_the_primary(images: Images, site_b: Site, clients) -> None:
    a, b = clients
    family = Family(images, site_b, clients)
    try:
        with a.image('child') as image:
            image.write(b'c' * 8192, 5 * MiB)
        first = snapshot_now(images, 'child')
        assert_replica_matches(images, site_b, clients, 'child', first)
        assert_same_at_every_snapshot(images, site_b, clients, 'child', {'clone': first})

        images.site.rbd('flatten', '--no-progress', family.child)
        with a.image('child') as image:
            assert parent_view(image) is None
            image.write(b'd' * 8192, 9 * MiB)
        second = snapshot_now(images, 'child')
        assert_replica_matches(images, site_b, clients, 'child', second)
        assert_same_at_every_snapshot(images, site_b, clients, 'child', {'clone': first, 'flattened': second})
        with b.image('child', read_only=True) as image:
            assert parent_view(image) is None, 'the replica still depends on its parent'
        # The parent's snapshot is no longer needed by the replica either.
        info = json.loads(site_b.rbd('info', '--format', 'json', family.child).stdout)
        assert 'parent' not in info, info
    finally:
        family.cleanup()


def test_a_renamed_primary_renames_its_replica(images: Images, site_b: Site, clients) -> None:
    """Documented (docs/user-guide.md): the replica follows the primary's
    name within seconds; it is the same image, updated by a delta, and the
    old name is unknown on both sites."""
    a, b = clients
    images.create('before', size='32M')
    with a.image('before') as image:
        image.write(random.Random(5).randbytes(16 * MiB), 0)
    first = snapshot_now(images, 'before')
    assert_replica_matches(images, site_b, clients, 'before', first)
    with b.image('before', read_only=True) as image:
        replica_id = image.id()

    def replica_names() -> list:
        return json.loads(site_b.rbd('ls', '--format', 'json', f'rbd/{images.namespace}').stdout)

    images.site.rbd('rename', images.spec('before'), images.spec('after'))
    images.created = [images.spec('after') if s == images.spec('before') else s for s in images.created]
    with a.image('after') as image:
        image.write(b'r' * 4096, 20 * MiB)
    second = snapshot_now(images, 'after')
    # Renamed once the replayer has seen the new name (its refresh, <= 5 s).
    wait_for(lambda: replica_names() == ['after'], 30, what='the replica renamed')
    status = assert_replica_matches(images, site_b, clients, 'after', second)
    assert status['last_sync']['bytes'] <= MiB, status['last_sync']   # a delta, not a new first sync
    with b.image('after', read_only=True) as image:
        assert image.id() == replica_id
    assert image_status(site_b, images.spec('before')) is None
    assert_same_at_every_snapshot(images, site_b, clients, 'after', {'before the rename': first, 'after': second})

    # It goes on: the next writes and snapshots land on the renamed replica.
    with a.image('after') as image:
        image.write(b's' * 4096, 24 * MiB)
    third = snapshot_now(images, 'after')
    assert_replica_matches(images, site_b, clients, 'after', third)
    assert wait_synced(site_b, images.spec('after'), third)['last_sync']['bytes'] <= MiB


def test_a_replica_clone_shrunk_and_regrown_by_force_is_never_recorded_complete(images: Images, site_b: Site,
                                                                               clients) -> None:
    """Invariant 2 for clones: a shrink and regrow behind the fence keeps the
    replica's size and lowers its overlap: found before the next step."""
    a, b = clients
    family = Family(images, site_b, clients)
    try:
        first = snapshot_now(images, 'child')
        assert_replica_matches(images, site_b, clients, 'child', first)
        b.set_fence('child', False)   # a forced operation on the secondary
        with b.image('child') as image:
            resize(image, 10 * MiB)
            resize(image, 32 * MiB)
        with a.image('child') as image:
            image.write(b'w' * 4096, 0)
        snapshot_now(images, 'child')   # its step finds the overlap changed
        status = wait_for(lambda: (s := image_status(site_b, family.child)) and s['last_error'] and
                          'had its parent overlap changed since snapshot' in s['last_error'] and s, 90,
                          what='the overlap change reported')
        assert status['last_complete']['primary_snap_id'] == first, status
        assert replica_parent_view(b, 'child', first) == ('parent', 'base', 32 * MiB)
    finally:
        family.cleanup()
