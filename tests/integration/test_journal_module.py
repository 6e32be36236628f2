"""The module replicates journal-mode images (issue 19): site-b's replayer
finds a journal-mode primary of site-a beside the snapshot-mode ones,
bootstraps its replica and replays the journal's entries as they come
(across a SIGKILL of its mgr);
`image status` and `status` show the mode, how far behind the primary the
replica is and the replay's rate; a replayer disconnected by the primary is
an error in status and health that `image resync` recovers; disabling
mirroring on the primary leaves no client of ours in its journal."""
import json
import random
import time
from typing import Dict, Optional

from replication import Client, image_status, reset_option, wait_for_health
from sandbox import Images, Site, wait_for
from test_crash_loop import fail_over

MiB = 1 << 20
HEALTH_CHECK = 'MIRROR_SNAPSHOT_REPLAY_FAILED'


def journal_primary(images: Images, name: str, size: str = '64M') -> str:
    spec = images.spec(name)
    images.site.rbd('create', '--size', size, '--image-feature', 'layering,exclusive-lock,journaling',
                    '--journal-object-size', '1M', spec)
    images.created.append(spec)
    images.site.rbd('mirror', 'image', 'enable', spec, 'journal')
    return spec


def journal_args(images: Images, name: str) -> list:
    return ['--pool', images.pool, '--namespace', images.namespace, '--image', name]


def journal_clients(images: Images, name: str) -> list:
    status = json.loads(images.site.rbd('journal', 'status', *journal_args(images, name), '--format', 'json').stdout)
    return [c['id'] for c in status['registered_clients']]


def our_client_id(site_b: Site) -> str:
    return 'mirror_snapshot.' + site_b.ceph_json('fsid')['fsid']


def replaying(site_b: Site, spec: str) -> Optional[Dict]:
    status = image_status(site_b, spec)
    if status and status.get('state') == 'replaying' and (status.get('journal') or {}).get('caught_up'):
        return status
    return None


def wait_equal(primary: Client, replica: Client, name: str, timeout: float = 90) -> str:
    """The replica equals the primary (no writer left): what the module
    replays on its own reaches it within its polls."""
    expected = primary.digest(name)

    def same() -> bool:
        try:
            return replica.digest(name) == expected
        except Exception:  # not created yet
            return False
    wait_for(same, timeout, interval=1.0, what=f'the replica of {name} to equal the primary')
    return expected


def test_the_module_replicates_a_journal_mode_image_as_it_is_written(images: Images, site_b: Site, clients) -> None:
    spec = journal_primary(images, 'jm')
    primary, replica = clients
    rng = random.Random(19)
    with primary.image('jm') as image:
        image.write(rng.randbytes(8 * MiB), 0)
    bootstrapped = wait_for(lambda: replaying(site_b, spec), 120,
                            what=f'{spec} bootstrapped and replaying')['journal']['bootstrapped_at']
    # Writes of every kind while the module replays: random data,
    # discards, a grow, a user snapshot, metadata; and site-b's active mgr
    # SIGKILLed in the middle of them: the standby resumes the replay from
    # the committed position (no second bootstrap).
    with primary.image('jm') as image:
        for i in range(200):
            length = rng.choice([4096, 65536, 1 << 20])
            offset = rng.randrange(0, 64 * MiB - length)
            if rng.random() < 0.8:
                image.write(rng.randbytes(length), offset)
            else:
                image.discard(offset, length)
            if i == 100:
                restart = fail_over(site_b, kill=True)
            time.sleep(0.02)
        image.create_snap('after')
        image.resize(96 * MiB)
        image.write(rng.randbytes(MiB), 80 * MiB)
        image.metadata_set('conf_rbd_cache', 'false')
    assert restart.wait(timeout=120) == 0
    expected = wait_equal(primary, replica, 'jm')
    assert replica.digest('jm', snap_name='after') == primary.digest('jm', snap_name='after')
    with replica.image('jm', read_only=True) as image:
        assert image.size() == 96 * MiB
        assert image.metadata_get('conf_rbd_cache') == 'false'
    # The writer closed the image, so its commit position is final:
    # the replica is 0 entries behind once a step read it.
    status = wait_for(lambda: (s := replaying(site_b, spec)) and s['journal']['entries_behind_primary'] == 0
                      and s, 60, what='0 entries behind')
    journal = status['journal']
    assert status['mode'] == 'journal' and status['last_error'] is None, status
    assert status['primary']['site'] == 'site-a', status
    assert journal['client_id'] == our_client_id(site_b) and journal['phase'] == 'replaying', journal
    assert journal['bootstrapped_at'] == bootstrapped, journal   # resumed, not bootstrapped again
    assert journal['entries_applied_total'] >= 200, journal
    assert abs(journal['last_applied_entry_time'] - time.time()) < 600, journal
    assert our_client_id(site_b) in journal_clients(images, 'jm')
    # The sync point is gone from the primary, the replica is fenced.
    assert not any(s['name'].startswith('.mirror_snapshot.sync.')
                   for s in json.loads(images.site.rbd('snap', 'ls', '--format', 'json', spec).stdout))
    proc = site_b.rbd('snap', 'create', f'{spec}@mine', check=False)
    assert proc.returncode != 0 and b'Read-only' in proc.stderr, proc
    rows = site_b.mirror_snapshot_json('status')['images']
    assert any(r['image'] == spec and r['mode'] == 'journal' and r['role'] == 'secondary' for r in rows), rows
    # The primary's site shows who replays its journal, and how far behind.
    row = images.site.mirror_snapshot_json('image', 'status', spec)
    assert row['role'] == 'primary' and row['mode'] == 'journal', row
    assert {'id': our_client_id(site_b), 'state': 'connected', 'entries_behind': 0} in row['journal_clients'], row
    assert replica.digest('jm') == expected


def test_a_disconnected_replayer_is_an_error_that_resync_recovers(images: Images, site_b: Site, clients) -> None:
    spec = journal_primary(images, 'jd')
    primary, replica = clients
    with primary.image('jd') as image:
        image.write(b'\x5a' * (4 * MiB), 0)
    wait_for(lambda: replaying(site_b, spec), 120, what=f'{spec} replaying')
    # What a primary does to a replayer too far behind (rbd_journal_max_concurrent_object_sets).
    images.site.rbd('journal', 'client', 'disconnect', *journal_args(images, 'jd'), '--client-id',
                    our_client_id(site_b))
    with primary.image('jd') as image:
        image.write(b'\x6b' * MiB, 8 * MiB)  # lost to the replica: only a resync brings it
    status = wait_for(lambda: (s := image_status(site_b, spec)) and s['state'] == 'error' and s, 60,
                      what=f'{spec} in error')
    assert 'disconnected' in status['last_error'] and 'resync' in status['last_error'], status
    wait_for_health(site_b, HEALTH_CHECK, True)
    out = site_b.mirror_snapshot('image', 'resync', spec).stdout.decode()
    assert 'copied again' in out, out
    with primary.image('jd') as image:
        image.write(b'\x7c' * MiB, 16 * MiB)
    wait_equal(primary, replica, 'jd')
    status = wait_for(lambda: replaying(site_b, spec), 60, what=f'{spec} replaying again')
    assert status['journal']['bootstrapped_at'] is not None
    wait_for_health(site_b, HEALTH_CHECK, False)


def test_disabling_mirroring_on_the_primary_leaves_no_client_of_ours_in_its_journal(images: Images,
                                                                                    site_b: Site, clients) -> None:
    """A left-behind client would keep the primary from trimming its journal
    forever. librbd's mirror disable of a journal-mode primary removes its
    journal (and the clients in it); the replayer lets the image go and never
    registers itself in a journal of an image no longer mirrored."""
    spec = journal_primary(images, 'jx')
    primary, _ = clients
    with primary.image('jx') as image:
        image.write(b'\x01' * MiB, 0)
    wait_for(lambda: replaying(site_b, spec), 120, what=f'{spec} replaying')
    assert our_client_id(site_b) in journal_clients(images, 'jx')
    images.site.rbd('mirror', 'image', 'disable', spec)
    info = json.loads(images.site.rbd('info', '--format', 'json', spec).stdout)
    assert 'journaling' not in info['features'], info
    wait_for(lambda: not any(r['image'] == spec and r.get('state') != 'error'
                             for r in site_b.mirror_snapshot_json('status')['images'] if r['role'] == 'secondary'),
             60, what='the replayer to let the image go')
    # Journaling on again, mirroring still off: no client of ours comes back.
    images.site.rbd('feature', 'enable', spec, 'journaling')
    time.sleep(4)  # several journal_poll_interval and refreshes
    assert journal_clients(images, 'jx') == [''], 'only the image\'s own client'


def test_a_clean_promote_after_a_demote_holds_the_primary_image_and_is_a_journal_primary(images: Images,
                                                                                        site_b: Site, clients) -> None:
    spec = images.spec('jp')
    images.site.rbd('create', '--size', '64M', '--image-feature', 'layering,exclusive-lock,journaling',
                    '--journal-object-size', '1M', spec)
    images.created.append(spec)
    primary, replica = clients
    rng = random.Random(7)
    with primary.image('jp') as image:
        image.write(rng.randbytes(4 * MiB), 0)
        image.create_snap('old')   # before mirroring: never on site-b
    images.site.rbd('mirror', 'image', 'enable', spec, 'journal')
    wait_for(lambda: replaying(site_b, spec), 120, what=f'{spec} replaying')
    proc = site_b.mirror_snapshot('image', 'promote', spec, check=False)
    assert proc.returncode == 16 and b'still primary' in proc.stderr, proc
    with primary.image('jp') as image:
        image.write(rng.randbytes(2 * MiB), 8 * MiB)   # the last writes before the demote
    images.site.mirror_snapshot('image', 'demote', spec)
    expected = primary.digest('jp')
    status = wait_for(lambda: (s := image_status(site_b, spec)) and s.get('ready_to_promote') and s, 60,
                      what=f'{spec} ready to promote')
    assert status['primary']['state'] == 'demoted', status
    # site-a's replayer keeps off until site-b has written and taken its own
    # 'old': the adoption comes after (as it can, in any order).
    images.site.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_skip_pools', 'rbd')
    time.sleep(5)
    try:
        site_b.mirror_snapshot('image', 'promote', spec)
        assert replica.digest('jp') == expected
        info = json.loads(site_b.rbd('info', '--format', 'json', spec).stdout)
        assert 'journaling' in info['features'] and info['mirroring']['mode'] == 'journal', info
        assert info['mirroring']['primary'] is True, info
        with replica.image('jp') as image:            # writable: a primary now
            image.write(b'written on site-b', 0)
        status = site_b.mirror_snapshot_json('image', 'status', spec)
        assert status['role'] == 'primary' and status['mode'] == 'journal', status
        assert status['promoted'] and status['promoted']['recovery_point'] > 0, status
        again = site_b.mirror_snapshot_json('image', 'promote', spec)   # a retried command
        assert again['already'], again
        # Failback without a copy: the old primary on site-a (demoted cleanly,
        # every entry replayed) becomes the replica of site-b's image in place,
        # replaying its journal from the promotion on...
        image_id = json.loads(images.site.rbd('info', '--format', 'json', spec).stdout)['id']
        with replica.image('jp') as image:
            image.write(rng.randbytes(3 * MiB), 16 * MiB)
            image.create_snap('old')   # the name of site-a's own snapshot, other data
            image.write(rng.randbytes(MiB), 0)
    finally:
        reset_option(images.site, 'replay_skip_pools', '')
    expected = wait_equal(replica, primary, 'jp', timeout=120)
    status = wait_for(lambda: replaying(images.site, spec), 60, what='site-a replaying site-b\'s journal')
    assert status['role'] == 'secondary' and status['journal']['last_step']['bytes_copied'] == 0, status
    info = json.loads(images.site.rbd('info', '--format', 'json', spec).stdout)
    assert info['id'] == image_id and 'journaling' not in info['features'], info   # the same image, no copy
    # site-a's own 'old' went at the adoption; site-b's was replayed in its place.
    assert primary.digest('jp', snap_name='old') == replica.digest('jp', snap_name='old')
    assert info.get('mirroring', {}).get('state', 'disabled') == 'disabled', info
    # ...and back: site-b demoted, site-a promoted, site-b follows in place.
    site_b.mirror_snapshot('image', 'demote', spec)
    wait_for(lambda: (s := image_status(images.site, spec)) and s.get('ready_to_promote'), 60,
             what='site-a ready to promote')
    images.site.mirror_snapshot('image', 'promote', spec)
    assert primary.digest('jp') == expected
    with primary.image('jp') as image:
        image.write(rng.randbytes(MiB), 40 * MiB)
    wait_equal(primary, replica, 'jp', timeout=120)
    status = wait_for(lambda: replaying(site_b, spec), 60, what='site-b replaying again')
    assert status['journal']['last_step']['bytes_copied'] == 0, status


def test_a_forced_promote_fails_over_at_the_last_applied_entry_and_split_brain_is_reported(
        images: Images, site_b: Site, clients) -> None:
    spec = journal_primary(images, 'jf')
    primary, replica = clients
    with primary.image('jf') as image:
        image.write(b'\x42' * (4 * MiB), 0)
    expected = wait_equal(primary, replica, 'jf')
    wait_for(lambda: replaying(site_b, spec), 60, what=f'{spec} replaying')
    report = site_b.mirror_snapshot_json('image', 'promote', spec, '--force')
    assert report['forced'] and not report['already'], report
    assert replica.digest('jf') == expected
    # Both primary now: the replayer stops replaying and says split-brain.
    status = wait_for(lambda: (s := image_status(site_b, spec)) and s['state'] == 'error' and s, 60,
                      what='split-brain reported')
    assert status['role'] == 'primary' and 'split-brain' in status['last_error'], status
    with primary.image('jf') as image:
        image.write(b'\x43' * MiB, 0)             # the old primary goes on: never replayed onto site-b
    # The old primary's site says what it is, and does not follow site-b.
    status = wait_for(lambda: (s := image_status(images.site, spec)) and s.get('role') == 'secondary' and s, 60,
                      what='site-a\'s view of site-b\'s primary')
    assert 'former primary' in (status['last_error'] or '') and 'split-brain' in status['last_error'], status
    proc = images.site.mirror_snapshot('image', 'resync', spec, check=False)
    assert proc.returncode == 22 and b'former primary' in proc.stderr, proc
    assert replica.digest('jf') == expected


def test_rbds_own_demote_and_promote_in_place_do_not_break_the_replay(images: Images, site_b: Site, clients) -> None:
    """rbd mirror image demote, then promote, on the primary's site: librbd
    links the promotion's tag to the demotion epoch with an entry tid the
    epoch does not hold; the replay goes on (it stopped for good with
    "tag 8 tid 1 is missing" before)."""
    spec = journal_primary(images, 'jq')
    primary, replica = clients
    with primary.image('jq') as image:
        image.write(b'\x21' * (2 * MiB), 0)
    wait_for(lambda: replaying(site_b, spec), 120, what=f'{spec} replaying')
    images.site.rbd('mirror', 'image', 'demote', spec)
    images.site.rbd('mirror', 'image', 'promote', spec)
    with primary.image('jq') as image:
        image.write(b'\x22' * (4 * MiB), 4 * MiB)
    wait_equal(primary, replica, 'jq')
    status = wait_for(lambda: replaying(site_b, spec), 60, what=f'{spec} replaying after the promote')
    assert status['last_error'] is None, status


def test_a_replay_stuck_on_unanswering_osds_is_reported_stalled_not_caught_up(images: Images,
                                                                              site_b: Site, clients) -> None:
    spec = journal_primary(images, 'js')
    primary, replica = clients
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_stall_seconds', '5')
    try:
        with primary.image('js') as image:
            image.write(b'\x31' * MiB, 0)
        wait_for(lambda: replaying(site_b, spec), 120, what=f'{spec} replaying')
        with site_b.paused_osd('osd.0'):        # the replica's OSD answers nothing
            with primary.image('js') as image:
                image.write(b'\x32' * MiB, MiB)
            status = wait_for(lambda: (s := image_status(site_b, spec)) and s['state'] == 'error' and s, 40,
                              what='the stuck replay reported')
            assert 'stalled' in status['last_error'], status
            assert not status['journal']['caught_up'], status
        wait_equal(primary, replica, 'js')
        wait_for(lambda: replaying(site_b, spec), 60, what=f'{spec} replaying again')
    finally:
        reset_option(site_b, 'replay_stall_seconds', '60')


def test_resync_of_a_replica_whose_primary_was_replaced_says_so_instead_of_nothing(images: Images,
                                                                                  site_b: Site, clients) -> None:
    """Mirroring disabled and enabled again on the primary gives it a new
    global id: the replica here replicates an image the peer no longer has.
    A resync that answered "copied again" and did nothing left it in error."""
    spec = journal_primary(images, 'jg')
    primary, _ = clients
    with primary.image('jg') as image:
        image.write(b'\x09' * MiB, 0)   # a blank replica would be taken over instead
    wait_for(lambda: replaying(site_b, spec), 120, what=f'{spec} replaying')
    images.site.rbd('mirror', 'image', 'disable', spec)
    images.site.rbd('feature', 'enable', spec, 'journaling')
    images.site.rbd('mirror', 'image', 'enable', spec, 'journal')
    # A step between the commands may see no journal for a moment: the
    # error that stays is the one that names the new image.
    wait_for(lambda: (s := image_status(site_b, spec)) and s['state'] == 'error'
             and 'another image' in (s['last_error'] or ''), 60, what=f'{spec} in error, replicating another image')
    proc = site_b.mirror_snapshot('image', 'resync', spec, check=False)
    assert proc.returncode == 22 and b'rbd rm' in proc.stderr, proc


def test_an_old_primary_that_cannot_follow_without_a_copy_is_refused_and_left_as_it_was(
        images: Images, site_b: Site, clients) -> None:
    """The adversarial review's class: whenever the new primary's journal
    cannot prove it holds every write since the promotion (here: site-a's
    client there disconnected before site-a's module came to it), the old
    primary is not adopted: status says why and the way back, and the
    image keeps its data, its mirroring and no fence."""
    spec = journal_primary(images, 'jr')
    primary, replica = clients
    with primary.image('jr') as image:
        image.write(b'\x5a' * (2 * MiB), 0)
    wait_for(lambda: replaying(site_b, spec), 120, what=f'{spec} replaying')
    images.site.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_skip_pools', 'rbd')
    try:
        time.sleep(5)   # site-a's module drops pool rbd at its next refresh
        images.site.mirror_snapshot('image', 'demote', spec)
        wait_for(lambda: (s := image_status(site_b, spec)) and s.get('ready_to_promote'), 60, what='ready')
        site_b.mirror_snapshot('image', 'promote', spec)
        site_a_client = 'mirror_snapshot.' + images.site.ceph_json('fsid')['fsid']
        site_b.rbd('journal', 'client', 'disconnect', '--client-id', site_a_client, *journal_args(images, 'jr'))
        before = primary.digest('jr')
    finally:
        reset_option(images.site, 'replay_skip_pools', '')
    status = wait_for(lambda: (s := image_status(images.site, spec)) and 'former primary' in (s['last_error'] or '')
                      and s, 60, what='the old primary refused')
    assert 'disconnected' in status['last_error'] and 'rbd rm' in status['last_error'], status
    info = json.loads(images.site.rbd('info', '--format', 'json', spec).stdout)
    assert info['mirroring']['state'] == 'enabled' and 'non-primary' not in info['features'], info
    assert primary.digest('jr') == before
