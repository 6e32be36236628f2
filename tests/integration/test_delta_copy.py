"""The native copier applies mirror-snapshot deltas from site-a onto an image
on site-b: after a first copy and one delta, the site-b image equals the
primary's snapshot byte for byte and is not more allocated than it."""
import hashlib
import json
import random

import pytest
import rados
import rbd

from sandbox import Images, Site
from test_image_delta import MiB, mirror_snapshot, read_at, scenario


def allocated_bytes(site: Site, spec: str) -> int:
    usage = json.loads(site.rbd('du', '--format', 'json', spec).stdout)
    return sum(i['used_size'] for i in usage['images'] if i.get('snapshot') is None)


@pytest.mark.parametrize('kind', ['random-4k', 'sequential', 'discards', 'grow', 'shrink'])
def test_first_copy_then_delta_reproduce_the_primary(native, images: Images, site_b: Site, kind) -> None:
    a = rados.Rados(conffile=str(images.site.conf))
    a.connect()
    a_io = a.open_ioctx('rbd')
    a_io.set_namespace(images.namespace)
    # Another namespace than the primary's: the module's replayer owns that one on site-b.
    target = Images(site_b, images.namespace + '-copy')
    target.setup()
    try:
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
        first = native.copy_delta(src, 'rbd', images.namespace, 'img', 0, s1,
                                  dst, 'rbd', target.namespace, 'img', 8 * MiB, 0)
        assert first['bytes_read'] <= 20 * MiB
        b = rados.Rados(conffile=str(site_b.conf))
        b.connect()
        b_io = b.open_ioctx('rbd')
        b_io.set_namespace(target.namespace)
        try:
            with rbd.Image(b_io, 'img', read_only=True) as copy:
                assert hashlib.sha256(copy.read(0, copy.size())).digest() == \
                    hashlib.sha256(read_at(a_io, 'img', s1)).digest()
            second = native.copy_delta(src, 'rbd', images.namespace, 'img', s1, s2,
                                       dst, 'rbd', target.namespace, 'img', 8 * MiB, 0)
            at_s2 = read_at(a_io, 'img', s2)
            with rbd.Image(b_io, 'img', read_only=True) as copy:
                assert copy.size() == len(at_s2)
                assert hashlib.sha256(copy.read(0, copy.size())).digest() == hashlib.sha256(at_s2).digest()
        finally:
            b_io.close()
            b.shutdown()
        if kind == 'random-4k':
            # The writes themselves, plus at most the one object (8-12 MiB)
            # that was discarded before s1 and is recreated whole.
            assert second['bytes_read'] <= 40 * 4096 + 4 * MiB, second
        assert allocated_bytes(site_b, target.spec('img')) <= allocated_bytes(images.site, images.spec('img'))
    finally:
        target.cleanup()
        a_io.close()
        a.shutdown()
