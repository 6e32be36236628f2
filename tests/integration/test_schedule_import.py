"""`ceph mirror snapshot schedule import` against the schedules the stock
rbd_support module of the same mgr stores (issue 21): namespace and image
levels, a start time whose offset rbd_support applies with the wrong sign,
and a second import that changes nothing."""
import json

from sandbox import Images, Site


def rbd_support_add(site: Site, *args: str) -> None:
    site.rbd('mirror', 'snapshot', 'schedule', 'add', *args)


def imported(site: Site) -> list:
    return json.loads(site.mirror_snapshot('schedule', 'import', '--format', 'json').stdout)


def ours(site: Site, level: str) -> list:
    rows = json.loads(site.mirror_snapshot('schedule', 'ls', level, '--format', 'json').stdout)
    return [{k: v for k, v in item.items() if k != 'description'}
            for row in rows if row['level'] == level for item in row['schedules']]


def test_rbd_support_schedules_are_imported_once_with_their_start_times_as_written(images: Images) -> None:
    site = images.site
    images.create('vm', size='8M')
    ns = images.namespace
    # Daily at times that do not come up while the test runs (rbd_support takes snapshots too).
    rbd_support_add(site, '--pool', 'rbd', '--namespace', ns, '1d', '14:00-05:00')
    rbd_support_add(site, '--pool', 'rbd', '--namespace', ns, '--image', 'vm', '12h')
    try:
        rows = imported(site)
        mine = {(r['level'], r['schedule']): r for r in rows if r['level'].startswith(f'rbd/{ns}/')}
        daily = mine[(f'rbd/{ns}/', 'every 1d starting at 14:00:00-05:00')]
        assert daily['result'] == 'added'
        # rbd_support runs it at 09:00 on a UTC mgr; this module at 19:00 UTC, as written.
        assert 'ran it at 09:00 UTC' in daily['note'] and 'at 19:00 UTC' in daily['note'], daily
        image = mine[(f'rbd/{ns}/vm', 'every 12h')]
        assert image['result'] == 'added' and image['note'] is None
        assert ours(site, f'rbd/{ns}/') == [{'interval': '1d', 'start_time': '14:00:00-05:00'}]
        assert ours(site, f'rbd/{ns}/vm') == [{'interval': '12h', 'start_time': ''}]
        # Again: nothing new, and said so.
        again = {(r['level'], r['schedule']): r['result'] for r in imported(site)
                 if r['level'].startswith(f'rbd/{ns}/')}
        assert set(again.values()) == {'already scheduled'} and len(again) == 2
        assert ours(site, f'rbd/{ns}/') == [{'interval': '1d', 'start_time': '14:00:00-05:00'}]
        text = site.mirror_snapshot('schedule', 'import').stdout.decode()
        assert 'already scheduled' in text and "rbd_support's schedules are left in place" in text
    finally:
        site.rbd('mirror', 'snapshot', 'schedule', 'remove', '--pool', 'rbd', '--namespace', ns, check=False)
        site.rbd('mirror', 'snapshot', 'schedule', 'remove', '--pool', 'rbd', '--namespace', ns, '--image', 'vm',
                 check=False)
        site.mirror_snapshot('schedule', 'remove', f'rbd/{ns}/', check=False)
        site.mirror_snapshot('schedule', 'remove', f'rbd/{ns}/vm', check=False)
