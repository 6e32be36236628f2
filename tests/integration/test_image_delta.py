"""The native delta between two snapshots of a real image, mirror snapshots
included (librbd's diff_iterate cannot start from a mirror snapshot).

Oracle: a copy of the image at the `from` snapshot, with the delta applied
(changed ranges read from the `to` snapshot, zeroed ranges zeroed), must equal
the image at the `to` snapshot byte for byte."""
import hashlib
import random

import pytest
import rbd

from sandbox import Images, resize

MiB = 1 << 20


PIN = 'mirror_snapshot.sync.test-pin'


def mirror_snapshot(images: Images, name: str) -> int:
    """A new mirror snapshot, pinned (with the first one this test took) as a
    secondary would pin them: site-b's replayer, after syncing, releases the
    primary's older snapshots that no secondary pins."""
    spec = images.spec(name)
    images.site.rbd('mirror', 'image', 'snapshot', spec)
    snap_id = images.mirror_snapshots(spec)[-1]['id']
    pinned = images.site.rbd('image-meta', 'get', spec, PIN, check=False)
    first = pinned.stdout.decode().split(',')[0].split('=')[1] if pinned.returncode == 0 else str(snap_id)
    images.site.rbd('image-meta', 'set', spec, PIN, f'from={first},to={snap_id},updated=0')
    return snap_id


def read_at(ioctx, name: str, snap_id: int) -> bytes:
    with rbd.Image(ioctx, name, read_only=True) as image:
        image.set_snap_by_id(snap_id)
        return image.read(0, image.size()) if image.size() else b''


def apply_delta(source: bytes, target_at_to: bytes, delta: dict) -> bytes:
    out = bytearray(source[:delta['size_at_to']].ljust(delta['size_at_to'], b'\0'))
    for off, length in delta['changed'] + delta['created']:
        out[off:off + length] = target_at_to[off:off + length]
    for off, length in delta['zeroed']:
        end = min(off + length, len(out))
        if off < end:
            out[off:end] = bytes(end - off)
    return bytes(out)


def scenario(image, rng: random.Random, kind: str) -> None:
    size = image.size()
    if kind == 'random-4k':
        # Within objects that existed at `from`: an object created since is
        # reported whole (its holes read back as zeros), these are exact.
        for _ in range(40):
            image.write(rng.randbytes(4096), rng.randrange(0, 20 * MiB - 4096, 512))
    elif kind == 'sequential':
        image.write(rng.randbytes(9 * MiB), 3 * MiB + 12345)   # crosses object boundaries
    elif kind == 'discards':
        image.discard(4 * MiB, 4 * MiB)                        # a whole object
        image.discard(9 * MiB + 100, 300 * 1024)               # part of one
        image.write_zeroes(13 * MiB, 2 * MiB + 4096) if hasattr(image, 'write_zeroes') else \
            image.write(bytes(2 * MiB + 4096), 13 * MiB)
    elif kind == 'grow':
        resize(image, size + 8 * MiB)
        image.write(rng.randbytes(MiB), size + 6 * MiB)
    elif kind == 'shrink':
        resize(image, size - 5 * MiB - 4096)


@pytest.mark.parametrize('kind', ['random-4k', 'sequential', 'discards', 'grow', 'shrink'])
def test_delta_between_mirror_snapshots_reproduces_the_image(native, images: Images, clients, kind) -> None:
    ioctx = clients[0].ioctx
    spec = images.create('img', size='32M')
    rng = random.Random(kind)
    with rbd.Image(ioctx, 'img') as image:
        image.write(rng.randbytes(20 * MiB), 0)
    s1 = mirror_snapshot(images, 'img')
    with rbd.Image(ioctx, 'img') as image:
        scenario(image, rng, kind)
    s2 = mirror_snapshot(images, 'img')

    local = native.Cluster.connect(str(images.site.conf))
    delta = native.testing.image_delta(local, 'rbd', images.namespace, 'img', s1, s2)
    at_from, at_to = read_at(ioctx, 'img', s1), read_at(ioctx, 'img', s2)
    assert len(at_to) == delta['size_at_to']
    rebuilt = apply_delta(at_from, at_to, delta)
    assert hashlib.sha256(rebuilt).hexdigest() == hashlib.sha256(at_to).hexdigest()
    changed = sum(length for _, length in delta['changed'])
    if kind == 'random-4k':   # only what was written, not whole objects
        assert changed <= 40 * 4096, changed
    assert delta['objects_scanned'] >= delta['objects_changed']
    # From nothing, the delta is the whole allocated image.
    full = native.testing.image_delta(local, 'rbd', images.namespace, 'img', 0, s2)
    assert hashlib.sha256(apply_delta(b'', at_to, full)).hexdigest() == hashlib.sha256(at_to).hexdigest()
    del local
    assert spec


def test_unknown_snapshot_is_enoent(native, images: Images) -> None:
    images.create('img', size='8M')
    local = native.Cluster.connect(str(images.site.conf))
    with pytest.raises(OSError) as error:
        native.testing.image_delta(local, 'rbd', images.namespace, 'img', 0, 987654)
    assert error.value.errno == 2 and '987654' in error.value.strerror
