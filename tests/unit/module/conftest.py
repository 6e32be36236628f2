"""Python unit tests of the mgr module's own classes (no cluster, no ceph-mgr).

The package's __init__ imports module.py, which needs ceph-mgr's
mgr_module. The classes tested here do not: the package is registered
without running its __init__, so its submodules import on their own.
"""
import sys
import types
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[3] / 'module' / 'mirror_snapshot'

if 'mirror_snapshot' not in sys.modules:
    package = types.ModuleType('mirror_snapshot')
    package.__path__ = [str(PACKAGE_DIR)]  # type: ignore[attr-defined]
    sys.modules['mirror_snapshot'] = package
