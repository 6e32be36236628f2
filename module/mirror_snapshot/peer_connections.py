"""Clients of peer clusters, one per peer record (mon_host, identity, key).

Shared by the peer announcer and the replayer. A client is dropped when an
operation on it failed in a way that suggests the connection is bad; the next
user connects again.
"""
import errno
import threading
from typing import Any, Callable, Dict, Optional, Tuple

CONNECT_TIMEOUT_SECONDS = 15

# Errors after which a peer client is not trusted any more.
CONNECTION_ERRORS = {errno.ETIMEDOUT, errno.ENOTCONN, errno.ESHUTDOWN, errno.ECONNREFUSED,
                     errno.EACCES, errno.EPERM, errno.EIO}

PeerKey = Tuple[str, str, str]


def peer_key(peer: Dict[str, str]) -> PeerKey:
    return (peer['mon_host'], peer['client_name'], peer['key'])


def describe(peer: Dict[str, str]) -> str:
    return f"peer '{peer['site_name']}' ({peer['mon_host']})"


class PeerConnections:
    def __init__(self, native: Any,
                 on_connect: Optional[Callable[[Dict[str, str], Any], None]] = None) -> None:
        self._native = native
        self._on_connect = on_connect  # called with each new client, before it is used
        self._lock = threading.Lock()
        self._clients: Dict[PeerKey, Any] = {}

    def get(self, peer: Dict[str, str]) -> Any:
        """The peer's client, connecting first if needed (call from a module thread)."""
        key = peer_key(peer)
        with self._lock:
            client = self._clients.get(key)
        if client is not None:
            return client
        client = self._native.connect_peer(peer, CONNECT_TIMEOUT_SECONDS)
        if self._on_connect is not None:
            self._on_connect(peer, client)
        with self._lock:
            return self._clients.setdefault(key, client)

    def failed(self, peer: Dict[str, str], error: BaseException) -> None:
        """Forget the peer's client if `error` says the connection is bad."""
        if isinstance(error, OSError) and error.errno in CONNECTION_ERRORS:
            with self._lock:
                self._clients.pop(peer_key(peer), None)
