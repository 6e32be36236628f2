"""Health checks reach ceph-mgr only when they change (health_report.py):
ceph-mgr 16.2 leaks a list on every set_health_checks call."""
import threading
from typing import Any, Dict, List

import pytest

from mirror_snapshot.health_report import HealthReport


def warning(summary: str, detail: List[str]) -> Dict[str, Any]:
    return {'severity': 'warning', 'summary': summary, 'count': len(detail), 'detail': detail}


class Mgr:
    """Records what set_health_checks was given; can be made to fail."""

    def __init__(self) -> None:
        self.sent: List[Dict[str, Any]] = []
        self.fail = False

    def set_health_checks(self, checks: Dict[str, Any]) -> None:
        if self.fail:
            raise RuntimeError('mgr went away')
        self.sent.append(checks)


def test_the_first_report_is_sent_even_when_empty() -> None:
    mgr = Mgr()
    assert HealthReport(mgr.set_health_checks).set('replayer', {}) is True
    assert mgr.sent == [{}]


def test_the_same_checks_again_are_not_sent() -> None:
    mgr = Mgr()
    report = HealthReport(mgr.set_health_checks)
    for _ in range(100):   # the replayer, once a second
        report.set('replayer', {})
        report.set('scheduler', {})
    assert mgr.sent == [{}]
    check = {'X': warning('1 thing', ['a'])}
    for _ in range(10):
        report.set('replayer', {'X': warning('1 thing', ['a'])})   # equal, not the same dicts
    assert mgr.sent == [{}, check]


def test_parts_are_merged_and_a_cleared_part_is_sent_without_its_checks() -> None:
    mgr = Mgr()
    report = HealthReport(mgr.set_health_checks)
    report.set('scheduler', {'S': warning('s', ['img'])})
    report.set('replayer', {'R': warning('r', ['img2'])})
    assert mgr.sent[-1] == {'S': warning('s', ['img']), 'R': warning('r', ['img2'])}
    report.set('scheduler', {})
    assert mgr.sent[-1] == {'R': warning('r', ['img2'])}
    report.set('replayer', {})
    assert mgr.sent[-1] == {}
    assert len(mgr.sent) == 4


def test_a_changed_detail_is_sent() -> None:
    mgr = Mgr()
    report = HealthReport(mgr.set_health_checks)
    report.set('replayer', {'R': warning('1 image', ['a: stalled for 61 s'])})
    report.set('replayer', {'R': warning('1 image', ['a: stalled for 62 s'])})
    assert [c['R']['detail'] for c in mgr.sent] == [['a: stalled for 61 s'], ['a: stalled for 62 s']]


def test_checks_changed_in_place_by_their_part_are_sent_again() -> None:
    mgr = Mgr()
    report = HealthReport(mgr.set_health_checks)
    checks = {'R': warning('1 image', ['a'])}
    report.set('replayer', checks)
    checks['R']['detail'].append('b')   # the same dict, changed afterwards
    assert report.set('replayer', checks) is True
    assert mgr.sent[-1]['R']['detail'] == ['a', 'b']


def test_a_failed_send_is_raised_and_sent_again_next_time() -> None:
    mgr = Mgr()
    report = HealthReport(mgr.set_health_checks)
    report.set('replayer', {})
    mgr.fail = True
    with pytest.raises(RuntimeError):
        report.set('replayer', {'R': warning('r', ['x'])})
    mgr.fail = False
    assert report.set('replayer', {'R': warning('r', ['x'])}) is True
    assert mgr.sent == [{}, {'R': warning('r', ['x'])}]


def test_concurrent_parts_end_with_the_merged_last_checks_sent() -> None:
    mgr = Mgr()
    report = HealthReport(mgr.set_health_checks)

    def part(name: str) -> None:
        for i in range(200):
            report.set(name, {name: warning(name, [str(i % 3)])})
        report.set(name, {name: warning(name, ['end'])})
    threads = [threading.Thread(target=part, args=(n,)) for n in ('a', 'b', 'c')]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mgr.sent[-1] == {n: warning(n, ['end']) for n in ('a', 'b', 'c')}
