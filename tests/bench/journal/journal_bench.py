#!/usr/bin/python3
"""Journal replay benchmark: our applier vs stock rbd-mirror, replaying the same backlog.

One journaled image (pool rbdm on site-a, `--journal-object-size` default, splay 4) is mirrored
in journal mode by a stock rbd-mirror on site-b (sync_bench.RbdMirrorDaemon: pool rbdm, its own
cephx user; commit age 0.5 s instead of 5 so that its commit position shows progress promptly).
Our replayer is registered as a second client of the same journal and replays onto a plain image
of site-b pool rbd (native/journal/journal_replay.h, through the testing binding: one pass after
another until its commit position reaches the primary's).

For each workload: rbd-mirror's image replayer is stopped (admin socket `rbd mirror stop`), the
workload is written on site-a with `rbd bench` (librbd journals every write), then

  ours        replay passes until our client's commit position equals librbd's own (the master
              client's): time and rate;
  rbd-mirror  `rbd mirror start` on its admin socket, then until its client's commit position
              equals the master's (polled every 0.1 s): time and rate (it includes the image
              replayer's start, about a second);

and both replicas are checked against the primary (sha256 of the image). The table has the
replay rates and the ratio.

  /usr/bin/python3 tests/bench/journal/journal_bench.py [--workloads seq4M:256M,rand64K:128M,rand4K:32M]

Writes build/bench/journal_bench.json and prints a markdown table.
"""
import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import rados
import rbd

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / 'sync'))
sys.path.insert(0, str(HERE.parents[2] / 'integration'))
import sync_bench  # noqa: E402
from sync_bench import OUT_DIR, RBDM_POOL, TAG, Bench, RbdMirrorDaemon, log, native_module  # noqa: E402

MiB = 1 << 20
IMAGE_SIZE = '1G'
OUR_CLIENT = 'journal-bench'


class JournalRbdMirror(RbdMirrorDaemon):
    def write_credentials(self) -> None:
        super().write_credentials()
        with open(self.conf, 'a') as conf:
            conf.write('rbd_mirror_journal_commit_age = 0.5\n')

    def asok(self, *command: str) -> str:
        return self.bench.b.run('ceph', '--admin-daemon', str(self.asok),
                                *command).stdout.decode()


def digest(cluster: rados.Rados, pool: str, name: str) -> str:
    with cluster.open_ioctx(pool) as io, rbd.Image(io, name, read_only=True) as image:
        h = hashlib.sha256()
        size = image.size()
        for off in range(0, size, 4 * MiB):
            h.update(image.read(off, min(4 * MiB, size - off)))
        return f'{size}:{h.hexdigest()}'


def wait_for(what: str, check, timeout: float, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(every)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--workloads', default='seq4M:256M,rand64K:128M,rand4K:32M',
                        help='pattern+io size:total, comma separated')
    args = parser.parse_args()
    native = native_module()
    bench = Bench()
    name = f'benchj-{TAG}'
    spec = f'{RBDM_POOL}/{name}'
    ours_name = f'benchj-ours-{TAG}'
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    records: List[Dict[str, Any]] = []
    with JournalRbdMirror(bench) as daemon:
        bench.a.rbd('create', '--size', IMAGE_SIZE, '--image-feature',
                    'layering,exclusive-lock,object-map,fast-diff,journaling', spec)
        bench.a.rbd('mirror', 'image', 'enable', spec, 'journal')
        bench.b.rbd('create', '--size', IMAGE_SIZE, '--image-feature',
                    'layering,exclusive-lock,object-map,fast-diff', f'rbd/{ours_name}')
        a_cluster = native.Cluster.connect(str(bench.a.conf))
        b_cluster = native.Cluster.connect(str(bench.b.conf))
        header = native.testing.JournalHeader(a_cluster, RBDM_POOL, '', name)
        header.register_mirror_peer(OUR_CLIENT, 'bench-replica')
        try:
            def clients() -> Dict[str, Dict]:
                return {c['id']: c for c in header.state()['clients']}

            # rbd-mirror bootstraps its replica and registers its client.
            stock_id = wait_for('rbd-mirror registering with the journal',
                                lambda: next((i for i in clients() if i not in ('', OUR_CLIENT)), None), 300, 1)
            log(f'rbd-mirror client {stock_id} registered')
            for workload in args.workloads.split(','):
                kind, total = workload.split(':')
                pattern = 'seq' if kind.startswith('seq') else 'rand'
                io_size = kind[len(pattern):]
                daemon.asok('rbd', 'mirror', 'stop')    # every image replayer: this one is all there is
                time.sleep(1)
                t = time.monotonic()
                bench.a.rbd('bench', '--io-type', 'write', '--io-size', io_size, '--io-pattern', pattern,
                            '--io-total', total, '--io-threads', '16', spec)
                write_s = time.monotonic() - t
                master = clients()['']['commit_position']
                written = sync_bench.parse_size(total)

                t = time.monotonic()
                passes = []
                while clients()[OUR_CLIENT]['commit_position'] != master:
                    passes.append(header.replay_onto(OUR_CLIENT, b_cluster, 'rbd', '', ours_name))
                ours_s = time.monotonic() - t
                entries = sum(p['entries_committed'] for p in passes)

                t = time.monotonic()
                daemon.asok('rbd', 'mirror', 'start')
                wait_for('rbd-mirror catching up', lambda: clients()[stock_id]['commit_position'] == master, 1800)
                stock_s = time.monotonic() - t

                primary = digest(bench.rados(bench.a), RBDM_POOL, name)
                ours_ok = digest(bench.rados(bench.b), 'rbd', ours_name) == primary
                stock_ok = digest(bench.rados(bench.b), RBDM_POOL, name) == primary
                record = {'workload': workload, 'bytes': written, 'entries': entries, 'write_s': round(write_s, 2),
                          'ours_s': round(ours_s, 2), 'ours_passes': len(passes), 'rbd_mirror_s': round(stock_s, 2),
                          'ours_equal': ours_ok, 'rbd_mirror_equal': stock_ok}
                log(json.dumps(record))
                records.append(record)
        finally:
            header.unregister(OUR_CLIENT)
            bench.b.rbd('rm', f'rbd/{ours_name}', check=False)
            bench.a.rbd('mirror', 'image', 'disable', '--force', spec, check=False)
            bench.a.rbd('rm', spec, check=False)
    bench.close()
    (OUT_DIR / 'journal_bench.json').write_text(json.dumps(records, indent=1))
    lines = ['| workload | bytes | journal entries | ours (s) | ours MB/s | rbd-mirror (s) | rbd-mirror MB/s | '
             'ours / rbd-mirror time | replicas equal (ours, rbd-mirror) |',
             '|---|---|---|---|---|---|---|---|---|']
    for r in records:
        lines.append(f"| {r['workload']} | {r['bytes'] // MiB} MiB | {r['entries']} | {r['ours_s']} | "
                     f"{r['bytes'] / 1e6 / r['ours_s']:.1f} | {r['rbd_mirror_s']} | "
                     f"{r['bytes'] / 1e6 / r['rbd_mirror_s']:.1f} | {r['ours_s'] / r['rbd_mirror_s']:.2f} | "
                     f"{r['ours_equal']}, {r['rbd_mirror_equal']} |")
    print('\n'.join(lines))
    return 0 if all(r['ours_equal'] and r['rbd_mirror_equal'] for r in records) else 1


if __name__ == '__main__':
    sys.exit(main())
