"""Only single clients' addresses read back from the store are blocklisted
on the peer (review finding #17): the store may hold anything."""
import json
import logging
from typing import Dict, List, Optional

import pytest

from fake_peer import FakePeer
from mirror_snapshot.peer_fence import STORE_KEY, PeerFence, address_problem

GOOD = [
    '127.0.0.1:0/894872137',            # a client, as rados_getaddrs prints it
    'v2:10.0.0.5:0/3245422946',
    'v1:10.0.0.5:6800/1',
    'any:192.168.1.1:0/4294967295',
    '[::1]:0/12',
    'v2:[2001:db8::1]:0/99',
    'v2:[::ffff:10.0.0.1]:0/7',
]
BAD = [
    '10.0.0.5:0/0',                     # every client of the host
    'v2:10.0.0.5:0/0',
    '10.0.0.5:6800/0',
    '[::1]:0/0',
    '10.0.0.5',                         # no port, no nonce
    '10.0.0.5:0',
    '10.0.0.5/24',                      # a range
    '10.0.0.0/8',
    '10.0.0.256:0/1',
    '10.0.0:0/1',
    '::1:0/1',                          # IPv6 without brackets
    '[10.0.0.1]:0/1',
    '[::g]:0/1',
    '10.0.0.5:65536/1',
    '10.0.0.5:0/4294967296',
    'v3:10.0.0.5:0/1',
    '10.0.0.5:0/1 ',
    '10.0.0.5:0/1\n',
    '10.0.0.5:0/-1',
    '１0.0.0.5:0/1',
    '10.0.0.5:0/1","addr":"10.0.0.6:0/0',
    '',
    12,
    None,
]


@pytest.mark.parametrize('address', GOOD)
def test_a_client_address_is_accepted(address: str) -> None:
    assert address_problem(address) is None


@pytest.mark.parametrize('address', BAD)
def test_anything_else_is_refused(address: object) -> None:
    assert address_problem(address) is not None


class Client:
    def __init__(self) -> None:
        self.blocklisted: List[str] = []

    def blocklist_add(self, address: str, expire_seconds: float) -> None:
        self.blocklisted.append(address)

    def addresses(self) -> str:
        return '127.0.0.1:0/5'


def test_only_valid_stored_addresses_are_blocklisted() -> None:
    store: Dict[str, Optional[str]] = {
        STORE_KEY: json.dumps({'site-a': GOOD + [a for a in BAD if isinstance(a, str)] + [12, None]})}
    fence = PeerFence(store.get, store.__setitem__, logging.getLogger('test_peer_fence'))
    client = Client()
    fence.connected(FakePeer(site_name='site-a'), client)
    assert client.blocklisted == GOOD
    # What the next instance must fence: this instance's client only.
    assert json.loads(store[STORE_KEY] or '{}') == {'site-a': ['127.0.0.1:0/5']}
