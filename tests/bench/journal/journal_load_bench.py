#!/usr/bin/python3
"""Journal replay under a sustained write load: the module vs stock rbd-mirror, live.

Where journal_bench.py replays a backlog written while both replayers were stopped, this one
replays while the primary is written: a fixed-rate (or unlimited) random-write load of
`--seconds` on journaled images of site-a, replayed as it comes

  ours        by the mirror_snapshot module of site-b's mgr (images in pool rbd, journal mode:
              its own bootstrap, its own polls and steps, its default options);
  rbd-mirror  by a stock rbd-mirror on site-b (pool rbdm, its own cephx user, commit age 0.5 s:
              sync_bench.RbdMirrorDaemon), which the module is told to leave alone.

One engine at a time (the machine has 2 cores), the same load for both, first on one image,
then on `--images` at once. Every 0.5 s it reads each image's journal header on site-a (the
replayer's commit position against librbd's own, in entries) and the resident memory of the
replaying process (site-b's active ceph-mgr, or rbd-mirror). Per engine and image count:

  write MB/s       what the writers achieved (each: 16 writes in flight, `--io-size` at random
                   offsets, paced to `--rate-mbs` split over the images; 0 = unpaced);
  replay MB/s      bytes written / (load time + catch-up time): the rate the replica followed at;
  max behind       the most entries a replayer's commit position was behind librbd's (summed
                   over the images at one sample);
  catch-up (s)     from the writers' close (librbd commits its position) until every replayer's
                   commit position equals librbd's;
  RSS growth       peak RSS of the replaying process during the phase minus its RSS before it
                   (what its allocator keeps included);
  heap growth      for the module: peak C heap in use, blocks mapped alone included (`ceph mirror
                   snapshot memory`, every second), minus the same before the phase: what the
                   replayer holds, against
                   its `replay_memory_bytes`;
  equal            sha256 of each replica equals its primary's once caught up.

  /usr/bin/python3 tests/bench/journal/journal_load_bench.py [--seconds 60] [--images 4]
      [--rate-mbs 0] [--io-size 64K] [--engines ours,rbd-mirror]

Writes build/bench/journal_load_bench.json and prints a markdown table.
"""
import argparse
import json
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import rbd

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
from journal_bench import JournalRbdMirror, digest, native_module, wait_for  # noqa: E402
from sync_bench import OUT_DIR, RBDM_POOL, TAG, Bench, Ours, log, parse_size, remove_image  # noqa: E402

MiB = 1 << 20
IMAGE_SIZE = 1 << 30
IN_FLIGHT = 16
SAMPLE_EVERY = 0.5


def entries_behind(writer: List[Tuple[int, int, int]], client: List[Tuple[int, int, int]]) -> int:
    """Entries of the writer's newest tag the client has not committed (as
    native/journal/journal_records.h counts them); positions are
    (object number, tag tid, entry tid)."""
    if not writer:
        return 0
    tag = max(p[1] for p in writer)
    ahead = max(p[2] for p in writer if p[1] == tag)
    mine = [p[2] for p in client if p[1] == tag]
    return ahead + 1 if not mine else max(0, ahead - max(mine))


def rss_bytes(pid: Optional[int]) -> Optional[int]:
    if not pid:
        return None
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class PacedWriter(threading.Thread):
    """Random writes of io_size to one image, IN_FLIGHT at a time, paced to
    rate bytes/s (0: as fast as they complete), for `seconds`; closes the
    image at the end, which commits librbd's position."""

    def __init__(self, ioctx, name: str, io_size: int, rate: float, seconds: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.image = rbd.Image(ioctx, name)
        self.io_size, self.rate, self.seconds = io_size, rate, seconds
        self.rng = random.Random(seed)
        self.written = 0
        self.error: Optional[BaseException] = None
        self.slots = threading.Semaphore(IN_FLIGHT)
        self.buffers = [os.urandom(io_size) for _ in range(8)]

    def done(self, completion) -> None:
        if completion.get_return_value() < 0 and self.error is None:
            self.error = OSError(-completion.get_return_value(), 'aio_write failed')
        self.slots.release()

    def run(self) -> None:
        try:
            start = time.monotonic()
            blocks = IMAGE_SIZE // self.io_size
            while (now := time.monotonic()) - start < self.seconds and self.error is None:
                if self.rate and self.written > (now - start) * self.rate:
                    time.sleep(min(0.01, self.written / self.rate - (now - start)))
                    continue
                self.slots.acquire()
                self.image.aio_write(self.rng.choice(self.buffers), self.rng.randrange(blocks) * self.io_size,
                                     self.done)
                self.written += self.io_size
            for _ in range(IN_FLIGHT):
                self.slots.acquire()
        except BaseException as e:  # reported by the phase
            self.error = e
        finally:
            self.image.close()


class Engine:
    name = ''
    pool = ''

    def __init__(self, bench: Bench, native) -> None:
        self.bench, self.native = bench, native
        self.cluster = native.Cluster.connect(str(bench.a.conf))

    def header(self, name: str):
        return self.native.testing.JournalHeader(self.cluster, self.pool, '', name)

    def create(self, name: str) -> None:
        spec = f'{self.pool}/{name}'
        self.bench.a.rbd('create', '--size', f'{IMAGE_SIZE // MiB}M', '--image-feature',
                         'layering,exclusive-lock,object-map,fast-diff,journaling', spec)
        self.bench.a.rbd('mirror', 'image', 'enable', spec, 'journal')

    def client_id(self, name: str) -> Optional[str]:
        raise NotImplementedError

    def replaying_pid(self) -> Optional[int]:
        raise NotImplementedError

    def ready(self, name: str) -> bool:
        """Bootstrapped and following the journal."""
        raise NotImplementedError

    def memory_budget(self) -> Optional[int]:
        return None

    def heap_in_use(self) -> Optional[int]:
        """The C heap in use by the replaying process (what it holds, not
        what its allocator keeps), where it can be asked."""
        return None

    def remove(self, name: str) -> None:
        raise NotImplementedError


class Module(Engine):
    name = 'ours'
    pool = 'rbd'

    def __init__(self, bench: Bench, native) -> None:
        super().__init__(bench, native)
        self.ours = Ours(bench)
        self.fsid = bench.b.ceph_json('fsid')['fsid']

    def client_id(self, name: str) -> Optional[str]:
        return f'mirror_snapshot.{self.fsid}'

    def replaying_pid(self) -> Optional[int]:
        active = self.bench.b.ceph_json('mgr', 'stat').get('active_name')
        return self.bench.b.daemon_pid(f'mgr.{active}')

    def ready(self, name: str) -> bool:
        status = self.ours.status(f'{self.pool}/{name}') or {}
        return status.get('state') == 'replaying' and bool((status.get('journal') or {}).get('caught_up'))

    def memory_budget(self) -> Optional[int]:
        out = self.bench.b.ceph('config', 'get', 'mgr', 'mgr/mirror_snapshot/replay_memory_bytes',
                                check=False).stdout.decode().strip()
        return parse_size(out) if out else 256 * MiB

    def heap_in_use(self) -> Optional[int]:
        cmd = {'prefix': 'mirror snapshot memory', 'format': 'json'}
        ret, out, _ = self.bench.rados(self.bench.b).mgr_command(json.dumps(cmd), b'', timeout=15)
        if ret != 0:
            return None
        heap = json.loads(out)['heap']
        return heap['in_use_bytes'] + heap['mmapped_bytes']   # blocks mapped alone are in use too

    def remove(self, name: str) -> None:
        self.ours.remove(f'{self.pool}/{name}')


class StockRbdMirror(Engine):
    name = 'rbd-mirror'
    pool = RBDM_POOL

    def __init__(self, bench: Bench, native, daemon: JournalRbdMirror) -> None:
        super().__init__(bench, native)
        self.daemon = daemon

    def client_id(self, name: str) -> Optional[str]:
        ids = [c['id'] for c in self.header(name).state()['clients'] if c['id'] != '']
        return ids[0] if ids else None

    def replaying_pid(self) -> Optional[int]:
        return self.daemon.proc.pid if self.daemon.proc else None

    def ready(self, name: str) -> bool:
        proc = self.bench.b.rbd('mirror', 'image', 'status', f'{self.pool}/{name}', '--format', 'json', check=False)
        if proc.returncode != 0:
            return False
        return json.loads(proc.stdout).get('state') == 'up+replaying'

    def remove(self, name: str) -> None:
        spec = f'{self.pool}/{name}'
        self.bench.a.rbd('mirror', 'image', 'disable', '--force', spec, check=False)
        remove_image(self.bench.a, spec)
        self.bench.b.rbd('mirror', 'image', 'disable', '--force', spec, check=False)
        remove_image(self.bench.b, spec)


def lags(engine: Engine, headers: Dict[str, Any], clients: Dict[str, str]) -> Dict[str, int]:
    behind = {}
    for name, header in headers.items():
        positions = {c['id']: c['commit_position'] for c in header.state()['clients']}
        behind[name] = entries_behind(positions.get('', []), positions.get(clients[name], []))
    return behind


def run_phase(engine: Engine, count: int, args: argparse.Namespace) -> Dict[str, Any]:
    keep: List[str] = []
    names = [f'benchjl-{engine.name.replace("-", "")}-{count}-{i}-{TAG}' for i in range(count)]
    for name in names:
        engine.create(name)
    try:
        wait_for(f'{engine.name} bootstrapping {names}', lambda: all(engine.ready(n) for n in names), 600, 1)
        clients = {n: wait_for(f'{engine.name} registered with {n}', lambda n=n: engine.client_id(n), 120, 1)
                   for n in names}
        headers = {n: engine.header(n) for n in names}
        pid = engine.replaying_pid()
        rss_before = rss_bytes(pid) or 0
        heap_before = engine.heap_in_use()
        ioctx = engine.bench.rados(engine.bench.a).open_ioctx(engine.pool)
        io_size = parse_size(args.io_size)
        rate = args.rate_mbs * 1e6 / count
        writers = [PacedWriter(ioctx, n, io_size, rate, args.seconds, seed=i) for i, n in enumerate(names)]
        samples: List[Dict[str, Any]] = []
        log(f'{engine.name}, {count} image(s): {args.seconds} s of {args.io_size} writes '
            f'({args.rate_mbs or "unpaced"} MB/s in all)')
        start = time.monotonic()
        for w in writers:
            w.start()

        def sample() -> Dict[str, int]:
            behind = lags(engine, headers, clients)
            samples.append({'t': round(time.monotonic() - start, 2), 'behind': sum(behind.values()),
                            'rss': rss_bytes(engine.replaying_pid()),
                            'heap': engine.heap_in_use() if len(samples) % 2 == 0 else None})
            return behind

        while any(w.is_alive() for w in writers):
            sample()
            time.sleep(SAMPLE_EVERY)
        load_s = time.monotonic() - start
        for w in writers:
            w.join()
            if w.error:
                raise RuntimeError(f'writer of {w.image} failed: {w.error}')
        # The writers closed their images: librbd's commit position is final.
        closed = time.monotonic()
        wait_for(f'{engine.name} catching up', lambda: not any(sample().values()), 1800, 0.1)
        catch_up_s = time.monotonic() - closed
        ioctx.close()
        written = sum(w.written for w in writers)
        def differing() -> List[str]:
            return [n for n in names if digest(engine.bench.rados(engine.bench.a), engine.pool, n)
                    != digest(engine.bench.rados(engine.bench.b), engine.pool, n)]
        differ = differing()
        equal = not differ
        if differ:   # kept for a look (not removed below)
            keep.extend(differ)
            log(f'{engine.name}: the replicas of {differ} differ from their primaries once caught up; '
                f'positions: {[h.state()["clients"] for h in headers.values()]}')
            for _ in range(12):
                time.sleep(5)
                if not differing():
                    log(f'{engine.name}: ... and equal {time.monotonic() - closed:.0f} s after the writers closed')
                    break
        peak = max((s['rss'] or 0) for s in samples)
        heap_peak = max((s['heap'] or 0) for s in samples)
        record = {'engine': engine.name, 'images': count, 'bytes': written, 'load_s': round(load_s, 2),
                  'catch_up_s': round(catch_up_s, 2), 'max_entries_behind': max(s['behind'] for s in samples),
                  'rss_before': rss_before, 'rss_peak': peak, 'rss_growth': peak - rss_before,
                  'heap_growth': heap_peak - heap_before if heap_before is not None and heap_peak else None,
                  'memory_budget': engine.memory_budget(), 'equal': equal,
                  'write_mbs': round(written / 1e6 / load_s, 1),
                  'replay_mbs': round(written / 1e6 / (load_s + catch_up_s), 1)}
        log(json.dumps(record))
        (OUT_DIR / f'journal_load_samples-{engine.name}-{count}.json').write_text(json.dumps(samples))
        return record
    finally:
        for name in names:
            if name not in keep:
                engine.remove(name)


def table(records: List[Dict[str, Any]]) -> str:
    lines = ['| engine | images | written | write MB/s | replay MB/s | max entries behind | catch-up (s) | '
             'RSS growth (MiB) | heap in use growth (MiB) | memory budget (MiB) | replicas equal |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for r in records:
        budget = f"{r['memory_budget'] / MiB:.0f}" if r['memory_budget'] else '-'
        heap = f"{r['heap_growth'] / MiB:.1f}" if r['heap_growth'] is not None else '-'
        lines.append(f"| {r['engine']} | {r['images']} | {r['bytes'] / MiB:.0f} MiB | {r['write_mbs']} | "
                     f"{r['replay_mbs']} | {r['max_entries_behind']} | {r['catch_up_s']} | "
                     f"{r['rss_growth'] / MiB:.1f} | {heap} | {budget} | {r['equal']} |")
    by = {(r['engine'], r['images']): r for r in records}
    for count in sorted({r['images'] for r in records}):
        ours, stock = by.get(('ours', count)), by.get(('rbd-mirror', count))
        if ours and stock:
            lines.append(f"\n{count} image(s): replay rate ours / rbd-mirror "
                         f"{ours['replay_mbs'] / stock['replay_mbs']:.2f}, catch-up ours / rbd-mirror "
                         f"{ours['catch_up_s'] / max(stock['catch_up_s'], 0.01):.2f}")
    return '\n'.join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=60)
    parser.add_argument('--images', type=int, default=4, help='the image count of the second round')
    parser.add_argument('--rate-mbs', type=float, default=0, help='total write rate (MB/s); 0: unpaced')
    parser.add_argument('--io-size', default='64K')
    parser.add_argument('--engines', default='ours,rbd-mirror')
    args = parser.parse_args()
    native = native_module()
    bench = Bench()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    records = []
    engines = args.engines.split(',')
    with JournalRbdMirror(bench) as daemon:
        for count in (1, args.images):
            if 'ours' in engines:
                records.append(run_phase(Module(bench, native), count, args))
            if 'rbd-mirror' in engines:
                records.append(run_phase(StockRbdMirror(bench, native, daemon), count, args))
    bench.close()
    (OUT_DIR / 'journal_load_bench.json').write_text(json.dumps(records, indent=1))
    print(table(records))
    return 0 if all(r['equal'] for r in records) else 1


if __name__ == '__main__':
    sys.exit(main())
