#!/usr/bin/python3
"""Soak benchmark: many images on a 1-minute schedule for an hour or more, with a peer fault every
few minutes, while both sites' active ceph-mgr processes are sampled (not run by CI).

What it does, on the sandbox clusters (packaging/sandbox up):
  1. creates --images sparse images (--size-mib each, default 200 x 64 MiB) in namespace
     rbd/<--namespace> of site-a, snapshot-mirrored, with a small first write each, and a
     1-minute mirror-snapshot schedule on the namespace (`ceph mirror snapshot schedule add
     rbd/<ns>/ 1m`);
  2. keeps a light write load going (--writes writes of 4-64 KiB to random images every
     --write-every seconds, through python rbd);
  3. every --fault-every minutes, a peer fault, in turn (--fault alternate, the default) or always
     the same kind:
       blocklist    site-b's clients of site-a (as its module records them in the config-key
                    mgr/mirror_snapshot/peer_clients) are blocklisted on site-a for
                    --blocklist-seconds: the module must notice and reconnect with a new client;
       mon-restart  site-a's only monitor is stopped and started again: every client of site-a,
                    site-b's peer clients included, loses its monitor session for a few seconds;
  4. every --sample-every seconds (default 60), on each site's active mgr (the PID is resolved at
     each sample from `ceph mgr stat` and the sandbox's pid file, so a failover is followed and
     noted): RSS (VmRSS), threads (/proc/PID/task), file descriptors (/proc/PID/fd) and peer
     sockets (established TCP connections of that process to a listening port of a daemon of the
     other site, matched by socket inode in /proc/PID/net/tcp), plus the recovery point of every
     image: now - last_complete.primary_snap_time from `ceph mirror snapshot status` on site-b
     (an image with no complete replica snapshot yet counts from its creation).

--stock runs the baseline: the same images, load and faults replicated by Ceph's own pieces, with
this module disabled on both sites, in a pool of its own (rbdm, created on both sites and peered
here, removed at the end): rbd_support's schedule on site-a (`rbd mirror snapshot schedule add
--pool rbdm --namespace <ns> 1m`) and a stock rbd-mirror daemon on site-b (started here, with a
cephx user limited to pool rbdm, logging to <sandbox>/rbd-mirror/rbd-mirror.log; pool rbd, where tests and
this module's replicas live, stays out of its reach). The blocklist fault then fences rbd-mirror's
clients of site-a (its sessions on site-a's monitor under the peer's client name), the recovery
point comes from `rbd mirror pool status --verbose` on site-b (now - local_snapshot_timestamp, the
primary snapshot time of the newest synced snapshot), and the rbd-mirror process is sampled beside
the two mgrs. What this module must be compared with: ceph-mgr's own RSS over an hour of the same
snapshot churn. The module is enabled again at the end.

At the end it prints a markdown table (first vs last sample, least-squares slope over the samples
after --warmup minutes, recovery point p50/p99/max after the warm-up, PASS/FAIL against the
targets) and removes the images, the namespace on both sites and the schedule (--keep keeps them).

Targets (issue 17): after the warm-up, RSS slope under 1 MiB/hour; threads, fds and peer sockets
flat (the fitted line rises by less than 1 over the measured window); recovery point p99 under 75 s.
The slopes are fitted over the samples of the mgr process that was active at the end (a failover
starts a new process; the restarts are listed in the table).

Run (as root, from the repository root, sandbox up; never two at once):
  /usr/bin/python3 tests/bench/soak/soak_bench.py [--images 200] [--minutes 65] [--fault-every 10]
      [--out DIR]

Writes DIR/samples.csv (one row per site per sample), DIR/recovery.csv (one row per image per
sample), DIR/events.csv (faults, failovers, errors) and DIR/table.md (the table printed).
"""
import argparse
import csv
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import rados
import rbd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'integration'))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'sync'))
from sandbox import BUILD_DIR, Site, purge_namespace, set_fence, socket_inodes  # noqa: E402

MiB = 1 << 20
KiB = 1 << 10
POOL = 'rbd'          # --stock: STOCK_POOL
STOCK_POOL = 'rbdm'   # sync_bench.RBDM_POOL
SITES = ('site-a', 'site-b')
RSS_SLOPE_TARGET = 1.0      # MiB/hour
RP_P99_TARGET = 75.0        # seconds
TCP_LISTEN = '0A'
TCP_ESTABLISHED = '01'


def log(msg: str) -> None:
    print(f'[soak {time.strftime("%H:%M:%S", time.gmtime())}] {msg}', flush=True)


# --- processes ------------------------------------------------------------------------------

def read_int_field(path: str, name: str) -> Optional[int]:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def tcp_table() -> List[Tuple[int, int, str, str]]:
    """(local port, remote port, state, inode) of every TCP socket of this host (one netns)."""
    rows = []
    for name in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, remote, state, inode = parts[1], parts[2], parts[3], parts[9]
                    rows.append((int(local.rsplit(':', 1)[1], 16), int(remote.rsplit(':', 1)[1], 16),
                                 state, inode))
        except OSError:
            continue
    return rows


def pid_start(pid: int) -> Optional[int]:
    """The process's start time (clock ticks since boot): tells a restarted PID from the old one."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return int(f.read().rsplit(')', 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class ProcSample:
    rss_kib: Optional[int] = None
    threads: Optional[int] = None
    fds: Optional[int] = None
    peer_sockets: Optional[int] = None
    tcp_sockets: Optional[int] = None
    # Where the RSS lives (from /proc/<pid>/smaps), to tell a growing malloc
    # arena from thread stacks, mmapped buffers or mapped files.
    rss_parts: Dict[str, int] = field(default_factory=dict)


ARENA_ALIGN = 64 << 20   # glibc's non-main arenas are 64 MiB-aligned reservations


def rss_parts(pid: int) -> Dict[str, int]:
    """RSS in KiB by kind of mapping: the main arena ([heap]), other malloc
    arenas, other anonymous memory (thread stacks, mmapped chunks, Python's
    arenas) and file mappings."""
    parts = {'rss_heap_kib': 0, 'rss_arenas_kib': 0, 'rss_anon_kib': 0, 'rss_file_kib': 0}
    kind = None
    try:
        with open(f'/proc/{pid}/smaps') as f:
            for line in f:
                head = line.split(None, 5)
                if '-' in head[0] and len(head) >= 5 and not head[0].endswith(':'):
                    start = int(head[0].split('-')[0], 16)
                    path = head[5].strip() if len(head) > 5 else ''
                    if path == '[heap]':
                        kind = 'rss_heap_kib'
                    elif path == '':
                        kind = 'rss_arenas_kib' if start % ARENA_ALIGN == 0 else 'rss_anon_kib'
                    elif path.startswith('['):
                        kind = 'rss_anon_kib'
                    else:
                        kind = 'rss_file_kib'
                elif head[0] == 'Rss:' and kind:
                    parts[kind] += int(head[1])
    except (OSError, ValueError, IndexError):
        return {}
    return parts


def sample_process(pid: int, other_ports: Set[int], table) -> ProcSample:
    s = ProcSample()
    s.rss_kib = read_int_field(f'/proc/{pid}/status', 'VmRSS')
    s.rss_parts = rss_parts(pid)
    try:
        s.threads = len(os.listdir(f'/proc/{pid}/task'))
        s.fds = len(os.listdir(f'/proc/{pid}/fd'))
    except OSError:
        return s
    mine = socket_inodes(pid)
    established = [(lp, rp) for lp, rp, st, ino in table if ino in mine and st == TCP_ESTABLISHED]
    s.tcp_sockets = len(established)
    s.peer_sockets = sum(1 for _, rp in established if rp in other_ports)
    return s


class SiteProcs:
    """One sandbox site: its daemons' PIDs, listening ports, active mgr."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def daemon_pids(self) -> Dict[str, int]:
        out = {}
        for pid_file in (self.site.dir / 'run').glob('*.pid'):
            pid = self.site.daemon_pid(pid_file.stem)
            if pid:
                out[pid_file.stem] = pid
        return out

    def listening_ports(self, table) -> Set[int]:
        inodes: Set[str] = set()
        for pid in self.daemon_pids().values():
            inodes |= socket_inodes(pid)
        return {lp for lp, _, st, ino in table if st == TCP_LISTEN and ino in inodes}

    def active_mgr(self) -> Tuple[Optional[str], Optional[int]]:
        try:
            name = self.site.ceph_json('mgr', 'stat')['active_name']
        except Exception:  # noqa: BLE001 - a monitor restarting, a CLI timeout: sample what we can
            return None, None
        return name, self.site.daemon_pid(f'mgr.{name}') if name else None


# --- the load -------------------------------------------------------------------------------

OBJECT = 4 * MiB
WRITE_WINDOW = 128 * KiB


def write_offset(rng: random.Random, size: int, length: int) -> int:
    """A random 4 KiB-aligned offset within the first 128 KiB of a random 4 MiB object: the
    sandbox's memstore OSD keeps an object as one buffer up to its highest written byte (and copies
    it whole into each snapshot clone), so writes spread over whole objects made both sites' OSDs
    grow by gigabytes within 20 minutes (site-a's osd.0 was OOM-killed on the shared machine)."""
    return rng.randrange(size // OBJECT) * OBJECT + rng.randrange((WRITE_WINDOW - length) // (4 * KiB) + 1) * 4 * KiB


class Writer(threading.Thread):
    """A light write load: a few small writes to random images every few seconds."""

    def __init__(self, conf: Path, namespace: str, names: List[str], size: int, every: float,
                 writes: int, seed: int) -> None:
        super().__init__(daemon=True)
        self.conf, self.namespace, self.names, self.size = conf, namespace, names, size
        self.every, self.writes = every, writes
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.done = 0
        self.errors = 0
        self.last_error = ''

    def run(self) -> None:
        cluster = rados.Rados(conffile=str(self.conf))
        cluster.conf_set('rados_osd_op_timeout', '30')
        cluster.connect()
        ioctx = cluster.open_ioctx(POOL)
        ioctx.set_namespace(self.namespace)
        # Images stay open: a close racing a snapshot request that librbd
        # forwards to the lock owner (rbd_support's schedule does that to this
        # writer) trips an assertion in Pacific's librbd (AsyncOpTracker in
        # ImageWatcher's destructor) that killed a --stock run at 12 minutes.
        images: Dict[str, Any] = {}
        try:
            while not self.stop.wait(self.every):
                for name in self.rng.sample(self.names, min(self.writes, len(self.names))):
                    length = self.rng.choice((4, 16, 64)) * KiB
                    offset = write_offset(self.rng, self.size, length)
                    try:
                        if name not in images:
                            images[name] = rbd.Image(ioctx, name)
                        images[name].write(self.rng.randbytes(length), offset)
                        self.done += 1
                    except (rbd.Error, rados.Error) as e:
                        self.errors += 1
                        self.last_error = f'{name}: {e}'
        finally:
            for image in images.values():
                image.close()
            ioctx.close()
            cluster.shutdown()


# --- faults ---------------------------------------------------------------------------------

def blocklist_peer_clients(site_a: Site, site_b: Site, seconds: int) -> str:
    proc = site_b.ceph('config-key', 'get', 'mgr/mirror_snapshot/peer_clients', check=False)
    try:
        addrs = json.loads(proc.stdout).get('site-a', []) if proc.returncode == 0 else []
    except ValueError:
        addrs = []
    done = 0
    for addr in addrs:
        if site_a.ceph('osd', 'blocklist', 'add', addr, str(seconds), check=False).returncode == 0:
            done += 1
    return f'blocklisted {done}/{len(addrs)} of site-b\'s clients of site-a for {seconds} s'


def restart_mon(site: Site) -> str:
    pid = site.daemon_pid('mon.a')
    t0 = time.monotonic()
    if pid:
        os.kill(pid, signal.SIGTERM)
        while Path(f'/proc/{pid}').exists() and time.monotonic() - t0 < 30:
            time.sleep(0.1)
        if Path(f'/proc/{pid}').exists():
            os.kill(pid, signal.SIGKILL)
    with open(site.dir / 'log' / 'mon.a.log', 'ab') as logf:
        subprocess.run(['ceph-mon', '-c', str(site.conf), '-i', 'a'], stdout=logf, stderr=logf, check=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if site.ceph('mon', 'stat', check=False, timeout=20).returncode == 0:
            return f'{site.name} mon.a restarted, answering after {time.monotonic() - t0:.1f} s'
        time.sleep(1)
    return f'{site.name} mon.a restarted, NOT answering after {time.monotonic() - t0:.1f} s'


def blocklist_rbd_mirror_clients(site_a: Site, site_b: Site, seconds: int) -> str:
    """--stock: rbd-mirror's clients of site-a are the sessions of site-a's monitor under the
    client name site-b's peer record of pool rbd holds."""
    info = json.loads(site_b.rbd('mirror', 'pool', 'info', POOL, '--all', '--format', 'json').stdout)
    names = {p.get('client_name') for p in info.get('peers', [])}
    sessions = site_a.ceph_json('tell', 'mon.a', 'sessions')
    addrs = set()
    for session in sessions:
        if session.get('entity_name') in names:
            for a in session.get('addrs', {}).get('addrvec', []):
                addrs.add(f"{a['addr']}/{a['nonce']}")
    done = sum(1 for addr in sorted(addrs)
               if site_a.ceph('osd', 'blocklist', 'add', addr, str(seconds), check=False).returncode == 0)
    return f"blocklisted {done}/{len(addrs)} of rbd-mirror's clients of site-a ({', '.join(sorted(names))}) for {seconds} s"


class StockRbdMirror:
    """--stock: pool rbdm on both sites, peered a -> b, and a stock rbd-mirror on site-b whose
    cephx user can only touch that pool (tests/bench/sync/sync_bench.py's RbdMirrorDaemon): it
    must not replicate pool rbd, where tests and this module's replicas live."""

    def __init__(self, site: Site, out: Path) -> None:
        import sync_bench  # noqa: E402 (tests/bench/sync, on sys.path)
        self.daemon = sync_bench.RbdMirrorDaemon(sync_bench.Bench())
        self.started = False

    def start(self) -> None:
        self.daemon.__enter__()   # pools, peer, credentials, the daemon
        self.started = True
        log(f'rbd-mirror started on site-b (pid {self.daemon.pid}), pool {STOCK_POOL}, '
            f'log {self.daemon.log_file}')

    def stop(self) -> None:
        if self.started:
            self.daemon.stop()
            self.started = False

    def remove_pool(self) -> None:
        self.daemon.remove_pools()
        log(f'pool {STOCK_POOL} removed on both sites')

    @property
    def pid(self) -> Optional[int]:
        proc = self.daemon.proc
        return proc.pid if proc is not None and proc.poll() is None else None


def stock_status_rows(site: Site, namespace: str) -> Optional[List[Dict[str, Any]]]:
    """--stock: `rbd mirror pool status --verbose` of the namespace on site-b, or None."""
    proc = site.rbd('mirror', 'pool', 'status', f'{POOL}/{namespace}', '--verbose', '--format', 'json',
                    check=False, timeout=60)
    if proc.returncode != 0:
        return None
    try:
        return json.loads(proc.stdout).get('images', [])
    except ValueError:
        return None


def stock_snapshot_time(row: Dict[str, Any]) -> Optional[float]:
    """The primary snapshot time of the newest synced snapshot, from rbd-mirror's description
    ('replaying, {"local_snapshot_timestamp": ...}')."""
    description = row.get('description', '')
    if '{' not in description:
        return None
    try:
        replay = json.loads(description[description.index('{'):])
    except ValueError:
        return None
    value = replay.get('local_snapshot_timestamp')
    return float(value) if value else None


# --- statistics -----------------------------------------------------------------------------

def memory_command(site: Site, *args: str) -> Optional[Dict[str, Any]]:
    """`mirror snapshot memory [release]` of the site's active mgr, None if it
    did not answer or has no heap figures (not glibc malloc)."""
    try:
        proc = site.mirror_snapshot('memory', *args, '--format', 'json', check=False, timeout=60)
        report = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (subprocess.TimeoutExpired, ValueError):
        report = None
    return report if report and report['heap']['available'] else None


def heap_sample(site: Site, release: bool) -> Dict[str, Optional[int]]:
    """The mgr's C heap (in use / free but kept) and Python objects: what
    tells a leak from memory glibc keeps. With `release` (after the RSS was
    read), `memory release` and the RSS it leaves: the floor the mgr goes
    back to at each of its periodic releases, without the phase noise of
    freed pages still resident when the sample falls between two releases."""
    report = memory_command(site, 'release') if release else memory_command(site)
    if report is None:
        return {'heap_in_use_kib': None, 'heap_free_kib': None, 'py_objects': None, 'py_blocks': None,
                'rss_released_kib': None}
    return {'heap_in_use_kib': report['heap']['in_use_bytes'] // 1024,
            'heap_free_kib': report['heap']['free_bytes'] // 1024,
            'py_objects': report['python']['gc_objects'],
            # pymalloc blocks of every interpreter of the process: all mgr modules
            'py_blocks': report['python']['allocated_blocks'],
            'rss_released_kib': report['release']['rss_after_bytes'] // 1024 if release else None}


def heap_release(site: Site) -> str:
    """After the last sample: how much of the mgr's RSS was memory glibc kept
    (malloc_trim)."""
    report = memory_command(site, 'release')
    if report is None:
        return 'no figures'
    heap, released = report['heap'], report['release']
    return (f"RSS {report['rss_bytes'] / MiB:.1f} MiB: heap in use {heap['in_use_bytes'] / MiB:.1f} MiB, "
            f"free but kept {heap['free_bytes'] / MiB:.1f} MiB; malloc_trim returned "
            f"{released['rss_returned_bytes'] / MiB:.1f} MiB (RSS after {released['rss_after_bytes'] / MiB:.1f} MiB)")


def slope(xs: List[float], ys: List[float]) -> Optional[float]:
    if len(xs) < 3:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def percentile(values: List[float], p: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def fmt(v, digits: int = 1) -> str:
    if v is None:
        return '-'
    if isinstance(v, float):
        return f'{v:.{digits}f}'
    return str(v)


# --- the run --------------------------------------------------------------------------------

class Soak:
    def __init__(self, args) -> None:
        self.args = args
        self.sites = {name: Site(name) for name in SITES}
        self.stock = StockRbdMirror(self.sites['site-b'], Path(args.out)) if args.stock else None
        # What is sampled: each site's active mgr, and with --stock the rbd-mirror daemon too.
        self.subjects = SITES + (('rbd-mirror',) if args.stock else ())
        self.procs = {name: SiteProcs(site) for name, site in self.sites.items()}
        self.ns = args.namespace
        self.names = [f'soak-{i:04d}' for i in range(args.images)]
        self.size = args.size_mib * MiB
        self.created_at: Dict[str, float] = {}
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.samples: List[Dict] = []
        # (minute, image, recovery point s, state, sync lag s, primary snap id)
        self.rp_rows: List[Tuple[float, str, float, str, Optional[float], Optional[int]]] = []
        self.events: List[Tuple[float, str, str]] = []
        self.releases: Dict[str, str] = {}  # site -> what `memory release` said after the run
        self.t0 = 0.0
        self.last_mgr: Dict[str, Tuple[Optional[str], Optional[int], Optional[int]]] = {}

    def log_offsets(self) -> Dict[Path, int]:
        out = {}
        for site in self.sites.values():
            for f in (site.dir / 'log').glob('mgr.*.log'):
                out[f] = f.stat().st_size
        return out

    def log_summary(self) -> List[str]:
        """What the mgr logs of both sites said during the run: errors, warnings, tracebacks."""
        lines = []
        for f, size in sorted(self.log_offsets().items()):
            start = self.log_start.get(f, 0)
            if size <= start:
                continue
            counts = {'ERROR': 0, 'WARNING': 0, 'Traceback': 0}
            firsts: Dict[str, str] = {}
            with open(f, 'rb') as fh:
                fh.seek(start)
                for raw in fh:
                    line = raw.decode(errors='replace').rstrip()
                    for key in ('ERROR', 'WARNING'):
                        if f'[mirror_snapshot {key}' in line:
                            counts[key] += 1
                            msg = line.split(']', 1)[-1].strip()
                            shape = ''.join('#' if c.isdigit() else c for c in msg)[:90]
                            firsts.setdefault(shape, line[:300])
                    if 'Traceback' in line:
                        counts['Traceback'] += 1
                        firsts.setdefault('Traceback', line[:300])
            if any(counts.values()):
                lines.append(f'{f.parent.parent.name}/{f.name}: ' + ', '.join(f'{k} {v}' for k, v in counts.items()))
                lines.extend(f'    {x}' for x in list(firsts.values())[:8])
        return lines

    def event(self, kind: str, text: str) -> None:
        t = (time.time() - self.t0) / 60 if self.t0 else 0.0
        self.events.append((t, kind, text))
        log(f'{kind}: {text}')

    # setup / teardown
    def setup(self) -> None:
        a = self.sites['site-a']
        if self.stock:
            # Off before any image is mirror-enabled: else this module's replayer on site-b
            # creates the replicas first and rbd-mirror fails on them with EEXIST.
            for site in self.sites.values():
                site.ceph('mgr', 'module', 'disable', 'mirror_snapshot', check=False)
            self.stock.start()   # its pool first: the images go there
        a.rbd('namespace', 'create', f'{POOL}/{self.ns}', check=False)
        a.rbd('mirror', 'pool', 'enable', f'{POOL}/{self.ns}', 'image', check=False)
        cluster = rados.Rados(conffile=str(a.conf))
        cluster.connect()
        try:
            ioctx = cluster.open_ioctx(POOL)
            ioctx.set_namespace(self.ns)
            rng = random.Random(self.args.seed)
            features = (rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK |
                        rbd.RBD_FEATURE_OBJECT_MAP | rbd.RBD_FEATURE_FAST_DIFF)
            t = time.monotonic()
            existing = set(rbd.RBD().list(ioctx))
            if existing:
                log(f'{len(existing & set(self.names))} images there already (an earlier run): reused')
            for i, name in enumerate(self.names):
                if name in existing:
                    self.created_at[name] = time.time()
                    continue
                rbd.RBD().create(ioctx, name, self.size, old_format=False, features=features)
                with rbd.Image(ioctx, name) as image:
                    image.write(rng.randbytes(64 * KiB), write_offset(rng, self.size, 64 * KiB))
                    image.mirror_image_enable(rbd.RBD_MIRROR_IMAGE_MODE_SNAPSHOT)
                self.created_at[name] = time.time()
                if (i + 1) % 50 == 0:
                    log(f'created {i + 1}/{len(self.names)} images ({time.monotonic() - t:.0f} s)')
            ioctx.close()
        finally:
            cluster.shutdown()
        if self.stock:
            self.setup_stock()
        else:
            a.mirror_snapshot('schedule', 'add', f'{POOL}/{self.ns}/', self.args.interval, check=False)
        log(f'{len(self.names)} images of {self.args.size_mib} MiB in {POOL}/{self.ns} on site-a, '
            f'schedule every {self.args.interval}')

    def setup_stock(self) -> None:
        """rbd_support's schedule on site-a, rbd-mirror on site-b (this module is off already)."""
        a, b = self.sites['site-a'], self.sites['site-b']
        b.rbd('namespace', 'create', f'{POOL}/{self.ns}', check=False)
        b.rbd('mirror', 'pool', 'enable', f'{POOL}/{self.ns}', 'image', check=False)
        a.rbd('mirror', 'snapshot', 'schedule', 'add', '--pool', POOL, '--namespace', self.ns,
              self.args.interval)

    def purge(self, site: Site, disable_mirroring: bool) -> None:
        """Removes every image of the namespace on `site` through librbd (the CLI, one process per
        call, takes minutes for 200 images): mirroring disabled (primaries) or the replayer's fence
        lifted (replicas), snapshots removed, image removed; then the namespace."""
        started = time.monotonic()
        names: List[str] = []
        cluster = rados.Rados(conffile=str(site.conf))
        cluster.connect()
        try:
            ioctx = cluster.open_ioctx(POOL)
            ioctx.set_namespace(self.ns)
            try:
                names = rbd.RBD().list(ioctx)
            except rbd.Error:
                names = []
            for name in names:
                for attempt in range(3):
                    try:
                        with rbd.Image(ioctx, name) as image:
                            if disable_mirroring:
                                image.mirror_image_disable(True)
                        if site.name == 'site-b':
                            set_fence(ioctx, name, False)   # a replica of this module's, whichever run
                        with rbd.Image(ioctx, name) as image:
                            for snap in list(image.list_snaps()):
                                if image.is_protected_snap(snap['name']):
                                    image.unprotect_snap(snap['name'])
                                image.remove_snap_by_id(snap['id'])
                        rbd.RBD().remove(ioctx, name)
                        break
                    except rbd.ImageNotFound:
                        break
                    except (rbd.Error, rados.Error) as e:
                        if attempt == 2:
                            log(f'{site.name}: could not remove {name}: {e}')
                        time.sleep(2)
            ioctx.close()
        finally:
            cluster.shutdown()
        if disable_mirroring:
            site.rbd('mirror', 'pool', 'disable', f'{POOL}/{self.ns}', check=False)
        # Whatever is left (and the namespace), the slow way.
        purge_namespace(site, POOL, self.ns)
        log(f'{site.name}: {len(names)} images removed in {time.monotonic() - started:.0f} s')

    def cleanup(self) -> None:
        a, b = self.sites['site-a'], self.sites['site-b']
        log('removing the schedule and the images')
        if self.args.stock:
            a.rbd('mirror', 'snapshot', 'schedule', 'remove', '--pool', POOL, '--namespace', self.ns, check=False)
            self.stock.stop()
        else:
            a.mirror_snapshot('schedule', 'remove', f'{POOL}/{self.ns}/', check=False)
        self.purge(a, disable_mirroring=True)
        # The replayer notices the primaries are gone; then the replicas are removed here
        # (rbd-mirror's non-primary images need their mirroring disabled by force).
        time.sleep(10)
        self.purge(b, disable_mirroring=bool(self.args.stock))
        if self.args.stock:
            self.stock.remove_pool()
            for site in (a, b):
                site.ceph('mgr', 'module', 'enable', 'mirror_snapshot', check=False)
        log('removed')

    # sampling
    def sample(self) -> None:
        now = time.time()
        minute = (now - self.t0) / 60
        table = tcp_table()
        ports = {name: p.listening_ports(table) for name, p in self.procs.items()}
        for name in SITES:
            other = 'site-b' if name == 'site-a' else 'site-a'
            mgr, pid = self.procs[name].active_mgr()
            start = pid_start(pid) if pid else None
            prev = self.last_mgr.get(name)
            if prev and prev[0] is not None and mgr is not None and (prev[0], prev[1], prev[2]) != (mgr, pid, start):
                self.event('mgr restart', f'{name}: active mgr {prev[0]} (pid {prev[1]}) -> {mgr} (pid {pid})')
            if mgr is not None:
                self.last_mgr[name] = (mgr, pid, start)
            s = sample_process(pid, ports[other], table) if pid else ProcSample()
            self.samples.append({'time': round(now, 1), 'minute': round(minute, 2), 'site': name,
                                 'mgr': mgr or '', 'pid': pid or '', 'rss_kib': s.rss_kib,
                                 'threads': s.threads, 'fds': s.fds, 'peer_sockets': s.peer_sockets,
                                 'tcp_sockets': s.tcp_sockets, **s.rss_parts,
                                 **(heap_sample(self.sites[name], self.args.release_each_sample)
                                    if not self.stock else {})})
        if self.stock:
            pid = self.stock.pid
            s = sample_process(pid, ports['site-a'], table) if pid else ProcSample()
            self.samples.append({'time': round(now, 1), 'minute': round(minute, 2), 'site': 'rbd-mirror',
                                 'mgr': 'rbd-mirror', 'pid': pid or '', 'rss_kib': s.rss_kib,
                                 'threads': s.threads, 'fds': s.fds, 'peer_sockets': s.peer_sockets,
                                 'tcp_sockets': s.tcp_sockets})
            if pid is None:
                self.event('rbd-mirror exited', f'see {self.stock.daemon.log_file}')
            self.stock_sample(minute)
            return
        # Recovery points, from site-b's module.
        b = self.sites['site-b']
        asked = time.monotonic()
        try:
            proc = b.mirror_snapshot('status', '--format', 'json', check=False, timeout=60)
            rows = json.loads(proc.stdout)['images'] if proc.returncode == 0 else None
            why = proc.stderr.decode(errors='replace').strip()[:200]
        except (subprocess.TimeoutExpired, ValueError) as e:
            rows, why = None, str(e)[-200:]
        self.samples[-1]['status_s'] = round(time.monotonic() - asked, 2)
        now = time.time()
        if rows is None:
            # No recovery points for this sample: the table counts these.
            self.event('status failed', f'after {self.samples[-1]["status_s"]} s: {why}')
            self.samples[-1]['states'] = 'status failed'
            self.samples[-1]['rp_p50'] = self.samples[-1]['rp_max'] = None
            self.log_sample(minute)
            return
        by_name = {}
        for row in rows:
            spec = row.get('image', '')
            if row.get('role') == 'secondary' and spec.startswith(f'{POOL}/{self.ns}/'):
                by_name[spec.rsplit('/', 1)[1]] = row
        states: Dict[str, int] = {}
        ages = []
        for name in self.names:
            row = by_name.get(name)
            state = row.get('state', '?') if row else 'absent'
            states[state] = states.get(state, 0) + 1
            last = row and row.get('last_complete')
            lag = snap_id = None
            if last and last.get('primary_snap_time'):
                age = now - float(last['primary_snap_time'])
                snap_id = last.get('primary_snap_id')
                finished = (row.get('last_sync') or {}).get('finished')
                if finished:
                    lag = round(float(finished) - float(last['primary_snap_time']), 1)
                sync = row.get('last_sync') or {}
                if minute >= self.args.warmup and sync.get('step_seconds') is not None:
                    self.slots[(name, snap_id)] = (float(sync['seconds']), float(sync['step_seconds']),
                                                   float(sync.get('queued_seconds') or 0))
            else:
                age = now - self.created_at.get(name, self.t0)
            ages.append(age)
            self.rp_rows.append((round(minute, 2), name, round(age, 1), state, lag, snap_id))
            if row and row.get('state') == 'error':
                self.errors_seen[name] = row.get('last_error') or ''
        self.samples[-1]['rp_p50'] = percentile(ages, 50)
        self.samples[-1]['rp_max'] = max(ages) if ages else None
        self.samples[-1]['states'] = ' '.join(f'{k}={v}' for k, v in sorted(states.items()))
        self.log_sample(minute)

    def stock_sample(self, minute: float) -> None:
        """--stock: recovery points from rbd-mirror's status on site-b; one rbd_support command
        on site-a (the module's run asks its mgrs once a minute too)."""
        self.sites['site-a'].rbd('mirror', 'snapshot', 'schedule', 'status', '--pool', POOL,
                                 '--namespace', self.ns, check=False, timeout=60)
        last = self.samples[-1]
        asked = time.monotonic()
        rows = stock_status_rows(self.sites['site-b'], self.ns)
        last['status_s'] = round(time.monotonic() - asked, 2)
        if rows is None:
            self.event('status failed', 'rbd mirror pool status')
            last['states'] = 'status failed'
            last['rp_p50'] = last['rp_max'] = None
            self.log_sample(minute)
            return
        by_name = {row.get('name'): row for row in rows}
        now = time.time()
        states: Dict[str, int] = {}
        ages = []
        for name in self.names:
            row = by_name.get(name)
            state = row.get('state', '?') if row else 'absent'
            states[state] = states.get(state, 0) + 1
            taken = stock_snapshot_time(row) if row else None
            age = now - (taken if taken else self.created_at.get(name, self.t0))
            ages.append(age)
            self.rp_rows.append((round(minute, 2), name, round(age, 1), state, None, None))
            if row and 'error' in state:
                self.errors_seen[name] = row.get('description') or ''
        last['rp_p50'] = percentile(ages, 50)
        last['rp_max'] = max(ages) if ages else None
        last['states'] = ' '.join(f'{k}={v}' for k, v in sorted(states.items()))
        self.log_sample(minute)

    def log_sample(self, minute: float) -> None:
        latest = {s['site']: s for s in self.samples[-len(self.subjects):]}
        parts = [f'{site[5:] if site.startswith("site-") else site}: {s["mgr"]} rss {fmt((s["rss_kib"] or 0) / 1024)} MiB '
                 f'thr {s["threads"]} fd {s["fds"]} sock {s["peer_sockets"]}' for site, s in latest.items()]
        last = self.samples[-1]
        log(f'min {minute:5.1f}  ' + ' | '.join(parts) + f' | rp p50 {fmt(last.get("rp_p50"))} '
            f'max {fmt(last.get("rp_max"))} s (status {last.get("status_s")} s) | {last.get("states")} | '
            f'writes {self.writer.done} ({self.writer.errors} err)')

    def run(self) -> int:
        args = self.args
        self.errors_seen: Dict[str, str] = {}
        # (image, primary snap id) -> (seconds to complete, seconds in the sync slot, seconds queued)
        self.slots: Dict[Tuple[str, Any], Tuple[float, float, float]] = {}
        self.setup()
        self.log_start = self.log_offsets()
        self.t0 = time.time()
        self.writer = Writer(self.sites['site-a'].conf, self.ns, self.names, self.size,
                             args.write_every, args.writes, args.seed)
        self.writer.start()
        kinds = ['blocklist', 'mon-restart'] if args.fault == 'alternate' else [args.fault]
        end = self.t0 + args.minutes * 60
        # One sample per --sample-every seconds, each at a random point of its period: samples in
        # step with the 1-minute schedule would see every image at the same age.
        jitter = random.Random(args.seed + 1)
        period = 0
        next_sample = self.t0
        next_fault = self.t0 + args.fault_every * 60 if args.fault_every > 0 else math.inf
        faults = 0
        try:
            while True:
                now = time.time()
                if now >= end and next_sample > end:
                    break
                if now >= next_sample:
                    try:
                        self.sample()
                    except Exception as e:  # noqa: BLE001 - one bad sample must not end an hour's run
                        self.event('sample failed', repr(e)[-200:])
                    period += 1
                    next_sample = self.t0 + (period + jitter.random()) * args.sample_every
                    self.write_files()
                elif now >= next_fault:
                    kind = kinds[faults % len(kinds)]
                    faults += 1
                    try:
                        if kind == 'blocklist' and self.stock:
                            text = blocklist_rbd_mirror_clients(self.sites['site-a'], self.sites['site-b'],
                                                                args.blocklist_seconds)
                        elif kind == 'blocklist':
                            text = blocklist_peer_clients(self.sites['site-a'], self.sites['site-b'],
                                                          args.blocklist_seconds)
                        else:
                            text = restart_mon(self.sites['site-a'])
                    except Exception as e:  # noqa: BLE001
                        text = f'failed: {e!r}'[:200]
                    self.event(f'fault {kind}', text)
                    next_fault += args.fault_every * 60
                else:
                    time.sleep(max(0.0, min(next_sample, next_fault, end) - now))
        finally:
            self.writer.stop.set()
            self.writer.join(60)
            self.write_files()
            if self.stock:
                self.stock.stop()
        if not self.stock:
            self.releases = {name: heap_release(self.sites[name]) for name in SITES}
        table = self.table()
        print(table, flush=True)
        (self.out / 'table.md').write_text(table)
        if not args.keep:
            self.cleanup()
        elif self.stock:
            log('--keep: the module stays disabled on both sites; --cleanup-only --stock enables it again')
        return 0

    def write_files(self) -> None:
        keys = ['time', 'minute', 'site', 'mgr', 'pid', 'rss_kib', 'threads', 'fds', 'peer_sockets',
                'tcp_sockets', 'heap_in_use_kib', 'heap_free_kib', 'py_objects', 'py_blocks', 'rss_released_kib',
                'rss_heap_kib', 'rss_arenas_kib', 'rss_anon_kib', 'rss_file_kib', 'status_s', 'rp_p50', 'rp_max',
                'states']
        with open(self.out / 'samples.csv', 'w', newline='') as f:
            w = csv.DictWriter(f, keys, extrasaction='ignore')
            w.writeheader()
            for s in self.samples:
                w.writerow(s)
        with open(self.out / 'recovery.csv', 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(['minute', 'image', 'recovery_point_s', 'state', 'sync_lag_s', 'primary_snap_id'])
            w.writerows(self.rp_rows)
        with open(self.out / 'events.csv', 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(['minute', 'kind', 'text'])
            w.writerows((round(t, 2), k, x) for t, k, x in self.events)

    # the table
    def table(self) -> str:
        args = self.args
        warm = args.warmup
        lines = []
        duration = (max((s['minute'] for s in self.samples), default=0))
        lines.append(f'`{" ".join(sys.argv)}`, started {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.t0))}')
        lines.append('')
        if self.stock:
            lines.append("baseline (--stock): this module disabled on both sites; rbd_support's schedule on "
                         'site-a, a stock rbd-mirror on site-b; recovery point from `rbd mirror pool status`')
            lines.append('')
        lines.append(f'soak: {len(self.names)} images x {args.size_mib} MiB, schedule {args.interval}, '
                     f'{duration:.0f} minutes, fault every {args.fault_every} min ({args.fault}), '
                     f'sample every {args.sample_every:.0f} s, warm-up {warm} min; '
                     f'{self.writer.done} writes ({self.writer.errors} failed)')
        lines.append('')
        lines.append('| site | metric | first | last | after warm-up: min / max | slope after warm-up | target | result |')
        lines.append('|---|---|---|---|---|---|---|---|')
        verdicts = []
        for site in self.subjects:
            rows = [s for s in self.samples if s['site'] == site and s['rss_kib'] is not None]
            if not rows:
                lines.append(f'| {site} | (no samples) | | | | | | FAIL |')
                verdicts.append(False)
                continue
            final_pid = rows[-1]['pid']
            seg = [s for s in rows if s['minute'] >= warm and s['pid'] == final_pid]
            hours = [s['minute'] / 60 for s in seg]
            for metric, key, scale, unit, digits in (
                    ('RSS (MiB)', 'rss_kib', 1 / 1024, 'MiB/h', 2), ('threads', 'threads', 1, '/h', 2),
                    ('fds', 'fds', 1, '/h', 2), ('peer sockets', 'peer_sockets', 1, '/h', 2)):
                vals = [s[key] * scale for s in seg if s[key] is not None]
                xs = [s['minute'] / 60 for s in seg if s[key] is not None]
                sl = slope(xs, vals)
                span = (xs[-1] - xs[0]) if len(xs) > 1 else 0
                if key == 'rss_kib':
                    ok = sl is not None and sl < RSS_SLOPE_TARGET
                    target = f'< {RSS_SLOPE_TARGET:g} MiB/h'
                else:
                    ok = sl is not None and sl * span < 1
                    target = 'flat (fit rises < 1)'
                verdicts.append(ok)
                lines.append(f'| {site} | {metric} | {fmt(rows[0][key] * scale if rows[0][key] is not None else None)} '
                             f'| {fmt(rows[-1][key] * scale if rows[-1][key] is not None else None)} '
                             f'| {fmt(min(vals) if vals else None)} / {fmt(max(vals) if vals else None)} '
                             f'| {fmt(sl, digits)} {unit} | {target} | {"PASS" if ok else "FAIL"} |')
            # The RSS of samples taken while every image was idle (no sync
            # running or queued): a sample in a burst of syncs reads several
            # MiB higher than one between bursts, and with one sample a minute
            # at a random second that alone moves a 55-minute fit by a couple of
            # MiB/h. Reported beside the verdict, not instead of it.
            idle_at = {round(x['time']): x for x in self.samples if x.get('states') is not None}
            idle = [x for x in seg if x['rss_kib'] is not None and
                    (idle_at.get(round(x['time'])) or {}).get('states', '').startswith('idle=')
                    and ' ' not in (idle_at.get(round(x['time'])) or {}).get('states', '')]
            if len(idle) >= 3:
                sl = slope([x['minute'] / 60 for x in idle], [x['rss_kib'] / 1024 for x in idle])
                lines.append(f'| {site} | RSS (MiB), the {len(idle)} samples with every image idle '
                             f'| {fmt(idle[0]["rss_kib"] / 1024)} | {fmt(idle[-1]["rss_kib"] / 1024)} '
                             f'| {fmt(min(x["rss_kib"] for x in idle) / 1024)} / '
                             f'{fmt(max(x["rss_kib"] for x in idle) / 1024)} | {fmt(sl, 2)} MiB/h '
                             f'| (< {RSS_SLOPE_TARGET:g} MiB/h) | ({"PASS" if sl is not None and sl < RSS_SLOPE_TARGET else "FAIL"}) |')
            # The RSS the mgr goes back to at a release (--release-each-sample).
            released = [x for x in seg if x.get('rss_released_kib') is not None]
            if len(released) >= 3:
                vals = [x['rss_released_kib'] / 1024 for x in released]
                sl = slope([x['minute'] / 60 for x in released], vals)
                lines.append(f'| {site} | RSS right after `memory release` (MiB) | {fmt(vals[0])} | {fmt(vals[-1])} '
                             f'| {fmt(min(vals))} / {fmt(max(vals))} | {fmt(sl, 2)} MiB/h '
                             f'| (< {RSS_SLOPE_TARGET:g} MiB/h) | ({"PASS" if sl is not None and sl < RSS_SLOPE_TARGET else "FAIL"}) |')
            # What the RSS is made of: no target of its own.
            for metric, key, scale, unit, digits in (
                    ('C heap in use (MiB)', 'heap_in_use_kib', 1 / 1024, 'MiB/h', 2),
                    ('C heap free, kept (MiB)', 'heap_free_kib', 1 / 1024, 'MiB/h', 2),
                    ('RSS in the main arena, [heap] (MiB)', 'rss_heap_kib', 1 / 1024, 'MiB/h', 2),
                    ('RSS in other malloc arenas (MiB)', 'rss_arenas_kib', 1 / 1024, 'MiB/h', 2),
                    ('RSS in other anonymous memory: stacks, mmapped chunks (MiB)', 'rss_anon_kib', 1 / 1024, 'MiB/h', 2),
                    ('RSS in file mappings (MiB)', 'rss_file_kib', 1 / 1024, 'MiB/h', 2),
                    ('Python objects', 'py_objects', 1, '/h', 0),
                    ('pymalloc blocks, every mgr module', 'py_blocks', 1, '/h', 0)):
                vals = [s[key] * scale for s in seg if s.get(key) is not None]
                if vals:
                    xs = [s['minute'] / 60 for s in seg if s.get(key) is not None]
                    lines.append(f'| {site} | {metric} | {fmt(vals[0])} | {fmt(vals[-1])} '
                                 f'| {fmt(min(vals))} / {fmt(max(vals))} | {fmt(slope(xs, vals), digits)} {unit} | | |')
            if len(hours) < 3:
                lines.append(f'| {site} | (fewer than 3 samples of the final mgr after the warm-up: no slope) | | | | | | |')
        ages = [age for minute, _, age, _, _, _ in self.rp_rows if minute >= warm and age is not None]
        p50, p99, mx = percentile(ages, 50), percentile(ages, 99), (max(ages) if ages else None)
        ok = p99 is not None and p99 < RP_P99_TARGET
        verdicts.append(ok)
        lines.append(f'| site-b | recovery point (s), {len(ages)} image samples | p50 {fmt(p50)} | p99 {fmt(p99)} '
                     f'| max {fmt(mx)} | | p99 < {RP_P99_TARGET:g} s | {"PASS" if ok else "FAIL"} |')
        # The lag of each synced snapshot (primary snapshot taken -> replica complete), counted once
        # per snapshot: the recovery point peaks at schedule interval + lag just before a sync ends.
        lags = {}
        for minute, name, _, _, lag, snap_id in self.rp_rows:
            if minute >= warm and lag is not None:
                lags[(name, snap_id)] = lag
        lag_values = list(lags.values())
        lines.append(f'| site-b | sync lag (s): snapshot taken -> replica complete, {len(lag_values)} snapshots '
                     f'| p50 {fmt(percentile(lag_values, 50))} | p99 {fmt(percentile(lag_values, 99))} '
                     f'| max {fmt(max(lag_values) if lag_values else None)} | | | |')
        if self.slots:
            for index, what in enumerate(('to the record (`last_sync.seconds`)', 'in its sync slot (`step_seconds`)',
                                          'waiting for a slot (`queued_seconds`)')):
                values = [v[index] for v in self.slots.values()]
                lines.append(f'| site-b | a sync, {what} (s), {len(values)} snapshots | p50 {fmt(percentile(values, 50), 2)} '
                             f'| p99 {fmt(percentile(values, 99), 2)} | max {fmt(max(values), 2)} | | | |')
        status_s = [s['status_s'] for s in self.samples if s.get('status_s') is not None]
        status_command = '`rbd mirror pool status --verbose`' if self.stock else '`mirror snapshot status`'
        if status_s:
            lines.append(f'| site-b | {status_command} answer (s) | median {fmt(statistics.median(status_s), 2)} '
                         f'| max {fmt(max(status_s), 2)} | | | | |')
        lines.append('')
        restarts = [e for e in self.events if e[1] == 'mgr restart']
        faults = [e for e in self.events if e[1].startswith('fault')]
        if self.releases:
            lines.append('at the end, after the last sample (`mirror snapshot memory release`):' +
                         ''.join(f'\n- {name}: {text}' for name, text in self.releases.items()))
        lines.append(f'mgr restarts: {len(restarts)}' + ''.join(f'\n- min {t:.1f}: {x}' for t, _, x in restarts))
        lines.append(f'faults: {len(faults)}' + ''.join(f'\n- min {t:.1f}: {k[6:]}: {x}' for t, k, x in faults))
        others = [e for e in self.events if e[1] not in ('mgr restart',) and not e[1].startswith('fault')]
        if others:
            lines.append(f'other events: {len(others)}' + ''.join(f'\n- min {t:.1f}: {k}: {x}' for t, k, x in others[:20]))
        if self.errors_seen:
            lines.append(f'images seen in state error: {len(self.errors_seen)}' +
                         ''.join(f'\n- {n}: {e[:160]}' for n, e in sorted(self.errors_seen.items())[:10]))
        # Worst recovery points after the warm-up, to see which faults they follow.
        worst = sorted(((age, minute, name) for minute, name, age, _, _, _ in self.rp_rows if minute >= warm),
                       reverse=True)[:5]
        if worst:
            lines.append('worst recovery points after the warm-up: ' +
                         ', '.join(f'{age:.0f} s ({name}, min {minute:.0f})' for age, minute, name in worst))
        summary = self.log_summary()
        (self.out / 'mgr_logs.txt').write_text('\n'.join(summary) + '\n')
        lines.append('mgr log lines during the run (distinct messages in mgr_logs.txt):')
        lines.extend(['- ' + x for x in summary if not x.startswith('    ')] or ['- none'])
        lines.append(f'overall: {"PASS" if all(verdicts) else "FAIL"}')
        return '\n'.join(lines) + '\n'


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--images', type=int, default=200)
    p.add_argument('--minutes', type=float, default=65)
    p.add_argument('--fault-every', type=float, default=10, help='minutes between peer faults (0: none)')
    p.add_argument('--fault', choices=('alternate', 'blocklist', 'mon-restart'), default='alternate')
    p.add_argument('--blocklist-seconds', type=int, default=3600)
    p.add_argument('--sample-every', type=float, default=60, help='seconds')
    p.add_argument('--warmup', type=float, default=10, help='minutes left out of slopes and percentiles')
    p.add_argument('--interval', default='1m', help='the mirror-snapshot schedule')
    p.add_argument('--size-mib', type=int, default=64)
    p.add_argument('--write-every', type=float, default=5, help='seconds between write rounds')
    p.add_argument('--writes', type=int, default=3, help='images written per round')
    p.add_argument('--namespace', default='soak')
    p.add_argument('--seed', type=int, default=17)
    p.add_argument('--release-each-sample', action=argparse.BooleanOptionalAction, default=True,
                   help='after reading the RSS, `memory release` and record the RSS it leaves (default on)')
    p.add_argument('--stock', action='store_true',
                   help="baseline: this module disabled, rbd_support's schedule and a stock rbd-mirror instead")
    p.add_argument('--keep', action='store_true', help='keep the images, namespace and schedule')
    p.add_argument('--cleanup-only', action='store_true', help='remove what an earlier --keep run left')
    p.add_argument('--out', default=str(BUILD_DIR / 'bench' / time.strftime('soak-%Y%m%dT%H%MZ', time.gmtime())))
    args = p.parse_args()
    if args.stock:
        global POOL
        POOL = STOCK_POOL
    soak = Soak(args)
    if args.cleanup_only:
        soak.cleanup()
        return 0
    log(f'output in {args.out}')
    return soak.run()


if __name__ == '__main__':
    sys.exit(main())
