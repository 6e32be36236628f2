"""The command table: each command declared once, with @command beside its
handler (module.py), and its permission (review finding #17: only cheap,
read-only commands are 'r'). module.py is imported against a stand-in of
ceph-mgr's mgr_module (mgr_stand_in.py)."""
from typing import Any, Dict

import pytest

from mgr_stand_in import module_py

# Commands a read-only mgr user may run: they read state this site keeps.
READ_ONLY = {
    'mirror snapshot version',
    'mirror snapshot schedule ls',
    'mirror snapshot schedule status',
    'mirror snapshot image status',
    'mirror snapshot status',
    'mirror snapshot memory',  # the figures only: `memory release` changes the heap and is 'w'
}


@pytest.fixture(scope='module')
def module_class() -> Any:
    with module_py() as module:
        yield module.Module, module.command_prefix


def command_perms(module_class: Any) -> Dict[str, str]:
    module, command_prefix = module_class
    return {command_prefix(c['cmd']): c['perm'] for c in module.COMMANDS}


def test_every_command_has_one_handler_and_every_handler_one_command(module_class: Any) -> None:
    module, command_prefix = module_class
    prefixes = [command_prefix(c['cmd']) for c in module.COMMANDS]
    assert len(prefixes) == len(set(prefixes)) == 16, prefixes
    instance = module.__new__(module)
    module.__init__(instance)
    assert sorted(instance._handlers) == sorted(prefixes)
    handlers = {name for name, f in vars(module).items() if name.startswith('_cmd_')}
    assert {f.__name__ for f in instance._handlers.values()} == handlers  # no handler without a command


def test_verify_needs_write_permission(module_class: Any) -> None:
    assert command_perms(module_class)['mirror snapshot image verify'] == 'w'


def test_releasing_the_heap_needs_write_permission(module_class: Any) -> None:
    assert command_perms(module_class)['mirror snapshot memory release'] == 'w'


def test_only_read_only_commands_are_r(module_class: Any) -> None:
    assert {cmd for cmd, perm in command_perms(module_class).items() if perm == 'r'} <= READ_ONLY
