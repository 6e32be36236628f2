"""module.py imports ceph-mgr's mgr_module, which exists only inside
ceph-mgr. module_py() imports module.py against a stand-in with what it
uses (MgrModule with log, get_context, set_health_checks recording what it
is sent, get_module_option; Option), afresh each time, and forgets it after."""
import contextlib
import logging
import sys
import types
from typing import Any, Dict, Iterator, List


class StandInMgrModule:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.log = logging.getLogger('mgr_stand_in')
        self.sent: List[Dict[str, Any]] = []  # every set_health_checks call

    def get_context(self) -> None:
        return None

    def set_health_checks(self, checks: Dict[str, Any]) -> None:
        self.sent.append(checks)

    def get_module_option(self, name: str) -> Any:
        return None


@contextlib.contextmanager
def module_py() -> Iterator[Any]:
    stand_in = types.ModuleType('mgr_module')
    stand_in.MgrModule = StandInMgrModule  # type: ignore[attr-defined]
    stand_in.Option = lambda **fields: fields  # type: ignore[attr-defined]
    stand_in.NotifyType = types.SimpleNamespace(osd_map='osd_map')  # type: ignore[attr-defined]
    saved = {name: sys.modules.get(name) for name in ('mgr_module', 'mirror_snapshot._version')}
    sys.modules['mgr_module'] = stand_in
    version = types.ModuleType('mirror_snapshot._version')
    version.MODULE_VERSION = 'test'  # type: ignore[attr-defined]
    sys.modules['mirror_snapshot._version'] = version
    sys.modules.pop('mirror_snapshot.module', None)  # another test may have imported it against its own
    try:
        import mirror_snapshot.module
        yield mirror_snapshot.module
    finally:
        sys.modules.pop('mirror_snapshot.module', None)
        for name, module in saved.items():
            if module is not None:
                sys.modules[name] = module
            else:
                sys.modules.pop(name, None)
