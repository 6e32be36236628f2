"""Numbers from commands and from image metadata are parsed strictly
(review finding #17): 1-20 ASCII digits, below 2^64."""
import errno
from typing import Any, Dict, List

import pytest

from mirror_snapshot.arguments import parse_uint64, uint64_argument
from mirror_snapshot.errors import CommandError
from mirror_snapshot.image_commands import ImageCommands
from fake_peer import FakePeer
from mirror_snapshot.peer_connections import PeerConnections

BAD = ['²', '١٢', '１２', '18446744073709551616', '99999999999999999999', '123456789012345678901',
       '-1', '+1', ' 1', '1 ', '1\n', '1_000', '0x10', '1e3', '', 'one']


@pytest.mark.parametrize('text', ['0', '7', '007', '18446744073709551615'])
def test_numbers_below_2_to_the_64_parse(text: str) -> None:
    assert parse_uint64(text) == int(text)
    assert uint64_argument('snap_id', text) == int(text)


@pytest.mark.parametrize('text', BAD)
def test_anything_else_is_refused(text: str) -> None:
    assert parse_uint64(text) is None
    with pytest.raises(CommandError) as refused:
        uint64_argument('snap_id', text)
    assert refused.value.code == errno.EINVAL
    assert 'snap_id' in refused.value.message and '\n' not in refused.value.message


class FakeNative:
    """The functions of the native extension that ImageCommands.verify uses."""
    def __init__(self) -> None:
        self.verified: List[int] = []

    def parse_level_spec(self, text: str) -> Dict[str, str]:
        pool, name = text.split('/')
        return {'kind': 'image', 'pool': pool, 'namespace': '', 'image': name}

    def peer_sites(self, cluster: Any, pool: str) -> List[FakePeer]:
        return [FakePeer()]

    def connect_peer(self, peer: FakePeer, timeout_seconds: int) -> object:
        return object()

    def verify_image(self, cluster: Any, pool: str, ns: str, name: str, remote: Any,
                     snap_id: int) -> Dict[str, Any]:
        if not 0 <= snap_id < 1 << 64:
            raise OverflowError('incompatible function arguments')  # what pybind11 does
        self.verified.append(snap_id)
        return {'mismatches': []}


class Local:
    def get(self) -> object:
        return object()


def verify(snap: str) -> List[int]:
    native = FakeNative()
    commands = ImageCommands(native, Local(), PeerConnections(native), None, None, None)
    commands.verify('rbd/img', snap)
    return native.verified


def test_verify_takes_a_snap_id() -> None:
    assert verify('') == [0]  # the last one synced
    assert verify('18446744073709551615') == [18446744073709551615]


@pytest.mark.parametrize('text', [t for t in BAD if t])
def test_verify_refuses_a_bad_snap_id_with_einval(text: str) -> None:
    with pytest.raises(CommandError) as refused:
        verify(text)
    assert refused.value.code == errno.EINVAL
    assert 'snap_id' in refused.value.message and '\n' not in refused.value.message
