"""Does replacing a peer client grow a process? What the module does at a
blocklist, without the mgr: connect to site-a, watch the soak images'
headers, list the pool, read some images' snapshots, (blocklist the client,)
then drop it and connect a new one (the watches move to it). Prints the RSS
every few rounds. Needs the soak's images (soak_bench.py --keep) on a
running sandbox.

    /usr/bin/python3 tests/bench/soak/client_replacement_probe.py [--rounds 120] [--no-blocklist]
"""
import argparse
import gc
import importlib
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / 'build' / 'mgr_module' / 'mirror_snapshot'))
sys.path.insert(0, str(REPO / 'module' / 'mirror_snapshot'))
from peer_fence import split_addresses  # noqa: E402

native = importlib.import_module('_native')


def rss_mib() -> float:
    with open('/proc/self/status') as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith('VmRSS:'))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--rounds', type=int, default=120)
    p.add_argument('--no-blocklist', action='store_true')
    p.add_argument('--namespace', default='soak')
    args = p.parse_args()
    os.chdir(REPO)  # the sandbox's conf names its keyring relative to the repository
    conf = str(REPO / 'build' / 'sandbox' / 'site-a' / 'ceph.conf')
    admin = native.Cluster.connect(conf)
    images = native.snapshot_mirrored_images(admin, 'rbd', args.namespace)
    print(f'{len(images)} images in rbd/{args.namespace}', flush=True)
    watcher = native.HeaderWatcher()
    for round_ in range(args.rounds):
        client = native.Cluster.connect(conf)
        for image in images:
            watcher.watch(client, 'rbd', args.namespace, f"rbd_header.{image['id']}", image['id'])
        native.snapshot_mirrored_images(client, 'rbd', args.namespace)
        for image in images[:40]:
            native.mirror_snapshots(client, 'rbd', args.namespace, image['name'])
        if not args.no_blocklist:
            for address in split_addresses(client.addresses()):
                admin.blocklist_add(address, 600)
            try:
                native.mirror_snapshots(client, 'rbd', args.namespace, images[0]['name'])
            except OSError:
                pass  # blocklisted: what the module sees before it replaces the client
        del client
        gc.collect()
        if round_ % 5 == 0 or round_ == args.rounds - 1:
            print(f'round {round_}: RSS {rss_mib():.1f} MiB, threads {len(os.listdir("/proc/self/task"))}',
                  flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
