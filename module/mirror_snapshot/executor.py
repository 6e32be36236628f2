"""Threads the module owns, and the only place the native extension is used.

ceph-mgr deadlocks if a pybind11 extension is imported or called from the
mgr's own threads (docs/architecture.md, "The threading rule"). So the extension is imported
by the first thread started here, and every native call is a job handed to
these threads; command handlers submit and wait.

A command that times out cannot stop its job once a thread runs it (native
calls are not interruptible), so the jobs waiting for a thread are bounded:
past `max_waiting`, submit() raises ExecutorBusy instead of queueing more.
A job still waiting when its caller gives up is cancelled and never runs,
and a job submitted with a `shared_key` (a read-only command repeated by a
monitoring loop) is not queued again while an identical one is unfinished:
the callers share its result.
"""
import collections
import importlib
import threading
from concurrent.futures import Future, TimeoutError as FutureTimeout
from typing import Any, Callable, Dict, Hashable, Optional, Set

_STOP = object()


class ExecutorNotReady(RuntimeError):
    pass


class ExecutorBusy(RuntimeError):
    pass


class NativeExecutor:
    def __init__(self, package: str, log: Any, name: str, max_waiting: Optional[int] = None) -> None:
        self._package = package
        self._name = name
        self._log = log
        self._max_waiting = max_waiting
        # Jobs no thread has taken yet, in order; guarded by _lock. A job
        # cancelled by its caller leaves at once (not when a thread is free).
        self._jobs: 'collections.deque[Any]' = collections.deque()
        self._threads: list = []
        self._ready = threading.Event()
        self._native: Any = None
        self._import_error: Optional[BaseException] = None
        self._lock = threading.Lock()
        self._job_added = threading.Condition(self._lock)
        self._waiting: Set['Future[Any]'] = set()  # submitted, no thread has taken them yet
        self._shared: Dict[Hashable, 'Future[Any]'] = {}  # unfinished jobs by shared_key

    def start(self, thread_count: int) -> None:
        """Start the pool; the first thread imports the extension."""
        for index in range(thread_count):
            thread = threading.Thread(target=self._run, args=(index,),
                                      name=f'mirror_snapshot-{self._name}-{index}',
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def wait_ready(self, timeout: float) -> Any:
        if not self._ready.wait(timeout):
            raise ExecutorNotReady('mirror_snapshot is starting, try again')
        if self._import_error is not None:
            raise ExecutorNotReady(
                f'native extension failed to load: {self._import_error}')
        return self._native

    def waiting(self) -> int:
        """Jobs submitted that no thread has started yet."""
        with self._lock:
            return len(self._waiting)

    def submit(self, job: Callable[..., Any], *args: Any,
               shared_key: Optional[Hashable] = None) -> 'Future[Any]':
        """Run job(native, *args) on a module thread. With `shared_key`, an
        unfinished job submitted with the same key is returned instead.
        ExecutorBusy if `max_waiting` jobs are waiting already."""
        with self._lock:
            if shared_key is not None:
                unfinished = self._shared.get(shared_key)
                if unfinished is not None and not unfinished.done():
                    return unfinished
            if self._max_waiting is not None and len(self._waiting) >= self._max_waiting:
                raise ExecutorBusy(
                    f'{len(self._waiting)} requests are already waiting for the {len(self._threads)} '
                    f'{self._name} threads (earlier ones that timed out may still run): try again later')
            future: 'Future[Any]' = Future()
            self._waiting.add(future)
            if shared_key is not None:
                self._shared[shared_key] = future
        if shared_key is not None:
            future.add_done_callback(lambda done: self._forget(shared_key, done))
        with self._lock:
            self._jobs.append((future, job, args))
            self._job_added.notify()
        return future

    def call(self, job: Callable[..., Any], *args: Any, timeout: Optional[float] = None,
             shared_key: Optional[Hashable] = None) -> Any:
        future = self.submit(job, *args, shared_key=shared_key)
        try:
            return future.result(timeout)
        except FutureTimeout:
            # Nobody else waits for an unshared job: if no thread took it
            # yet, it never runs (a shared one may have other callers).
            if shared_key is None and future.cancel():
                with self._lock:
                    self._waiting.discard(future)
                    self._jobs = collections.deque(item for item in self._jobs if item is _STOP or
                                                   item[0] is not future)
            raise

    def stop(self) -> None:
        with self._lock:
            self._jobs.extend(_STOP for _ in self._threads)
            self._job_added.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []

    def _forget(self, key: Hashable, done: 'Future[Any]') -> None:
        with self._lock:
            if self._shared.get(key) is done:
                del self._shared[key]

    def _run(self, index: int) -> None:
        if index == 0:
            self._import()
        self._ready.wait()
        while True:
            with self._lock:
                while not self._jobs:
                    self._job_added.wait()
                item = self._jobs.popleft()
                if item is _STOP:
                    return
                future, job, args = item
                self._waiting.discard(future)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                if self._import_error is not None:
                    raise ExecutorNotReady(
                        f'native extension failed to load: {self._import_error}')
                future.set_result(job(self._native, *args))
            except BaseException as e:  # handed to the waiting caller
                future.set_exception(e)

    def _import(self) -> None:
        try:
            self._native = importlib.import_module('._native', self._package)
        except BaseException as e:
            self._log.error(f'cannot import the native extension: {e}')
            self._import_error = e
        finally:
            self._ready.set()
