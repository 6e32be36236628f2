"""Threads the module owns, and the only place the native extension is used.

ceph-mgr deadlocks if a pybind11 extension is imported or called from the
mgr's own threads (DESIGN.md, threading rule). So the extension is imported
by the first thread started here, and every native call is a job handed to
these threads; command handlers submit and wait.
"""
import importlib
import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable, Optional

_STOP = object()


class ExecutorNotReady(RuntimeError):
    pass


class NativeExecutor:
    def __init__(self, package: str, log: Any, name: str) -> None:
        self._package = package
        self._name = name
        self._log = log
        self._jobs: 'queue.Queue[Any]' = queue.Queue()
        self._threads: list = []
        self._ready = threading.Event()
        self._native: Any = None
        self._import_error: Optional[BaseException] = None

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

    def submit(self, job: Callable[..., Any], *args: Any) -> 'Future[Any]':
        """Run job(native, *args) on a module thread."""
        future: 'Future[Any]' = Future()
        self._jobs.put((future, job, args))
        return future

    def call(self, job: Callable[..., Any], *args: Any,
             timeout: Optional[float] = None) -> Any:
        return self.submit(job, *args).result(timeout)

    def stop(self) -> None:
        for _ in self._threads:
            self._jobs.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []

    def _run(self, index: int) -> None:
        if index == 0:
            self._import()
        self._ready.wait()
        while True:
            item = self._jobs.get()
            if item is _STOP:
                return
            future, job, args = item
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
