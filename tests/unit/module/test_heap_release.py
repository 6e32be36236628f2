"""The periodic release of the C heap's free memory (heap_release.py), with a
fake of the native call (the real one runs in the memory integration test)."""
import threading
import time
from typing import Any, List

from mirror_snapshot import heap_release, memory_report
from mirror_snapshot.heap_release import HeapRelease


class FakeNative:
    def __init__(self, fail: int = 0) -> None:
        self.calls = 0
        self.fail = fail
        self.called = threading.Event()

    def release_free_heap_memory(self) -> bool:
        self.calls += 1
        self.called.set()
        if self.calls <= self.fail:
            raise RuntimeError('malloc_trim blew up')
        return True


class Log:
    def __init__(self) -> None:
        self.warnings: List[str] = []

    def warning(self, text: str) -> None:
        self.warnings.append(text)

    def debug(self, text: str) -> None:
        pass


def wait_for(predicate: Any, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_it_releases_at_each_interval_and_keeps_the_last_result() -> None:
    native = FakeNative()
    release = HeapRelease(native, lambda: 0.05, Log(), clock=lambda: 1234.0)
    assert release.last() is None
    release.start()
    try:
        assert wait_for(lambda: native.calls >= 3)
    finally:
        release.stop()
    last = release.last()
    assert last is not None and last['at'] == 1234.0 and last['returned_memory'] is True
    assert last['rss_returned_bytes'] >= 0 and last['rss_after_bytes'] > 0


def test_an_interval_of_zero_never_releases(monkeypatch: Any) -> None:
    monkeypatch.setattr(heap_release, 'OFF_RECHECK_SECONDS', 0.02)
    native = FakeNative()
    looked = []
    release = HeapRelease(native, lambda: looked.append(1) or 0, Log())
    release.start()
    try:
        assert wait_for(lambda: len(looked) >= 5)  # the option is looked at again...
        assert native.calls == 0                   # ...and nothing is released
    finally:
        release.stop()


def released_after_the_interval_changes(first: float, nudge: bool) -> bool:
    """Starts with interval `first`, checks nothing is released for 0.1 s,
    then sets 0.02 s (and nudges, as config_notify does): released within 2 s?"""
    native = FakeNative()
    interval = [first]
    release = HeapRelease(native, lambda: interval[0], Log())
    release.start()
    try:
        time.sleep(0.1)
        assert native.calls == 0
        interval[0] = 0.02
        if nudge:
            release.nudge()
        return native.called.wait(2)
    finally:
        release.stop()


def test_turned_on_later_it_starts_releasing(monkeypatch: Any) -> None:
    monkeypatch.setattr(heap_release, 'OFF_RECHECK_SECONDS', 0.02)
    assert released_after_the_interval_changes(0.0, nudge=False)


def test_a_failure_is_said_once_and_the_loop_goes_on(monkeypatch: Any) -> None:
    monkeypatch.setattr(heap_release, 'FAILURE_BACKOFF_SECONDS', 0.01)
    native = FakeNative(fail=3)
    log = Log()
    release = HeapRelease(native, lambda: 0.02, log)
    release.start()
    try:
        assert wait_for(lambda: native.calls >= 5)
    finally:
        release.stop()
    assert len(log.warnings) == 1 and 'malloc_trim blew up' in log.warnings[0]
    assert release.last() is not None  # a later release succeeded


def test_a_bad_option_value_counts_as_off(monkeypatch: Any) -> None:
    monkeypatch.setattr(heap_release, 'OFF_RECHECK_SECONDS', 0.02)
    native = FakeNative()
    release = HeapRelease(native, lambda: 'soon', Log())
    release.start()
    try:
        time.sleep(0.1)
    finally:
        release.stop()
    assert native.calls == 0


def test_stop_returns_promptly_during_a_long_interval() -> None:
    release = HeapRelease(FakeNative(), lambda: 3600, Log())
    release.start()
    started = time.monotonic()
    release.stop()
    assert time.monotonic() - started < 2


class HeapNative:
    def process_heap(self) -> dict:
        return {'available': True, 'arena_bytes': 0, 'in_use_bytes': 0, 'free_bytes': 0,
                'mmapped_bytes': 0, 'releasable_bytes': 0}


def test_the_memory_report_shows_the_automatic_release() -> None:
    last = {'at': 0.0, 'returned_memory': True, 'rss_after_bytes': 100 << 20, 'rss_returned_bytes': 12 << 20}
    report = memory_report.memory_report(HeapNative(), release=False, automatic=last, interval=60)
    assert report['automatic_release'] == {'interval_seconds': 60, 'last': last}
    text = memory_report.plain(report)
    assert 'auto release     every 60 s (heap_release_interval); last 00:00:00 UTC handed back 12.0 MiB in 0 ms' in text
    none_yet = memory_report.plain(memory_report.memory_report(HeapNative(), release=False, interval=60))
    assert 'every 60 s (heap_release_interval); none yet' in none_yet
    off = memory_report.plain(memory_report.memory_report(HeapNative(), release=False))
    assert 'auto release     off (heap_release_interval 0)' in off



def test_a_nudge_applies_a_new_interval_at_once() -> None:
    assert released_after_the_interval_changes(3600.0, nudge=True), \
        'the new interval waited for the old one (an hour) to end'


def test_a_failing_option_read_backs_off_and_is_said(monkeypatch: Any) -> None:
    monkeypatch.setattr(heap_release, 'FAILURE_BACKOFF_SECONDS', 0.01)
    reads = []

    def broken() -> float:
        reads.append(1)
        raise KeyError('heap_release_interval')

    log = Log()
    release = HeapRelease(FakeNative(), broken, log)
    release.start()
    try:
        assert wait_for(lambda: len(reads) >= 12)
    finally:
        release.stop()
    # Said at the first and the tenth failure in a row, not at each.
    assert 2 <= len(log.warnings) <= 3 and '1 in a row' in log.warnings[0]


def test_a_slow_release_is_said_and_its_time_kept(monkeypatch: Any) -> None:
    monkeypatch.setattr(heap_release, 'SLOW_SECONDS', 0.0)
    log = Log()
    result = HeapRelease(FakeNative(), lambda: 60, log).release_once()
    assert result['seconds'] >= 0
    assert log.warnings and 'releasing free heap memory took' in log.warnings[0]


def test_without_glibc_the_report_says_there_is_nothing_to_release() -> None:
    class Tcmalloc:
        def process_heap(self) -> dict:
            return {'available': False, 'arena_bytes': 0, 'in_use_bytes': 0, 'free_bytes': 0,
                    'mmapped_bytes': 0, 'releasable_bytes': 0}
    text = memory_report.plain(memory_report.memory_report(Tcmalloc(), release=False, interval=60))
    assert 'auto release     nothing to release: not glibc malloc' in text


class ThresholdNative:
    def __init__(self, takes: bool = True) -> None:
        self.takes = takes
        self.set: List[int] = []

    def set_heap_mmap_threshold(self, value: int) -> bool:
        self.set.append(value)
        return self.takes


class InfoLog(Log):
    def __init__(self) -> None:
        super().__init__()
        self.infos: List[str] = []

    def info(self, text: str) -> None:
        self.infos.append(text)


def test_the_mmap_threshold_is_set_once_per_value_and_0_leaves_glibcs() -> None:
    native, log = ThresholdNative(), InfoLog()
    applied = heap_release.apply_mmap_threshold(native, 4 << 20, log)
    assert applied == 4 << 20 and native.set == [4 << 20]
    assert heap_release.apply_mmap_threshold(native, 4 << 20, log, applied) == applied   # unchanged: not set again
    assert native.set == [4 << 20]
    assert heap_release.apply_mmap_threshold(native, 8 << 20, log, applied) == 8 << 20
    assert heap_release.apply_mmap_threshold(native, 0, log, 8 << 20) == 8 << 20        # 0: nothing to set
    assert heap_release.apply_mmap_threshold(native, None, log) is None
    assert native.set == [4 << 20, 8 << 20] and not log.warnings


def test_a_threshold_the_allocator_refuses_is_a_warning() -> None:
    native, log = ThresholdNative(takes=False), InfoLog()
    assert heap_release.apply_mmap_threshold(native, 4 << 20, log) is None
    assert len(log.warnings) == 1 and 'heap_mmap_threshold' in log.warnings[0]
