"""Health review of 2026-12-06, finding 1b: the scheduler's detail counts attempts ('N attempt(s)'): every
retry of every failing image is a new set of checks. 20 images that fail
together (site-a pool over quota) cost 20 set_health_checks calls, each leaking
all 20 lines, at every retry round, for as long as they fail."""
import errno
import time
from typing import Any, Dict, List

from mirror_snapshot.health_report import HealthReport
from test_primary_scheduler import Harness

N = 20


def test_a_retry_round_of_images_failing_the_same_way_is_not_one_send_per_image() -> None:
    h = Harness()
    h.native.snapshot_mirrored_images = lambda cluster, pool, ns: [   # type: ignore[assignment]
        {'name': f'img{i}', 'id': f'id{i}', 'primary': True} for i in range(N)]
    sent: List[Dict[str, Any]] = []
    report = HealthReport(sent.append)
    h.scheduler._on_health_change = lambda checks: report.set('scheduler', checks)
    h.scheduler._refresh()
    h.native.create_error = OSError(errno.EDQUOT, 'Disk quota exceeded')

    def round_() -> None:
        for image in list(h.scheduler._images.values()):
            h.scheduler._start_creation(image, int(time.time()), 'retry').result(10)
    round_()                       # the first failures: a new condition
    before = len(sent)
    round_()                       # the same images, failing the same way
    print(sent[-1]['MIRROR_SNAPSHOT_SCHEDULE_FAILED']['detail'][:2])
    assert len(sent) - before <= 1, f'{len(sent) - before} sends for one retry round of an unchanged failure'
