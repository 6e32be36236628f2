"""Where schedules live.

- Pool, namespace and image levels: the omap of RADOS object
  `mirror_snapshot_schedule` in the pool's default namespace. Keys: `pool`,
  `ns:<namespace>`, `image:<namespace>/<image id>`. Value: JSON
  {"level": "<level spec when written>", "schedules": [<item>, ...]}.
- Global level: the mgr's config store, key `global_schedule`, same JSON.

An item is {"interval": "1h", "start_time": "14:00:00-05:00"} (start_time
may be "") or {"cron": "0 2 * * *", "time_zone": "Europe/Berlin"}; always in
the canonical form the native parser prints. Every change is one omap write
of one key, made under the store's lock, so concurrent `add`s lose nothing.
"""
import json
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

from .errors import not_found
from .levels import Level

SCHEDULE_OBJECT = 'mirror_snapshot_schedule'
GLOBAL_STORE_KEY = 'global_schedule'

Item = Dict[str, str]


def item_from_parsed(parsed: Dict[str, str]) -> Item:
    if parsed['kind'] == 'cron':
        return {'cron': parsed['expression'], 'time_zone': parsed['time_zone']}
    return {'interval': parsed['expression'], 'start_time': parsed['start_time']}


def item_parts(item: Item) -> Tuple[str, str, str]:
    """(expression, start_time, time_zone) as the native parser takes them."""
    if 'cron' in item:
        return item['cron'], '', item.get('time_zone', '')
    return item['interval'], item.get('start_time', ''), ''


class ScheduleStore:
    def __init__(self, native: Any, cluster: Any,
                 get_store: Callable[[str], Optional[str]],
                 set_store: Callable[[str, Optional[str]], None]) -> None:
        self._native = native
        self._cluster_ref = cluster  # LocalCluster
        self._get_store = get_store
        self._set_store = set_store
        self._lock = threading.Lock()

    # --- reading ------------------------------------------------------------

    def items(self, level: Level) -> List[Item]:
        record = self._read(level)
        return list(record['schedules']) if record else []

    def load(self, pools: List[str]) -> List[Tuple[Level, List[Item]]]:
        """Every level with schedules: global, then each pool's levels.

        Image levels come back with image_id set and the name last written;
        the caller maps ids to current names.
        """
        out: List[Tuple[Level, List[Item]]] = []
        global_record = self._decode(self._get_store(GLOBAL_STORE_KEY))
        if global_record and global_record['schedules']:
            out.append((Level('global'), global_record['schedules']))
        for pool in pools:
            for key, value in self._native.omap_read(self._cluster_ref.get(), pool, SCHEDULE_OBJECT).items():
                record = self._decode(value)
                level = self._level_from_key(pool, key, record)
                if level is not None and record and record['schedules']:
                    out.append((level, record['schedules']))
        return out

    # --- changing -----------------------------------------------------------

    def add(self, level: Level, item: Item) -> bool:
        """False if an equal item is already there."""
        with self._lock:
            items = self.items(level)
            if item in items:
                return False
            self._write(level, items + [item])
            return True

    def remove(self, level: Level, item: Optional[Item]) -> int:
        """Removes one item, or (item None) every item of the level.

        ENOENT when there is nothing to remove. Returns how many went.
        """
        with self._lock:
            items = self.items(level)
            if not items:
                raise not_found(f'no schedule at {level.describe()}')
            if item is None:
                self._write(level, [])
                return len(items)
            if item not in items:
                raise not_found(f'no schedule {describe_item(item)} at {level.describe()}')
            self._write(level, [i for i in items if i != item])
            return 1

    # --- encoding -----------------------------------------------------------

    def _read(self, level: Level) -> Optional[Dict[str, Any]]:
        if level.kind == 'global':
            return self._decode(self._get_store(GLOBAL_STORE_KEY))
        values = self._native.omap_read(self._cluster_ref.get(), level.pool, SCHEDULE_OBJECT)
        return self._decode(values.get(level.storage_key))

    def _write(self, level: Level, items: List[Item]) -> None:
        value = json.dumps({'level': level.spec, 'schedules': items}, sort_keys=True) if items else None
        if level.kind == 'global':
            self._set_store(GLOBAL_STORE_KEY, value)
        elif value is None:
            self._native.omap_remove(self._cluster_ref.get(), level.pool, SCHEDULE_OBJECT, [level.storage_key])
        else:
            self._native.omap_set(self._cluster_ref.get(), level.pool, SCHEDULE_OBJECT, {level.storage_key: value})

    @staticmethod
    def _decode(value: Optional[str]) -> Optional[Dict[str, Any]]:
        if not value:
            return None
        try:
            record = json.loads(value)
        except ValueError:
            return None
        if not isinstance(record, dict) or not isinstance(record.get('schedules'), list):
            return None
        return record

    @staticmethod
    def _level_from_key(pool: str, key: str, record: Optional[Dict[str, Any]]) -> Optional[Level]:
        if key == 'pool':
            return Level('pool', pool=pool)
        if key.startswith('ns:'):
            return Level('namespace', pool=pool, namespace=key[3:])
        if key.startswith('image:') and '/' in key:
            ns, image_id = key[6:].rsplit('/', 1)
            spec = (record or {}).get('level', '')
            name = spec.rsplit('/', 1)[-1] if spec else image_id
            return Level('image', pool=pool, namespace=ns, image=name, image_id=image_id)
        return None


def describe_item(item: Item) -> str:
    if 'cron' in item:
        return f"'{item['cron']}' in {item.get('time_zone') or 'UTC'}"
    if item.get('start_time'):
        return f"every {item['interval']} starting at {item['start_time']}"
    return f"every {item['interval']}"
