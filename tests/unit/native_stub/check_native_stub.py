"""The stub module/mirror_snapshot/_native.pyi against the built extension:
the same names (functions, classes, their methods and attributes, enum
members, the testing submodule), and for every function and method the same
parameters in the same order, as pybind11 states them in each docstring's
signature line. A name added to the binding without the stub (or the other
way round) fails here.

usage: check_native_stub.py EXTENSION_DIR STUB
"""
import ast
import importlib
import re
import sys
import types
from typing import Dict, List

Api = Dict[str, object]  # name -> parameter list (functions) or a nested Api (classes)


def pybind_parameters(obj: object) -> List[str]:
    """Parameter names from the first line of a pybind11 docstring."""
    line = (getattr(obj, '__doc__', '') or '').split('\n')[0]
    match = re.match(r'\w+\((.*)\) ->', line)
    if not match:
        raise AssertionError(f'no signature line in the docstring of {obj!r}: {line!r}')
    names = []
    depth, current = 0, ''
    for ch in match.group(1) + ',':   # split on top-level commas only
        if ch in '[(':
            depth += 1
        elif ch in '])':
            depth -= 1
        if ch == ',' and depth == 0:
            if current.strip():
                names.append(current.strip().split(':')[0].split('=')[0].strip())
            current = ''
        else:
            current += ch
    return [n for n in names if n != 'self']


def runtime_api(obj: object, is_class: bool = False) -> Api:
    api: Api = {}
    members = vars(obj) if is_class else {n: getattr(obj, n) for n in dir(obj)}
    for name, value in members.items():
        if name.startswith('_') and name != '__init__':
            continue
        if is_class and name == '__init__' and 'Initialize self' in (value.__doc__ or ''):
            continue  # no constructor bound
        if isinstance(value, types.ModuleType):
            api[name] = runtime_api(value)
        elif isinstance(value, type):
            if hasattr(value, '__members__'):  # a py::enum_
                api[name] = {member: 'member' for member in value.__members__}
            else:
                api[name] = runtime_api(value, is_class=True)
        elif isinstance(value, property):
            api[name] = 'attribute'
        elif is_class and isinstance(value, staticmethod):
            api[name] = pybind_parameters(value.__func__)
        elif callable(value):
            api[name] = pybind_parameters(value)
    return api


def stub_api(body: List[ast.stmt], is_class: bool = False) -> Api:
    api: Api = {}
    for node in body:
        if isinstance(node, ast.FunctionDef):
            decorators = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
            if 'property' in decorators:
                api[node.name] = 'attribute'
                continue
            names = [a.arg for a in node.args.args]
            if is_class and 'staticmethod' not in decorators:
                names = names[1:]  # self
            api[node.name] = names
        elif isinstance(node, ast.ClassDef):
            bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, 'id', '') for b in node.bases}
            if 'Enum' in bases:
                api[node.name] = {t.id: 'member' for s in node.body if isinstance(s, ast.Assign) for t in s.targets
                                  if isinstance(t, ast.Name)}
            else:
                api[node.name] = stub_api(node.body, is_class=True)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            api[node.target.id] = 'attribute'
    return api


def compare(runtime: Api, stub: Api, where: str, problems: List[str]) -> None:
    for name in sorted(set(runtime) | set(stub)):
        if name not in stub:
            problems.append(f'{where}{name}: in the extension, not in the stub')
        elif name not in runtime:
            problems.append(f'{where}{name}: in the stub, not in the extension')
        elif isinstance(runtime[name], dict) and isinstance(stub[name], dict):
            compare(runtime[name], stub[name], f'{where}{name}.', problems)  # type: ignore[arg-type]
        elif runtime[name] != stub[name]:
            problems.append(f'{where}{name}: extension {runtime[name]} != stub {stub[name]}')


def main() -> int:
    extension_dir, stub_path = sys.argv[1], sys.argv[2]
    sys.path.insert(0, extension_dir)
    native = importlib.import_module('_native')
    runtime = runtime_api(native)
    tree = ast.parse(open(stub_path).read())
    stub = stub_api(tree.body)
    # The stub spells the submodule as `testing: _Testing` (a .pyi cannot hold a module).
    stub['testing'] = stub.pop('_Testing')
    problems: List[str] = []
    compare(runtime, stub, '_native.', problems)
    for line in problems:
        print(line)
    counted = sum(1 for _ in runtime)
    print(f'{"FAIL" if problems else "ok"}: {counted} names of _native compared, {len(problems)} difference(s)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
