"""Helpers shared by the replication tests: clients of both sites, status,
waiting for a sync, and catching a sync in the middle."""
import hashlib
import json
import os
from typing import Dict, Optional

import rados
import rbd

from sandbox import TEST_CLIENT_CONF, Images, Site, set_fence, wait_for

MiB = 1 << 20
SYNC_TIMEOUT = 120


class Client:
    """A python-rados/rbd client of one site, in one namespace of pool rbd."""

    def __init__(self, site: Site, namespace: str, pool: str = 'rbd') -> None:
        # Its own log file: an assertion of librbd's in this process (seen
        # under load) says there what it was, where pytest's capture of
        # stderr loses it.
        log = site.dir / 'log' / f'client.test.{os.getpid()}.log'
        self.cluster = rados.Rados(conffile=str(site.conf), conf=dict(TEST_CLIENT_CONF, log_file=str(log)))
        self.cluster.connect()
        self.ioctx = self.cluster.open_ioctx(pool)
        self.ioctx.set_namespace(namespace)

    def close(self) -> None:
        self.ioctx.close()
        self.cluster.shutdown()

    def image(self, name: str, snapshot: Optional[str] = None, read_only: bool = False) -> rbd.Image:
        return rbd.Image(self.ioctx, name, snapshot=snapshot, read_only=read_only)

    def set_fence(self, name: str, fenced: bool) -> None:
        """Sets or lifts by force the fence the module keeps on a replica."""
        set_fence(self.ioctx, name, fenced)

    def digest(self, name: str, snap_id: Optional[int] = None, snap_name: Optional[str] = None) -> str:
        with self.image(name, snapshot=snap_name, read_only=True) as image:
            if snap_id is not None:
                image.set_snap_by_id(snap_id)
            h = hashlib.sha256()
            size = image.size()
            for off in range(0, size, 4 * MiB):
                h.update(image.read(off, min(4 * MiB, size - off)))
            return f'{size}:{h.hexdigest()}'


def reset_option(site: Site, name: str, default: str) -> None:
    """Back to the default. `config rm` alone leaves ceph-mgr 16.2's cached
    module option at the removed value, so set the default first."""
    site.ceph('config', 'set', 'mgr', f'mgr/mirror_snapshot/{name}', default, check=False)
    site.ceph('config', 'rm', 'mgr', f'mgr/mirror_snapshot/{name}', check=False)


def wait_for_health(site: Site, check: str, present: bool, timeout: float = 60) -> None:
    """Health reaches the monitors with the mgr's next report: wait for it."""
    wait_for(lambda: (check in site.ceph_json('health', 'detail')['checks']) == present, timeout,
             what=f"health check {check} {'raised' if present else 'cleared'}")


def image_status(site: Site, spec: str) -> Optional[Dict]:
    proc = site.mirror_snapshot('image', 'status', spec, '--format', 'json', check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def snapshot_now(images: Images, name: str) -> int:
    images.site.rbd('mirror', 'image', 'snapshot', images.spec(name))
    return images.mirror_snapshots(images.spec(name))[-1]['id']


def wait_synced(site_b: Site, spec: str, snap_id: int, timeout: float = SYNC_TIMEOUT) -> Dict:
    def synced() -> Optional[Dict]:
        status = image_status(site_b, spec)
        last = status and status.get('last_complete')
        return status if last and last['primary_snap_id'] >= snap_id else None
    return wait_for(synced, timeout, interval=0.5, what=f'{spec} synced to snapshot {snap_id}')


def allocated(site: Site, spec: str) -> int:
    usage = json.loads(site.rbd('du', '--format', 'json', spec).stdout)
    return sum(i['used_size'] for i in usage['images'] if i.get('snapshot') is None)


def assert_replica_matches(images: Images, site_b: Site, clients, name: str, snap_id: int) -> Dict:
    a, b = clients
    status = wait_synced(site_b, images.spec(name), snap_id)
    last = status['last_complete']
    assert last['primary_snap_id'] == snap_id
    assert last['local_snap_name'] == f'mirror_snapshot.primary.{snap_id}'
    assert b.digest(name, snap_name=last['local_snap_name']) == a.digest(name, snap_id=snap_id)
    assert allocated(site_b, images.spec(name)) <= allocated(images.site, images.spec(name))
    return status


def start_slow_sync(images: Images, site_b: Site, name: str, written: str, one_chunk: bool = False):
    """A 1 GiB image synced once, then `written` of sequential 4 MiB writes
    and a snapshot, synced with a 16 MiB memory budget (and with `one_chunk`,
    one 4 MiB chunk in flight) so that a test can catch the sync in the
    middle (reset with reset_slow_sync). Returns (first, second) snapshot ids."""
    if one_chunk:
        site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_image_in_flight_bytes', str(4 * MiB))
    images.create(name, size='1G')
    first = snapshot_now(images, name)
    wait_synced(site_b, images.spec(name), first)
    images.site.rbd('bench', '--io-type', 'write', '--io-size', '4M', '--io-pattern', 'seq',
                    '--io-total', written, images.spec(name))
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_memory_bytes', str(16 * MiB))
    return first, snapshot_now(images, name)


def reset_slow_sync(site_b: Site) -> None:
    reset_option(site_b, 'replay_memory_bytes', str(256 * MiB))
    reset_option(site_b, 'replay_image_in_flight_bytes', str(64 * MiB))


def copying_past(site_b: Site, spec: str, fraction_min: float, fraction_max: float):
    """A predicate: the sync of `spec` is copying, between the two fractions done."""
    def check():
        s = image_status(site_b, spec)
        flight = s and s['in_flight']
        if not flight or flight['phase'] != 'copying' or not flight['bytes_total']:
            return None
        done = flight['bytes_done'] / flight['bytes_total']
        return s if fraction_min < done < fraction_max else None
    return check
