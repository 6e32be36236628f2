"""The native copier applies mirror-snapshot deltas from site-a onto an image
on site-b: after a first copy and one delta, the site-b image equals the
primary's snapshot byte for byte and is not more allocated than it."""
import contextlib
import hashlib
import json
import random
from typing import Iterator

import pytest
import rados
import rbd

from sandbox import Images, Site
from test_image_delta import MiB, mirror_snapshot, read_at, scenario


@contextlib.contextmanager
def pool_io(site: Site, namespace: str) -> Iterator[rados.Ioctx]:
    """Pool rbd of `site`, in `namespace`, through a client of its own."""
    cluster = rados.Rados(conffile=str(site.conf))
    cluster.connect()
    try:
        io = cluster.open_ioctx('rbd')
        io.set_namespace(namespace)
        try:
            yield io
        finally:
            io.close()
    finally:
        cluster.shutdown()


def allocated_bytes(site: Site, spec: str) -> int:
    usage = json.loads(site.rbd('du', '--format', 'json', spec).stdout)
    return sum(i['used_size'] for i in usage['images'] if i.get('snapshot') is None)


@pytest.mark.parametrize('kind', ['random-4k', 'sequential', 'discards', 'grow', 'shrink'])
def test_first_copy_then_delta_reproduce_the_primary(native, images: Images, site_b: Site, kind) -> None:
    # Another namespace than the primary's: the module's replayer owns that one on site-b.
    target = Images(site_b, images.namespace + '-copy')
    target.setup()
    with contextlib.ExitStack() as stack:
        stack.callback(target.cleanup)
        a_io = stack.enter_context(pool_io(images.site, images.namespace))
        images.create('img', size='32M')
        rng = random.Random(kind)
        with rbd.Image(a_io, 'img') as image:
            image.write(rng.randbytes(20 * MiB), 0)
            image.discard(8 * MiB, 4 * MiB)  # a hole in the first copy
        s1 = mirror_snapshot(images, 'img')
        with rbd.Image(a_io, 'img') as image:
            scenario(image, rng, kind)
        s2 = mirror_snapshot(images, 'img')

        target.create('img', size='32M', mirror='')
        src = native.Cluster.connect(str(images.site.conf))
        dst = native.Cluster.connect(str(site_b.conf))
        first = native.testing.copy_delta(src, 'rbd', images.namespace, 'img', 0, s1,
                                  dst, 'rbd', target.namespace, 'img', 8 * MiB, 0)
        assert first['bytes_read'] <= 20 * MiB
        with pool_io(site_b, target.namespace) as b_io:
            with rbd.Image(b_io, 'img', read_only=True) as copy:
                assert hashlib.sha256(copy.read(0, copy.size())).digest() == \
                    hashlib.sha256(read_at(a_io, 'img', s1)).digest()
            second = native.testing.copy_delta(src, 'rbd', images.namespace, 'img', s1, s2,
                                       dst, 'rbd', target.namespace, 'img', 8 * MiB, 0)
            at_s2 = read_at(a_io, 'img', s2)
            with rbd.Image(b_io, 'img', read_only=True) as copy:
                assert copy.size() == len(at_s2)
                assert hashlib.sha256(copy.read(0, copy.size())).digest() == hashlib.sha256(at_s2).digest()
        if kind == 'random-4k':
            # The writes themselves, plus at most the one object (8-12 MiB)
            # that was discarded before s1 and is recreated whole.
            assert second['bytes_read'] <= 40 * 4096 + 4 * MiB, second
        assert allocated_bytes(site_b, target.spec('img')) <= allocated_bytes(images.site, images.spec('img'))


def test_a_delta_of_many_small_extents_holds_at_most_1024_chunks(native, images: Images, site_b: Site) -> None:
    """Chunks exist only while in flight (review #10): a delta of 3,000 separate 4 KiB writes
    never holds more than 1,024 of them at once, though its 12 MiB fit in the bytes in flight;
    and the copy is still pipelined, and exact."""
    target = Images(site_b, images.namespace + '-copy')
    target.setup()
    with contextlib.ExitStack() as stack:
        stack.callback(target.cleanup)
        a_io = stack.enter_context(pool_io(images.site, images.namespace))
        images.create('many', size='64M')
        rng = random.Random(21)
        with rbd.Image(a_io, 'many') as image:
            image.write(rng.randbytes(48 * MiB), 0)
        s1 = mirror_snapshot(images, 'many')
        with rbd.Image(a_io, 'many') as image:
            for i in range(3000):   # 16 KiB apart: 3,000 ranges of objects that existed at s1
                image.write(rng.randbytes(4096), i * 16384)
        s2 = mirror_snapshot(images, 'many')
        delta = native.testing.image_delta(native.Cluster.connect(str(images.site.conf)), 'rbd', images.namespace,
                                   'many', s1, s2)
        assert len(delta['changed']) == 3000 and not delta['created'], (len(delta['changed']), delta['created'])

        target.create('many', size='64M', mirror='')
        src = native.Cluster.connect(str(images.site.conf))
        dst = native.Cluster.connect(str(site_b.conf))
        native.testing.copy_delta(src, 'rbd', images.namespace, 'many', 0, s1, dst, 'rbd', target.namespace, 'many',
                          64 * MiB, 0)
        second = native.testing.copy_delta(src, 'rbd', images.namespace, 'many', s1, s2, dst, 'rbd', target.namespace,
                                   'many', 64 * MiB, 0)
        assert 1 < second['max_chunks_in_flight'] <= 1024, second
        assert second['bytes_read'] == 3000 * 4096, second
        with pool_io(site_b, target.namespace) as b_io:
            with rbd.Image(b_io, 'many', read_only=True) as copy:
                assert hashlib.sha256(copy.read(0, copy.size())).digest() == \
                    hashlib.sha256(read_at(a_io, 'many', s2)).digest()


def whole_objects_in_map(io, name: str, object_size: int) -> set:
    """Objects the image's head object map says exist (fast-diff from nothing)."""
    found = set()
    with rbd.Image(io, name, read_only=True) as image:
        image.diff_iterate(0, image.size(), None,
                           lambda off, length, exists: found.add(off // object_size) if exists else None,
                           whole_object=True)
    return found


@pytest.mark.parametrize('locked', [True, False])
def test_marked_created_objects_keep_the_object_map_exact(native, images: Images, site_b: Site, locked) -> None:
    """Created objects written wholly with librados are in the target's object
    map (a fresh handle reads them and fast-diff lists exactly them); without
    the exclusive lock the copier falls back to librbd's first write."""
    target = Images(site_b, images.namespace + '-mark')
    target.setup()
    with contextlib.ExitStack() as stack:
        stack.callback(target.cleanup)
        a_io = stack.enter_context(pool_io(images.site, images.namespace))
        b_io = stack.enter_context(pool_io(site_b, target.namespace))
        images.create('img', size='32M')
        rng = random.Random(7)
        with rbd.Image(a_io, 'img') as image:
            image.write(rng.randbytes(4 * MiB), 0)               # object 0, whole
            image.write(rng.randbytes(64 * 1024), 9 * MiB)       # object 2, one extent
            image.write(rng.randbytes(4096), 9 * MiB + 200_000)  # object 2, a second one
            image.write(bytes(4 * MiB), 12 * MiB)                # object 3: zeros only
            image.write(rng.randbytes(4096), 21 * MiB)           # object 5
        s1 = mirror_snapshot(images, 'img')
        target.create('img', size='32M', mirror='')
        src = native.Cluster.connect(str(images.site.conf))
        # As the replayer connects: librbd's cache off, so librados may write too.
        dst = native.Cluster.connect(str(site_b.conf), config={'rbd_cache': 'false'})
        stats = native.testing.copy_delta(src, 'rbd', images.namespace, 'img', 0, s1, dst, 'rbd', target.namespace, 'img',
                                  8 * MiB, 0, mark_created_objects=True, lock_target=locked)
        assert stats['objects_marked'] == (3 if locked else 0), stats
        assert whole_objects_in_map(b_io, 'img', 4 * MiB) == {0, 2, 5}
        with rbd.Image(b_io, 'img', read_only=True) as copy:
            assert hashlib.sha256(copy.read(0, copy.size())).digest() == \
                hashlib.sha256(read_at(a_io, 'img', s1)).digest()
        assert allocated_bytes(site_b, target.spec('img')) <= allocated_bytes(images.site, images.spec('img'))


def test_marker_sets_exactly_the_objects_given(native, images: Images) -> None:
    """Many runs of objects at once (more than it sends together), none lost:
    each run is its own cls_rbd call, as one call would undo the ones before."""
    images.create('img', size='1G')
    objects = [n for n in range(0, 256, 2)] + [101, 255]  # 128 runs and two joined ones
    cluster = native.Cluster.connect(str(images.site.conf))
    native.testing.mark_objects_existing(cluster, 'rbd', images.namespace, 'img', list(reversed(objects)) + [0])
    with pool_io(images.site, images.namespace) as io:
        assert whole_objects_in_map(io, 'img', 4 * MiB) == set(objects)
