"""`image verify` on the secondary: per-object checksums of the primary
snapshot against the local snapshot holding it, mismatches as extents."""
import random

from replication import image_status, reset_option, snapshot_now, wait_synced
from sandbox import Images, Site, wait_for

MiB = 1 << 20


def verify(site: Site, spec: str, *snap: str):
    return site.mirror_snapshot_json('image', 'verify', spec, *snap)


def test_verify_matches_then_names_the_corrupted_extent(images: Images, site_a: Site, site_b: Site,
                                                        clients) -> None:
    a, b = clients
    spec = images.spec('v')
    images.create('v', size='40M')
    with a.image('v') as image:
        image.write(random.Random(3).randbytes(10 * MiB), 0)
        image.write(b'\x01' * 4096, 30 * MiB + 4096)    # a partial block in a short object
    snap = snapshot_now(images, 'v')
    wait_synced(site_b, spec, snap)

    clean = verify(site_b, spec)
    assert clean['primary_snap_id'] == snap and clean['mismatches'] == [] and not clean['size_mismatch']
    assert clean['objects_compared'] == 10 and clean['bytes_compared'] == 40 * MiB

    # Corrupt the local snapshot (replay paused): swap it for one taken after a stray write.
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_skip_pools', 'rbd')
    try:
        wait_for(lambda: image_status(site_b, spec)['state'] == 'error', 30, what='replay of pool rbd paused')
        local = f'mirror_snapshot.primary.{snap}'
        b.set_fence('v', False)   # a replica refuses clients (EROFS): lifted by force
        with b.image('v') as image:
            image.rename_snap(local, 'kept')
            image.write(b'\xff' * 100, 5 * MiB + 70000)   # inside the 64 KiB block at 5 MiB + 64 KiB
            image.create_snap(local)
        corrupt = verify(site_b, spec, str(snap))
        assert corrupt['mismatches'] == [[5 * MiB + 65536, 65536]], corrupt
        plain = site_b.mirror_snapshot('image', 'verify', spec).stdout.decode()
        assert f'offset {5 * MiB + 65536} length 65536' in plain
    finally:
        reset_option(site_b, 'replay_skip_pools', '')


def test_verify_refuses_bad_input(images: Images, site_a: Site, site_b: Site) -> None:
    spec = images.spec('w')
    images.create('w', size='8M')
    snap = snapshot_now(images, 'w')
    wait_synced(site_b, spec, snap)
    for site, args, code, text in [
            (site_b, (images.spec('nope'),), 2, 'does not exist'),
            (site_a, (spec,), 22, 'is not a secondary here'),
            (site_b, (spec, '12x'), 22, "invalid snap_id (a primary snapshot id) '12x'"),
            (site_b, (spec, str(snap + 1000)), 2, f'holds no snapshot of primary snapshot {snap + 1000}')]:
        proc = site.mirror_snapshot('image', 'verify', *args, check=False)
        assert proc.returncode == code and text in proc.stderr.decode(), (args, proc.returncode, proc.stderr)
