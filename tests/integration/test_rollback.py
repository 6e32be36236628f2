"""Rolling HEAD back to a snapshot touching only the objects changed since
(native/roles/head_rollback.*), on real images of site-a.

Oracle: after the rollback, HEAD reads exactly like the snapshot, `rbd
object-map check` finds the object map right, and the number of objects
rolled back is the number that changed, not the number allocated."""
import hashlib
import random

import pytest
import rbd

from sandbox import Images, resize

MiB = 1 << 20


@pytest.fixture
def ioctx(clients):
    return clients[0].ioctx  # site-a, in the test's namespace


def digest(ioctx, name: str, snapshot=None) -> str:
    with rbd.Image(ioctx, name, snapshot=snapshot, read_only=True) as image:
        h = hashlib.sha256()
        size = image.size()
        for off in range(0, size, 4 * MiB):
            h.update(image.read(off, min(4 * MiB, size - off)))
        return f'{size}:{h.hexdigest()}'


def object_map_ok(images: Images, name: str) -> bool:
    proc = images.site.rbd('object-map', 'check', '--no-progress', images.spec(name), check=False)
    return proc.returncode == 0 and b'failed' not in proc.stderr


def change(image: rbd.Image, rng: random.Random, kind: str) -> int:
    """Writes one kind of change after the snapshot; returns how many objects it touched."""
    size = image.size()
    if kind == 'overwrite':
        for obj in (0, 3, 5):
            image.write(rng.randbytes(64 * 1024), obj * 4 * MiB + 8192)
        return 3
    if kind == 'new-objects':          # objects absent at the snapshot
        image.write(rng.randbytes(2 * 4 * MiB), 24 * MiB)
        return 2
    if kind == 'discard':              # whole objects removed since the snapshot
        image.discard(0, 8 * MiB)
        return 2
    if kind == 'grow':
        resize(image, size + 8 * MiB)
        image.write(rng.randbytes(MiB), size + 4 * MiB)
        return 1
    if kind == 'shrink':               # objects 3 and 4 (with data) go away
        resize(image, 12 * MiB)
        return 2
    raise AssertionError(kind)


@pytest.mark.parametrize('kind', ['overwrite', 'new-objects', 'discard', 'grow', 'shrink'])
def test_rollback_restores_the_snapshot_touching_only_changed_objects(images: Images, ioctx, native,
                                                                      kind: str) -> None:
    rng = random.Random(kind)
    images.create('img', size='32M', mirror='')
    with rbd.Image(ioctx, 'img') as image:
        image.write(rng.randbytes(20 * MiB), 0)     # objects 0..4 allocated
        image.create_snap('base')
        touched = change(image, rng, kind)
        image.create_snap('later')                 # a newer snapshot keeps its data
    later = digest(ioctx, 'img', 'later')
    assert digest(ioctx, 'img') != digest(ioctx, 'img', 'base')

    cluster = native.Cluster.connect(str(images.site.conf))
    report = native.testing.rollback_head(cluster, 'rbd', images.namespace, 'img', 'base')

    assert digest(ioctx, 'img') == digest(ioctx, 'img', 'base')
    assert digest(ioctx, 'img', 'later') == later
    assert object_map_ok(images, 'img')
    assert report['objects_rolled_back'] == touched
    # Examined: what the object map says changed, plus (after a shrink) every
    # object past the new end, which librbd's diff does not report.
    assert report['objects_examined'] <= (5 if kind == 'shrink' else touched)
    assert report['bytes_rolled_back'] > 0


def test_rollback_of_a_clone_brings_back_the_parent_data(images: Images, ioctx, native) -> None:
    rng = random.Random(7)
    images.create('parent', size='16M', mirror='')
    with rbd.Image(ioctx, 'parent') as image:
        image.write(rng.randbytes(16 * MiB), 0)
        image.create_snap('s')
        image.protect_snap('s')
    rbd.RBD().clone(ioctx, 'parent', 's', ioctx, 'child', features=rbd.RBD_FEATURE_LAYERING |
                    rbd.RBD_FEATURE_EXCLUSIVE_LOCK | rbd.RBD_FEATURE_OBJECT_MAP | rbd.RBD_FEATURE_FAST_DIFF)
    images.created.insert(0, images.spec('child'))
    with rbd.Image(ioctx, 'child') as child:
        child.write(rng.randbytes(4096), 4 * MiB)      # a copy-up before the snapshot
        child.create_snap('base')
        child.write(rng.randbytes(4096), 8 * MiB)      # copy-up after it: must go
        child.write(rng.randbytes(4096), 4 * MiB + 8192)
    cluster = native.Cluster.connect(str(images.site.conf))
    report = native.testing.rollback_head(cluster, 'rbd', images.namespace, 'child', 'base')
    assert digest(ioctx, 'child') == digest(ioctx, 'child', 'base')
    assert report['objects_rolled_back'] == 2
    assert object_map_ok(images, 'child')


def test_rollback_to_a_missing_snapshot_is_enoent(images: Images, native) -> None:
    images.create('img', size='8M', mirror='')
    cluster = native.Cluster.connect(str(images.site.conf))
    with pytest.raises(OSError) as e:
        native.testing.rollback_head(cluster, 'rbd', images.namespace, 'img', 'nope')
    assert e.value.errno == 2 and "snapshot 'nope'" in e.value.strerror
