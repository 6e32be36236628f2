"""NativeExecutor bounds what commands can pile onto the native threads (review #13).

The executor imports a fake of our native extension (a module registered as
mirror_snapshot._native) on its own first thread, as it imports the real one.
"""
import logging
import sys
import threading
import types
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Iterator, List

import pytest

from mirror_snapshot.executor import ExecutorBusy, NativeExecutor

LOG = logging.getLogger('test_executor')


class FakeNative(types.ModuleType):
    """What the jobs below call: a blocking operation they can be held in, and a call count."""

    def __init__(self) -> None:
        super().__init__('mirror_snapshot._native')
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)
        self.calls: List[str] = []
        self.lock = threading.Lock()
        self.imported_on = threading.current_thread().name

    def blocking_status(self, name: str) -> str:
        with self.lock:
            self.calls.append(name)
        self.entered.release()
        assert self.release.wait(10), 'the test never released the job'
        return f'status of {name}'

    def quick(self, name: str) -> str:
        with self.lock:
            self.calls.append(name)
        return name


@pytest.fixture
def native(monkeypatch: pytest.MonkeyPatch) -> FakeNative:
    fake = FakeNative()
    monkeypatch.setitem(sys.modules, 'mirror_snapshot._native', fake)
    return fake


@pytest.fixture
def executor(native: FakeNative) -> Iterator[NativeExecutor]:
    pool = NativeExecutor('mirror_snapshot', LOG, 'native', max_waiting=3)
    pool.start(1)
    assert pool.wait_ready(10) is native
    yield pool
    native.release.set()
    pool.stop()


def hold_the_thread(executor: NativeExecutor, native: FakeNative) -> Any:
    """A job that keeps the only thread busy until native.release is set."""
    running = executor.submit(lambda n: n.blocking_status('held'))
    assert native.entered.acquire(timeout=10), 'the job never started'
    return running


def test_jobs_run_on_the_pool_with_the_native_module(executor: NativeExecutor, native: FakeNative) -> None:
    assert executor.call(lambda n, x: n.quick(x), 'a', timeout=10) == 'a'
    thread = executor.call(lambda n: threading.current_thread().name, timeout=10)
    assert thread == 'mirror_snapshot-native-0'
    assert native.calls == ['a']


def test_a_full_queue_refuses_with_busy_and_takes_jobs_again_once_drained(executor: NativeExecutor,
                                                                          native: FakeNative) -> None:
    running = hold_the_thread(executor, native)
    waiting = [executor.submit(lambda n, i=i: n.quick(f'job{i}')) for i in range(3)]
    assert executor.waiting() == 3
    with pytest.raises(ExecutorBusy) as refused:
        executor.submit(lambda n: n.quick('one too many'))
    message = str(refused.value)
    assert '\n' not in message and 'try again later' in message and '3 requests' in message
    native.release.set()
    assert running.result(10) == 'status of held'
    assert [f.result(10) for f in waiting] == ['job0', 'job1', 'job2']
    assert 'one too many' not in native.calls   # refused means never run
    assert executor.waiting() == 0
    assert executor.call(lambda n: n.quick('after'), timeout=10) == 'after'


def test_a_repeated_identical_command_adds_no_job_while_the_first_is_unfinished(
        executor: NativeExecutor, native: FakeNative) -> None:
    first = executor.submit(lambda n: n.blocking_status('status'), shared_key='status')
    assert native.entered.acquire(timeout=10)
    # Running: every repeat shares it, and the queue stays empty.
    repeats = [executor.submit(lambda n: n.blocking_status('status'), shared_key='status') for _ in range(10)]
    assert all(r is first for r in repeats)
    assert executor.waiting() == 0
    # Another command is its own job.
    other = executor.submit(lambda n: n.quick('image status'), shared_key='image status')
    assert other is not first and executor.waiting() == 1
    native.release.set()
    assert [r.result(10) for r in repeats] == ['status of status'] * 10
    assert other.result(10) == 'image status'
    assert native.calls.count('status') == 1
    # Finished: the next identical command runs again (fresh data).
    native.release.clear()
    again = executor.submit(lambda n: n.quick('status'), shared_key='status')
    assert again is not first
    assert again.result(10) == 'status'
    assert native.calls.count('status') == 2


def test_an_identical_command_waiting_in_the_queue_is_shared_too(executor: NativeExecutor,
                                                                 native: FakeNative) -> None:
    hold_the_thread(executor, native)
    queued = executor.submit(lambda n: n.quick('status'), shared_key='status')
    for _ in range(5):
        assert executor.submit(lambda n: n.quick('status'), shared_key='status') is queued
    assert executor.waiting() == 1
    native.release.set()
    assert queued.result(10) == 'status'
    assert native.calls.count('status') == 1


def test_a_job_still_waiting_when_its_command_times_out_never_runs(executor: NativeExecutor,
                                                                   native: FakeNative) -> None:
    hold_the_thread(executor, native)
    with pytest.raises(FutureTimeout):
        executor.call(lambda n: n.quick('timed out'), timeout=0.2)
    assert executor.waiting() == 0   # its place in the queue is free again
    native.release.set()
    assert executor.call(lambda n: n.quick('next'), timeout=10) == 'next'
    assert 'timed out' not in native.calls


def test_commands_that_time_out_while_running_end_in_busy_not_in_an_unbounded_queue(
        executor: NativeExecutor, native: FakeNative) -> None:
    """What monitoring does to a site whose native threads hang: `status` every few seconds with
    varying arguments. The queue stops at its bound; callers get EBUSY at once."""
    hold_the_thread(executor, native)
    refused = 0
    for i in range(50):
        try:
            executor.submit(lambda n, i=i: n.quick(f'status {i}'), shared_key=f'status {i}')
        except ExecutorBusy:
            refused += 1
    assert executor.waiting() == 3
    assert refused == 47


def test_timed_out_jobs_do_not_pile_up_in_the_queue_behind_a_hung_thread(
        executor: NativeExecutor, native: FakeNative) -> None:
    """Found by the adversarial review: a command that times out while waiting is cancelled and leaves
    `_waiting`, so the EBUSY bound never trips; but its (future, job, args) stays in the
    job queue until a thread takes it. With the threads hung (a stalled OSD, a peer that
    does not answer), every timed-out command of a monitoring loop adds one entry for good:
    the queue grows without bound while `waiting()` reports 0."""
    hold_the_thread(executor, native)
    timed_out = 0
    for i in range(200):
        try:
            executor.call(lambda n, i=i: n.quick(f'status {i}'), timeout=0.001)
        except FutureTimeout:
            timed_out += 1
    assert timed_out == 200          # never EBUSY: each left the waiting set
    assert executor.waiting() == 0
    # Bounded resources: the queue behind the hung thread holds no more than the bound.
    assert len(executor._jobs) <= 3, f'{len(executor._jobs)} cancelled jobs held in the queue'
