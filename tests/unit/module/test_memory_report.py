"""`mirror snapshot memory`: the report's figures and its plain form, with a
fake of the native heap calls (the real ones are exercised by the
integration test of the command)."""
from typing import Any, Dict

from mirror_snapshot import memory_report

MiB = 1 << 20


class FakeNative:
    def __init__(self) -> None:
        self.released = False
        self.heap: Dict[str, Any] = {'available': True, 'arena_bytes': 40 * MiB, 'in_use_bytes': 30 * MiB,
                                     'free_bytes': 10 * MiB, 'mmapped_bytes': 2 * MiB, 'releasable_bytes': 0}

    def process_heap(self) -> Dict[str, Any]:
        return dict(self.heap)

    def release_free_heap_memory(self) -> bool:
        self.released = True
        self.heap['free_bytes'] = 1 * MiB
        return True


class Marker:
    pass


def test_the_report_counts_this_interpreter_s_objects_and_the_process() -> None:
    keep = [Marker() for _ in range(5000)]
    report = memory_report.memory_report(FakeNative(), release=False)
    assert report['rss_bytes'] > 0 and report['threads'] >= 1
    assert report['python']['top_types'].get('Marker') == 5000
    assert report['python']['gc_objects'] >= 5000
    assert 'release' not in report
    del keep


def test_release_reports_the_heap_after_and_what_the_rss_gave_back() -> None:
    native = FakeNative()
    report = memory_report.memory_report(native, release=True)
    assert native.released
    assert report['release']['heap_after']['free_bytes'] == MiB
    assert report['release']['rss_returned_bytes'] >= 0
    assert report['release']['python_collected'] >= 0 and report['release']['python_objects_after'] > 0
    text = memory_report.plain(report)
    assert 'heap free, kept  10.0 MiB of 40.0 MiB' in text
    assert 'released' in text


def test_without_glibc_figures_the_plain_form_says_so() -> None:
    native = FakeNative()
    native.heap = {'available': False, 'arena_bytes': 0, 'in_use_bytes': 0, 'free_bytes': 0,
                   'mmapped_bytes': 0, 'releasable_bytes': 0}
    text = memory_report.plain(memory_report.memory_report(native, release=False))
    assert 'does not use glibc (>= 2.33) malloc' in text


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_release_collects_unreachable_cycles_first() -> None:
    import gc
    gc.collect()
    gc.disable()  # or a generation-0 collection would take some of them first
    try:
        for _ in range(1000):
            Cycle()  # unreachable at once, but only the cycle collector frees them
        report = memory_report.memory_report(FakeNative(), release=True)
    finally:
        gc.enable()
    assert report['release']['python_collected'] >= 1000
    assert 'unreachable Python objects collected' in memory_report.plain(report)


def test_the_report_says_which_blocks_are_mapped_alone() -> None:
    report = memory_report.memory_report(FakeNative(), release=False, mmap_threshold=4 * MiB)
    assert report['heap']['mmap_threshold_bytes'] == 4 * MiB
    assert 'blocks of 4 MiB and more (heap_mmap_threshold)' in memory_report.plain(report)
    report = memory_report.memory_report(FakeNative(), release=False)
    assert report['heap']['mmap_threshold_bytes'] is None
    assert "glibc's own rising threshold" in memory_report.plain(report)
