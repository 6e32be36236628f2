"""The replayer's release pool (native TaskPool): made once, and when its
threads cannot be started, said at ERROR and replaced by a thread per step
(None) instead of ending the replayer's loop."""
from typing import Any, List

from mirror_snapshot.replayer import Replayer


class Log:
    def __init__(self) -> None:
        self.errors: List[str] = []

    def error(self, text: str) -> None:
        self.errors.append(text)


class NativeWithPool:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.sizes: List[int] = []

    def TaskPool(self, threads: int) -> Any:  # noqa: N802 (the native class's name)
        self.sizes.append(threads)
        if self.fail:
            raise RuntimeError('Resource temporarily unavailable')
        return ('pool', threads)


def bare_replayer(native: Any, log: Log, option: Any) -> Replayer:
    replayer = Replayer.__new__(Replayer)  # only what _make_side_jobs reads
    replayer._native = native
    replayer._log = log
    replayer._option = option
    return replayer


def test_one_release_thread_per_sync_slot() -> None:
    native = NativeWithPool(fail=False)
    replayer = bare_replayer(native, Log(), lambda name: {'max_concurrent_image_syncs': 24}.get(name))
    assert replayer._make_side_jobs() == ('pool', 24)
    assert native.sizes == [24]


def test_no_threads_for_the_pool_is_said_and_steps_start_their_own() -> None:
    native = NativeWithPool(fail=True)
    log = Log()
    replayer = bare_replayer(native, log, lambda name: None)
    assert replayer._make_side_jobs() is None
    assert native.sizes == [16]
    assert len(log.errors) == 1 and 'Resource temporarily unavailable' in log.errors[0]
