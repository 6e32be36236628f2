"""packaging/sandbox: idempotent, restarts what stopped, and fails clearly."""
import json
import os
import signal
import socket
import stat
import time
from pathlib import Path

from sandbox import SANDBOX_DIR, Site, sandbox, socket_inodes

DAEMONS = ('mon.a', 'mgr.x', 'mgr.y', 'osd.0', 'osd.1')


def pids(site: Site) -> dict:
    return {d: site.daemon_pid(d) for d in DAEMONS}


def test_up_is_idempotent(site_a: Site, site_b: Site) -> None:
    before = (pids(site_a), pids(site_b))
    assert all(before[0].values()) and all(before[1].values())
    proc = sandbox('up')
    assert proc.returncode == 0, proc.stderr.decode()
    assert (pids(site_a), pids(site_b)) == before


def test_files_holding_a_key_are_readable_by_their_owner_only() -> None:
    """The peer bootstrap token and every keyring (up ran at session start)."""
    files = [SANDBOX_DIR / 'peer-token', *SANDBOX_DIR.glob('*/keyring'), *SANDBOX_DIR.glob('*/mon.keyring'),
             *SANDBOX_DIR.glob('*/*/keyring')]
    assert len(files) >= 1 + 2 * 6  # token; per site: admin, mon., mon.a's, 2 mgrs, 2 osds
    loose = {str(f): oct(stat.S_IMODE(f.stat().st_mode)) for f in files if f.stat().st_mode & 0o077}
    assert not loose


def test_status_reports_every_daemon_and_health() -> None:
    proc = sandbox('status')
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    text = proc.stdout.decode()
    for site in ('site-a', 'site-b'):
        assert f'== {site}' in text
    assert text.count('running (pid') == 2 * len(DAEMONS)
    assert 'HEALTH_' in text


def listening_sockets(pid: int) -> list:
    """(address, port) of every TCP socket `pid` listens on (IPv4 and IPv6)."""
    inodes = socket_inodes(pid)
    found = []
    for table, family in (('/proc/net/tcp', socket.AF_INET), ('/proc/net/tcp6', socket.AF_INET6)):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[3] != '0A' or fields[9] not in inodes:  # 0A: LISTEN
                    continue
                hex_address, hex_port = fields[1].split(':')
                raw = bytes.fromhex(hex_address)
                # /proc prints the address as 32-bit words in host (little-endian) order.
                raw = b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found.append((socket.inet_ntop(family, raw), int(hex_port, 16)))
    return found


def test_every_daemon_listens_on_loopback_only(site_a: Site, site_b: Site) -> None:
    """Public, cluster and heartbeat addresses alike: a sandbox must not be
    reachable from the network the machine is on (issue 21)."""
    seen = {}
    for site in (site_a, site_b):
        for daemon, pid in pids(site).items():
            assert pid, f'{site.name} {daemon} is not running'
            seen[f'{site.name} {daemon}'] = listening_sockets(pid)
    # Each OSD listens on at least its public, cluster and two heartbeat ports.
    assert all(len(seen[f'{s} osd.{i}']) >= 4 for s in ('site-a', 'site-b') for i in (0, 1)), seen
    exposed = {who: [a for a in sockets if a[0] not in ('127.0.0.1', '::1')] for who, sockets in seen.items()}
    assert not {who: a for who, a in exposed.items() if a}, exposed


def test_pool_rbd_persist_lives_on_the_bluestore_osd_alone(site: Site) -> None:
    """The OSD-restart tests rely on it: killing osd.1 touches no other pool,
    and its data survives the kill."""
    assert site.ceph_json('osd', 'metadata', '1')['osd_objectstore'] == 'bluestore'
    for pool, osd in (('rbd_persist', 1), ('rbd', 0)):
        pgs = site.ceph_json('pg', 'ls-by-pool', pool)
        pgs = pgs['pg_stats'] if isinstance(pgs, dict) else pgs
        assert pgs and all(pg['up'] == [osd] for pg in pgs), (pool, [pg['up'] for pg in pgs])
    info = json.loads(site.rbd('mirror', 'pool', 'info', 'rbd_persist', '--format', 'json').stdout)
    assert info['mode'] == 'image' and len(info['peers']) == 1, info


def test_up_restarts_a_killed_mgr_and_the_module_answers_again(site_b: Site) -> None:
    active = site_b.active_mgr()
    victim = f'mgr.{active}'
    old_pid = site_b.daemon_pid(victim)
    os.kill(old_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f'/proc/{old_pid}').exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    proc = sandbox('up')
    assert proc.returncode == 0, proc.stderr.decode()
    new_pid = site_b.daemon_pid(victim)
    assert new_pid and new_pid != old_pid
    # `up` waits for the module to answer; check it does, via the native core.
    assert site_b.mirror_snapshot_json('version')['cluster_fsid'] == site_b.fsid()


def test_up_fails_clearly_when_a_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken, socket.socket() as free:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        free.bind(('127.0.0.1', 0))
        port_a, port_b = taken.getsockname()[1], free.getsockname()[1]
        free.close()
        env = {'SANDBOX_DIR': str(tmp_path / 'sb'), 'SANDBOX_PORT_A': str(port_a),
               'SANDBOX_PORT_B': str(port_b)}
        try:
            proc = sandbox('up', env=env, timeout=120)
        finally:
            sandbox('purge', env=env)
    assert proc.returncode != 0
    err = proc.stderr.decode()
    assert f'port {port_a}' in err and 'already in use' in err, err
    assert not (tmp_path / 'sb' / 'site-b' / 'ceph.conf').exists(), 'nothing is created on failure'


def test_up_names_a_missing_package(tmp_path: Path) -> None:
    fake_bin = tmp_path / 'bin'
    fake_bin.mkdir()
    shim = fake_bin / 'dpkg-query'
    # Pretend python3-rbd is not installed; everything else answers truthfully.
    shim.write_text('#!/bin/sh\n'
                    'for a; do [ "$a" = python3-rbd ] && { echo "deinstall ok config-files"; exit 0; }; done\n'
                    'exec /usr/bin/dpkg-query "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = {'SANDBOX_DIR': str(tmp_path / 'sb'),
           'PATH': f'{fake_bin}:{os.environ["PATH"]}'}
    proc = sandbox('up', env=env, timeout=60)
    assert proc.returncode != 0
    err = proc.stderr.decode()
    assert 'missing Debian packages: python3-rbd' in err, err
    assert not (tmp_path / 'sb' / 'site-a').exists()
