"""`ceph mirror snapshot schedule add|remove|ls`: validation and storage.

Runs on a module thread (it calls the native core). Nothing is stored unless
every argument is valid and the level exists.
"""
from typing import Any, Callable, Dict, List, Optional

from . import levels
from .errors import invalid, not_found
from .levels import Level
from .schedule_store import (ScheduleStore, describe_item, item_from_parsed)


class ScheduleCommands:
    def __init__(self, native: Any, cluster: Any, get_store: Callable[[str], Optional[str]],
                 set_store: Callable[[str, Optional[str]], None]) -> None:
        self._native = native
        self._cluster_ref = cluster  # LocalCluster
        self.store = ScheduleStore(native, cluster, get_store, set_store)

    def _item(self, interval: str, start_time: str, tz: str) -> Dict[str, str]:
        return item_from_parsed(self._native.parse_schedule(interval, start_time or '', tz or ''))

    def add(self, level_spec: str, interval: str, start_time: str, tz: str) -> str:
        level = levels.parse(self._native, level_spec)
        item = self._item(interval, start_time, tz)  # EINVAL before touching anything
        level = levels.resolve(self._native, self._cluster_ref.get(), level, need_snapshot_mode=True)
        if not self.store.add(level, item):
            return f'{describe_item(item)} is already scheduled at {level.describe()}'
        return f'added {describe_item(item)} at {level.describe()}'

    def remove(self, level_spec: str, interval: str, start_time: str, tz: str) -> str:
        level = levels.parse(self._native, level_spec)
        if not interval and (start_time or tz):
            raise invalid('a start time or time zone needs the interval or cron expression too')
        item = self._item(interval, start_time, tz) if interval else None
        level = self._stored_level(level)
        count = self.store.remove(level, item)
        what = describe_item(item) if item else f'{count} schedule(s)'
        return f'removed {what} from {level.describe()}'

    def ls(self, level_spec: str, recursive: bool) -> List[Dict[str, Any]]:
        level = levels.parse(self._native, level_spec)
        if level.kind != 'global':
            level = self._stored_level(level, must_exist=False)
        pools = self._native.rbd_pools(self._cluster_ref.get()) if level.kind == 'global' else [level.pool]
        rows = []
        for stored, items in self.store.load(pools):
            if level.same_level(stored) or (recursive and level.contains(stored)):
                rows.append({'level': stored.spec, 'schedules': [
                    dict(item, description=describe_item(item)) for item in items]})
        rows.sort(key=lambda r: r['level'])
        return rows

    def _stored_level(self, level: Level, must_exist: bool = True) -> Level:
        """Resolves a level for remove/ls; an image that no longer exists is
        still found by the name its schedule was stored under."""
        if level.kind != 'image':
            if must_exist:
                levels.resolve(self._native, self._cluster_ref.get(), level, need_snapshot_mode=False)
            return level
        try:
            return levels.resolve(self._native, self._cluster_ref.get(), level, need_snapshot_mode=False)
        except Exception:
            for stored, _ in self.store.load([level.pool]):
                if stored.kind == 'image' and stored.spec == level.spec:
                    return stored
            if must_exist:
                raise not_found(f"image '{level.spec}' does not exist")
            return level

