"""Health review of 2026-12-06, finding 3: serve() gives up (native extension not loaded) or waits forever
(own cluster client cannot connect) with a log line only: no health check,
and serve() returns normally, so ceph-mgr raises no MGR_MODULE_ERROR either.
`ceph health` is OK while nothing is scheduled or replicated."""
import threading
import time
from typing import Any

import pytest

from mgr_stand_in import module_py


@pytest.fixture(scope='module')
def Module() -> Any:
    with module_py() as module:
        yield module.Module


def make(Module: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from mirror_snapshot.executor import NativeExecutor
    monkeypatch.setattr(NativeExecutor, 'start', lambda self, count: None)
    return Module()


def test_a_native_core_that_does_not_load_is_not_silent(Module: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from mirror_snapshot.executor import ExecutorNotReady, NativeExecutor

    def not_ready(self: Any, timeout: float) -> Any:
        raise ExecutorNotReady('native extension failed to load: undefined symbol _ZN8librbd...')
    monkeypatch.setattr(NativeExecutor, 'wait_ready', not_ready)
    module = make(Module, monkeypatch)
    try:
        module.serve()
        raised = False
    except Exception:
        raised = True   # ceph-mgr would report MGR_MODULE_ERROR
    assert raised or any(module.sent), 'serve() ended with no health check and no error'


def test_a_local_client_that_never_connects_is_reported(Module: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from mirror_snapshot.executor import NativeExecutor
    monkeypatch.setattr(NativeExecutor, 'wait_ready', lambda self, timeout: object())

    def cannot_connect(self: Any, job: Any, *args: Any, **kwargs: Any) -> Any:
        raise OSError(13, 'Permission denied (the mgr key lacks caps)')
    monkeypatch.setattr(NativeExecutor, 'call', cannot_connect)
    module = make(Module, monkeypatch)
    thread = threading.Thread(target=module.serve, daemon=True)
    thread.start()
    time.sleep(3.5)   # three attempts
    module._stopping.set()
    thread.join(40)
    assert any('MIRROR_SNAPSHOT_NOT_RUNNING' in checks for checks in module.sent), module.sent
