#!/usr/bin/python3
"""Many images: N snapshot-mirrored images, a small delta each, a mirror snapshot of every one
taken within a minute; the time until site-b holds all of them, ours vs stock rbd-mirror
(issue 20: "1,000 images, 1 MiB delta each").

One engine at a time, on the sandbox clusters (packaging/sandbox up), with the same steps:

  1. `--images` thin images of `--size` on site-a (python librbd, 8 at a time; pool rbd for
     ours, pool rbdm for rbd-mirror, as sync_bench.py sets them up), each enabled for snapshot
     mirroring (which takes its first mirror snapshot); the time until site-b holds every first
     snapshot (empty images: what noticing and setting up N images costs);
  2. `--delta` written to each image at a random place, then a mirror snapshot of every image
     (`rbd mirror image snapshot` through librbd, 32 at a time: within a minute for 1,000);
     the time from the first snapshot until site-b holds every one of them, and per image from
     its own snapshot;
  3. the replaying process (site-b's active ceph-mgr for ours, rbd-mirror) sampled before the
     images exist and after each step: RSS, threads, file descriptors; per image = growth / N;
  4. for ours, `ceph mirror snapshot status` (every image in one call) timed: ten calls once all
     are synced, and the calls made every 10 s meanwhile to see errors: the issue's "one call
     under 2 s" with N images.

How completion is seen, the same way for both: each replica not done yet opened read-only on
site-b, 8 at a time; ours' record (metadata `mirror_snapshot.replica`, its last complete primary
snapshot), rbd-mirror's non-primary mirror snapshots. Not ours through the status on every poll:
ceph-mgr writes each command to the audit log, the monitors commit its entries, and a monitor
that committed less than a second ago makes a sync's snapshot id wait for the rest of that second
(paxos_propose_interval): the poller would slow down what it measures.

  /usr/bin/python3 tests/bench/sync/many_images_bench.py [--images 1000] [--size 64M]
      [--delta 1M] [--engines ours,rbd-mirror]

Prints a markdown table, writes build/bench/many_images_bench.json. Every image is named
many-<pid>-<i> and removed at the end (replicas too).
"""
import argparse
import json
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import rados
import rbd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_bench import (OUT_DIR, RBDM_POOL, TAG, Bench, RbdMirrorDaemon, active_mgr_pid, lift_fence, log,  # noqa: E402
                        parse_size, remove_image, replica_record_snap_id, settle)

MiB = 1 << 20
WORKERS = 8
# A mirror snapshot takes about a second of librbd's time (quiesce, the monitor's snapshot id, the
# peers' notification), mostly waiting: 1,000 of them within the minute need this many at once.
SNAPSHOT_WORKERS = 32
FIRST_SYNC_TIMEOUT = 1800
SYNC_TIMEOUT = 900


def process_figures(pid: Optional[int]) -> Dict[str, Optional[int]]:
    """RSS (bytes), threads and file descriptors of a process; None where it is gone."""
    try:
        rss = next(int(line.split()[1]) * 1024 for line in Path(f'/proc/{pid}/status').read_text().splitlines()
                   if line.startswith('VmRSS:'))
        return {'rss': rss, 'threads': len(os.listdir(f'/proc/{pid}/task')), 'fds': len(os.listdir(f'/proc/{pid}/fd'))}
    except (OSError, StopIteration, TypeError):
        return {'rss': None, 'threads': None, 'fds': None}


def in_parallel(work: Callable[[str], Any], names: List[str], workers: int = WORKERS) -> List[Any]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(work, names))


def primary_mirror_snap_id(image: rbd.Image) -> int:
    return max(s['id'] for s in image.list_snaps()
               if s['namespace'] == rbd.RBD_SNAP_NAMESPACE_TYPE_MIRROR
               and s['mirror']['state'] == rbd.RBD_SNAP_MIRROR_STATE_PRIMARY)


class Engine:
    name = ''
    pool = ''

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.a_io = bench.rados(bench.a).open_ioctx(self.pool)
        self.b_io = bench.rados(bench.b).open_ioctx(self.pool)
        self.status_seconds: List[float] = []

    def pid(self) -> Optional[int]:
        raise NotImplementedError

    def done(self, targets: Dict[str, int]) -> Dict[str, float]:
        """One poll: the images whose replica holds their target snapshot, with the time seen."""
        raise NotImplementedError

    def remove_replicas(self, names: List[str]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.a_io.close()
        self.b_io.close()


class Ours(Engine):
    name = 'ours'
    pool = 'rbd'
    errors_checked = 0.0

    def pid(self) -> Optional[int]:
        return active_mgr_pid(self.bench.b)

    def status_rows(self) -> List[Dict[str, Any]]:
        """`ceph mirror snapshot status` on site-b, every image in one call; timed."""
        cmd = {'prefix': 'mirror snapshot status', 'format': 'json'}
        started = time.monotonic()
        ret, out, err = self.bench.rados(self.bench.b).mgr_command(json.dumps(cmd), b'', timeout=60)
        self.status_seconds.append(time.monotonic() - started)
        if ret != 0:
            raise RuntimeError(f'ours: status failed ({ret}): {err}')
        return json.loads(out)['images']

    def done(self, targets: Dict[str, int]) -> Dict[str, float]:
        """The replicas' own records, read like rbd-mirror's snapshots (sync_bench.Ours.completion
        says why not through the status: its audit log entries delay the syncs' snapshot ids);
        the status every 10 s, for errors."""
        names = list(targets)
        held = in_parallel(lambda n: replica_record_snap_id(self.bench, f'{self.pool}/{n}'), names)
        now = time.time()
        if time.monotonic() - self.errors_checked > 10:
            self.errors_checked = time.monotonic()
            for row in self.status_rows():
                if row.get('state') == 'error' and row['image'].split('/', 1)[-1] in targets:
                    log(f'ours: {row["image"]} in error: {row.get("last_error")}')
        return {n: now for n, snap in zip(names, held) if snap is not None and snap >= targets[n]}

    def remove_replicas(self, names: List[str]) -> None:
        def remove(name: str) -> None:
            lift_fence(self.bench, f'{self.pool}/{name}')
            remove_image(self.bench.b, f'{self.pool}/{name}')

        in_parallel(remove, names)


class StockRbdMirror(Engine):
    name = 'rbd-mirror'
    pool = RBDM_POOL

    def __init__(self, bench: Bench, daemon: RbdMirrorDaemon) -> None:
        super().__init__(bench)
        self.daemon = daemon

    def pid(self) -> Optional[int]:
        return self.daemon.pid

    def synced(self, name: str, snap_id: int) -> bool:
        try:
            with rbd.Image(self.b_io, name, read_only=True) as image:
                return any(s['mirror']['state'] == rbd.RBD_SNAP_MIRROR_STATE_NON_PRIMARY
                           and s['mirror']['complete'] and s['mirror']['primary_snap_id'] >= snap_id
                           for s in image.list_snaps() if s['namespace'] == rbd.RBD_SNAP_NAMESPACE_TYPE_MIRROR)
        except (rbd.ImageNotFound, rbd.ImageBusy):
            return False

    def done(self, targets: Dict[str, int]) -> Dict[str, float]:
        names = list(targets)
        flags = in_parallel(lambda n: self.synced(n, targets[n]), names)
        now = time.time()
        return {n: now for n, ok in zip(names, flags) if ok}

    def remove_replicas(self, names: List[str]) -> None:
        """Disabling on site-a made rbd-mirror delete its replicas; forced where it did not."""
        deadline = time.monotonic() + 120
        left = names
        while left and time.monotonic() < deadline:
            existing = set(rbd.RBD().list(self.b_io))
            left = [n for n in left if n in existing]
            time.sleep(2 if left else 0)
        if left:
            log(f'rbd-mirror left {len(left)} replicas on site-b; removing them by force')
            for n in left:
                self.bench.b.rbd('mirror', 'image', 'disable', '--force', f'{self.pool}/{n}', check=False)
            in_parallel(lambda n: remove_image(self.bench.b, f'{self.pool}/{n}'), left)


def wait_all(engine: Engine, targets: Dict[str, int], timeout: float) -> Dict[str, float]:
    done: Dict[str, float] = {}
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while len(done) < len(targets):
        done.update(engine.done({n: s for n, s in targets.items() if n not in done}))
        if time.monotonic() > deadline:
            raise TimeoutError(f'{engine.name}: {len(targets) - len(done)} of {len(targets)} images not '
                               f'synced after {timeout:.0f} s (e.g. {sorted(set(targets) - set(done))[:3]})')
        if time.monotonic() - last_report > 30:
            log(f'{engine.name}: {len(done)} of {len(targets)} synced')
            last_report = time.monotonic()
        if len(done) < len(targets):
            time.sleep(0.2)
    return done


def run_engine(engine: Engine, args: argparse.Namespace) -> Dict[str, Any]:
    count, size, delta = args.images, parse_size(args.size), parse_size(args.delta)
    names = [f'many-{TAG}-{i}' for i in range(count)]
    record: Dict[str, Any] = {'engine': engine.name, 'images': count, 'size': size, 'delta': delta}
    record['before'] = process_figures(engine.pid())
    try:
        def create(name: str) -> int:
            rbd.RBD().create(engine.a_io, name, size, old_format=False)
            with rbd.Image(engine.a_io, name) as image:
                image.mirror_image_enable(rbd.RBD_MIRROR_IMAGE_MODE_SNAPSHOT)
                return primary_mirror_snap_id(image)

        log(f'{engine.name}: creating {count} mirrored images of {args.size}')
        started = time.time()
        first = dict(zip(names, in_parallel(create, names)))
        record['create_s'] = time.time() - started
        done = wait_all(engine, first, FIRST_SYNC_TIMEOUT)
        record['first_sync_all_s'] = max(done.values()) - started
        record['after_first_sync'] = process_figures(engine.pid())
        log(f'{engine.name}: all {count} first snapshots on site-b {record["first_sync_all_s"]:.1f} s after '
            f'the first image was created')

        data = random.Random(7).randbytes(delta)
        in_parallel(lambda n: write_one(engine.a_io, n, data, size), names)
        settle(engine.bench)

        def snapshot(name: str) -> Any:
            with rbd.Image(engine.a_io, name) as image:
                taken = time.time()
                return image.mirror_image_create_snapshot(), taken

        log(f'{engine.name}: a mirror snapshot of each image')
        started = time.time()
        snaps = dict(zip(names, in_parallel(snapshot, names, SNAPSHOT_WORKERS)))
        record['snapshots_s'] = time.time() - started
        done = wait_all(engine, {n: s for n, (s, _) in snaps.items()}, SYNC_TIMEOUT)
        record['all_synced_s'] = max(done.values()) - started
        per_image = sorted(done[n] - snaps[n][1] for n in names)
        record['per_image_p50_s'] = statistics.median(per_image)
        record['per_image_max_s'] = per_image[-1]
        record['after_delta'] = process_figures(engine.pid())
        if isinstance(engine, Ours):
            for _ in range(10):   # all the images in each call
                engine.status_rows()
        log(f'{engine.name}: snapshots taken in {record["snapshots_s"]:.1f} s, all on site-b '
            f'{record["all_synced_s"]:.1f} s after the first')
    finally:
        log(f'{engine.name}: removing the images')
        in_parallel(lambda n: remove_primary(engine, n), names)
        engine.remove_replicas(names)
    if engine.status_seconds:
        record['status_call_s'] = {'calls': len(engine.status_seconds),
                                   'median': statistics.median(engine.status_seconds),
                                   'max': max(engine.status_seconds)}
    return record


def write_one(ioctx: rados.Ioctx, name: str, data: bytes, size: int) -> None:
    with rbd.Image(ioctx, name) as image:
        image.write(data, random.randrange(size // len(data)) * len(data))


def remove_primary(engine: Engine, name: str) -> None:
    try:
        with rbd.Image(engine.a_io, name) as image:
            image.mirror_image_disable(False)
        rbd.RBD().remove(engine.a_io, name)
    except rbd.ImageNotFound:
        pass
    except rbd.Error:
        remove_image(engine.bench.a, f'{engine.pool}/{name}')


def growth(record: Dict[str, Any], key: str, at: str) -> Optional[int]:
    before, after = record['before'].get(key), (record.get(at) or {}).get(key)
    return None if before is None or after is None else after - before


def table(records: List[Dict[str, Any]]) -> str:
    lines = ['| engine | images | create + enable (s) | first syncs, all (s) | snapshots taken in (s) | '
             'snapshot → all synced (s) | per image p50 / max (s) | RSS growth per image (KiB) | '
             'threads / fds growth | status call median / max (s) |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for r in records:
        if 'all_synced_s' not in r:
            lines.append(f"| {r['engine']} | {r['images']} | failed: {r.get('error', '?')} |||||||")
            continue
        rss = growth(r, 'rss', 'after_delta')
        status = r.get('status_call_s')
        cells = [r['engine'], str(r['images']), f"{r['create_s']:.1f}", f"{r['first_sync_all_s']:.1f}",
                 f"{r['snapshots_s']:.1f}", f"{r['all_synced_s']:.1f}",
                 f"{r['per_image_p50_s']:.1f} / {r['per_image_max_s']:.1f}",
                 f"{rss / 1024 / r['images']:.1f}" if rss is not None else '-',
                 f"{growth(r, 'threads', 'after_delta')} / {growth(r, 'fds', 'after_delta')}",
                 f"{status['median']:.2f} / {status['max']:.2f}" if status else '-']
        lines.append('| ' + ' | '.join(cells) + ' |')
    done = {r['engine']: r for r in records if 'all_synced_s' in r}
    if 'ours' in done and 'rbd-mirror' in done:
        lines.append('')
        lines.append(f"snapshot → all synced, ours / rbd-mirror: "
                     f"{done['ours']['all_synced_s'] / done['rbd-mirror']['all_synced_s']:.2f}; first syncs "
                     f"{done['ours']['first_sync_all_s'] / done['rbd-mirror']['first_sync_all_s']:.2f}")
    return '\n'.join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=1000)
    parser.add_argument('--size', default='64M')
    parser.add_argument('--delta', default='1M')
    parser.add_argument('--engines', default='ours,rbd-mirror')
    args = parser.parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    bench = Bench()
    records: List[Dict[str, Any]] = []
    wanted = args.engines.split(',')
    try:
        with RbdMirrorDaemon(bench) as daemon:
            for engine in ([Ours(bench)] if 'ours' in wanted else []) + \
                          ([StockRbdMirror(bench, daemon)] if 'rbd-mirror' in wanted else []):
                try:
                    records.append(run_engine(engine, args))
                except Exception as e:  # the other engine still runs; the table says what failed
                    log(f'{engine.name} failed: {e!r}')
                    records.append({'engine': engine.name, 'images': args.images, 'error': str(e)[:200]})
                finally:
                    engine.close()
                log(json.dumps(records[-1]))
    finally:
        bench.close()
    (OUT_DIR / 'many_images_bench.json').write_text(json.dumps(records, indent=1))
    print('\n' + table(records) + '\n')
    return 0 if all('all_synced_s' in r for r in records) else 1


if __name__ == '__main__':
    sys.exit(main())
