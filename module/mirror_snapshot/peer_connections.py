"""Clients of peer clusters, one per peer record (mon_host, identity, key).

Shared by the peer announcer, the replayer and the image commands. A peer is
the native PeerSite object from `peer_sites()`: it has no readable key (the
key stays in C++, invariant 8); two records with the same monitors, identity
and key are equal, and are one dict key here: the records of several pools
for one peer share its client, its attempts and its backoff.

Connecting never holds up a caller that cannot wait (review #15): each
attempt runs on a thread of its own, one at a time per peer. A failed attempt
is remembered with its error, and the next one starts only after a backoff
(5 s, doubling up to 60 s): a dead peer costs one attempt per backoff period,
not one per pool or image, and the replayer carries on with the peers it has.
A client is dropped when an operation on it failed in a way that suggests the
connection is bad; the next user connects again.
"""
import errno
import re
import threading
import time
from typing import Any, Callable, Dict, Iterable, Optional

CONNECT_TIMEOUT_SECONDS = 15
BACKOFF_MIN_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 60.0

# Errors after which a peer client is not trusted any more.
CONNECTION_ERRORS = {errno.ETIMEDOUT, errno.ENOTCONN, errno.ESHUTDOWN, errno.ECONNREFUSED,
                     errno.EACCES, errno.EPERM, errno.EIO}


def describe(peer: Any) -> str:
    return f"peer '{peer.site_name}' ({peer.mon_host})"


def peer_error(peer: Any, error: BaseException) -> str:
    """One line naming the peer and what went wrong (never twice the peer)."""
    text = (error.strerror if isinstance(error, OSError) else None) or str(error)
    prefix = f"peer '{peer.site_name}'"
    return text if text.startswith(prefix) else f'{describe(peer)}: {text}'


# What get() appends to a connection error: when it is tried again.
RETRY_COUNTDOWN = re.compile(r' \((?:next attempt in \d+ s|trying again now)\)')


def steady(text: str) -> str:
    """`text` without the retry countdown get() appends, for health: a detail
    that changes every second is a new report every second, and ceph-mgr 16.2
    keeps every report it is sent (health_report.py). Status keeps the countdown."""
    return RETRY_COUNTDOWN.sub('', text)


class PeerConnecting(OSError):
    """The first connection attempt to a peer is still running."""

    def __init__(self, peer: Any) -> None:
        super().__init__(errno.EAGAIN, f'{describe(peer)}: connecting')


class _PeerState:
    def __init__(self) -> None:
        self.client: Any = None
        self.attempt: Optional[threading.Event] = None  # set when the running attempt ends
        self.error: Optional[OSError] = None  # the last attempt's, until one succeeds
        self.failures = 0
        self.retry_at = 0.0


class PeerConnections:
    def __init__(self, native: Any,
                 on_connect: Optional[Callable[[Any, Any], None]] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._native = native
        self._on_connect = on_connect  # called with each new client, before it is used
        self._clock = clock
        self._lock = threading.Lock()
        self._peers: Dict[Any, _PeerState] = {}
        self._ready_listeners: list = []

    def on_ready(self, listener: Callable[[Any], None]) -> None:
        """`listener(peer)` is called (on the connecting thread) after each new connection."""
        self._ready_listeners.append(listener)

    def get(self, peer: Any, wait: float = 0.0, retry_now: bool = False) -> Any:
        """The peer's client. Without one, an attempt to connect starts in the
        background (unless one runs, or the last failure's backoff is not over,
        and `retry_now` is not given) and this waits for it up to `wait`
        seconds. Raises PeerConnecting while the first attempt runs, or the
        last attempt's error (an OSError naming the peer)."""
        with self._lock:
            state = self._peers.setdefault(peer, _PeerState())
            if state.client is not None:
                return state.client
            attempt = state.attempt
            if attempt is None and (retry_now or self._clock() >= state.retry_at):
                attempt = self._start_attempt(peer, state)
        if attempt is not None and wait > 0:
            attempt.wait(wait)
        with self._lock:
            if state.client is not None:
                return state.client
            if state.error is None:
                raise PeerConnecting(peer)
            error = state.error
            if state.attempt is not None:
                suffix = ' (trying again now)'
            else:
                suffix = f' (next attempt in {max(state.retry_at - self._clock(), 0.0):.0f} s)'
        # A new error each time: the cached one is shared by every caller.
        raise OSError(error.errno, (error.strerror or str(error)) + suffix)

    def failed(self, peer: Any, error: BaseException) -> None:
        """Forget the peer's client if `error` says the connection is bad."""
        if isinstance(error, OSError) and error.errno in CONNECTION_ERRORS:
            with self._lock:
                state = self._peers.get(peer)
                if state is not None:
                    state.client = None

    def retain(self, peers: Iterable[Any]) -> None:
        """Drop the clients and errors of peer records not in `peers` any more
        (a peer removed, its key or monitors changed): no client outlives its record."""
        keep = set(peers)
        with self._lock:
            for peer in [p for p in self._peers if p not in keep]:
                del self._peers[peer]

    def _start_attempt(self, peer: Any, state: _PeerState) -> threading.Event:
        """Call with the lock held."""
        attempt = threading.Event()
        state.attempt = attempt
        thread = threading.Thread(target=self._connect, args=(peer, state, attempt),
                                  name=f'mirror_snapshot.connect.{peer.site_name}', daemon=True)
        thread.start()
        return attempt

    def _connect(self, peer: Any, state: _PeerState, attempt: threading.Event) -> None:
        """Runs on its own thread (a module thread: the native call releases the GIL)."""
        client: Any = None
        error: Optional[OSError] = None
        try:
            client = self._native.connect_peer(peer, CONNECT_TIMEOUT_SECONDS)
            if self._on_connect is not None:
                self._on_connect(peer, client)
        except OSError as e:
            error, client = OSError(e.errno or errno.EIO, peer_error(peer, e)), None
        except Exception as e:  # never let the thread die with the attempt marked running
            error, client = OSError(errno.EIO, f'{describe(peer)}: internal error: {e}'), None
        with self._lock:
            state.attempt = None
            if client is not None:
                state.client, state.error, state.failures = client, None, 0
            else:
                state.error = error
                state.failures += 1
                state.retry_at = self._clock() + min(BACKOFF_MIN_SECONDS * 2 ** (state.failures - 1),
                                                     BACKOFF_MAX_SECONDS)
        attempt.set()
        if client is not None:
            for listener in list(self._ready_listeners):
                listener(peer)
