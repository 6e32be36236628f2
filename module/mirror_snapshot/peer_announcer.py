"""Secondary side: announce this site to the primaries it receives from.

For every RBD pool with an rx peer (from `rbd mirror pool peer bootstrap
import`), connect to the peer with the credentials of its record and ping
it, as rbd-mirror does. The ping registers this site as a TX peer of the
primary pool, and librbd only creates primary mirror snapshots in pools that
have one.
"""
from typing import Any, Dict, List

from .peer_connections import CONNECT_TIMEOUT_SECONDS, PeerConnections

HEALTH_CHECK = 'MIRROR_SNAPSHOT_PEER_UNREACHABLE'


class PeerAnnouncer:
    def __init__(self, native: Any, cluster: Any, peers: PeerConnections, log: Any) -> None:
        self._native = native
        self._cluster_ref = cluster  # LocalCluster
        self._peers = peers
        self._log = log
        self.errors: Dict[str, str] = {}  # 'pool -> site' -> error

    def announce(self) -> None:
        local = self._cluster_ref.get()
        site_name = local.site_name()
        fsid = local.fsid()
        errors: Dict[str, str] = {}
        for pool in self._native.rbd_pools(local):
            try:
                peers = self._native.peer_sites(local, pool)
            except OSError as e:
                errors[pool] = f'cannot list mirror peers: {e.strerror}'
                continue
            for peer in peers:
                if peer.direction == 'tx-only' or not peer.mon_host:
                    continue
                where = f"pool '{pool}' -> peer '{peer.site_name}'"
                try:
                    # This thread may wait; a dead peer is still tried only
                    # once per backoff period (PeerConnections).
                    remote = self._peers.get(peer, wait=CONNECT_TIMEOUT_SECONDS + 5)
                    self._native.ping_peer(remote, pool, site_name, fsid)
                except OSError as e:
                    self._peers.failed(peer, e)
                    errors[where] = e.strerror or str(e)
        for where, error in errors.items():
            if self.errors.get(where) != error:
                self._log.error(f'{where}: {error}')
        self.errors = errors

    def health_checks(self) -> Dict[str, Any]:
        if not self.errors:
            return {}
        detail: List[str] = [f'{where}: {error}' for where, error in sorted(self.errors.items())]
        return {HEALTH_CHECK: {
            'severity': 'warning',
            'summary': f'{len(detail)} mirror peer(s) cannot be reached',
            'count': len(detail),
            'detail': detail,
        }}
