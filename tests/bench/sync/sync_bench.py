#!/usr/bin/python3
"""Delta-sync benchmark: our engine vs stock rbd-mirror vs export-diff | import-diff.

Runs against the two sandbox clusters (site-a -> site-b) and times, for one delta written on
site-a, how long it takes from the creation of the primary mirror snapshot (`rbd mirror image
snapshot` on site-a has returned) until site-b holds that snapshot completely. The time from the
start of that command is reported too: it adds site-a's own snapshot creation (mostly the wait
for site-a's monitors to allocate the snapshot id), the same for both engines.

  ours        images in pool `rbd`; the mirror_snapshot mgr module on site-b replicates them
              (complete = `ceph mirror snapshot image status` on site-b reports the snapshot in
              last_complete; the time is the module's own last_sync.finished)
  rbd-mirror  images in pool `rbdm`, replicated by a stock rbd-mirror daemon this script starts on
              site-b with a cephx user limited to pool rbdm (complete = a complete non-primary
              mirror snapshot on site-b whose primary_snap_id is the new snapshot)
  export|import  `rbd export-diff --from-snap s1 img@s2 - | rbd import-diff - img` between two
              user snapshots, images benchx-* in pool `rbd` (not mirrored)
  limits      `rbd bench` 4 MiB sequential read on site-a and write on site-b (librbd's write
              path; rbd-mirror's deep copy has been measured faster than this "limit")

Deltas (each into a fresh, sparse 2 GiB image): A = 512 MiB of 4 MiB sequential writes,
B = 256 MiB of 64 KiB random writes.

How to run (as root, from the repository root, sandbox up: `packaging/sandbox up`):

  /usr/bin/python3 tests/bench/sync/sync_bench.py                 # A and B, once, all engines
  /usr/bin/python3 tests/bench/sync/sync_bench.py --runs 3 --only A
  /usr/bin/python3 tests/bench/sync/sync_bench.py --skip-rbd-mirror
  /usr/bin/python3 tests/bench/sync/sync_bench.py --memory        # site-b RSS, 4 GiB first sync
  /usr/bin/python3 tests/bench/sync/sync_bench.py --scaling       # time vs delta size / image count
  /usr/bin/python3 tests/bench/sync/sync_bench.py --image-sizes   # a 16 MiB delta on 1G/64G/1T thin images

--memory samples the active site-b ceph-mgr (ours) and the rbd-mirror process; --scaling times
64 MiB / 256 MiB / 1 GiB deltas and 1, 2, 4 images with 128 MiB each, snapshots taken at once.
--image-sizes (issue 20) times a 16 MiB delta (four 4 MiB writes at random places) on thin images of
--sizes (default 1G,64G,1T) and the first sync of a --first-size (1T) thin image with --first-written
(1G) written, with our scanning phase, the objects our sync asked and how (object_map | full_scan),
and the OSD operations site-a's OSDs served from the snapshot to the synced replica (perf counter
osd.op; the module's own background work on site-a is in it too, for both engines).
--skip-ours / --skip-rbd-mirror apply to every mode; --only to the default mode, --runs to it and --image-sizes.

Each mode prints a markdown table and writes build/bench/sync_bench[-memory|-scaling].json;
rbd-mirror logs to <sandbox>/rbd-mirror/rbd-mirror.log (build/sandbox/ by default). Every image the script creates is named bench*
(pool rbd) or lives in pool rbdm, and is removed at the end; pool rbdm is deleted again if the
mons allow pool deletion. Polling uses one librados/librbd connection per site instead of a CLI
process per poll, so the pollers do not compete for CPU with the syncs they time.
"""
import argparse
import importlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import rados
import rbd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'integration'))
from sandbox import BUILD_DIR, CommandFailed, Site, set_fence  # noqa: E402

OUT_DIR = BUILD_DIR / 'bench'
MiB = 1 << 20
IMAGE_SIZE = '2G'
RBDM_POOL = 'rbdm'
RBDM_USER = 'rbd-mirror.bench'            # client.rbd-mirror.bench
FIRST_SYNC_TIMEOUT = 300                  # our module discovers new images on its refresh
SYNC_TIMEOUT = 900
LIMIT_REPEATS = 3                         # rbd bench runs per limit (median)
ERROR_PATIENCE = 120                      # seconds our module may stay in state error
TAG = str(os.getpid())                    # in every image name: no clash with a crashed run


@dataclass
class Delta:
    key: str
    label: str
    io_size: str
    pattern: str
    total: str

    @property
    def bytes(self) -> int:
        return parse_size(self.total)


DELTAS = {
    'A': Delta('A', '512 MiB, 4 MiB sequential', '4M', 'seq', '512M'),
    'B': Delta('B', '256 MiB, 64 KiB random', '64K', 'rand', '256M'),
}


def parse_size(text: str) -> int:
    units = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def log(message: str) -> None:
    print(f'[{time.strftime("%H:%M:%S")}] {message}', flush=True)


# --- the two sites: CLI for actions, librados/librbd for polling ------------------------------

class Bench:
    """Both sites, plus one lazy librados connection per site for cheap polling."""

    def __init__(self) -> None:
        self.a = Site('site-a')
        self.b = Site('site-b')
        self._rados: Dict[str, rados.Rados] = {}
        self._native: Dict[str, Any] = {}

    def rados(self, site: Site) -> rados.Rados:
        if site.name not in self._rados:
            conn = rados.Rados(conffile=str(site.conf))
            conn.connect(timeout=30)
            self._rados[site.name] = conn
        return self._rados[site.name]

    def native(self, site: Site, native_module: Any) -> Any:
        """One client of the module's native core per site (its Cluster)."""
        if site.name not in self._native:
            self._native[site.name] = native_module.Cluster.connect(str(site.conf))
        return self._native[site.name]

    def close(self) -> None:
        for conn in self._rados.values():
            conn.shutdown()
        self._rados.clear()
        self._native.clear()


def rbd_json(site: Site, *args: str) -> Any:
    return json.loads(site.rbd(*args, '--format', 'json').stdout or b'null')


def ceph_json(site: Site, *args: str) -> Any:
    return json.loads(site.ceph(*args, '--format', 'json').stdout or b'null')


def create_image(site: Site, spec: str, size: str = IMAGE_SIZE) -> None:
    site.rbd('create', '--size', size, spec)


def primary_mirror_snap_ids(site: Site, spec: str) -> List[int]:
    snaps = rbd_json(site, 'snap', 'ls', '--all', spec)
    return sorted(s['id'] for s in snaps
                  if s['namespace'].get('type') == 'mirror' and s['namespace'].get('state') == 'primary')


def enable_snapshot_mirroring(site: Site, spec: str) -> int:
    """Enables snapshot mirroring (which takes the first mirror snapshot); returns its id."""
    site.rbd('mirror', 'image', 'enable', spec, 'snapshot')
    return primary_mirror_snap_ids(site, spec)[-1]


def take_mirror_snapshot(site: Site, spec: str) -> Tuple[float, float, int]:
    """Returns (command started, snapshot created = command returned, snapshot id)."""
    started = time.time()
    site.rbd('mirror', 'image', 'snapshot', spec)
    return started, time.time(), primary_mirror_snap_ids(site, spec)[-1]


def take_mirror_snapshots_at_once(site: Site, specs: List[str]) -> Tuple[float, Dict[str, int]]:
    """Returns (every snapshot created = the last command returned, snapshot ids)."""
    procs = {spec: subprocess.Popen(['rbd', '-c', str(site.conf), 'mirror', 'image', 'snapshot', spec],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for spec in specs}
    for spec, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise CommandFailed(f'rbd mirror image snapshot {spec}: {err.decode(errors="replace")}')
    t0 = time.time()
    return t0, {spec: primary_mirror_snap_ids(site, spec)[-1] for spec in specs}


def rbd_bench(site: Site, spec: str, io_type: str, io_size: str, pattern: str, total: str) -> Dict[str, float]:
    """Runs `rbd bench`; returns MiB/s (from its ops/sec, which has more digits than bytes/sec)."""
    started = time.monotonic()
    proc = site.rbd('bench', '--io-type', io_type, '--io-size', io_size, '--io-pattern', pattern,
                    '--io-total', total, spec, timeout=1800)
    wall = time.monotonic() - started
    out = proc.stdout.decode(errors='replace')
    match = re.search(r'elapsed:.*ops/sec:\s*([\d.]+).*', out)
    rate = float(match.group(1)) * parse_size(io_size) / MiB if match else parse_size(total) / MiB / wall
    return {'mib_per_s': rate, 'wall_seconds': wall, 'summary': match.group(0) if match else out[-200:]}


def write_delta(site: Site, spec: str, delta: Delta) -> Dict[str, float]:
    return rbd_bench(site, spec, 'write', delta.io_size, delta.pattern, delta.total)


def pg_states(site: Site) -> List[str]:
    stat = ceph_json(site, 'pg', 'stat')
    summary = stat.get('pg_summary', stat)
    return [s['name'] for s in summary.get('num_pg_by_state', [])]


def settle(bench: Bench, timeout: float = 120) -> None:
    """Waits until every PG of both sites is active+clean (no snap trimming left over)."""
    deadline = time.monotonic() + timeout
    for site in (bench.a, bench.b):
        while set(pg_states(site)) - {'active+clean'}:
            if time.monotonic() > deadline:
                log(f'warning: {site.name} PGs not all active+clean: {pg_states(site)}')
                break
            time.sleep(0.5)
    time.sleep(1)


def remove_image(site: Site, spec: str, attempts: int = 30) -> None:
    """snap purge + rm, retried while something still has the image open; ENOENT is success."""
    for _ in range(attempts):
        site.rbd('snap', 'purge', '--no-progress', spec, check=False)
        proc = site.rbd('rm', '--no-progress', spec, check=False)
        if proc.returncode in (0, 2):
            return
        time.sleep(2)
    log(f'warning: could not remove {site.name} {spec}: {proc.stderr.decode(errors="replace").strip()}')


def native_module():
    """The module's native core as built (build/mgr_module/mirror_snapshot/_native*.so)."""
    sys.path.insert(0, str(BUILD_DIR / 'mgr_module' / 'mirror_snapshot'))
    return importlib.import_module('_native')


def replica_record_snap_id(bench: Bench, spec: str) -> Optional[int]:
    """The last primary snapshot the module's replica record on site-b says it holds
    completely (its native decoder, `replica_state`); None without a record or image."""
    pool, name = spec.split('/', 1)
    native = native_module()
    try:
        state = native.replica_state(bench.native(bench.b, native), pool, '', name)
    except OSError:
        return None
    return state['primary_snap_id'] if state is not None else None


def lift_fence(bench: Bench, spec: str) -> None:
    """The module's replica of a removed primary stays fenced (EROFS to `rbd snap purge`):
    lifted here by hand, as the integration tests' purge does."""
    pool, name = spec.split('/', 1)
    try:
        with bench.rados(bench.b).open_ioctx(pool) as ioctx:
            set_fence(ioctx, name, False)
    except (rbd.ImageNotFound, rados.ObjectNotFound):
        pass


def image_exists(site: Site, spec: str) -> bool:
    return site.rbd('info', spec, check=False).returncode == 0


# --- engines: how each one is polled and cleaned up -------------------------------------------

class Engine:
    """A replication engine: where its images live and how to tell a snapshot arrived."""
    name = ''
    pool = ''
    poll_interval = 0.1

    def __init__(self, bench: Bench) -> None:
        self.bench = bench

    def spec(self, name: str) -> str:
        return f'{self.pool}/{name}'

    def completion(self, spec: str, snap_id: int, t0: float) -> Optional[Dict[str, Any]]:
        """One poll: None, or {'done_at': unix time, ...} once site-b holds snap_id."""
        raise NotImplementedError

    def why_not(self, spec: str) -> str:
        return ''

    def remove(self, spec: str) -> None:
        raise NotImplementedError


class Ours(Engine):
    name = 'ours'
    pool = 'rbd'
    poll_interval = 0.2

    def __init__(self, bench: Bench) -> None:
        super().__init__(bench)
        self.last_answer: Dict[str, str] = {}
        self.error_since: Dict[str, float] = {}
        self.status_asked: Dict[str, float] = {}

    def status(self, spec: str) -> Optional[Dict[str, Any]]:
        """`ceph mirror snapshot image status <spec> --format json` on site-b, through librados."""
        cmd = {'prefix': 'mirror snapshot image status', 'image_spec': spec, 'format': 'json'}
        try:
            ret, out, err = self.bench.rados(self.bench.b).mgr_command(json.dumps(cmd), b'', timeout=15)
        except rados.Error as e:
            self.last_answer[spec] = f'mgr_command failed: {e}'
            return None
        if ret != 0:
            self.last_answer[spec] = f'rc {ret}: {err}'
            return None
        status = json.loads(out)
        self.last_answer[spec] = json.dumps(status)[:400]
        return status

    def completion(self, spec: str, snap_id: int, t0: float) -> Optional[Dict[str, Any]]:
        """Polled like rbd-mirror's replicas: the replica's own record, read
        from its metadata through librbd. Not through `ceph mirror snapshot
        status` each time: ceph-mgr writes every command to the audit log,
        whose entries the monitors commit, and a monitor that committed less
        than paxos_propose_interval (1 s) ago makes the sync's next snapshot
        id wait for the rest of it. The status is asked once the record says
        complete (for the sync's details), and every 10 s meanwhile (errors)."""
        polled_at = time.time()
        held = replica_record_snap_id(self.bench, spec)
        if held is None or held < snap_id:
            if time.monotonic() - self.status_asked.get(spec, 0) > 10:
                self.status_asked[spec] = time.monotonic()
                self.check_not_stuck_in_error(spec, self.status(spec))
            return None
        status = self.status(spec)
        last = (status or {}).get('last_complete') or {}
        if last.get('primary_snap_id', 0) < snap_id:
            return None
        sync = status.get('last_sync') or {}
        finished = sync.get('finished')
        done_at = finished if finished is not None and finished >= t0 else polled_at
        return {'done_at': done_at, 'polled_at': polled_at, 'finished': finished,
                'module_seconds': sync.get('seconds'), 'module_bytes': sync.get('bytes'),
                'phase_seconds': sync.get('phase_seconds'), 'last_sync': sync}

    def check_not_stuck_in_error(self, spec: str, status: Optional[Dict[str, Any]]) -> None:
        """The module retries failed syncs; an error that lasts ERROR_PATIENCE s fails the case."""
        if not status or status.get('state') != 'error':
            self.error_since.pop(spec, None)
            return
        since = self.error_since.setdefault(spec, time.monotonic())
        if time.monotonic() - since > ERROR_PATIENCE:
            raise RuntimeError(f"{spec} in state error for {ERROR_PATIENCE} s: {status.get('last_error')}")

    def why_not(self, spec: str) -> str:
        return f'last answer: {self.last_answer.get(spec, "none")}'

    def remove(self, spec: str) -> None:
        self.bench.a.rbd('mirror', 'image', 'disable', spec, check=False)
        remove_image(self.bench.a, spec)
        lift_fence(self.bench, spec)
        remove_image(self.bench.b, spec)   # the module's replica: user snaps mirror_snapshot.primary.<id>


class RbdMirror(Engine):
    name = 'rbd-mirror'
    pool = RBDM_POOL
    poll_interval = 0.1

    def nonprimary_snaps(self, spec: str) -> List[Dict[str, Any]]:
        ioctx = self.bench.rados(self.bench.b).open_ioctx(self.pool)
        try:
            with rbd.Image(ioctx, spec.split('/', 1)[1], read_only=True) as image:
                return [s['mirror'] for s in image.list_snaps()
                        if s['namespace'] == rbd.RBD_SNAP_NAMESPACE_TYPE_MIRROR and 'mirror' in s
                        and s['mirror']['state'] == rbd.RBD_SNAP_MIRROR_STATE_NON_PRIMARY]
        except (rbd.ImageNotFound, rbd.ImageBusy):
            return []
        finally:
            ioctx.close()

    def completion(self, spec: str, snap_id: int, t0: float) -> Optional[Dict[str, Any]]:
        snaps = self.nonprimary_snaps(spec)
        polled_at = time.time()
        if any(s['complete'] and s['primary_snap_id'] >= snap_id for s in snaps):
            return {'done_at': polled_at, 'polled_at': polled_at}
        return None

    def why_not(self, spec: str) -> str:
        return f'site-b non-primary snapshots: {self.nonprimary_snaps(spec)}'

    def remove(self, spec: str) -> None:
        """Disabling on site-a makes rbd-mirror delete its replica; forced if it does not."""
        self.bench.a.rbd('mirror', 'image', 'disable', spec, check=False)
        remove_image(self.bench.a, spec)
        deadline = time.monotonic() + 60
        while image_exists(self.bench.b, spec) and time.monotonic() < deadline:
            time.sleep(1)
        if image_exists(self.bench.b, spec):
            log(f'rbd-mirror left site-b {spec}; removing it by force')
            self.bench.b.rbd('mirror', 'image', 'disable', '--force', spec, check=False)
            remove_image(self.bench.b, spec)


def wait_synced(engine: Engine, snaps: Dict[str, int], t0: float, timeout: float) -> Dict[str, Dict]:
    """Polls every image until site-b holds its snapshot; returns each one's completion."""
    done: Dict[str, Dict] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(snaps):
        for spec, snap_id in snaps.items():
            if spec not in done:
                result = engine.completion(spec, snap_id, t0)
                if result:
                    done[spec] = result
        if len(done) == len(snaps):
            break
        if time.monotonic() > deadline:
            missing = [s for s in snaps if s not in done]
            raise TimeoutError(f'{engine.name}: {missing} not synced after {timeout:.0f} s; '
                               f'{engine.why_not(missing[0])}')
        time.sleep(engine.poll_interval)
    return done


# --- one timed delta through a mirroring engine ------------------------------------------------

def prepare_mirrored(engine: Engine, names: List[str], size: str = IMAGE_SIZE) -> List[str]:
    """Creates images on site-a, enables snapshot mirroring and waits for the first syncs."""
    specs = [engine.spec(name) for name in names]
    first = {}
    for spec in specs:
        create_image(engine.bench.a, spec, size)
        first[spec] = enable_snapshot_mirroring(engine.bench.a, spec)
    wait_synced(engine, first, time.time(), FIRST_SYNC_TIMEOUT)
    return specs


def timed_delta(engine: Engine, delta: Delta, name: str) -> Dict[str, Any]:
    specs = []
    try:
        specs = prepare_mirrored(engine, [name])
        write = write_delta(engine.bench.a, specs[0], delta)
        settle(engine.bench)
        started, t0, snap_id = take_mirror_snapshot(engine.bench.a, specs[0])
        result = wait_synced(engine, {specs[0]: snap_id}, started, SYNC_TIMEOUT)[specs[0]]
        return dict(result, seconds=result['done_at'] - t0, poll_seconds=result['polled_at'] - t0,
                    seconds_from_command=result['done_at'] - started, snapshot_seconds=t0 - started,
                    snap_id=snap_id, write_mib_per_s=write['mib_per_s'])
    finally:
        for spec in specs or [engine.spec(name)]:
            engine.remove(spec)


def timed_concurrent(engine: Engine, count: int, delta: Delta) -> Dict[str, Any]:
    """`count` images, one delta each, snapshots taken at once: time until all are synced."""
    names = [f'bench-{engine.name[:4]}-n{count}-{i}-{TAG}' for i in range(count)]
    specs = []
    try:
        specs = prepare_mirrored(engine, names)
        for spec in specs:
            write_delta(engine.bench.a, spec, delta)
        settle(engine.bench)
        t0, snaps = take_mirror_snapshots_at_once(engine.bench.a, specs)
        results = wait_synced(engine, snaps, t0, SYNC_TIMEOUT)
        per_image = sorted(r['done_at'] - t0 for r in results.values())
        return {'seconds': per_image[-1], 'per_image_seconds': per_image,
                'aggregate_mib_per_s': count * delta.bytes / MiB / per_image[-1]}
    finally:
        for spec in specs or [engine.spec(n) for n in names]:
            engine.remove(spec)


# --- export-diff | import-diff -----------------------------------------------------------------

def diff_pipe(bench: Bench, spec: str, to_snap: str, from_snap: Optional[str]) -> float:
    """export-diff on site-a piped into import-diff on site-b; returns the wall time."""
    export = ['rbd', '-c', str(bench.a.conf), 'export-diff', '--no-progress']
    if from_snap:
        export += ['--from-snap', from_snap]
    started = time.monotonic()
    producer = subprocess.Popen(export + [f'{spec}@{to_snap}', '-'], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    consumer = subprocess.run(['rbd', '-c', str(bench.b.conf), 'import-diff', '--no-progress', '-', spec],
                              stdin=producer.stdout, capture_output=True, timeout=1800)
    producer.stdout.close()
    producer.wait(timeout=60)
    seconds = time.monotonic() - started
    if producer.returncode or consumer.returncode:
        raise CommandFailed(f'export-diff | import-diff of {spec}@{to_snap} failed: '
                            f'{producer.stderr.read().decode(errors="replace")} '
                            f'{consumer.stderr.decode(errors="replace")}')
    return seconds


def diff_bytes(site: Site, spec: str, from_snap: str, to_snap: str) -> int:
    """What `rbd diff` (and so export-diff) reports as changed: whole objects that did not
    exist at from_snap, so far more than the bytes written for sparse random deltas."""
    extents = rbd_json(site, 'diff', '--from-snap', from_snap, f'{spec}@{to_snap}')
    return sum(e['length'] for e in extents)


def timed_export_import(bench: Bench, delta: Delta, name: str) -> Dict[str, Any]:
    spec = f'rbd/{name}'
    try:
        create_image(bench.a, spec)
        create_image(bench.b, spec)
        bench.a.rbd('snap', 'create', f'{spec}@s1')
        diff_pipe(bench, spec, 's1', None)            # the base: not timed
        write = write_delta(bench.a, spec, delta)
        bench.a.rbd('snap', 'create', f'{spec}@s2')
        settle(bench)
        seconds = diff_pipe(bench, spec, 's2', 's1')
        return {'seconds': seconds, 'rbd_diff_bytes': diff_bytes(bench.a, spec, 's1', 's2'),
                'write_mib_per_s': write['mib_per_s']}
    finally:
        remove_image(bench.a, spec)
        remove_image(bench.b, spec)


# --- limits ------------------------------------------------------------------------------------

def fresh_image_write(site: Site, spec: str) -> Dict[str, Any]:
    """4 MiB sequential write of 512 MiB into a new image, which is removed afterwards."""
    try:
        create_image(site, spec)
        return rbd_bench(site, spec, 'write', '4M', 'seq', '512M')
    finally:
        remove_image(site, spec)


def measure_limits(bench: Bench) -> Dict[str, Any]:
    """4 MiB sequential, median of LIMIT_REPEATS: read of a filled image on site-a, write of a
    fresh image on site-b (single `rbd bench` runs swing several-fold on this machine)."""
    read_spec = f'rbd/bench-limit-r-{TAG}'
    try:
        create_image(bench.a, read_spec)
        fill = rbd_bench(bench.a, read_spec, 'write', '4M', 'seq', '512M')
        settle(bench)
        reads = [rbd_bench(bench.a, read_spec, 'read', '4M', 'seq', '512M') for _ in range(LIMIT_REPEATS)]
    finally:
        remove_image(bench.a, read_spec)
    writes = [fresh_image_write(bench.b, f'rbd/bench-limit-w{i}-{TAG}') for i in range(LIMIT_REPEATS)]
    return {'read_a_mib_per_s': statistics.median(r['mib_per_s'] for r in reads),
            'write_b_mib_per_s': statistics.median(w['mib_per_s'] for w in writes),
            'write_a_mib_per_s': fill['mib_per_s'],
            'benches': {'fill_a': fill, 'read_a': reads, 'write_b': writes}}


def write_limit_seconds(limits: Dict[str, float], delta: Delta) -> float:
    return delta.bytes / MiB / limits['write_b_mib_per_s']


# --- the stock rbd-mirror daemon on site-b, confined to pool rbdm -------------------------------

class RbdMirrorDaemon:
    """Pool rbdm on both sites, peered a -> b, and an rbd-mirror on site-b whose cephx user can
    only touch pool rbdm. A context manager: stops the daemon and removes the pool on exit."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        # In the sandbox's own directory: benchmarks on two sandboxes at once
        # (a soak beside a sync run) must not share a keyring or a socket.
        self.dir = bench.b.dir.parent / 'rbd-mirror'
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keyring = self.dir / 'rbd-mirror.keyring'
        self.conf = self.dir / 'rbd-mirror.conf'
        self.log_file = self.dir / 'rbd-mirror.log'
        self.asok = self.dir / 'rbd-mirror.asok'
        self.proc: Optional[subprocess.Popen] = None

    def __enter__(self) -> 'RbdMirrorDaemon':
        try:
            self.create_pools()
            self.skip_pool_in_our_module()
            self.peer()
            self.write_credentials()
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        self.remove_pools()

    def create_pools(self) -> None:
        for site in (self.bench.a, self.bench.b):
            site.ceph('osd', 'pool', 'create', RBDM_POOL, '32')
            site.rbd('pool', 'init', RBDM_POOL)
            site.rbd('mirror', 'pool', 'enable', RBDM_POOL, 'image', '--site-name', site.name)

    def skip_pool_in_our_module(self) -> None:
        option = ('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_skip_pools', RBDM_POOL)
        if self.bench.b.ceph(*option, check=False).returncode != 0:
            log('warning: the loaded mirror_snapshot module does not declare replay_skip_pools; '
                'set with --force, it may replay pool rbdm until a module that knows it is loaded')
            self.bench.b.ceph(*option, '--force')

    def peers(self, site: Site) -> List[Dict[str, Any]]:
        return rbd_json(site, 'mirror', 'pool', 'info', RBDM_POOL)['peers']

    def peer(self) -> None:
        if self.peers(self.bench.b):
            return
        token = OUT_DIR / 'rbdm-peer-token'
        token.write_bytes(self.bench.a.rbd('mirror', 'pool', 'peer', 'bootstrap', 'create',
                                           '--site-name', 'site-a', RBDM_POOL).stdout)
        self.bench.b.rbd('mirror', 'pool', 'peer', 'bootstrap', 'import', '--site-name', 'site-b',
                         '--direction', 'rx-only', RBDM_POOL, str(token))

    def write_credentials(self) -> None:
        """The daemon's key must be in the keyring file its conf names (CEPH_CONF)."""
        user = f'client.{RBDM_USER}'
        caps = ['mon', 'profile rbd-mirror', 'osd', f'profile rbd pool={RBDM_POOL}']
        if self.bench.b.ceph('auth', 'get-or-create', user, *caps, '-o', str(self.keyring),
                             check=False).returncode != 0:
            self.bench.b.ceph('auth', 'caps', user, *caps)
            self.bench.b.ceph('auth', 'get', user, '-o', str(self.keyring))
        self.conf.write_text(global_section(self.bench.b.conf) + f'\n[{user}]\n'
                             f'keyring = {self.keyring}\nlog_file = {self.log_file}\n'
                             f'admin_socket = {self.asok}\n')

    def start(self) -> None:
        self.log_file.unlink(missing_ok=True)    # one invocation per log
        out = open(self.dir / 'rbd-mirror.out', 'wb')
        self.proc = subprocess.Popen(['rbd-mirror', '--id', RBDM_USER, '-f'], stdout=out, stderr=out,
                                     env=dict(os.environ, CEPH_CONF=str(self.conf)),
                                     start_new_session=True)
        out.close()
        log(f'rbd-mirror started (pid {self.proc.pid}), log {self.log_file}')
        self.wait_for_tx_peer()

    def wait_for_tx_peer(self, timeout: float = 120) -> None:
        """librbd needs a TX peer on site-a to take mirror snapshots; rbd-mirror registers it."""
        deadline = time.monotonic() + timeout
        while not any(p.get('mirror_uuid') for p in self.peers(self.bench.a)):
            if self.proc.poll() is not None:
                raise RuntimeError(f'rbd-mirror exited with {self.proc.returncode}; see {self.log_file}')
            if time.monotonic() > deadline:
                raise TimeoutError('rbd-mirror did not register as a peer of site-a pool rbdm')
            time.sleep(1)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        log('rbd-mirror stopped')

    def remove_pools(self) -> None:
        """Removes rbdm's peers and the pool on both sites (left in place if deletion is off)."""
        deleted = True
        for site in (self.bench.a, self.bench.b):
            if site.ceph('osd', 'pool', 'stats', RBDM_POOL, check=False).returncode != 0:
                continue
            for peer in self.peers(site):
                site.rbd('mirror', 'pool', 'peer', 'remove', RBDM_POOL, peer['uuid'], check=False)
            proc = site.ceph('osd', 'pool', 'rm', RBDM_POOL, RBDM_POOL, '--yes-i-really-really-mean-it',
                             check=False)
            if proc.returncode != 0:
                deleted = False
                log(f'{site.name}: pool {RBDM_POOL} kept: {proc.stderr.decode(errors="replace").strip()}')
        if deleted:
            # `config rm` alone leaves ceph-mgr 16.2's cached module option as it was.
            self.bench.b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_skip_pools', '', check=False)
            self.bench.b.ceph('config', 'rm', 'mgr', 'mgr/mirror_snapshot/replay_skip_pools', check=False)
            self.bench.b.ceph('auth', 'rm', f'client.{RBDM_USER}', check=False)

    @property
    def pid(self) -> int:
        return self.proc.pid


def global_section(conf: Path) -> str:
    lines, inside = [], False
    for line in conf.read_text().splitlines():
        if line.strip().startswith('['):
            inside = line.strip() == '[global]'
        if inside:
            lines.append(line)
    return '\n'.join(lines) + '\n'


def rbd_pool_untouched_by_rbd_mirror(bench: Bench) -> Dict[str, Any]:
    """rbd-mirror's objects (leader, instances) in site-b pool rbd would mean it worked there."""
    listing = bench.b.run('rados', '-p', 'rbd', '--all', 'ls').stdout.decode().split()
    found = [o for o in listing if o.startswith(('rbd_mirror_leader', 'rbd_mirror_instance'))]
    return {'ok': not found, 'rbd_mirror_objects_in_pool_rbd': found}


# --- process memory ----------------------------------------------------------------------------

def vm_rss_kib(pid: int) -> Optional[int]:
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler(threading.Thread):
    """Samples a process's VmRSS every `interval` seconds until stopped."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.samples: List[tuple] = []
        self.lost = False
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss = vm_rss_kib(self.pid)
            if rss is None:
                self.lost = True
                return
            self.samples.append((time.time(), rss))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def summary(self, started: float) -> Dict[str, Any]:
        before = [kib for t, kib in self.samples if t < started] or [self.samples[0][1]]
        baseline, peak = before[-1], max(kib for _, kib in self.samples)
        return {'pid': self.pid, 'baseline_mib': baseline / 1024, 'peak_mib': peak / 1024,
                'growth_mib': (peak - baseline) / 1024, 'samples': len(self.samples),
                'process_lost': self.lost}


def active_mgr_pid(site: Site) -> int:
    name = ceph_json(site, 'mgr', 'dump')['active_name']
    pid = site.daemon_pid(f'mgr.{name}')
    if pid is None:
        raise RuntimeError(f'{site.name}: no running pid for the active mgr.{name}')
    return pid


def first_sync_memory(engine: Engine, pid: int, size: str) -> Dict[str, Any]:
    """Fills an image on site-a, then samples `pid`'s RSS across its first sync to site-b."""
    spec = engine.spec(f'bench-mem-{engine.name[:4]}-{TAG}')
    try:
        create_image(engine.bench.a, spec, size)
        fill = rbd_bench(engine.bench.a, spec, 'write', '4M', 'seq', size)
        settle(engine.bench)
        sampler = RssSampler(pid)
        sampler.start()
        time.sleep(2)
        t0 = time.time()
        try:
            first_id = enable_snapshot_mirroring(engine.bench.a, spec)
            result = wait_synced(engine, {spec: first_id}, t0, SYNC_TIMEOUT * 2)[spec]
        finally:
            sampler.stop()
        return dict(sampler.summary(t0), seconds_from_enable=result['done_at'] - t0,
                    module_seconds=result.get('module_seconds'), module_bytes=result.get('module_bytes'),
                    fill_mib_per_s=fill['mib_per_s'])
    finally:
        engine.remove(spec)


# --- tables ------------------------------------------------------------------------------------

def markdown(header: List[str], rows: List[List[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines)


def seconds_cell(values: List[float]) -> str:
    if not values:
        return '-'
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})'


def ratio_cell(top: List[float], bottom: List[float]) -> str:
    if not top or not bottom:
        return '-'
    return f'{statistics.median(top) / statistics.median(bottom):.2f}'


def seconds_of(records: List[Dict[str, Any]], delta: str, engine: str) -> List[float]:
    return [r['seconds'] for r in records if r['delta'] == delta and r['engine'] == engine and 'seconds' in r]


def main_table(records: List[Dict[str, Any]], limits: List[Dict[str, float]], deltas: List[Delta]) -> str:
    rows = []
    for delta in deltas:
        ours, mirror, pipe = (seconds_of(records, delta.key, e) for e in ('ours', 'rbd-mirror', 'export|import'))
        limit = [write_limit_seconds(l, delta) for l in limits]
        rows.append([f'{delta.key}: {delta.label}', seconds_cell(ours), seconds_cell(mirror), seconds_cell(pipe),
                     seconds_cell(limit), ratio_cell(ours, limit), ratio_cell(mirror, ours),
                     ratio_cell(pipe, ours)])
    return markdown(['delta', 'ours (s)', 'rbd-mirror (s)', 'export\\|import (s)', 'write limit (s)',
                     'ours / write limit', 'rbd-mirror / ours', 'export\\|import / ours'], rows)


def limits_table(limits: List[Dict[str, float]]) -> str:
    rows = []
    for key, label in (('read_a_mib_per_s', 'read 4M seq, site-a'), ('write_b_mib_per_s', 'write 4M seq, site-b'),
                       ('write_a_mib_per_s', 'write 4M seq, site-a (fill)')):
        rates = [l[key] for l in limits]
        rate = statistics.median(rates)
        rows.append([label, f'{rate:.0f}', f'{512 / rate:.2f}', f'{256 / rate:.2f}'])
    return markdown(['rbd bench', 'MiB/s', 's for 512 MiB', 's for 256 MiB'], rows)


def from_command_line(records: List[Dict[str, Any]], deltas: List[Delta]) -> str:
    """The same times counted from the start of `rbd mirror image snapshot` on site-a."""
    parts = []
    for delta in deltas:
        for engine in ('ours', 'rbd-mirror'):
            values = [r['seconds_from_command'] for r in records
                      if r['delta'] == delta.key and r['engine'] == engine and 'seconds_from_command' in r]
            if values:
                parts.append(f'{delta.key} {engine} {seconds_cell(values)} s')
        creation = [r['snapshot_seconds'] for r in records if r['delta'] == delta.key and 'snapshot_seconds' in r]
        if creation:
            parts.append(f'{delta.key} site-a snapshot creation {seconds_cell(creation)} s')
    return 'from the start of `rbd mirror image snapshot` instead: ' + ', '.join(parts)


def module_seconds_line(records: List[Dict[str, Any]], deltas: List[Delta]) -> str:
    """Our module's own last_sync.seconds: the sync alone, without noticing and scanning."""
    parts = []
    for delta in deltas:
        values = [r['module_seconds'] for r in records if r['delta'] == delta.key and r['engine'] == 'ours'
                  and r.get('module_seconds') is not None]
        parts.append(f'{delta.key} {seconds_cell(values)} s')
        for r in records:
            if r['delta'] == delta.key and r['engine'] == 'ours' and r.get('phase_seconds'):
                phases = ', '.join(f'{k} {v:.2f}' for k, v in r['phase_seconds'].items())
                parts.append(f'{delta.key} run {r["run"]} phases: {phases}')
    return "ours, the module's own last_sync.seconds: " + ', '.join(parts)


def errors_text(records: List[Dict[str, Any]]) -> str:
    return '\n'.join(f'- {r["engine"]} {r["delta"]} run {r["run"]}: {r["error"]}' for r in records if 'error' in r)


def dump_json(name: str, payload: Dict[str, Any]) -> Path:
    path = OUT_DIR / name
    path.write_text(json.dumps(payload, indent=2, default=str) + '\n')
    return path


# --- modes -------------------------------------------------------------------------------------

def engines_for(bench: Bench, args: argparse.Namespace) -> List[Engine]:
    engines: List[Engine] = []
    if not args.skip_ours:
        engines.append(Ours(bench))
    if not args.skip_rbd_mirror:
        engines.append(RbdMirror(bench))
    return engines


def engines_in_turn(engines: List[Engine], run: int) -> List[Engine]:
    """The engines in a different order each run, so that none always runs
    right after the same case. The sandbox's site-b OSD has spent 1.5 s of
    CPU on 512 MiB of rbd-mirror's A writes right after ours, and 4-5 s on
    the same bytes and op count elsewhere (docs/benchmarks.md)."""
    shift = (run - 1) % len(engines) if engines else 0
    return engines[shift:] + engines[:shift]


def guarded(record: Dict[str, Any], measure: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
    """Runs one case; a failure is recorded and the benchmark goes on."""
    run = f' run {record["run"]}' if 'run' in record else ''
    log(f'{record["engine"]} {record["delta"]}{run} ...')
    try:
        record.update(measure())
        if 'seconds' in record:
            log(f'  {record["seconds"]:.2f} s')
    except Exception as e:  # noqa: BLE001 - one failed case must not stop the others
        record['error'] = f'{type(e).__name__}: {e}'
        log(f'  failed: {record["error"]}')
    return record


def compare_mode(bench: Bench, args: argparse.Namespace, daemon: Optional[RbdMirrorDaemon]) -> None:
    deltas = [DELTAS[args.only]] if args.only else list(DELTAS.values())
    records: List[Dict[str, Any]] = []
    limits: List[Dict[str, float]] = []
    for run in range(1, args.runs + 1):
        log(f'run {run}: limits')
        limits.append(measure_limits(bench))
        for delta in deltas:
            for engine in engines_in_turn(engines_for(bench, args), run):
                name = f'bench-{engine.name[:4]}-{delta.key}{run}-{TAG}'
                records.append(guarded({'engine': engine.name, 'delta': delta.key, 'run': run},
                                       lambda: timed_delta(engine, delta, name)))
            records.append(guarded({'engine': 'export|import', 'delta': delta.key, 'run': run},
                                   lambda: timed_export_import(bench, delta, f'benchx-{delta.key}{run}-{TAG}')))
    pool_check = rbd_pool_untouched_by_rbd_mirror(bench) if daemon else None
    print('\n' + main_table(records, limits, deltas) + '\n')
    print(limits_table(limits) + '\n')
    print(from_command_line(records, deltas) + '\n')
    print(module_seconds_line(records, deltas) + '\n')
    if errors_text(records):
        print('Failed cases:\n' + errors_text(records) + '\n')
    if pool_check is not None:
        print(f'rbd-mirror left pool rbd on site-b alone: {pool_check["ok"]}\n')
    path = dump_json('sync_bench.json', {'mode': 'compare', 'finished': time.time(), 'args': vars(args),
                                         'limits': limits, 'records': records, 'rbd_pool_check': pool_check})
    log(f'wrote {path}')


def memory_mode(bench: Bench, args: argparse.Namespace, daemon: Optional[RbdMirrorDaemon]) -> None:
    results = []
    for engine in engines_for(bench, args):
        pid = active_mgr_pid(bench.b) if engine.name == 'ours' else daemon.pid
        process = 'site-b ceph-mgr (active)' if engine.name == 'ours' else 'site-b rbd-mirror'
        results.append(guarded({'engine': engine.name, 'delta': f'{args.memory_size} first sync',
                                'process': process},
                               lambda: first_sync_memory(engine, pid, args.memory_size)))
    rows = [[r['engine'], r['process'], f'{r["baseline_mib"]:.0f}', f'{r["peak_mib"]:.0f}',
             f'{r["growth_mib"]:.0f}', f'{r["seconds_from_enable"]:.1f}',
             f'{r["module_seconds"]:.1f}' if r.get('module_seconds') is not None else '-']
            for r in results if 'error' not in r]
    print('\n' + markdown(['engine', 'process', 'baseline RSS (MiB)', 'peak RSS (MiB)', 'growth (MiB)',
                           'enable → synced (s)', 'module last_sync (s)'], rows) + '\n')
    if errors_text([dict(r, run='') for r in results]):
        print('Failed cases:\n' + errors_text([dict(r, run='') for r in results]) + '\n')
    log(f'wrote {dump_json("sync_bench-memory.json", {"mode": "memory", "results": results})}')


def scaling_mode(bench: Bench, args: argparse.Namespace, daemon: Optional[RbdMirrorDaemon]) -> None:
    records = []
    for total in ('64M', '256M', '1G'):
        delta = Delta(f'seq-{total}', f'{total}iB, 4 MiB sequential', '4M', 'seq', total)
        for engine in engines_for(bench, args):
            name = f'bench-{engine.name[:4]}-s{total}-{TAG}'
            records.append(guarded({'engine': engine.name, 'delta': delta.key, 'bytes': delta.bytes},
                                   lambda: timed_delta(engine, delta, name)))
    per_image = Delta('n', '128 MiB, 4 MiB sequential', '4M', 'seq', '128M')
    for count in (1, 2, 4):
        for engine in engines_for(bench, args):
            records.append(guarded({'engine': engine.name, 'delta': f'{count} x 128M', 'images': count,
                                    'bytes': count * per_image.bytes},
                                   lambda: timed_concurrent(engine, count, per_image)))
    rows = [[r['engine'], r['delta'], f'{r["seconds"]:.2f}', f'{r["bytes"] / MiB / r["seconds"]:.0f}']
            for r in records if 'seconds' in r]
    print('\n' + markdown(['engine', 'delta', 'snapshot → all synced (s)', 'MiB/s'], rows) + '\n')
    if errors_text([dict(r, run='') for r in records]):
        print('Failed cases:\n' + errors_text([dict(r, run='') for r in records]) + '\n')
    log(f'wrote {dump_json("sync_bench-scaling.json", {"mode": "scaling", "records": records})}')


def site_osd_ops(site: Site) -> int:
    """Operations the site's OSDs have served since they started (perf counter osd.op)."""
    total = 0
    for osd in ceph_json(site, 'osd', 'ls'):
        total += ceph_json(site, 'tell', f'osd.{osd}', 'perf', 'dump')['osd']['op']
    return total


def thin_delta(engine: Engine, size: str, name: str, delta: Delta) -> Dict[str, Any]:
    """A thin image of `size`, mirrored and first-synced empty; then `delta` written, a
    snapshot taken, and the time until site-b holds it."""
    specs = []
    try:
        specs = prepare_mirrored(engine, [name], size)
        write_delta(engine.bench.a, specs[0], delta)
        settle(engine.bench)
        ops_before = site_osd_ops(engine.bench.a)
        started, t0, snap_id = take_mirror_snapshot(engine.bench.a, specs[0])
        result = wait_synced(engine, {specs[0]: snap_id}, started, SYNC_TIMEOUT)[specs[0]]
        ops = site_osd_ops(engine.bench.a) - ops_before
        return dict(result, seconds=result['done_at'] - t0, primary_osd_ops=ops, snap_id=snap_id)
    finally:
        for spec in specs or [engine.spec(name)]:
            engine.remove(spec)


def thin_first_sync(engine: Engine, size: str, written: str, name: str) -> Dict[str, Any]:
    """A thin image of `size` with `written` bytes (4 MiB writes at random places): the time
    from enabling snapshot mirroring until site-b holds the first snapshot."""
    spec = engine.spec(name)
    try:
        create_image(engine.bench.a, spec, size)
        rbd_bench(engine.bench.a, spec, 'write', '4M', 'rand', written)
        settle(engine.bench)
        ops_before = site_osd_ops(engine.bench.a)
        t0 = time.time()
        snap_id = enable_snapshot_mirroring(engine.bench.a, spec)
        result = wait_synced(engine, {spec: snap_id}, t0, FIRST_SYNC_TIMEOUT + SYNC_TIMEOUT)[spec]
        ops = site_osd_ops(engine.bench.a) - ops_before
        return dict(result, seconds=result['done_at'] - t0, primary_osd_ops=ops, snap_id=snap_id)
    finally:
        engine.remove(spec)


def image_size_mode(bench: Bench, args: argparse.Namespace, daemon: Optional[RbdMirrorDaemon]) -> None:
    delta = Delta('16M', '16 MiB, four 4 MiB writes at random places', '4M', 'rand', '16M')
    records: List[Dict[str, Any]] = []
    cases = [(f'16 MiB delta, {size} image', lambda e, n, size=size: thin_delta(e, size, n, delta))
             for size in args.sizes.split(',')]
    cases.append((f'first sync, {args.first_written} written of {args.first_size}',
                  lambda e, n: thin_first_sync(e, args.first_size, args.first_written, n)))
    for run in range(args.runs):
        for index, (case, measure) in enumerate(cases):
            for engine in engines_in_turn(engines_for(bench, args), run + index + 1):
                name = f'bench-{engine.name[:4]}-z{index}-r{run}-{TAG}'
                records.append(guarded({'engine': engine.name, 'delta': case, 'run': run},
                                       lambda: measure(engine, name)))
    # With several runs: medians, and every run's time in its own column.
    rows = []
    for case, _ in cases:
        by_engine: Dict[str, List[Dict[str, Any]]] = {}
        for r in records:
            if r['delta'] == case and 'seconds' in r:
                by_engine.setdefault(r['engine'], []).append(r)
        for engine, runs in by_engine.items():
            seconds = statistics.median(r['seconds'] for r in runs)
            ops = statistics.median(r['primary_osd_ops'] for r in runs)
            scans = [s for r in runs if (s := (r.get('phase_seconds') or {}).get('scanning')) is not None]
            sync = runs[0].get('last_sync') or {}
            other = by_engine.get('rbd-mirror') if engine == 'ours' else None
            other_seconds = statistics.median(r['seconds'] for r in other) if other else None
            other_ops = statistics.median(r['primary_osd_ops'] for r in other) if other else None
            rows.append([case, engine, f'{seconds:.2f}', ' '.join(f'{r["seconds"]:.2f}' for r in runs),
                         f'{statistics.median(scans):.2f}' if scans else '-',
                         f'{sync.get("objects_scanned")} of {sync.get("objects_in_image")} '
                         f'({sync.get("delta_source")})' if sync else '-',
                         f'{ops:.0f}',
                         f'{seconds / other_seconds:.2f}' if other else '-',
                         f'{ops / max(other_ops, 1):.2f}' if other else '-'])
    print('\n' + markdown(['case', 'engine', 'snapshot → synced (s), median', 'each run (s)', 'scanning (s)',
                           'objects asked', 'site-a OSD ops', 'time ours / rbd-mirror', 'ops ours / rbd-mirror'],
                          rows) + '\n')
    if errors_text([dict(r, run='') for r in records]):
        print('Failed cases:\n' + errors_text([dict(r, run='') for r in records]) + '\n')
    log(f'wrote {dump_json("sync_bench-image-sizes.json", {"mode": "image-sizes", "records": records})}')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=1, help='repetitions of every case (default 1; modes: '
                        'the default and --image-sizes)')
    parser.add_argument('--skip-rbd-mirror', action='store_true', help='do not measure stock rbd-mirror')
    parser.add_argument('--skip-ours', action='store_true', help='do not measure the mirror_snapshot module')
    parser.add_argument('--only', choices=sorted(DELTAS), help='measure one delta only')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--memory', action='store_true', help='RSS of site-b processes during a 4 GiB first sync')
    parser.add_argument('--memory-size', default='4G', help='image size for --memory (default 4G; the memstore '
                        'OSDs keep the RSS they grow to until restarted)')
    mode.add_argument('--scaling', action='store_true', help='time vs delta size and vs images syncing at once')
    mode.add_argument('--image-sizes', action='store_true', help='a 16 MiB delta on thin images of --sizes, and '
                      'the first sync of a thin image')
    parser.add_argument('--sizes', default='1G,64G,1T', help='image sizes for --image-sizes (default 1G,64G,1T)')
    parser.add_argument('--first-size', default='1T', help='--image-sizes: the first-synced image (default 1T)')
    parser.add_argument('--first-written', default='1G', help='--image-sizes: bytes written before its first '
                        'sync (default 1G)')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # run the clean-ups on kill
    mode = (memory_mode if args.memory else scaling_mode if args.scaling else
            image_size_mode if args.image_sizes else compare_mode)
    bench = Bench()
    try:
        if args.skip_rbd_mirror:
            mode(bench, args, None)
        else:
            with RbdMirrorDaemon(bench) as daemon:
                mode(bench, args, daemon)
    finally:
        bench.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
