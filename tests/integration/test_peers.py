"""Peers on the real sites: a peer's key never leaves native code (issue 17,
invariant 8), and one dead peer never delays the other peers' images (review
#15)."""
import json
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional, Set

import pytest

from replication import image_status, reset_option, snapshot_now, wait_for_health, wait_synced
from sandbox import SANDBOX_DIR, Images, Site, wait_for

REPLAY_FAILED = 'MIRROR_SNAPSHOT_REPLAY_FAILED'
PEER_UNREACHABLE = 'MIRROR_SNAPSHOT_PEER_UNREACHABLE'
POOLS = ('rbd', 'rbd_persist')


def peer_records(site: Site, pool: str) -> List[dict]:
    """The pool's peer records with their keys (`--all`: what an admin can read)."""
    info = json.loads(site.rbd('mirror', 'pool', 'info', pool, '--all', '--format', 'json').stdout)
    return info.get('peers', [])


def peer_keys(*sites: Site) -> Set[str]:
    return {p['key'] for site in sites for pool in POOLS for p in peer_records(site, pool) if p.get('key')}


def new_key_file(tmp_path: Path, name: str) -> Path:
    """A file holding a well-formed cephx key that no cluster knows."""
    path = tmp_path / f'{name}.key'
    path.write_bytes(subprocess.run(['ceph-authtool', '--gen-print-key'], capture_output=True,
                                    check=True).stdout)
    return path


class Blackhole:
    """A loopback port whose listening socket never accepts nor reads: TCP
    connects, but the msgr2 banner is never answered, so a monitor there
    neither refuses nor answers (a peer behind a dropping firewall)."""

    def __enter__(self) -> 'Blackhole':
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(128)
        self.mon_host = f'v2:127.0.0.1:{self.sock.getsockname()[1]}'
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


@contextmanager
def pool_with_peer(site: Site, name: str, mon_host: str, key_file: Optional[Path]) -> Iterator[str]:
    """A mirrored pool `name` on `site` whose rx peer `name` is the one given
    (librbd allows one rx peer per pool, so a second peer gets a pool of its
    own); pool and peer are removed afterwards. Yields the peer's uuid."""
    site.ceph('osd', 'pool', 'create', name, '8')
    try:
        site.rbd('pool', 'init', name)
        site.rbd('mirror', 'pool', 'enable', name, 'image')
        args = ['mirror', 'pool', 'peer', 'add', name, f'client.{name}@{name}', '--remote-mon-host', mon_host]
        if key_file is not None:
            args += ['--remote-key-file', str(key_file)]
        site.rbd(*args)
        uuid = next(p['uuid'] for p in peer_records(site, name) if p['site_name'] == name)
        try:
            yield uuid
        finally:
            site.rbd('mirror', 'pool', 'peer', 'remove', name, uuid, check=False)
    finally:
        site.ceph('osd', 'pool', 'rm', name, name, '--yes-i-really-really-mean-it', check=False)


def the_peer(site_b: Site) -> dict:
    return next(p for p in peer_records(site_b, 'rbd') if p['site_name'] == 'site-a')


def mgr_logs() -> List[Path]:
    """Every log of both sites' mgrs (the mgr's own, and our native client's beside it)."""
    return sorted(p for site in ('site-a', 'site-b') for p in (SANDBOX_DIR / site / 'log').glob('mgr.*'))


# --- invariant 8: the key stays in C++ -------------------------------------------------------


def test_a_peer_record_in_python_holds_no_key_and_still_connects(native, site_a: Site, site_b: Site) -> None:
    key = the_peer(site_b)['key']
    cluster = native.Cluster.connect(str(site_b.conf))
    peers = [p for p in native.peer_sites(cluster, 'rbd') if p.site_name == 'site-a']
    assert len(peers) == 1
    peer = peers[0]
    visible = [repr(peer), str(peer)] + [repr(getattr(peer, name)) for name in dir(peer)
                                         if not name.startswith('__')]
    assert not [v for v in visible if key in v], 'the peer key is readable from Python'
    assert peer.has_key and peer.mon_host and peer.client_name
    # Handing the record back to C++ connects with the key it holds.
    remote = native.connect_peer(peer, 30)
    assert remote.fsid() == site_a.fsid()
    with pytest.raises(OSError) as refused:
        remote.config_value('key')
    assert refused.value.errno == 1  # EPERM
    # Equal records (same monitors, identity, key) are one dict key.
    again = [p for p in native.peer_sites(cluster, 'rbd') if p.site_name == 'site-a'][0]
    assert again == peer and hash(again) == hash(peer) and len({peer, again}) == 1


def outputs_of(site: Site, spec: str, peer_commands: bool) -> List[bytes]:
    """What an operator sees: every status and health output, plain and
    json, and with `peer_commands` the errors of the commands that need the
    peer (refused while it cannot be reached: nothing changes)."""
    out: List[bytes] = []
    commands = [('health', 'detail'), ('mirror', 'snapshot', 'status'),
                ('mirror', 'snapshot', 'image', 'status', spec), ('mirror', 'snapshot', 'version')]
    if peer_commands:
        commands += [('mirror', 'snapshot', 'image', 'promote', spec),
                     ('mirror', 'snapshot', 'image', 'verify', spec),
                     ('mirror', 'snapshot', 'image', 'resync', spec)]
    for command in commands:
        for fmt in (('--format', 'plain'), ('--format', 'json')):
            proc = site.ceph(*command, *fmt, check=False, timeout=180)
            out += [proc.stdout, proc.stderr]
    return out


def test_no_output_and_no_mgr_log_holds_a_peer_key(images: Images, site_a: Site, site_b: Site, clients,
                                                   tmp_path: Path) -> None:
    """Every error path that names a peer (wrong key, unreachable monitors, a
    dead peer, a peer without a key), then every output and both sites' mgr
    logs are searched for every key the peer records held."""
    images.create('secret', size='16M')
    wait_synced(site_b, images.spec('secret'), snapshot_now(images, 'secret'))
    spec = images.spec('secret')
    keys = peer_keys(site_a, site_b)
    assert keys, 'the sandbox has no peer keys to look for'
    # The search finds a key where Ceph itself prints one (to an admin, on request).
    listing = site_b.rbd('mirror', 'pool', 'info', 'rbd', '--all').stdout
    assert [key for key in keys if key.encode() in listing]
    peer = the_peer(site_b)
    good = tmp_path / 'good.key'
    good.write_text(peer['key'])
    wrong = new_key_file(tmp_path, 'wrong')
    dead = new_key_file(tmp_path, 'dead')
    keys |= {wrong.read_text().strip(), dead.read_text().strip()}
    outputs: List[bytes] = []
    seen_errors: List[str] = []

    def image_error() -> Optional[str]:
        status = image_status(site_b, spec)
        return status['last_error'] if status and status['state'] == 'error' else None

    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/refresh_interval', '5')
    try:
        for broken, command_errors in ((('key-file', str(wrong)), True),
                                       (('mon-host', 'v2:127.0.0.1:1'), False)):
            site_b.rbd('mirror', 'pool', 'peer', 'set', 'rbd', peer['uuid'], *broken)
            try:
                seen_errors.append(wait_for(image_error, 90, what=f'the error of {broken[0]}'))
                wait_for_health(site_b, REPLAY_FAILED, present=True)
                outputs += outputs_of(site_b, spec, command_errors) + outputs_of(site_a, spec, False)
            finally:
                site_b.rbd('mirror', 'pool', 'peer', 'set', 'rbd', peer['uuid'], 'key-file', str(good))
                site_b.rbd('mirror', 'pool', 'peer', 'set', 'rbd', peer['uuid'], 'mon-host', peer['mon_host'])
            wait_for(lambda: image_error() is None, 90, what='the peer back')
        with Blackhole() as hole, pool_with_peer(site_b, 'blackhole', hole.mon_host, dead), \
                pool_with_peer(site_b, 'keyless', 'v2:127.0.0.1:1', None):
            def both_reported() -> Optional[str]:
                text = site_b.ceph('health', 'detail').stdout.decode()
                return text if "peer 'blackhole'" in text and "peer 'keyless'" in text else None
            seen_errors.append(wait_for(both_reported, 120, what='the dead and keyless peers reported'))
            outputs += outputs_of(site_b, spec, False)
        for check in (REPLAY_FAILED, PEER_UNREACHABLE):
            wait_for_health(site_b, check, present=False, timeout=120)
    finally:
        reset_option(site_b, 'refresh_interval', '60')
    # The error paths were taken, and named the peer.
    assert "peer 'site-a'" in seen_errors[0] and "peer 'site-a'" in seen_errors[1], seen_errors
    assert 'has no mon_host/key' in seen_errors[2], seen_errors[2]
    leaks = [out for out in outputs for key in keys if key.encode() in out]
    assert not leaks, f'{len(leaks)} output(s) hold a peer key'
    logs = mgr_logs()
    assert logs, 'no mgr logs found'
    for log in logs:
        text = log.read_bytes()
        assert not [key for key in keys if key.encode() in text], f'{log} holds a peer key'


# --- review #15: a dead peer delays nobody ---------------------------------------------------


def test_a_dead_peer_does_not_delay_the_other_peers_images(images: Images, site_b: Site, clients,
                                                           tmp_path: Path) -> None:
    """site-b gets a second peer (for a pool of its own) whose monitor address
    drops everything: each connection attempt takes the whole 15 s timeout.
    New snapshots of site-a's images are still noticed and synced within
    seconds, as with site-a alone (test_new_snapshots_are_noticed_within_seconds)."""
    a, _ = clients
    images.create('lively', size='16M')
    wait_synced(site_b, images.spec('lively'), snapshot_now(images, 'lively'))
    lags: List[float] = []
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/refresh_interval', '5')
    try:
        with Blackhole() as hole, pool_with_peer(site_b, 'blackhole', hole.mon_host,
                                                 new_key_file(tmp_path, 'dead')):
            time.sleep(6)  # a refresh has found the dead peer and tries it
            for round_no in range(4):
                with a.image('lively') as image:
                    image.write(bytes([round_no + 1]) * 65536, round_no * 65536)
                started = time.time()
                snap = snapshot_now(images, 'lively')
                status = wait_synced(site_b, images.spec('lively'), snap, timeout=60)
                lags.append(status['last_sync']['finished'] - started)
                time.sleep(2)
            # It really was tried, and is reported.
            wait_for(lambda: "peer 'blackhole'" in site_b.ceph('health', 'detail').stdout.decode(), 60,
                     what='the dead peer reported')
        # Gone with its record.
        wait_for(lambda: "peer 'blackhole'" not in site_b.ceph('health', 'detail').stdout.decode(), 120,
                 what='the dead peer no longer reported')
    finally:
        reset_option(site_b, 'refresh_interval', '60')
    print('snapshot to synced, seconds:', [round(lag, 2) for lag in lags])
    assert max(lags) < 5, lags
