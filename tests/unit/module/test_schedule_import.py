"""`schedule import` (schedule_import.py): rbd_support's level ids and items
converted, its start-time offset bug called out where it moved the runs, and
a second import changing nothing. A fake of our native interface holds the
omap objects; the real parser is tested on its own (scheduler tests)."""
import json
from typing import Any, Dict, List, Optional

import pytest

from mirror_snapshot.schedule_import import (LevelId, ScheduleImport, firing_change, import_table,
                                             parse_level_id)
from mirror_snapshot.schedule_store import SCHEDULE_OBJECT, ScheduleStore


@pytest.mark.parametrize('text, parsed', [
    ('', LevelId('global')),
    ('3', LevelId('pool', 3)),
    ('3/', LevelId('namespace', 3, '')),
    ('3/ns', LevelId('namespace', 3, 'ns')),
    ('3//abc', LevelId('image', 3, '', 'abc')),
    ('3/ns/abc', LevelId('image', 3, 'ns', 'abc')),
    ('pool', None), ('3/ns/abc/x', None), ('3/ns/', None), ('-1', None),
])
def test_level_ids(text: str, parsed: Optional[LevelId]) -> None:
    assert parse_level_id(text) == parsed


def test_the_offset_bug_is_called_out_where_it_moved_the_runs() -> None:
    # 14:00-05:00 means 19:00 UTC; rbd_support ran it at 09:00 (a UTC mgr).
    assert firing_change('1d', '14:00:00-05:00', 0) == (
        'rbd_support ran it at 09:00 UTC (it adds the offset with the wrong sign); '
        'this module runs it as written, at 19:00 UTC')
    assert 'ran it at 16:00 UTC' in firing_change('1d', '14:00:00+02:00', 0)
    assert 'at 12:00 UTC' in firing_change('1d', '14:00:00+02:00', 0)
    # No offset, or a shift the interval hides (14 h on a 1 h or 7 h grid): the same runs.
    assert firing_change('1d', '14:00:00', 0) is None
    assert firing_change('1h', '14:00:00-05:00', 0) is None
    assert firing_change('7h', '14:00:00-05:00', 0) is None
    assert firing_change('5h', '14:00:00-05:00', 0) is not None
    # On a mgr whose clock is not UTC, rbd_support counted local time.
    assert firing_change('1d', '14:00:00', 3600) is not None
    assert 'local clock (UTC+01:00)' in firing_change('1d', None, 3600)
    assert firing_change('1h', None, 3600) is None
    assert firing_change('15', None, 0) is None


class Cluster:
    def pool_id(self, name: str) -> int:
        return {'rbd': 1, 'data': 2}[name]


class LocalCluster:
    def get(self) -> Cluster:
        return Cluster()


class FakeNative:
    def __init__(self) -> None:
        self.omap: Dict[tuple, Dict[str, str]] = {}

    def rbd_pools(self, cluster: Any) -> List[str]:
        return ['rbd', 'data']

    def omap_read(self, cluster: Any, pool: str, oid: str) -> Dict[str, str]:
        return dict(self.omap.get((pool, oid), {}))

    def omap_set(self, cluster: Any, pool: str, oid: str, values: Dict[str, str]) -> None:
        self.omap.setdefault((pool, oid), {}).update(values)

    def omap_remove(self, cluster: Any, pool: str, oid: str, keys: List[str]) -> None:
        for key in keys:
            self.omap.get((pool, oid), {}).pop(key, None)

    def namespace_exists(self, cluster: Any, pool: str, ns: str) -> bool:
        return ns == 'ns1'

    def snapshot_mirrored_images(self, cluster: Any, pool: str, ns: str) -> List[Dict[str, Any]]:
        return [{'id': 'abc', 'name': 'vm1', 'global_id': 'g', 'primary': True}] if pool == 'rbd' and ns == '' else []

    def parse_schedule(self, interval: str, start_time: str = '', time_zone: str = '') -> Dict[str, str]:
        if interval in ('0m', 'x'):
            raise OSError(22, f"interval '{interval}': invalid")
        return {'kind': 'interval', 'expression': interval, 'start_time': start_time}


def rbd_support(*items: Dict[str, Any]) -> str:
    return json.dumps(list(items))


def test_every_level_is_imported_once_and_what_cannot_be_is_said() -> None:
    native = FakeNative()
    native.omap[('rbd', 'rbd_mirror_snapshot_schedule')] = {
        '1': rbd_support({'interval': '1h', 'start_time': None}),
        '1/ns1': rbd_support({'interval': '1d', 'start_time': '14:00:00-05:00'}, {'interval': '6h', 'start_time': None}),
        '1//abc': rbd_support({'interval': '15', 'start_time': None}),
        '1//gone': rbd_support({'interval': '1d', 'start_time': None}),
        '1/nope': rbd_support({'interval': '1d', 'start_time': None}),
        '2': rbd_support({'interval': '0m', 'start_time': None}),   # another pool's id in rbd's object
        'garbage': 'not json',
        '1/ns2': 'null',  # what rbd_support leaves when a level's last schedule is removed
        '1/ns3': '[]',
    }
    native.omap[('data', 'rbd_mirror_snapshot_schedule')] = {'2': rbd_support({'interval': '0m', 'start_time': None})}
    store: Dict[str, Optional[str]] = {}
    schedules = ScheduleStore(native, LocalCluster(), store.get, store.__setitem__)
    importer = ScheduleImport(native, LocalCluster(), schedules,
                              lambda: rbd_support({'interval': '1d', 'start_time': None}), local_offset=lambda: 0)
    rows = importer.run()
    got = {(r['level'], r['schedule']): (r['result'], r['note']) for r in rows}
    assert got[('', 'every 1d')] == ('added', None)
    assert got[('rbd/', 'every 1h')] == ('added', None)
    assert got[('rbd/ns1/', 'every 1d starting at 14:00:00-05:00')][0] == 'added'
    assert 'ran it at 09:00 UTC' in got[('rbd/ns1/', 'every 1d starting at 14:00:00-05:00')][1]
    assert got[('rbd/ns1/', 'every 6h')] == ('added', None)
    assert got[('rbd/vm1', 'every 15m')] == ('added', None)   # no unit: minutes
    assert got[('rbd:1//gone', 'every 1d')][0] == 'skipped' and 'not mirrored' in got[('rbd:1//gone', 'every 1d')][1]
    assert got[('rbd:1/nope', 'every 1d')][0] == 'skipped' and 'does not exist' in got[('rbd:1/nope', 'every 1d')][1]
    assert got[('rbd:2', 'every 0m')] == ('skipped', 'not a level id')
    assert got[('data/', 'every 0m')][0] == 'skipped' and 'not a valid schedule' in got[('data/', 'every 0m')][1]
    assert got[('rbd:garbage', 'not json')] == ('skipped', 'not a schedule list')
    # Stored as this module's: the global level in the mgr store, the others in the pool's object.
    assert json.loads(store['global_schedule'])['schedules'] == [{'interval': '1d', 'start_time': ''}]
    ours = native.omap[('rbd', SCHEDULE_OBJECT)]
    assert sorted(ours) == ['image:/abc', 'ns:ns1', 'pool']
    assert json.loads(ours['ns:ns1'])['schedules'] == [{'interval': '1d', 'start_time': '14:00:00-05:00'},
                                                       {'interval': '6h', 'start_time': ''}]
    assert ('data', SCHEDULE_OBJECT) not in native.omap
    # rbd_support's own are left as they were.
    assert '1' in native.omap[('rbd', 'rbd_mirror_snapshot_schedule')]

    again = importer.run()
    assert [r['result'] for r in again if r['result'] != 'skipped'] == ['already scheduled'] * 5
    assert native.omap[('rbd', SCHEDULE_OBJECT)] == ours
    text = import_table(again)
    assert 'already scheduled' in text and 'note: rbd/ns1/' in text and 'left in place' in text


@pytest.mark.parametrize('global_option', [None, '', 'null', '[]'])
def test_nothing_to_import(global_option: Optional[str]) -> None:
    native = FakeNative()
    store: Dict[str, Optional[str]] = {}
    schedules = ScheduleStore(native, LocalCluster(), store.get, store.__setitem__)
    rows = ScheduleImport(native, LocalCluster(), schedules, lambda: global_option, local_offset=lambda: 0).run()
    assert rows == [] and import_table(rows) == 'rbd_support has no mirror-snapshot schedules'
