"""Primary side: schedules through `ceph mirror snapshot schedule ...`, real
mirror snapshots on site-a, pruning, failures, restart and failover."""
import json
import threading
import time

import pytest
import rados

from sandbox import Images, Site, stderr_lines, wait_for


def schedule(site: Site, *args: str, check: bool = True):
    return site.ceph('mirror', 'snapshot', 'schedule', *args, check=check)


def ls(site: Site, level: str, recursive: bool = True) -> list:
    args = ['ls', level, '--format', 'json'] + (['--recursive'] if recursive else [])
    return json.loads(schedule(site, *args).stdout)


def status_of(site: Site, spec: str) -> dict:
    rows = json.loads(schedule(site, 'status', '--format', 'json').stdout)['images']
    matches = [r for r in rows if r['image'] == spec]
    return matches[0] if matches else {}


def set_refresh_interval(site: Site, seconds: int) -> None:
    site.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/refresh_interval', str(seconds))


def test_add_ls_remove_round_trip(images: Images) -> None:
    site = images.site
    img = images.create('img')
    ns_level = f'rbd/{images.namespace}/'
    schedule(site, 'add', img, '1h', '14:00-05:00')
    schedule(site, 'add', ns_level, '0 2 * * mon-fri', '--tz', 'Europe/Berlin')
    schedule(site, 'add', img, '90')   # minutes, printed back as 90m

    rows = {r['level']: r['schedules'] for r in ls(site, ns_level)}
    assert [s['description'] for s in rows[ns_level]] == ["'0 2 * * mon-fri' in Europe/Berlin"]
    assert rows[ns_level][0]['time_zone'] == 'Europe/Berlin'
    assert [(s['interval'], s['start_time']) for s in rows[img]] == [('1h', '14:00:00-05:00'), ('90m', '')]
    # Without --recursive only the level itself.
    assert [r['level'] for r in ls(site, ns_level, recursive=False)] == [ns_level]
    plain = schedule(site, 'ls', ns_level, '--recursive').stdout.decode()
    assert 'every 1h starting at 14:00:00-05:00' in plain and 'Europe/Berlin' in plain

    # Adding the same schedule again changes nothing.
    schedule(site, 'add', img, '60m', '14:00:00-05:00')
    assert len({r['level']: r for r in ls(site, ns_level)}[img]['schedules']) == 2

    schedule(site, 'remove', img, '1h', '14:00-05:00')
    assert [s['interval'] for s in {r['level']: r for r in ls(site, ns_level)}[img]['schedules']] == ['90m']
    schedule(site, 'remove', ns_level)           # every schedule of the level
    schedule(site, 'remove', img)
    assert ls(site, ns_level) == []

    proc = schedule(site, 'remove', img, '90m', check=False)
    assert proc.returncode == 2 and 'no schedule' in proc.stderr.decode()
    proc = schedule(site, 'remove', img, check=False)
    assert proc.returncode == 2


def test_start_times_are_honoured_exactly(images: Images) -> None:
    site = images.site
    img = images.create('img')
    schedule(site, 'add', img, '1d', '14:00-05:00')   # 19:00 UTC every day
    next_run = wait_for(lambda: status_of(site, img).get('next_run'), 30, what='status of the image')
    assert next_run.endswith('T19:00:00Z'), next_run
    schedule(site, 'remove', img)
    schedule(site, 'add', img, '1h', '2031-01-01T00:30:00+01:00')  # a date-time anchor in the future
    wait_for(lambda: status_of(site, img).get('next_run') == '2030-12-31T23:30:00Z', 30,
             what='next run at the anchor')


def test_global_level(primary_ready: Site) -> None:
    site = primary_ready
    schedule(site, 'add', '', '7d', '2026-01-04T03:00:00Z')
    try:
        rows = ls(site, '', recursive=False)
        assert [r['level'] for r in rows] == ['']
        assert ('7d', '03:00:00+00:00') in [(s['interval'], s['start_time'][-14:]) for s in rows[0]['schedules']]
    finally:
        schedule(site, 'remove', '', '7d', '2026-01-04T03:00:00Z')
    assert all(s['interval'] != '7d' for r in ls(site, '', recursive=False) for s in r['schedules'])


@pytest.fixture(scope='module')
def bad_input_images(primary_ready: Site):
    import uuid
    images = Images(primary_ready, f'bad{uuid.uuid4().hex[:6]}')
    images.setup()
    specs = {'img': images.create('img'), 'ns': f'rbd/{images.namespace}/',
             'journal': images.create('journaled', mirror=''), 'plain': images.create('plain', mirror='')}
    primary_ready.rbd('feature', 'enable', specs['journal'], 'journaling')
    primary_ready.rbd('mirror', 'image', 'enable', specs['journal'], 'journal')
    yield images, specs
    images.cleanup()


@pytest.mark.parametrize('args, rc, named', [
    (['{img}', '0m'], 22, "interval '0m'"),
    (['{img}', '5x'], 22, "'5x'"),
    (['{img}', '1h30m'], 22, "'1h30m'"),
    (['{img}', '1h', '14:99'], 22, "'14:99'"),
    (['{img}', '1h', '2026-02-30T00:00:00Z'], 22, '2026-02-30'),
    (['{img}', '61 * * * *'], 22, 'minute'),
    (['{img}', '0 0 * * 8'], 22, 'day-of-week'),
    (['{img}', '0 0 L * *'], 22, "'L'"),
    (['{img}', '0 2 * * *', '--tz', 'Europe/Berln'], 22, 'Europe/Berln'),
    (['{img}', '1h', '--tz', 'Europe/Berlin'], 22, 'time zone'),
    (['{img}', '0 2 * * *', '14:00'], 22, 'start time'),
    (['a/b/c/d', '1h'], 22, 'a/b/c/d'),
    (['nosuchpool/', '1h'], 2, "pool 'nosuchpool'"),
    (['rbd/nosuchns/', '1h'], 2, "namespace 'rbd/nosuchns'"),
    (['{ns}nosuchimage', '1h'], 2, 'nosuchimage'),
    (['{journal}', '1h'], 22, 'not in snapshot mirror mode'),
    (['{plain}', '1h'], 22, 'not in snapshot mirror mode'),
])
def test_bad_input_names_the_bad_part_and_stores_nothing(bad_input_images, args, rc, named) -> None:
    images, specs = bad_input_images
    site = images.site
    proc = schedule(site, 'add', *[a.format(**specs) for a in args], check=False)
    assert proc.returncode == rc, proc.stderr.decode()
    lines = stderr_lines(proc)
    assert len(lines) == 1 and named in lines[0], lines
    assert ls(site, specs['ns']) == []


def test_one_minute_schedule_creates_snapshots_on_the_minute(images: Images) -> None:
    site = images.site
    img = images.create('img')
    before = {s['id'] for s in images.mirror_snapshots(img)}
    schedule(site, 'add', img, '1m')
    run = wait_for(lambda: (status_of(site, img).get('last_run') or {}).get('result') == 'created'
                   and status_of(site, img)['last_run'], 75, what='the first scheduled snapshot')
    assert run['scheduled_for'].endswith(':00Z')
    assert run['lateness_seconds'] < 15
    created = {s['id'] for s in images.mirror_snapshots(img)} - before
    assert run['snap_id'] in created
    row = status_of(site, img)
    assert row['level'] == img and row['schedules'] == ['every 1m']
    assert row['next_run'] > run['scheduled_for']


def test_create_now_and_pruning_holds_the_count(images: Images) -> None:
    site = images.site
    img = images.create('img')
    site.rbd('config', 'image', 'set', img, 'rbd_mirroring_max_mirroring_snapshots', '3')
    ids = []
    for _ in range(6):
        out = json.loads(site.mirror_snapshot('create', img, '--format', 'json').stdout)
        ids.append(out['snap_id'])
        assert len(images.mirror_snapshots(img)) <= 3
    assert ids == sorted(ids)
    # The newest three at most: site-b's replayer also releases the ones
    # it has synced past (as rbd-mirror does), so there may be fewer.
    remaining = [s['id'] for s in images.mirror_snapshots(img)]
    assert ids[-1] in remaining and set(remaining) <= set(ids[-3:]), (remaining, ids)


def test_create_rejects_bad_images(images: Images) -> None:
    site = images.site
    plain = images.create('plain', mirror='')
    demoted = images.create('demoted')
    site.rbd('mirror', 'image', 'demote', demoted)
    cases = [(f'rbd/{images.namespace}/missing', 2, 'does not exist'),
             (plain, 22, 'not in snapshot mirror mode'),
             (demoted, 22, 'not primary'),
             ('rbd/', 22, 'not an image spec')]
    for spec, rc, named in cases:
        proc = site.mirror_snapshot('create', spec, check=False)
        assert proc.returncode == rc, (spec, proc.stderr)
        assert named in proc.stderr.decode(), proc.stderr


def test_pruning_never_removes_what_a_secondary_is_syncing(images: Images) -> None:
    """A slow reader of snapshot S2 (as a secondary syncing S1 -> S2) races
    with creations that prune; the pin keeps S1 and S2 and the read completes."""
    site = images.site
    img = images.create('img', size='64M')
    site.rbd('config', 'image', 'set', img, 'rbd_mirroring_max_mirroring_snapshots', '3')
    site.rbd('bench', '--io-type', 'write', '--io-size', '4M', '--io-total', '32M', img)
    s1 = json.loads(site.mirror_snapshot('create', img, '--format', 'json').stdout)['snap_id']
    site.rbd('bench', '--io-type', 'write', '--io-size', '1M', '--io-total', '16M', '--io-pattern', 'rand', img)
    s2 = json.loads(site.mirror_snapshot('create', img, '--format', 'json').stdout)['snap_id']
    site.rbd('image-meta', 'set', img, 'mirror_snapshot.sync.test-secondary',
             f'from={s1},to={s2},updated={int(time.time())}')

    import rbd
    cluster = rados.Rados(conffile=str(site.conf))
    cluster.connect()
    ioctx = cluster.open_ioctx('rbd')
    ioctx.set_namespace(images.namespace)
    result = {}

    def slow_sync() -> None:
        try:
            with rbd.Image(ioctx, 'img', read_only=True) as image:
                image.set_snap_by_id(s2)
                total = 0
                for offset in range(0, 64 << 20, 4 << 20):
                    total += len(image.read(offset, 4 << 20))
                    time.sleep(0.3)
                result['bytes'] = total
        except Exception as e:  # reported below
            result['error'] = repr(e)

    reader = threading.Thread(target=slow_sync)
    reader.start()
    try:
        for _ in range(5):
            site.rbd('bench', '--io-type', 'write', '--io-size', '1M', '--io-total', '4M', img)
            site.mirror_snapshot('create', img)
        reader.join(timeout=120)
        assert result.get('bytes') == 64 << 20, result
        remaining = [s['id'] for s in images.mirror_snapshots(img)]
        assert s1 in remaining and s2 in remaining
        assert len(remaining) <= 3   # the two pinned + the newest (site-b may have released others)

        # Once the secondary moves on, the pins go and pruning catches up.
        site.rbd('image-meta', 'remove', img, 'mirror_snapshot.sync.test-secondary')
        site.mirror_snapshot('create', img)
        remaining = [s['id'] for s in images.mirror_snapshots(img)]
        assert s1 not in remaining and len(remaining) <= 3
    finally:
        ioctx.close()
        cluster.shutdown()


def test_concurrent_adds_lose_nothing(images: Images) -> None:
    site = images.site
    img = images.create('img')
    cluster = rados.Rados(conffile=str(site.conf))
    cluster.connect()
    try:
        results = []

        def add(hours: int) -> None:
            cmd = {'prefix': 'mirror snapshot schedule add', 'level_spec': img, 'interval': f'{hours}h'}
            results.append(cluster.mgr_command(json.dumps(cmd), b'', timeout=60)[0])

        threads = [threading.Thread(target=add, args=(h,)) for h in range(1, 21)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
    finally:
        cluster.shutdown()
    assert results == [0] * 20
    intervals = {s['interval'] for r in ls(site, img) for s in r['schedules']}
    assert intervals == {f'{h}h' for h in range(1, 21)}


def test_new_and_demoted_images_are_noticed_within_a_refresh(images: Images) -> None:
    site = images.site
    set_refresh_interval(site, 5)
    try:
        schedule(site, 'add', f'rbd/{images.namespace}/', '1d')
        img = images.create('late')
        row = wait_for(lambda: status_of(site, img), 30, what='the new image in status')
        assert row['state'] == 'scheduled' and row['level'] == f'rbd/{images.namespace}/'
        site.rbd('mirror', 'image', 'demote', img)
        row = wait_for(lambda: status_of(site, img).get('state') == 'skipped' and status_of(site, img),
                       30, what='the demoted image to be skipped')
        assert 'not primary' in row['note']
        site.rbd('mirror', 'image', 'promote', img)
        wait_for(lambda: status_of(site, img).get('state') == 'scheduled', 30,
                 what='the promoted image to be scheduled again')
    finally:
        set_refresh_interval(site, 60)


def test_failures_show_in_status_and_health_until_resolved(images: Images) -> None:
    site = images.site
    img = images.create('img')
    set_refresh_interval(site, 3600)   # keep tracking the image after it is gone
    try:
        schedule(site, 'add', img, '1m')
        wait_for(lambda: status_of(site, img).get('state') == 'scheduled', 30, what='the image scheduled')
        site.rbd('mirror', 'image', 'disable', '--force', img)
        site.rbd('rm', '--no-progress', img)
        images.created.remove(img)
        row = wait_for(lambda: (status_of(site, img).get('last_run') or {}).get('result') == 'error'
                       and status_of(site, img), 75, what='the failed run in status')
        assert row['state'] == 'error'
        assert 'does not exist' in row['last_run']['error']
        # The mgr hands health checks to the monitors with its next report: wait for it.
        check = wait_for(
            lambda: site.ceph_json('health', 'detail')['checks'].get('MIRROR_SNAPSHOT_SCHEDULE_FAILED'),
            30, what='the health warning')
        assert check['severity'] == 'HEALTH_WARN'
        assert any(img in d['message'] for d in check['detail'])
    finally:
        set_refresh_interval(site, 60)
        schedule(site, 'remove', img, check=False)   # also triggers a refresh
    wait_for(lambda: 'MIRROR_SNAPSHOT_SCHEDULE_FAILED' not in site.ceph_json('health', 'detail')['checks'],
             30, what='the health warning to clear')


def test_a_blocklisted_client_is_replaced(images: Images) -> None:
    site = images.site
    img = images.create('img')
    clients = [c for c in site.ceph_json('mgr', 'dump')['active_clients'] if c['name'] == 'mirror_snapshot']
    addrs = [f"{a['addr']}/{a['nonce']}" for c in clients for a in c['addrvec']]
    for addr in addrs:
        site.ceph('osd', 'blocklist', 'add', addr)
    try:
        # The first call may fail (ESHUTDOWN = 108) and trigger the reconnect;
        # within a few tries a snapshot is created through a new client.
        codes = []

        def create_succeeds() -> bool:
            proc = site.mirror_snapshot('create', img, check=False)
            codes.append(proc.returncode)
            return proc.returncode == 0
        wait_for(create_succeeds, 60, interval=2, what='a creation through a new client')
        print('create return codes:', codes)
        assert set(codes) <= {0, 108}, codes
    finally:
        for addr in addrs:
            site.ceph('osd', 'blocklist', 'rm', addr, check=False)


def test_replaced_clients_do_not_pile_up_in_the_mgr_map(images: Images) -> None:
    """Review #12: a client replaced after a blocklisting is unregistered from
    the mgr, so that the MgrMap's active_clients holds one entry for the
    module's native client however often it was blocklisted."""
    site = images.site
    img = images.create('img')

    def ours() -> set:
        clients = [c for c in site.ceph_json('mgr', 'dump')['active_clients'] if c['name'] == 'mirror_snapshot']
        return {f"{a['addr']}/{a['nonce']}" for c in clients for a in c['addrvec']}

    first = ours()
    blocklisted: list = []
    try:
        for round_no in range(5):
            replaced = ours()
            for addr in replaced:
                site.ceph('osd', 'blocklist', 'add', addr)
                blocklisted.append(addr)
            wait_for(lambda: site.mirror_snapshot('create', img, check=False).returncode == 0, 60, interval=2,
                     what=f'a creation through a new client (round {round_no})')
            # The new client is registered, the ones it replaced are not any more.
            now = wait_for(lambda: (now := ours()) and not (now & replaced) and now, 30, interval=1,
                           what=f'the replaced client unregistered (round {round_no}: {sorted(replaced)})')
            assert len(now) <= len(first), (sorted(first), sorted(now))
    finally:
        for addr in blocklisted:
            site.ceph('osd', 'blocklist', 'rm', addr, check=False)
