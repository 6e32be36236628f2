"""The native client is registered with ceph-mgr in the form the mgr has
(review #12), and a replaced client is unregistered: the mgr's list of
active clients holds one entry for it, however often it was replaced."""
from typing import Any, List, Optional, Set

import pytest

from mirror_snapshot.client_registration import ClientRegistration


class PacificModule:
    """ceph-mgr 16: C functions taking the addresses only."""

    def __init__(self) -> None:
        self.clients: Set[str] = set()
        self.calls: List[tuple] = []

    def _ceph_register_client(self, *args: Any) -> None:
        self.calls.append(args)
        if len(args) != 1:
            raise TypeError(f'ceph_register_client() takes exactly 1 argument ({len(args)} given)')
        self.clients.add(args[0])

    def _ceph_unregister_client(self, *args: Any) -> None:
        if len(args) != 1:
            raise TypeError(f'ceph_unregister_client() takes exactly 1 argument ({len(args)} given)')
        self.clients.discard(args[0])


class ReefCFunctions:
    """ceph-mgr 18's C functions: (name, addrs, replace) and (name, addrs)."""

    def __init__(self) -> None:
        self.clients: Set[str] = set()
        self.calls: List[tuple] = []

    def _ceph_register_client(self, *args: Any) -> None:
        self.calls.append(args)
        if len(args) != 3:
            raise TypeError(f'ceph_register_client() takes exactly 3 arguments ({len(args)} given)')
        name, addrs, replace = args
        assert name is None and replace is False
        self.clients.add(addrs)

    def _ceph_unregister_client(self, *args: Any) -> None:
        if len(args) != 2:
            raise TypeError(f'ceph_unregister_client() takes exactly 2 arguments ({len(args)} given)')
        self.clients.discard(args[1])


class ReefModule(ReefCFunctions):
    """With MgrModule's wrappers, which are what a module should call."""

    def __init__(self) -> None:
        super().__init__()
        self.wrapped = 0

    def register_client(self, name: Optional[str], addrs: str, replace: bool = False) -> None:
        self.wrapped += 1
        self._ceph_register_client(name, addrs, replace)

    def unregister_client(self, name: Optional[str], addrs: str) -> None:
        self._ceph_unregister_client(name, addrs)


@pytest.mark.parametrize('module', [PacificModule(), ReefCFunctions(), ReefModule()],
                         ids=['pacific', 'reef-c-functions', 'reef'])
def test_one_entry_however_often_the_client_is_replaced(module: Any) -> None:
    registration = ClientRegistration(module)
    for nonce in range(1, 51):  # fifty blocklistings, fifty new clients
        registration.register(f'v2:127.0.0.1:0/{nonce}')
        assert module.clients == {f'v2:127.0.0.1:0/{nonce}'}
    registration.register('v2:127.0.0.1:0/50')  # the same client again
    assert module.clients == {'v2:127.0.0.1:0/50'}
    registration.unregister()
    assert module.clients == set()


def test_the_form_is_found_once() -> None:
    module = ReefCFunctions()
    registration = ClientRegistration(module)
    for nonce in range(3):
        registration.register(f'127.0.0.1:0/{nonce}')
    # One refused one-argument call, then the three-argument form only.
    assert [len(c) for c in module.calls] == [1, 3, 3, 3]


def test_the_reef_wrapper_is_preferred() -> None:
    module = ReefModule()
    ClientRegistration(module).register('127.0.0.1:0/1')
    assert module.wrapped == 1 and [len(c) for c in module.calls] == [3]
