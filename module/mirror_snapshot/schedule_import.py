"""`ceph mirror snapshot schedule import`: rbd_support's mirror-snapshot
schedules, converted and stored as this module's (issue 21).

Where rbd_support keeps them (Pacific to Reef):
- the global level: its module option `mirror_snapshot_schedule`;
- the other levels: the omap of RADOS object `rbd_mirror_snapshot_schedule`
  in each RBD pool's default namespace; keys are level ids (`<pool id>`,
  `<pool id>/<namespace>`, `<pool id>//<image id>`,
  `<pool id>/<namespace>/<image id>`), values a JSON list of
  {"interval": "1d", "start_time": "14:00:00-05:00" | null}.

The conversion keeps what was written: the interval (no unit meant minutes)
and the start time with its offset, which this module honours. rbd_support
did not: it adds the offset's `seconds` (a negative offset counts as a day
minus it) to the time of day, on the mgr's local clock, so `14:00-05:00`
fired at 09:00 on a UTC mgr, not at 19:00 UTC. Wherever that moves the runs,
the output says when rbd_support ran it and when this module will.

Idempotent: a schedule already stored is reported as such. rbd_support's own
schedules are left in place (both would take snapshots until they go).
"""
import datetime
import json
import re
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from .levels import Level
from .schedule_store import ScheduleStore, describe_item, item_from_parsed

RBD_SUPPORT_OBJECT = 'rbd_mirror_snapshot_schedule'
RBD_SUPPORT_OPTION = 'mirror_snapshot_schedule'
DAY = 24 * 3600

_INTERVAL = re.compile(r'^(\d+)([dhm]?)$')
_START = re.compile(r'^(\d{2}):(\d{2})(?::(\d{2}))?(?:([+-])(\d{2}):?(\d{2}))?$')


class LevelId(NamedTuple):
    kind: str          # 'global', 'pool', 'namespace', 'image'
    pool_id: int = -1
    namespace: str = ''
    image_id: str = ''


def parse_level_id(level_id: str) -> Optional[LevelId]:
    """rbd_support's level id, or None if it is not one."""
    if level_id == '':
        return LevelId('global')
    parts = level_id.split('/')
    if not parts[0].isdigit() or len(parts) > 3:
        return None
    pool_id = int(parts[0])
    if len(parts) == 1:
        return LevelId('pool', pool_id)
    if len(parts) == 2:
        return LevelId('namespace', pool_id, parts[1])
    return LevelId('image', pool_id, parts[1], parts[2]) if parts[2] else None


def interval_minutes(interval: str) -> Optional[int]:
    match = _INTERVAL.match(interval or '')
    if not match:
        return None
    return int(match.group(1)) * {'d': 1440, 'h': 60, 'm': 1, '': 1}[match.group(2)]


def time_of_day(seconds: int) -> str:
    seconds %= DAY
    return f'{seconds // 3600:02d}:{seconds % 3600 // 60:02d}'


def firing_change(interval: str, start_time: Optional[str], local_offset: int) -> Optional[str]:
    """What rbd_support ran differently from what is written (None: the same
    runs). `local_offset`: the mgr's local UTC offset in seconds (rbd_support
    counts on the mgr's naive local clock)."""
    minutes = interval_minutes(interval)
    if not minutes:
        return None
    period = minutes * 60
    if not start_time:
        # Its grid starts at local midnight of 1970-01-01; ours at 00:00 UTC.
        shift = -local_offset
        if shift % period == 0:
            return None
        return (f"rbd_support ran it on the mgr's local clock (UTC{local_offset // 3600:+03d}:"
                f"{abs(local_offset) % 3600 // 60:02d}); this module runs it on the UTC grid: add a start "
                f"time to keep local time")
    match = _START.match(start_time)
    if not match:
        return None
    of_day = int(match.group(1)) * 3600 + int(match.group(2)) * 60
    offset = 0
    if match.group(4):
        offset = (int(match.group(5)) * 3600 + int(match.group(6)) * 60) * (1 if match.group(4) == '+' else -1)
    written_utc = of_day - offset                          # what the start time means
    ran_utc = of_day + offset % DAY - local_offset         # what rbd_support did (timedelta.seconds)
    if (ran_utc - written_utc) % period == 0:
        return None
    return (f"rbd_support ran it at {time_of_day(ran_utc)} UTC (it adds the offset with the wrong sign); "
            f"this module runs it as written, at {time_of_day(written_utc)} UTC")


def local_utc_offset() -> int:
    offset = datetime.datetime.now().astimezone().utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


class ScheduleImport:
    def __init__(self, native: Any, cluster: Any, store: ScheduleStore,
                 rbd_support_option: Callable[[], Optional[str]],
                 local_offset: Callable[[], int] = local_utc_offset) -> None:
        self._native = native
        self._cluster = cluster  # LocalCluster
        self._store = store
        self._rbd_support_option = rbd_support_option
        self._local_offset = local_offset

    def run(self) -> List[Dict[str, Any]]:
        """One row per rbd_support schedule: level, schedule, result
        (added | already scheduled | skipped), and a note."""
        cluster = self._cluster.get()
        pools = {}
        for name in self._native.rbd_pools(cluster):
            pools[cluster.pool_id(name)] = name
        sources: List[Tuple[str, Optional[LevelId], Any]] = []
        option = self._rbd_support_option()
        if option:
            sources.append(('(global)', LevelId('global'), option))
        for pool_id, pool in sorted(pools.items()):
            for key, value in sorted(self._native.omap_read(cluster, pool, RBD_SUPPORT_OBJECT).items()):
                level_id = parse_level_id(key)
                if level_id is not None and level_id.pool_id != pool_id:
                    level_id = None  # a key of another pool's id: not rbd_support's
                sources.append((f'{pool}:{key}', level_id, value))
        rows = []
        offset = self._local_offset()
        for where, level_id, value in sources:
            items = self._items(value)
            if items is None:
                rows.append({'level': where, 'schedule': str(value)[:80], 'result': 'skipped',
                             'note': 'not a schedule list'})
                continue
            if not items:
                continue  # "null" or []: what rbd_support leaves when a level's last schedule goes
            level, why_not = self._level(cluster, pools, level_id) if level_id else (None, 'not a level id')
            for item in items:
                rows.append(self._import_one(where, level, why_not, item, offset))
        return rows

    def _import_one(self, where: str, level: Optional[Level], why_not: Optional[str], item: Dict[str, Any],
                    offset: int) -> Dict[str, Any]:
        interval = str(item.get('interval') or '')
        start = item.get('start_time') or ''
        written = f'every {interval}' + (f' starting at {start}' if start else '')
        row: Dict[str, Any] = {'level': level.spec if level else where, 'schedule': written}
        if level is None:
            return dict(row, result='skipped', note=why_not)
        if interval_minutes(interval) is not None and not interval[-1:].isalpha():
            interval += 'm'  # rbd_support: no unit is minutes
        try:
            ours = item_from_parsed(self._native.parse_schedule(interval, start, ''))
        except OSError as e:
            return dict(row, result='skipped', note=f'not a valid schedule here: {e.strerror or e}')
        row['schedule'] = describe_item(ours)
        added = self._store.add(level, ours)
        note = firing_change(interval, start, offset)
        return dict(row, result='added' if added else 'already scheduled', note=note)

    @staticmethod
    def _items(value: Any) -> Optional[List[Dict[str, Any]]]:
        """The items of a stored JSON list; [] for "null" or an empty list;
        None for anything else."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return None
        if value is None:
            return []
        if not isinstance(value, list):
            return None
        return [i for i in value if isinstance(i, dict) and 'interval' in i]

    def _level(self, cluster: Any, pools: Dict[int, str], level_id: LevelId) -> Tuple[Optional[Level], Optional[str]]:
        if level_id.kind == 'global':
            return Level('global'), None
        pool = pools.get(level_id.pool_id)
        if pool is None:
            return None, f'pool id {level_id.pool_id} is not an RBD pool of this cluster'
        if level_id.kind == 'pool':
            return Level('pool', pool=pool), None
        if level_id.namespace and not self._native.namespace_exists(cluster, pool, level_id.namespace):
            return None, f"namespace '{pool}/{level_id.namespace}' does not exist"
        if level_id.kind == 'namespace':
            return Level('namespace', pool=pool, namespace=level_id.namespace), None
        for image in self._native.snapshot_mirrored_images(cluster, pool, level_id.namespace):
            if image['id'] == level_id.image_id:
                return Level('image', pool=pool, namespace=level_id.namespace, image=image['name'],
                             image_id=image['id']), None
        return None, (f"image id '{level_id.image_id}' of '{pool}/{level_id.namespace}' is not mirrored in "
                      f"snapshot mode (rbd_support drops such keys too)")


def import_table(rows: List[Dict[str, Any]]) -> str:
    from .output import table
    if not rows:
        return 'rbd_support has no mirror-snapshot schedules'
    body = [[r['level'] or '(global)', r['schedule'], r['result']] for r in rows]
    lines = [table(['LEVEL', 'SCHEDULE', 'RESULT'], body)]
    for r in rows:
        if r.get('note'):
            lines.append(f"note: {r['level'] or '(global)'} {r['schedule']}: {r['note']}")
    lines.append("rbd_support's schedules are left in place: remove them (rbd mirror snapshot schedule "
                 "remove ...) once this module's run, or both take snapshots.")
    return '\n'.join(lines)
