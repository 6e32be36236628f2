"""The native client of our own cluster, replaced when it is blocklisted.

A client can be blocklisted (an operator's `ceph osd blocklist add`, or
exclusive-lock breaking by another client); every later operation then fails
with ESHUTDOWN. rbd_support stopped scheduling until a mgr restart; here the
next user of the client opens a fresh one and carries on.
"""
import errno
import threading
from typing import Any, Callable

BLOCKLISTED = errno.ESHUTDOWN  # what librados returns to a blocklisted client


class LocalCluster:
    def __init__(self, open_client: Callable[[], Any], log: Any) -> None:
        self._open_client = open_client
        self._log = log
        self._lock = threading.Lock()
        self._client: Any = None

    def connect(self) -> None:
        client = self._open_client()
        with self._lock:
            self._client = client

    def get(self) -> Any:
        with self._lock:
            return self._client

    def recover(self, error: BaseException) -> bool:
        """Reopens the client if `error` says it was blocklisted. Call from a
        module thread; returns whether a new client is in place."""
        if not isinstance(error, OSError) or error.errno != BLOCKLISTED:
            return False
        with self._lock:
            self._log.warning('the native client was blocklisted; opening a new one')
            self._client = self._open_client()
        return True
