"""Health review of 2026-12-06, finding 4: schedule refreshes that keep failing are in `schedule status`
(refresh_error) only; after a failover the scheduler knows no image and
creates nothing, and health is OK.
Finding 5: a failing image whose schedule was removed keeps
MIRROR_SNAPSHOT_SCHEDULE_FAILED for good (tracked = every primary image of a
pool some level names, covered or not)."""
import errno
import time
from typing import Dict, List, Tuple

from mirror_snapshot.levels import Level
from test_primary_scheduler import IMAGE, KEY, Harness, wait_until


def test_a_refresh_that_keeps_failing_is_in_health() -> None:
    h = Harness()
    h.native.rbd_pools = lambda cluster: (_ for _ in ()).throw(   # type: ignore[assignment]
        OSError(errno.EACCES, 'Permission denied'))   # e.g. the mgr key lost its osd caps
    for _ in range(3):
        h.scheduler._refresh()
    assert h.scheduler.status(None)['refresh_error']          # status knows
    assert h.scheduler.status(None)['images'] == []           # nothing is scheduled
    assert h.health[-1], f'health says nothing: {h.health[-1]}'


class Store:
    def __init__(self) -> None:
        self.levels: List[Tuple[Level, List[Dict[str, str]]]] = [
            (Level('image', 'rbd', '', IMAGE['name'], IMAGE['id']), [{'interval': '1m'}]),
            (Level('image', 'rbd', '', 'other', 'def456'), [{'interval': '1m'}]),
        ]

    def load(self, pools: List[str]) -> List[Tuple[Level, List[Dict[str, str]]]]:
        return self.levels


def test_removing_a_failing_images_schedule_clears_its_warning() -> None:
    h = Harness()
    store = Store()
    h.scheduler._store = store
    h.native.planner.covers = lambda pool, ns, name: any(   # type: ignore[assignment]
        lvl.image == name for lvl, _ in store.levels)
    h.scheduler._refresh()
    h.native.create_error = OSError(errno.EIO, 'I/O error')
    image = h.scheduler._images[KEY]
    h.scheduler._start_creation(image, int(time.time()), 'schedule').result(10)
    wait_until(lambda: 'MIRROR_SNAPSHOT_SCHEDULE_FAILED' in h.health[-1], what='the warning')
    store.levels = store.levels[1:]   # `schedule remove rbd/img`; rbd/other keeps its schedule
    h.scheduler._refresh()
    assert 'MIRROR_SNAPSHOT_SCHEDULE_FAILED' not in h.health[-1], h.health[-1]
