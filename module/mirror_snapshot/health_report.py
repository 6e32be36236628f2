"""The module's health checks: merged from its parts (scheduler, replayer,
peers) and handed to ceph-mgr only when they change.

The replayer reports every second and the scheduler after every snapshot it
creates. ceph-mgr 16.2 leaks the lists it makes of the checks on every
`set_health_checks` call (`ceph_set_health_checks`, src/mgr/BaseMgrModule.cc,
never releases its `PyDict_Items` lists): sent each time, an unchanged empty
set grew the mgr by some 15,000 Python objects an hour on a primary site of
200 images. ceph-mgr reports a module's last checks until the next call, so
sending the same checks again tells it nothing.
"""
import copy
import threading
from typing import Any, Callable, Dict, Optional

Checks = Dict[str, Any]


class HealthReport:
    def __init__(self, send: Callable[[Checks], None]) -> None:
        self._send = send            # MgrModule.set_health_checks
        self._lock = threading.Lock()
        self._parts: Dict[str, Checks] = {}
        self._sent: Optional[Checks] = None   # what ceph-mgr holds; None before the first send

    def set(self, source: str, checks: Checks) -> bool:
        """`source`'s checks are now `checks` (empty: none); True if the
        merged checks changed and were sent. If sending fails the error is
        raised and the next call sends again."""
        with self._lock:
            self._parts[source] = checks
            merged: Checks = {}
            for part in self._parts.values():
                merged.update(part)
            if merged == self._sent:
                return False
            self._send(merged)
            # A copy: a part may change the dicts it handed over afterwards.
            self._sent = copy.deepcopy(merged)
            return True
