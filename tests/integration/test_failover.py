"""Failover and failback: demote, promote [--force], resync, on the real
sites. Data is checked by SHA-256 of both sides' HEADs; incremental means the
bytes copied after a failback are those written, not the image size."""
import json
import random
from typing import Dict, List

import pytest
import rbd

from replication import (copying_past, image_status, reset_slow_sync, snapshot_now, start_slow_sync,
                         wait_for_health)
from sandbox import Images, Site, wait_for

MiB = 1 << 20
SPLIT_BRAIN = 'MIRROR_SNAPSHOT_SPLIT_BRAIN'


def role_change(site: Site, verb: str, spec: str, *flags: str) -> Dict:
    return site.mirror_snapshot_json('image', verb, spec, *flags)


def create_on(site: Site, spec: str) -> int:
    return site.mirror_snapshot_json('create', spec)['snap_id']


def scheduled_images(site: Site) -> List[str]:
    """Images a schedule of `site` will snapshot (not those it skips as non-primary)."""
    return [row['image'] for row in site.mirror_snapshot_json('schedule', 'status')['images']
            if row['level'] is not None and row['state'] != 'skipped']


def wait_secondary_of(site: Site, spec: str, snap_id: int, ready: bool = False, timeout: float = 120) -> Dict:
    """`spec` on `site` is a secondary holding primary snapshot `snap_id`."""
    def synced():
        s = image_status(site, spec)
        if not s or s['role'] != 'secondary' or s['state'] != 'idle' or not s['last_complete']:
            return None
        if s['last_complete']['primary_snap_id'] != snap_id or (ready and not s['ready_to_promote']):
            return None
        return s
    return wait_for(synced, timeout, interval=0.5, what=f'{spec} on {site.name} holding snapshot {snap_id}')


def write_random(image: rbd.Image, rng: random.Random, total: int, io_size: int = 64 * 1024) -> None:
    for _ in range(total // io_size):
        image.write(rng.randbytes(io_size), rng.randrange(0, image.size() - io_size, 4096))


def test_planned_failover_and_failback_round_trip(images: Images, site_a: Site, site_b: Site, clients) -> None:
    a, b = clients
    spec = images.spec('db')
    level = f'rbd/{images.namespace}/'
    images.create('db', size='64M')
    site_a.mirror_snapshot('schedule', 'add', level, '1h')   # (adding re-lists the images)
    try:
        rng = random.Random(1)
        with a.image('db') as image:
            write_random(image, rng, 16 * MiB)
        wait_secondary_of(site_b, spec, snapshot_now(images, 'db'))
        # The same schedule on site-b (its namespace exists now): it follows the primary.
        site_b.mirror_snapshot('schedule', 'add', level, '1h')
        wait_for(lambda: spec in scheduled_images(site_a) and spec not in scheduled_images(site_b), 30,
                 what='the schedule to cover the primary on site-a only')

        demoted = role_change(site_a, 'demote', spec)['demoted_snap_id']
        with pytest.raises(rbd.Error):  # clients can no longer write the demoted image
            with a.image('db') as image:
                image.write(b'x' * 4096, 0)
        wait_secondary_of(site_b, spec, demoted, ready=True)
        promoted = role_change(site_b, 'promote', spec)
        assert promoted['primary_snap_id'] == demoted and promoted['rolled_back'] is None
        assert image_status(site_b, spec)['role'] == 'primary'
        wait_for(lambda: spec in scheduled_images(site_b) and spec not in scheduled_images(site_a), 30,
                 what='the schedule to follow the primary to site-b')

        with b.image('db') as image:
            write_random(image, rng, 4 * MiB, io_size=4096)
        on_b = create_on(site_b, spec)
        back = wait_secondary_of(site_a, spec, on_b)   # the old primary adopted by itself
        assert back['last_sync']['bytes'] <= 8 * MiB, back['last_sync']  # about what b wrote, not 64 MiB

        demoted_b = role_change(site_b, 'demote', spec)['demoted_snap_id']
        wait_secondary_of(site_a, spec, demoted_b, ready=True)
        assert role_change(site_a, 'promote', spec)['primary_snap_id'] == demoted_b
        wait_for(lambda: (s := image_status(site_b, spec)) and s['role'] == 'secondary' and s['state'] == 'idle'
                 and s['last_complete'], 120, what='site-b to become the secondary again')
        wait_for(lambda: spec in scheduled_images(site_a) and spec not in scheduled_images(site_b), 30,
                 what='the schedule to follow the primary back to site-a')
        assert a.digest('db') == b.digest('db')
        with a.image('db') as image:                   # and site-a is writable again
            image.write(b'y' * 4096, 0)
    finally:
        for site in (site_a, site_b):
            site.mirror_snapshot('schedule', 'remove', level, check=False)


def test_forced_promote_rolls_back_the_partial_delta_and_resync_is_incremental(
        images: Images, site_a: Site, site_b: Site, clients) -> None:
    a, b = clients
    spec = images.spec('vm')
    try:
        first, second = start_slow_sync(images, site_b, 'vm', '1G', one_chunk=True)
        wait_for(copying_past(site_b, spec, 0.1, 0.8), 90, interval=0.05, what='sync half-way')
        promoted = role_change(site_b, 'promote', spec, '--force')
    finally:
        reset_slow_sync(site_b)
    rolled = promoted['rolled_back']
    assert promoted['primary_snap_id'] == first and rolled, promoted
    assert 0 < rolled['objects_rolled_back'] <= 256, rolled      # only what the partial apply touched
    assert b.digest('vm') == a.digest('vm', snap_id=first)        # the consistency point, exactly

    # site-a is still primary: both sites say split-brain, nothing is overwritten.
    for site in (site_a, site_b):
        wait_for_health(site, SPLIT_BRAIN, True)
    assert 'split-brain' in image_status(site_a, spec)['last_error']
    before = a.digest('vm')

    with b.image('vm') as image:
        image.write(random.Random(2).randbytes(4 * MiB), 100 * MiB)
    on_b = create_on(site_b, spec)
    refused = site_a.mirror_snapshot('image', 'resync', spec, check=False)
    assert refused.returncode == 16 and b'demote it first or use --force' in refused.stderr
    assert a.digest('vm') == before and image_status(site_a, spec)['role'] == 'primary'

    resync = role_change(site_a, 'resync', spec, '--force')
    assert resync['common_snap_id'] == first and resync['rolled_back']['objects_rolled_back'] >= 64
    status = wait_secondary_of(site_a, spec, on_b)
    copied = status['last_sync']['bytes']
    print(f'resync copied {copied} bytes of a {1 << 30}-byte image')
    assert copied <= 8 * MiB, status['last_sync']
    assert a.digest('vm') == b.digest('vm')
    for site in (site_a, site_b):
        wait_for_health(site, SPLIT_BRAIN, False)


def test_role_changes_refuse_bad_input_and_change_nothing(images: Images, site_a: Site, site_b: Site,
                                                          clients) -> None:
    spec = images.spec('img')
    images.create('img', size='8M')
    wait_secondary_of(site_b, spec, snapshot_now(images, 'img'))
    before = (json.dumps(image_status(site_a, spec), sort_keys=True),
              image_status(site_b, spec)['last_complete'])

    def refused(site: Site, expected: int, text: str, *args: str) -> None:
        proc = site.mirror_snapshot('image', *args, check=False)
        assert proc.returncode == expected, (args, proc.returncode, proc.stderr)
        assert text in proc.stderr.decode(), proc.stderr

    missing = images.spec('nope')
    for verb in ('demote', 'promote', 'resync'):
        refused(site_a, 2, f"image '{missing}' does not exist", verb, missing)
        refused(site_a, 22, "is not an image spec", verb, 'rbd/')
    refused(site_a, 22, 'is already primary', 'promote', spec)
    refused(site_b, 22, 'is not mirrored', 'demote', spec)
    refused(site_b, 16, 'is still primary: demote it first', 'promote', spec)
    refused(site_a, 22, 'is not a snapshot-mode primary', 'resync', spec)
    # A resync retried after its work is done reports that, and changes nothing.
    again = site_b.mirror_snapshot('image', 'resync', spec)
    assert 'is the secondary of its peer already' in again.stdout.decode(), again.stdout

    assert json.dumps(image_status(site_a, spec), sort_keys=True) == before[0]
    assert image_status(site_b, spec)['last_complete'] == before[1]
    assert image_status(site_b, spec)['role'] == 'secondary'
