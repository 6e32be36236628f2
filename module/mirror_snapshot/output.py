"""Rendering command results in the formats the `ceph` CLI asks for."""
import json
from typing import Any, Callable, Dict

from .errors import invalid

FORMATS = ('plain', 'json', 'json-pretty')


def requested_format(cmd: Dict[str, Any]) -> str:
    fmt = cmd.get('format') or 'plain'
    if fmt not in FORMATS:
        raise invalid(f"format '{fmt}' is not supported (use plain, json or json-pretty)")
    return fmt


def render(data: Any, fmt: str, plain: Callable[[Any], str]) -> str:
    if fmt == 'json':
        return json.dumps(data, sort_keys=True)
    if fmt == 'json-pretty':
        return json.dumps(data, sort_keys=True, indent=4)
    return plain(data)


def key_value_lines(data: Dict[str, Any]) -> str:
    width = max((len(k) for k in data), default=0)
    return '\n'.join(f'{k.ljust(width)}  {v}' for k, v in data.items())
