"""Health review of 2026-12-06, finding 8: creation threads report the
scheduler's checks at once; a verdict computed before another thread's newer
one must not be sent after it (the stale warning would stay until the next
creation or refresh)."""
import errno
import threading
import time
from typing import Any, Dict, List

from mirror_snapshot.health_report import HealthReport
from test_primary_scheduler import KEY, Harness, wait_until

CHECK = 'MIRROR_SNAPSHOT_SCHEDULE_FAILED'


def test_an_older_report_is_not_sent_after_a_newer_one() -> None:
    h = Harness()
    sent: List[Dict[str, Any]] = []
    report = HealthReport(sent.append)
    hold = threading.Event()
    held = threading.Event()

    def on_change(checks: Dict[str, Any]) -> None:
        if CHECK in checks and not held.is_set():   # thread A: computed, not yet handed over
            held.set()
            hold.wait(10)
        report.set('scheduler', checks)
    h.scheduler._on_health_change = on_change
    h.scheduler._refresh()
    image = h.scheduler._images[KEY]
    h.native.create_error = OSError(errno.EIO, 'I/O error')
    first = h.scheduler._start_creation(image, int(time.time()), 'schedule')   # A fails, then pauses
    wait_until(held.is_set, what='A to compute its checks')
    h.native.create_error = None
    second = h.scheduler._start_creation(image, None, 'manual')                 # B succeeds meanwhile
    time.sleep(0.3)
    hold.set()
    first.result(10)
    assert second.result(10)['result'] == 'created'
    wait_until(lambda: h.records.get(KEY)['result'] == 'created', what='the record')
    time.sleep(0.2)
    assert CHECK not in sent[-1], sent[-1]
