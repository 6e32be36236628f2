"""FullPools: the OSD map is dumped once per new map (and at least every
MAX_AGE), not for every sync and every health report."""
from typing import Any, Dict, List

from mirror_snapshot.full_pools import MAX_AGE_SECONDS, FullPools


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def osd_map(flags: Dict[str, str]) -> Dict[str, Any]:
    return {'pools': [{'pool_name': name, 'flags_names': f} for name, f in flags.items()]}


def test_full_flags_are_read_from_the_pools() -> None:
    full = FullPools(lambda: osd_map({'rbd': 'hashpspool,full', 'data': 'hashpspool,full_quota',
                                      'ok': 'hashpspool', 'other': ''}))
    assert full() == {'rbd'}  # `full_quota` is not `full`; a quota reached sets `full` too


def test_the_map_is_dumped_once_per_new_map_however_often_asked() -> None:
    clock, reads = Clock(), []
    flags = {'rbd': 'hashpspool'}

    def read() -> Dict[str, Any]:
        reads.append(clock.now)
        return osd_map(flags)

    full = FullPools(read, clock=clock)
    for _ in range(500):  # a minute of syncs and health reports
        assert full() == frozenset()
    assert len(reads) == 1
    flags['rbd'] = 'hashpspool,full'
    full.invalidate()  # the osd_map notification
    assert full() == {'rbd'}  # seen at the next question
    assert full() == {'rbd'} and len(reads) == 2
    # A notification missed: read again after MAX_AGE all the same.
    flags['rbd'] = 'hashpspool'
    clock.now += MAX_AGE_SECONDS - 0.1
    assert full() == {'rbd'}
    clock.now += 0.1
    assert full() == frozenset() and len(reads) == 3


def test_the_module_invalidates_on_osd_map_notifications_only() -> None:
    from mgr_stand_in import module_py
    with module_py() as module:
        assert module.Module.NOTIFY_TYPES == ['osd_map']
        instance = module.Module.__new__(module.Module)
        reads: List[int] = []
        instance._full_pools = FullPools(lambda: reads.append(1) or osd_map({}), clock=Clock())
        instance._full_pools()
        instance.notify('pg_summary', '')
        instance._full_pools()
        assert len(reads) == 1
        instance.notify('osd_map', '')
        instance._full_pools()
        assert len(reads) == 2


def test_a_failed_read_is_raised_and_the_next_call_reads_again() -> None:
    calls: List[int] = []

    def read() -> Dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError('mgr not ready')
        return osd_map({'rbd': 'full'})

    full = FullPools(read, clock=Clock())
    try:
        full()
        raise AssertionError('the error was swallowed')
    except RuntimeError:
        pass
    assert full() == {'rbd'} and len(calls) == 2
