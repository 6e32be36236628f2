"""Health review of 2026-12-06, finding 3: serve() gives up (native extension not loaded) or waits forever
(own cluster client cannot connect) with a log line only: no health check,
and serve() returns normally, so ceph-mgr raises no MGR_MODULE_ERROR either.
`ceph health` is OK while nothing is scheduled or replicated."""
import logging
import sys
import threading
import time
import types
from typing import Any, Dict, List

import pytest


@pytest.fixture(scope='module')
def Module() -> Any:
    stand_in = types.ModuleType('mgr_module')

    class MgrModule:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.log = logging.getLogger('review')
            self.sent: List[Dict[str, Any]] = []

        def set_health_checks(self, checks: Dict[str, Any]) -> None:
            self.sent.append(checks)

        def get_module_option(self, name: str) -> Any:
            return None

    stand_in.MgrModule = MgrModule  # type: ignore[attr-defined]
    stand_in.Option = lambda **fields: fields  # type: ignore[attr-defined]
    saved = sys.modules.get('mgr_module')
    sys.modules['mgr_module'] = stand_in
    version = types.ModuleType('mirror_snapshot._version')
    version.MODULE_VERSION = 'test'  # type: ignore[attr-defined]
    sys.modules.setdefault('mirror_snapshot._version', version)
    # Imported afresh against this stand-in (another test may have imported
    # it against its own), and forgotten afterwards.
    sys.modules.pop('mirror_snapshot.module', None)
    try:
        from mirror_snapshot.module import Module as M
        yield M
    finally:
        sys.modules.pop('mirror_snapshot.module', None)
        if saved is not None:
            sys.modules['mgr_module'] = saved
        else:
            del sys.modules['mgr_module']


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
