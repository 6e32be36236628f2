"""The command table's permissions (review finding #17): only cheap,
read-only commands are 'r'. module.py needs ceph-mgr to import, so its
COMMANDS literal is read from the source."""
import ast
from typing import Dict

from conftest import PACKAGE_DIR

# Commands a read-only mgr user may run: they read state this site keeps.
READ_ONLY = {
    'mirror snapshot version',
    'mirror snapshot schedule ls',
    'mirror snapshot schedule status',
    'mirror snapshot image status',
    'mirror snapshot status',
    'mirror snapshot memory',  # the figures only: `memory release` changes the heap and is 'w'
}


def command_name(node: ast.expr) -> str:
    """'mirror snapshot image status' of the 'cmd' string (a literal or an f-string)."""
    text = ast.unparse(node).lstrip('f').strip('\'"')
    words = []
    for word in text.split():
        if '=' in word or '{' in word:
            break
        words.append(word)
    return ' '.join(words)


def command_perms() -> Dict[str, str]:
    tree = ast.parse((PACKAGE_DIR / 'module.py').read_text())
    module_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == 'Module')
    commands = next(n.value for n in module_class.body
                    if isinstance(n, ast.Assign) and any(getattr(t, 'id', '') == 'COMMANDS' for t in n.targets))
    perms = {}
    for entry in commands.elts:
        fields = {k.value: v for k, v in zip(entry.keys, entry.values)}
        perms[command_name(fields['cmd'])] = fields['perm'].value
    return perms


def test_verify_needs_write_permission() -> None:
    assert command_perms()['mirror snapshot image verify'] == 'w'


def test_releasing_the_heap_needs_write_permission() -> None:
    assert command_perms()['mirror snapshot memory release'] == 'w'


def test_only_read_only_commands_are_r() -> None:
    assert {cmd for cmd, perm in command_perms().items() if perm == 'r'} <= READ_ONLY
