"""Rendering command results in the formats the `ceph` CLI asks for."""
import json
from typing import Any, Callable, Dict, List

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


def table(headers: List[str], rows: List[List[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ['  '.join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    for row in rows:
        lines.append('  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return '\n'.join(lines)


def schedule_table(rows: List[Dict[str, Any]]) -> str:
    if not rows:
        return 'no schedules'
    body = []
    for row in rows:
        for item in row['schedules']:
            body.append([row['level'] or '(global)', item['description']])
    return table(['LEVEL', 'SCHEDULE'], body)


def status_table(data: Dict[str, Any]) -> str:
    body = []
    for row in data['images']:
        last = row['last_run']
        if last is None:
            last_text = '-'
        elif last['result'] == 'created':
            late = last.get('lateness_seconds')
            last_text = f"{last['time']} snap {last['snap_id']}" + (f' ({late:+.0f}s)' if late is not None else '')
        else:
            last_text = f"{last['time']} {last['result']}: {last['error']}"
        body.append([row['next_run'] or '-', row['image'], row['level'] if row['level'] is not None else '-',
                     row['state'], last_text])
    text = table(['NEXT RUN (UTC)', 'IMAGE', 'LEVEL', 'STATE', 'LAST RUN'], body) if body else 'no scheduled images'
    if data.get('refresh_error'):
        text += f"\nrefresh error: {data['refresh_error']}"
    return text
