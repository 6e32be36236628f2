"""Health review of 2026-12-06, finding 2: a peer listing that hangs puts its running seconds in the health
detail ('listing its images has taken N s so far'): a new set_health_checks call
every refresh for as long as it hangs, the thing the stall line was changed for."""
import time
from typing import Any, Dict, List

import pytest

from mirror_snapshot import replayer as replayer_module
from mirror_snapshot.health_report import HealthReport
from mirror_snapshot.replayer import Replayer
from test_replayer_listing import FakeWatcher, ListingNative, RecordingPool, LOG
from test_replayer_status import FakeLocal, FakePeers


def test_a_hanging_listing_is_one_health_change_not_one_per_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replayer_module, 'LISTING_SLOW_SECONDS', 1.0)
    monkeypatch.setattr(replayer_module, 'LISTING_WAIT_SECONDS', 0.05)
    sent: List[Dict[str, Any]] = []
    report = HealthReport(sent.append)
    native = ListingNative()
    replayer = Replayer(native, FakeLocal(), FakePeers(), RecordingPool(), LOG, {}.get,
                        lambda checks: report.set('replayer', checks), lambda: set())
    replayer._watcher = FakeWatcher()
    try:
        replayer._refresh()          # the dead peer's listing starts and hangs
        time.sleep(1.2)
        replayer._refresh()
        replayer._report_health()
        established = len(sent)
        for _ in range(2):           # still hanging: nothing new to tell
            time.sleep(1.0)
            replayer._refresh()
            replayer._report_health()
        details = [c.get('MIRROR_SNAPSHOT_REPLAY_FAILED', {}).get('detail') for c in sent]
        assert len(sent) == established, details
    finally:
        native.unblock.set()
