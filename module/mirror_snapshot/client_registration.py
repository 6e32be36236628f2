"""Registering the native client with ceph-mgr (review #12).

A registered client is listed in the MgrMap's `active_clients`, and the
monitors blocklist it with the mgr when the mgr fails over: a dead mgr's
client cannot keep writing. Two forms of the mgr's API:
- Pacific: `_ceph_register_client(addrs)`, `_ceph_unregister_client(addrs)`;
- Reef and later: `MgrModule.register_client(name, addrs, replace=False)` and
  `unregister_client(name, addrs)` over `_ceph_register_client(name, addrs,
  replace)`; a name of None is the calling module's.
The form is found once, from the wrapper's signature, or from the TypeError
the one-argument call raises before it does anything. A client replaced after
a blocklisting is unregistered: else every recovery adds an address to
`active_clients` for good.
"""
import inspect
import threading
from typing import Any, Callable, Optional


def _takes_a_name(method: Optional[Callable[..., Any]]) -> bool:
    """Whether `method` is the Reef form: (name, addrs, ...)."""
    if method is None:
        return False
    try:
        parameters = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return parameters[:2] == ['name', 'addrs']


class ClientRegistration:
    def __init__(self, module: Any) -> None:
        self._module = module
        self._lock = threading.Lock()
        self._registered: Optional[str] = None  # addresses of the client registered now
        self._named: Optional[bool] = None  # the Reef form, once known

    def register(self, addrs: str) -> None:
        """Registers the client at `addrs`, then unregisters the one it replaces."""
        with self._lock:
            previous = self._registered
            self._register(addrs)
            self._registered = addrs
            if previous is not None and previous != addrs:
                self._unregister(previous)

    def unregister(self) -> None:
        """The module stops: its client is not the mgr's any more."""
        with self._lock:
            if self._registered is not None:
                self._unregister(self._registered)
                self._registered = None

    def _register(self, addrs: str) -> None:
        module = self._module
        if self._named is None and _takes_a_name(getattr(module, 'register_client', None)):
            self._named = True
        if self._named is None:  # no wrapper to read: the Pacific form first
            try:
                module._ceph_register_client(addrs)
                self._named = False
                return
            except TypeError:  # refused while parsing its arguments: nothing was registered
                self._named = True
        if not self._named:
            module._ceph_register_client(addrs)
        elif _takes_a_name(getattr(module, 'register_client', None)):
            module.register_client(None, addrs, False)
        else:
            module._ceph_register_client(None, addrs, False)

    def _unregister(self, addrs: str) -> None:
        module = self._module
        if self._named:
            wrapper = getattr(module, 'unregister_client', None)
            if _takes_a_name(wrapper):
                wrapper(None, addrs)
            else:
                module._ceph_unregister_client(None, addrs)
        else:
            module._ceph_unregister_client(addrs)
