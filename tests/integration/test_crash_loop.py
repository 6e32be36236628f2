"""Crash injection: SIGKILL site-b's active mgr at a random moment of a sync,
20 times, then fail it over gracefully twice. After each kill the next mgr
must finish the delta from its checkpoint, and the secondary's snapshot must
equal the primary's byte for byte: 0 mismatches allowed. The table printed
says what was recopied after each kill.

CRASH_LOOP_SEED picks another sequence of deltas and kill moments."""
import os
import random
import signal
import subprocess
import time
from typing import Dict, List, Optional

from replication import image_status, reset_option, snapshot_now, wait_synced
from sandbox import SANDBOX_SCRIPT, Images, Site, sandbox, wait_for

MiB = 1 << 20
KILLS = 20
GRACEFUL_FAILOVERS = 2


def write_delta(image, rng: random.Random) -> int:
    """Random 64 KiB writes (and now and then a discard); the bytes written."""
    total = rng.choice([8, 16, 32, 48]) * MiB
    for _ in range(total // (64 * 1024)):
        image.write(rng.randbytes(64 * 1024), rng.randrange(0, image.size() - 64 * 1024, 4096))
    if rng.random() < 0.3:
        image.discard(rng.randrange(0, image.size() - 8 * MiB, 4 * MiB), 4 * MiB)
    return total


def phase_of(site: Site, spec: str) -> str:
    status = image_status(site, spec)
    flight = status and status.get('in_flight')
    if not flight:
        return 'idle'
    done = flight.get('bytes_done')
    return f"{flight['phase']} {done * 100 // max(flight['bytes_total'] or 1, 1)}%" if done is not None \
        else flight['phase']


def sync_started(site: Site, spec: str, snap: int) -> bool:
    """The sync towards `snap` is under way (or already done)."""
    status = image_status(site, spec)
    if not status:
        return False
    last = status.get('last_complete') or {}
    flight = status.get('in_flight') or {}
    return last.get('primary_snap_id', 0) >= snap or flight.get('to_snap_id') == snap


def fail_over(site: Site, kill: bool) -> subprocess.Popen:
    """Kills (or fails) the active mgr; returns the `sandbox up` that brings
    it back as a standby, running meanwhile."""
    active = site.active_mgr()
    if kill:
        os.kill(site.daemon_pid(f'mgr.{active}'), signal.SIGKILL)
    # Tell the monitor at once (instead of waiting out the beacon grace).
    site.ceph('mgr', 'fail', active)
    return subprocess.Popen([str(SANDBOX_SCRIPT), 'up'], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_killed_mgr_never_loses_or_corrupts_a_sync(images: Images, site_b: Site, clients) -> None:
    a, b = clients
    rng = random.Random(int(os.environ.get('CRASH_LOOP_SEED', '20261123')))
    spec = images.spec('crash')
    images.create('crash', size='128M')
    wait_synced(site_b, spec, snapshot_now(images, 'crash'))
    # A small budget makes each sync last long enough to be hit in the middle.
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_memory_bytes', str(16 * MiB))
    rows: List[Dict] = []
    restarting: Optional[subprocess.Popen] = None
    try:
        for i in range(KILLS + GRACEFUL_FAILOVERS):
            kill = i < KILLS
            with a.image('crash') as image:
                written = write_delta(image, rng)
            if restarting is not None:      # a standby again before the next kill
                assert restarting.wait(timeout=120) == 0
            snap = snapshot_now(images, 'crash')
            wait_for(lambda: sync_started(site_b, spec, snap), 60, interval=0.05, what='the sync to start')
            time.sleep(rng.uniform(0, 1.2))   # a random moment of the sync (or just after it)
            phase = phase_of(site_b, spec)
            restarting = fail_over(site_b, kill)
            status = wait_synced(site_b, spec, snap, timeout=180)
            local = f'mirror_snapshot.primary.{snap}'
            matches = b.digest('crash', snap_name=local) == a.digest('crash', snap_id=snap)
            last = status['last_sync'] or {}
            rows.append({'iteration': i + 1, 'how': 'SIGKILL' if kill else 'mgr fail', 'phase': phase,
                         'written_mib': written // MiB, 'resumed_at_mib': (last.get('resumed_at') or 0) / MiB,
                         'recopied_mib': last.get('bytes', 0) / MiB, 'matches': matches})
    finally:
        if restarting is not None:
            restarting.wait(timeout=120)
        sandbox('up')
        reset_option(site_b, 'replay_memory_bytes', str(256 * MiB))
        print('\n  #  how       killed while      written  resumed at  copied after  data')
        for r in rows:
            print(f"{r['iteration']:3}  {r['how']:8}  {r['phase']:16}  {r['written_mib']:4} MiB  "
                  f"{r['resumed_at_mib']:7.1f} MiB  {r['recopied_mib']:8.1f} MiB  "
                  f"{'ok' if r['matches'] else 'MISMATCH'}")
    mismatches = [r for r in rows if not r['matches']]
    assert not mismatches, mismatches
    assert len(rows) == KILLS + GRACEFUL_FAILOVERS
