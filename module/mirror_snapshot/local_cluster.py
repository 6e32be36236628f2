"""The native client of our own cluster, replaced when it is blocklisted.

A client can be blocklisted (an operator's `ceph osd blocklist add`, or
exclusive-lock breaking by another client); every later operation then fails
with ESHUTDOWN. rbd_support stopped scheduling until a mgr restart; here the
next user of the client opens a fresh one and carries on.
"""
import errno
import threading
from typing import Any, Callable, Dict, Optional

BLOCKLISTED = errno.ESHUTDOWN  # what librados returns to a blocklisted client

# The client is our own (its own CephContext, as the mgr's entity), not one
# sharing the mgr's configuration, because the replayer needs librbd set up
# for bulk copying, which the mgr's own settings must not be changed for:
REPLICATION_CLIENT_CONFIG = {
    # Write-around caching acknowledges a write before the OSDs have it. A
    # sync checkpoint must only count writes the OSDs acknowledged, and with
    # the cache on librbd also copies every write buffer.
    'rbd_cache': 'false',
    # Write buffers are lent to librbd instead of copied: the copy of a
    # 4 MiB buffer (and the fresh pages it lands in) cost more CPU than the
    # rest of the client's work. librbd holds a write's completion until it
    # lets go of the buffer, so the copier's lifetimes stay right.
    'rbd_disable_zero_copy_writes': 'false',
    # The mgr's [mgr] section names its admin socket and log file by
    # $name, which is the mgr's name here too: never take them over.
    'admin_socket': '',
    'log_file': '',
}
# The mgr's own settings that may come from its command line or defaults
# rather than the config file, and that a client of the same name needs.
INHERITED_OPTIONS = ('mon_host', 'keyring', 'key', 'keyfile')


def own_client_config(get_option: Callable[[str], Any], log_file: Optional[str],
                      op_timeout_seconds: int) -> Dict[str, str]:
    """The options of our own client: the mgr's identity, settings for bulk
    copying, and a timeout on every OSD and monitor operation (0: none), so
    that an inactive PG or a full pool fails a step instead of holding a
    sync thread forever (the peer clients have the same, native/ceph/peers.cc)."""
    config = {name: str(get_option(name)) for name in INHERITED_OPTIONS if get_option(name)}
    config.update(REPLICATION_CLIENT_CONFIG)
    config['rados_osd_op_timeout'] = str(op_timeout_seconds)
    config['rados_mon_op_timeout'] = str(op_timeout_seconds)
    if log_file:
        config['log_file'] = log_file
    return config


def own_log_file(mgr_log_file: Any) -> Optional[str]:
    """Our client logs beside the mgr: <mgr log>.mirror_snapshot.log, or not at all."""
    path = str(mgr_log_file or '')
    if not path:
        return None
    stem = path[:-len('.log')] if path.endswith('.log') else path
    return stem + '.mirror_snapshot.log'


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
        module thread; returns whether a new client is in place. Never
        raises: if no new client can be opened yet (the mons unreachable,
        say), the old one stays, and its next ESHUTDOWN tries again."""
        if not isinstance(error, OSError) or error.errno != BLOCKLISTED:
            return False
        with self._lock:
            self._log.warning('the native client was blocklisted; opening a new one')
            try:
                self._client = self._open_client()
            except Exception as e:
                self._log.error(f'cannot open a new native client yet (retried on the next failure): {e}')
                return False
        return True
