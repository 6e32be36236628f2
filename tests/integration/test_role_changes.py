"""Role changes (issue 17, invariant 5): held against clients, and crash-safe.

Writers during a forced promote: a client keeps opening and writing the
secondary while a forced promote rolls back a partial apply; the first mirror
snapshot taken as primary (P0, which failback takes to equal the consistency
point X) must hold X exactly.

Crash injection: SIGKILL the mgr
of the site running a forced promote, a resync, or the automatic failback, at
a random moment of it; then run the command again (as an operator whose
command timed out would) until it succeeds. The image must end in the role
asked for, with the data of the consistency point: 0 mismatches allowed.

Each round swaps the roles twice: a forced promote of the secondary (killed),
a resync of the old primary (killed); then a demote, a clean promote, and the
automatic failback of the other side (killed). ROLE_CRASH_SEED picks another
sequence; ROLE_CRASH_ROUNDS the number of rounds (default 3)."""
import json
import os
import random
import signal
import subprocess
import time
from typing import Dict, List, Optional, Tuple

import threading

import rbd

from replication import (copying_past, image_status, reset_slow_sync, start_slow_sync, wait_for_health)
from sandbox import Images, Site, sandbox, wait_for
from test_crash_loop import fail_over
from test_failover import wait_secondary_of

MiB = 1 << 20
ROUNDS = int(os.environ.get('ROLE_CRASH_ROUNDS', '3'))
SPLIT_BRAIN = 'MIRROR_SNAPSHOT_SPLIT_BRAIN'


class Side:
    """One site's view of the test image: its Site and a librbd client."""
    def __init__(self, site: Site, client) -> None:
        self.site = site
        self.client = client

    @property
    def name(self) -> str:
        return self.site.name


def command(side: Side, spec: str, verb: str, *flags: str) -> subprocess.Popen:
    """Starts the command and returns once the active mgr has received it
    (its audit line is in the mgr's log)."""
    log = side.site.dir / 'log' / f'mgr.{side.site.active_mgr()}.log'
    start = log.stat().st_size
    proc = subprocess.Popen(['ceph', '-c', str(side.site.conf), 'mirror', 'snapshot', 'image', verb, spec,
                             *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    audit = f'"prefix": "mirror snapshot image {verb}"'.encode()

    def received() -> bool:
        with open(log, 'rb') as f:
            f.seek(start)
            return audit in f.read()
    wait_for(received, 30, interval=0.002, what=f'{verb} received by the mgr of {side.name}')
    return proc


def until_done(side: Side, spec: str, verb: str, *flags: str, timeout: float = 180) -> Tuple[Dict, int]:
    """Runs the command until it succeeds (EBUSY, EAGAIN, ETIMEDOUT and a
    starting module are retried); its report and how many tries it took."""
    tries = 0
    deadline = time.monotonic() + timeout
    while True:
        tries += 1
        proc = side.site.mirror_snapshot('image', verb, spec, *flags, '--format', 'json', check=False)
        if proc.returncode == 0:
            return json.loads(proc.stdout), tries
        # EBUSY (already running, or a lock not broken yet), EAGAIN (starting),
        # ENOTCONN (peer not connected yet), ETIMEDOUT.
        if proc.returncode not in (16, 11, 107, 110) or time.monotonic() > deadline:
            raise AssertionError(f'{verb} {spec} on {side.name}: rc {proc.returncode}: {proc.stderr.decode()}')
        time.sleep(2)


def write(side: Side, rng: random.Random) -> None:
    with side.client.image('rc') as image:
        for _ in range(rng.randrange(8, 32)):
            image.write(rng.randbytes(64 * 1024), rng.randrange(0, image.size() - 64 * 1024, 4096))


def create_snapshot(side: Side, spec: str) -> int:
    return side.site.mirror_snapshot_json('create', spec)['snap_id']


def secondary_holding(side: Side, spec: str, snap_id: int, ready: bool = False) -> Dict:
    return wait_secondary_of(side.site, spec, snap_id, ready, timeout=180)


def kill_during(side: Side, proc: Optional[subprocess.Popen], rng: random.Random, window: float) -> float:
    """Freezes `side`'s OSD (pool rbd) `delay` s after `proc` started, so that
    a role change under way stops at its next OSD operation, SIGKILLs the
    active mgr there, thaws the OSD and waits for the module to answer again;
    returns the delay, counted from the command's arrival at the mgr. (A
    role change takes some 50 ms there: without the freeze, the kill would
    land after it nearly every time.)"""
    delay = rng.uniform(0.0, window)
    time.sleep(delay)
    osd = side.site.daemon_pid('osd.0')
    os.kill(osd, signal.SIGSTOP)
    try:
        restarting = fail_over(side.site, kill=True)
    finally:
        os.kill(osd, signal.SIGCONT)
    if proc is not None:
        proc.wait(timeout=300)  # the command's answer: lost with its mgr, or given before
    assert restarting.wait(timeout=180) == 0
    wait_for(lambda: side.site.mirror_snapshot('version', check=False).returncode == 0, 120,
             what=f'the module on {side.name} to answer')
    return delay


def test_killed_role_changes_are_finished_by_a_retry(images: Images, site_a: Site, site_b: Site, clients,
                                                     capsys) -> None:
    a, b = clients
    rng = random.Random(int(os.environ.get('ROLE_CRASH_SEED', '20261206')))
    spec = images.spec('rc')
    images.create('rc', size='256M')
    primary, secondary = Side(site_a, a), Side(site_b, b)
    write(primary, rng)
    secondary_holding(secondary, spec, create_snapshot(primary, spec))
    rows: List[Dict] = []
    try:
        for round_ in range(ROUNDS):
            # 1. Forced promote of the secondary, killed at a random moment.
            write(primary, rng)
            held = create_snapshot(primary, spec)
            secondary_holding(secondary, spec, held)
            write(primary, rng)  # never synced: the consistency point stays `held`
            expected = primary.client.digest('rc', snap_id=held)
            delay = kill_during(secondary, command(secondary, spec, 'promote', '--force'), rng, 0.08)
            report, tries = until_done(secondary, spec, 'promote', '--force')
            matches = secondary.client.digest('rc') == expected
            rows.append({'round': round_ + 1, 'what': f'promote --force on {secondary.name}', 'delay': delay,
                         'tries': tries, 'already': report.get('already'), 'matches': matches})
            assert matches, (report, rows)
            assert image_status(secondary.site, spec)['role'] == 'primary'

            # 2. Resync of the old primary (split-brain now), killed.
            write(secondary, rng)
            delay = kill_during(primary, command(primary, spec, 'resync', '--force'), rng, 0.08)
            report, tries = until_done(primary, spec, 'resync', '--force')
            newest = create_snapshot(secondary, spec)
            secondary_holding(primary, spec, newest)
            matches = primary.client.digest('rc') == secondary.client.digest('rc', snap_id=newest)
            rows.append({'round': round_ + 1, 'what': f'resync --force on {primary.name}', 'delay': delay,
                         'tries': tries, 'already': report.get('already'), 'matches': matches})
            assert matches, (report, rows)
            for side in (primary, secondary):
                wait_for_health(side.site, SPLIT_BRAIN, False)
            primary, secondary = secondary, primary

            # 3. Planned failover; the old primary's automatic failback is killed.
            write(primary, rng)
            demoted = primary.site.mirror_snapshot_json('image', 'demote', spec)['demoted_snap_id']
            secondary_holding(secondary, spec, demoted, ready=True)
            until_done(secondary, spec, 'promote')
            delay = kill_during(primary, None, rng, 0.08)  # the old primary adopts by itself meanwhile
            write(secondary, rng)
            newest = create_snapshot(secondary, spec)
            secondary_holding(primary, spec, newest)
            matches = primary.client.digest('rc') == secondary.client.digest('rc', snap_id=newest)
            rows.append({'round': round_ + 1, 'what': f'automatic failback on {primary.name}', 'delay': delay,
                         'tries': 0, 'already': None, 'matches': matches})
            assert matches, rows
            primary, secondary = secondary, primary
    finally:
        sandbox('up')
        with capsys.disabled():
            print('\n  round  what                               killed after  tries  found done  data')
            for r in rows:
                print(f"  {r['round']:5}  {r['what']:33}  {r['delay']:10.2f} s  {r['tries']:5}  "
                      f"{str(r['already']):10}  {'ok' if r['matches'] else 'MISMATCH'}")
    assert len(rows) == 3 * ROUNDS


def test_clients_writing_during_a_forced_promote_never_get_into_its_first_snapshot(
        images: Images, site_a: Site, site_b: Site, clients) -> None:
    a, b = clients
    spec = images.spec('held')
    stop = threading.Event()
    outcomes: Dict[str, int] = {'written': 0, 'refused': 0}

    def writer() -> None:
        # Opens the image afresh each time, as a VM started on site-b would.
        while not stop.is_set():
            try:
                with b.image('held') as image:
                    image.write(b'w' * 4096, 512 * MiB)
                outcomes['written'] += 1
            except rbd.Error:
                outcomes['refused'] += 1
            time.sleep(0.005)

    try:
        first, _ = start_slow_sync(images, site_b, 'held', '1G', one_chunk=True)
        wait_for(copying_past(site_b, spec, 0.1, 0.8), 90, interval=0.05, what='sync half-way')
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            promoted = site_b.mirror_snapshot_json('image', 'promote', spec, '--force')
        finally:
            stop.set()
            thread.join(30)
    finally:
        reset_slow_sync(site_b)
    print(f"client writes during the promote: {outcomes}; report {promoted}")
    assert promoted['primary_snap_id'] == first and promoted['rolled_back'], promoted
    assert outcomes['refused'] > 0, outcomes  # the writer really tried while the image was held
    # P0 holds the consistency point, whatever the writer managed after the promote.
    assert b.digest('held', snap_id=promoted['promoted_snap_id']) == a.digest('held', snap_id=first)
