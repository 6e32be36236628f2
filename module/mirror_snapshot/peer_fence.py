"""Fencing the peer clients of this module's previous instance.

When the active mgr fails over, the monitors blocklist the clients it
registered on its own cluster, never those it had on peer clusters. Such a
client may hold a peer image's exclusive lock (librbd takes it to remove a
snapshot the replayer released): every writer of that image, a VM included,
then waits until the dead client's watch times out (~30 s). So each instance
records its peer clients' addresses in the module store, and the next one
blocklists them on the peer before it first uses that peer, as the monitors
do on our own cluster.
"""
import ipaddress
import json
import re
import threading
from typing import Any, Callable, Dict, List, Optional

STORE_KEY = 'peer_clients'
# As long as the monitors fence a failed mgr's clients (mon_mgr_blocklist_interval).
EXPIRE_SECONDS = 24 * 3600.0
# Reconnections add addresses; older ones are long gone.
MAX_ADDRESSES_PER_PEER = 16


def split_addresses(addrvec: str) -> List[str]:
    """'[v2:127.0.0.1:0/123,v1:...]' or 'v2:127.0.0.1:0/123' -> each address."""
    return [a for a in addrvec.strip().strip('[]').split(',') if a]


# An entity address as Ceph prints one: [v1:|v2:|any:]IP:port/nonce, an IPv6
# address in brackets.
_ENTITY_ADDRESS = re.compile(r'(?:(?:v1|v2|any):)?(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<ip4>[0-9.]+))'
                             r':(?P<port>[0-9]{1,5})/(?P<nonce>[0-9]{1,10})')


def address_problem(address: Any) -> Optional[str]:
    """Why `address` must not be blocklisted, or None for one client's address.

    The store may hold anything (anyone who can write the mgr's config-key
    store can put entries there), and the blocklist is applied on the peer.
    A nonce of 0 (e.g. `IP:0/0`) matches every client of that host, a whole
    hypervisor's. Port 0 is what a client's address has (clients do not
    listen), so it is allowed.
    """
    if not isinstance(address, str):
        return 'not a string'
    match = _ENTITY_ADDRESS.fullmatch(address)
    if match is None:
        return 'not an entity address [v1:|v2:]IP:port/nonce'
    try:
        if match.group('ip6') is not None:
            ipaddress.IPv6Address(match.group('ip6'))
        else:
            ipaddress.IPv4Address(match.group('ip4'))
    except ValueError:
        return 'not an IP address'
    if int(match.group('port')) > 0xffff:
        return 'port out of range'
    nonce = int(match.group('nonce'))
    if nonce == 0:
        return "nonce 0 fences every client of the host"
    if nonce > 0xffffffff:
        return 'nonce out of range'
    return None


class PeerFence:
    def __init__(self, get_store: Callable[[str], Optional[str]],
                 set_store: Callable[[str, Optional[str]], None], log: Any) -> None:
        self._get_store = get_store
        self._set_store = set_store
        self._log = log
        self._lock = threading.Lock()
        self._previous = self._load()            # site name -> addresses not fenced yet
        self._current: Dict[str, List[str]] = {}  # site name -> this instance's addresses

    def connected(self, peer: Any, client: Any) -> None:
        """Call with each new client of `peer` (a native PeerSite), before it
        is used: fences the previous instance's clients of that peer, records
        this one."""
        site = peer.site_name
        with self._lock:
            stale = self._previous.pop(site, [])
        fenced = 0
        for address in stale:
            problem = address_problem(address)
            if problem is not None:
                self._log.warning(f"not blocklisting {address!r} from the module store's {STORE_KEY} "
                                  f"on peer '{site}': {problem}")
                continue
            try:
                client.blocklist_add(address, EXPIRE_SECONDS)
                fenced += 1
            except OSError as e:
                self._log.warning(f"could not blocklist {address}, a client of this module's previous "
                                  f"instance, on peer '{site}': {e.strerror or e}")
        if fenced:
            self._log.info(f"blocklisted {fenced} client(s) of this module's previous instance on peer '{site}'")
        with self._lock:
            mine = self._current.setdefault(site, [])
            mine.extend(split_addresses(client.addresses()))
            del mine[:-MAX_ADDRESSES_PER_PEER]
            self._save()

    def _load(self) -> Dict[str, List[str]]:
        try:
            stored = json.loads(self._get_store(STORE_KEY) or '{}')
        except ValueError:
            return {}
        return {site: [a for a in addrs if isinstance(a, str)]
                for site, addrs in stored.items() if isinstance(addrs, list)} if isinstance(stored, dict) else {}

    def _save(self) -> None:
        """Call with the lock held: what the next instance must fence."""
        pending: Dict[str, List[str]] = {}
        for table in (self._previous, self._current):
            for site, addrs in table.items():
                pending.setdefault(site, []).extend(addrs)
        self._set_store(STORE_KEY, json.dumps(pending, sort_keys=True))
