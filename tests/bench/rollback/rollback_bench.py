#!/usr/bin/python3
"""Rollback benchmark: our O(delta) HEAD rollback (native/roles/head_rollback.*, what a forced promote
uses to undo a partially applied delta) vs `rbd snap rollback`, on site-a of the sandbox.

For each image: write the base data, take snapshot `base`, write the "partial delta" (64 MiB of
4 MiB writes at random object-aligned offsets), then time (1) ours, rolling HEAD back to `base`,
and (2) after writing the same delta again, `rbd snap rollback`. Objects touched: ours reports the
objects it rolled back; `rbd snap rollback` sends a rollback to every object the object map shows
in HEAD or in the snapshot (counted here as HEAD's objects from the object map: `rbd du`'s used size
of HEAD / object size).

Images (fresh, in pool rbd, named benchrb-*, removed at the end):
  thin      64 GiB, 1 GiB written (the case `rbd snap rollback` is fast on: the object map
            skips absent objects)
  full      --full-gib GiB (default 3: the largest fully allocated image the 8 GiB memstore OSD
            holds with its snapshot and delta), every byte written

Run (as root, from the repository root, sandbox up):
  /usr/bin/python3 tests/bench/rollback/rollback_bench.py [--full-gib N] [--delta-mib M] [--runs R]

Prints a markdown table and writes build/bench/rollback_bench.json.
"""
import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List

import rados
import rbd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'integration'))
from sandbox import BUILD_DIR, Site  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
OBJECT = 4 * MiB
POOL = 'rbd'


def native_module():
    sys.path.insert(0, str(BUILD_DIR / 'mgr_module' / 'mirror_snapshot'))
    import _native  # noqa: E402
    return _native


def write_objects(image: rbd.Image, objects: List[int], seed: int) -> None:
    data = random.Random(seed).randbytes(OBJECT)
    for obj in objects:
        image.write(data, obj * OBJECT)


def fill(site: Site, name: str, total: int) -> None:
    site.rbd('bench', '--io-type', 'write', '--io-size', '4M', '--io-pattern', 'seq',
             '--io-total', str(total), f'{POOL}/{name}')


def allocated_objects(site: Site, name: str) -> int:
    usage = json.loads(site.rbd('du', '--format', 'json', f'{POOL}/{name}').stdout)
    return sum(i['used_size'] for i in usage['images'] if i.get('snapshot') is None) // OBJECT


def one_case(site: Site, ioctx, native, cluster, label: str, size: int, written: int,
             delta_objects: int, runs: int) -> Dict:
    name = f'benchrb-{label}'
    rbd.RBD().create(ioctx, name, size, old_format=False,
                     features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK |
                     rbd.RBD_FEATURE_OBJECT_MAP | rbd.RBD_FEATURE_FAST_DIFF)
    try:
        fill(site, name, written)
        with rbd.Image(ioctx, name) as image:
            image.create_snap('base')
        rng = random.Random(label)
        delta = sorted(rng.sample(range(size // OBJECT), delta_objects))
        ours: List[float] = []
        theirs: List[float] = []
        touched_ours = touched_theirs = 0
        for run in range(runs):
            with rbd.Image(ioctx, name) as image:
                write_objects(image, delta, run)
            started = time.monotonic()
            report = native.testing.rollback_head(cluster, POOL, '', name, 'base')
            ours.append(time.monotonic() - started)
            touched_ours = report['objects_rolled_back']

            with rbd.Image(ioctx, name) as image:
                write_objects(image, delta, run + 100)
            touched_theirs = allocated_objects(site, name)
            started = time.monotonic()
            site.rbd('snap', 'rollback', '--no-progress', f'{POOL}/{name}@base')
            theirs.append(time.monotonic() - started)
        return {'image': label, 'size_gib': size / GiB, 'allocated_gib': written / GiB,
                'delta_mib': delta_objects * OBJECT / MiB, 'ours_s': statistics.median(ours),
                'rbd_snap_rollback_s': statistics.median(theirs), 'objects_ours': touched_ours,
                'objects_rbd': touched_theirs, 'runs': runs}
    finally:
        site.rbd('snap', 'purge', '--no-progress', f'{POOL}/{name}', check=False)
        site.rbd('rm', '--no-progress', f'{POOL}/{name}', check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--full-gib', type=int, default=3)
    parser.add_argument('--delta-mib', type=int, default=64)
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    site = Site('site-a')
    native = native_module()
    cluster = native.Cluster.connect(str(site.conf))
    client = rados.Rados(conffile=str(site.conf))
    client.connect()
    ioctx = client.open_ioctx(POOL)
    delta_objects = args.delta_mib * MiB // OBJECT
    rows = [one_case(site, ioctx, native, cluster, 'thin', 64 * GiB, 1 * GiB, delta_objects, args.runs),
            one_case(site, ioctx, native, cluster, 'full', args.full_gib * GiB, args.full_gib * GiB,
                     delta_objects, args.runs)]
    ioctx.close()
    client.shutdown()
    print('| image | size | allocated | partial delta | ours | rbd snap rollback | rbd/ours '
          '| objects ours | objects rbd |')
    print('|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        print(f"| {r['image']} | {r['size_gib']:.0f} GiB | {r['allocated_gib']:.0f} GiB | {r['delta_mib']:.0f} MiB "
              f"| {r['ours_s']:.3f} s | {r['rbd_snap_rollback_s']:.3f} s "
              f"| {r['rbd_snap_rollback_s'] / max(r['ours_s'], 1e-6):.1f} | {r['objects_ours']} "
              f"| {r['objects_rbd']} |")
    out = BUILD_DIR / 'bench'
    out.mkdir(parents=True, exist_ok=True)
    (out / 'rollback_bench.json').write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
