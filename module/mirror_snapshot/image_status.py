"""Status of images this site does not replay: primaries, and secondaries
whose replayer does not track them (their peer is gone, for instance).

The fields are those of the replayer's status (replayer.py), so both sites
answer `image status` and `status` with one shape.
"""
from typing import Any, Dict, List, Optional

from . import replayer
from .errors import invalid
from .output import table

def primary_status(native: Any, cluster: Any, pool: str, ns: str, name: str,
                   split_brain: Optional[str] = None, demoted: bool = False) -> Dict[str, Any]:
    """A snapshot-mode image of this site: primary, or demoted (Ceph's
    non-primary; its final snapshot is the demoted one)."""
    snaps = [s for s in native.mirror_snapshots(cluster, pool, ns, name)
             if s['complete'] and s['state'] in (native.MirrorSnapshotState.primary,
                                                 native.MirrorSnapshotState.primary_demoted)]
    newest = snaps[-1] if snaps else None
    secondaries = native.sync_pins(cluster, pool, ns, name) if not demoted else []
    state = 'idle' if newest else 'waiting'
    if demoted:
        state = 'demoted'
    if split_brain:
        state = 'error'
    lineage = native.replica_state(cluster, pool, ns, name)
    return {
        'image': '/'.join(p for p in (pool, ns, name) if p),
        'role': 'demoted' if demoted else 'primary',
        'mode': 'snapshot',
        'state': state,
        'promoted': {'from_image_id': lineage['remote_image_id'], 'from_snap_id': lineage['primary_snap_id'],
                     'recovery_point': lineage['primary_snap_time'],
                     'first_snap_id': lineage['promoted_snap_id'], 'at': lineage['promoted_at']}
        if lineage and lineage['promoted'] else None,
        'last_complete': {'primary_snap_id': newest['id'], 'local_snap_name': newest['name'],
                          'primary_snap_time': newest['timestamp']} if newest else None,
        'in_flight': None,
        'last_sync': None,
        'last_error': split_brain,
        'secondaries': secondaries,
    }


def journal_primary_status(native: Any, cluster: Any, pool: str, ns: str, name: str,
                           split_brain: Optional[str] = None, demoted: bool = False) -> Dict[str, Any]:
    """A journal-mode image of this site: primary, or demoted (its journal
    ends with the demotion; the secondary replays it before a promote)."""
    lineage = native.replica_state(cluster, pool, ns, name)
    return {
        'image': '/'.join(p for p in (pool, ns, name) if p),
        'role': 'demoted' if demoted else 'primary',
        'mode': 'journal',
        'state': 'error' if split_brain else ('demoted' if demoted else 'primary'),
        # Promoted from a replica here: consistent as of the last entry it
        # had applied, written by the primary at `recovery_point`.
        'promoted': {'from_image_id': lineage['remote_image_id'], 'recovery_point': lineage['primary_snap_time'],
                     'at': lineage['promoted_at']}
        if lineage and lineage['promoted'] else None,
        'last_complete': None,
        'in_flight': None,
        'last_sync': None,
        'last_error': split_brain,
        # Who replays its journal, and how far behind: a client left behind
        # keeps the primary from trimming (rbd journal client disconnect).
        'journal_clients': _journal_clients(native, cluster, pool, ns, name) if not demoted else [],
    }


def _journal_clients(native: Any, cluster: Any, pool: str, ns: str, name: str) -> Optional[List[Dict[str, Any]]]:
    try:
        return native.journal_clients(cluster, pool, ns, name)
    except OSError:
        return None  # its journal is being enabled or disabled: unknown, not an error of the image


def unreplayed_secondary_status(spec: str, replica: Dict[str, Any]) -> Dict[str, Any]:
    return {
        'image': spec,
        'role': 'secondary',
        'state': 'error',
        'last_complete': replayer.last_complete(replica),
        'in_flight': None,
        'last_sync': replayer.last_sync_of(replica),
        'last_error': 'not being replayed: its primary is not listed by any rx peer of this pool',
    }


def local_image_status(native: Any, cluster: Any, pool: str, ns: str, name: str,
                       split_brain: Optional[str] = None) -> Dict[str, Any]:
    """An image's status from its own records (the replayer does not track it)."""
    spec = '/'.join(p for p in (pool, ns, name) if p)
    info = native.image_info(cluster, pool, ns, name)  # ENOENT names what is missing
    if info['mirror_mode'] == native.MirrorMode.snapshot:
        return primary_status(native, cluster, pool, ns, name, split_brain, demoted=not info['primary'])
    if info['mirror_mode'] == native.MirrorMode.journal:
        return journal_primary_status(native, cluster, pool, ns, name, split_brain, demoted=not info['primary'])
    replica = native.replica_state(cluster, pool, ns, name)
    if replica is not None:
        return unreplayed_secondary_status(spec, replica)
    raise invalid(f"image '{spec}' is neither a mirrored primary nor a replica of one")


def unlisted_primaries_status(why: str) -> Dict[str, Any]:
    """The row `status` shows when this site's primary images could not be
    listed in time (its OSDs or monitors do not answer)."""
    return {
        'image': '(this site)',
        'role': 'primary',
        'state': 'error',
        'last_complete': None,
        'in_flight': None,
        'last_sync': None,
        'last_error': (f"this site's primary images were not listed: {why} (ceph health detail); "
                       f"its secondary images are listed from memory"),
    }


def status_table(rows: List[Dict[str, Any]]) -> str:
    body = []
    for row in rows:
        last = row['last_complete']
        flight = row['in_flight']
        progress = '-'
        if flight and flight.get('bytes_total'):
            done = flight.get('bytes_done') or 0
            progress = f"{flight['phase']} {done * 100 // max(flight['bytes_total'], 1)}% of {flight['bytes_total'] >> 20} MiB"
            if flight.get('eta_seconds') is not None:
                progress += f" eta {flight['eta_seconds']:.0f}s"
        journal = row.get('journal')
        if journal and journal.get('entries_behind_primary') is not None and not flight:
            progress = f"{journal['entries_behind_primary']} entries behind"
            if journal.get('bytes_behind_primary'):
                progress += f" ({journal['bytes_behind_primary'] >> 10} KiB)"
        sync = row['last_sync']
        body.append([row['image'], row['role'], row.get('mode', '-'), row['state'],
                     str(last['primary_snap_id']) if last else '-',
                     last['local_snap_name'] if last else '-',
                     progress,
                     f"{sync['seconds']:.1f}s {sync['bytes'] >> 20} MiB" if sync else '-',
                     row['last_error'] or '-'])
    return table(['IMAGE', 'ROLE', 'MODE', 'STATE', 'PRIMARY SNAP', 'LOCAL SNAP', 'IN FLIGHT', 'LAST SYNC', 'ERROR'], body)

