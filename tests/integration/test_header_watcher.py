"""HeaderWatcher holds the clusters of its watches itself (review finding
#5): the replayer calls watch() for every image every few seconds, and a
Python-side keep_alive added one reference per call, never freed, and kept
every replaced peer client (its threads and sockets) alive for good."""
import gc
import json
import os
import sys
import threading
import weakref

from sandbox import Images

WATCHES = 200


def header_oid(images: Images, name: str) -> str:
    info = json.loads(images.site.rbd('info', '--format', 'json', images.spec(name)).stdout)
    return f"rbd_header.{info['id']}"


def thread_count() -> int:
    return len(os.listdir('/proc/self/task'))


def test_repeated_watches_of_one_image_hold_no_more_references(native, images: Images) -> None:
    images.create('img', mirror='')
    oid = header_oid(images, 'img')
    cluster = native.Cluster.connect(str(images.site.conf))
    watcher = native.HeaderWatcher()
    watcher.watch(cluster, images.pool, images.namespace, oid, 'img')
    before = sys.getrefcount(cluster)
    for _ in range(WATCHES):
        watcher.watch(cluster, images.pool, images.namespace, oid, 'img')
    assert sys.getrefcount(cluster) - before < 5, 'watch() keeps a reference per call'
    assert watcher.keys() == ['img']
    watcher.unwatch('img')
    del watcher
    gc.collect()
    assert sys.getrefcount(cluster) <= before


def test_a_replaced_cluster_is_released_and_a_watched_one_kept(native, images: Images) -> None:
    images.create('img', mirror='')
    oid = header_oid(images, 'img')
    watcher = native.HeaderWatcher()
    baseline = thread_count()
    old = native.Cluster.connect(str(images.site.conf))
    for _ in range(10):
        watcher.watch(old, images.pool, images.namespace, oid, 'img')
    old_gone = weakref.ref(old)
    with_old = thread_count()
    assert with_old > baseline  # a librados client runs threads

    # The client is replaced (as PeerConnections.failed does): the watch
    # moves to the new one, and the old one goes once Python drops it.
    new = native.Cluster.connect(str(images.site.conf))
    watcher.watch(new, images.pool, images.namespace, oid, 'img')
    with_both = thread_count()
    del old
    gc.collect()
    assert old_gone() is None, 'the watcher still references the replaced cluster'
    assert thread_count() < with_both, "the replaced cluster's client was not shut down"

    # Python dropping the watched cluster does not end it: the watch holds it.
    del new
    gc.collect()
    watcher.wait(0)  # forget anything already noticed
    images.site.rbd('image-meta', 'set', images.spec('img'), 'test.key', 'v')  # notifies the header
    changed = []
    for _ in range(20):
        changed = watcher.wait(1.0)
        if changed:
            break
    assert changed == ['img']
    with_watched = thread_count()
    watcher.unwatch('img')  # the last user of the cluster
    assert thread_count() < with_watched
    del watcher
    assert thread_count() <= baseline + 2


def watchers_of(images: Images, oid: str) -> int:
    proc = images.site.run('rados', '-p', images.pool, '-N', images.namespace, 'listwatchers', oid)
    return len([line for line in proc.stdout.decode().splitlines() if line.startswith('watcher=')])


def test_two_threads_watching_one_key_at_once_leave_one_watch(native, images: Images) -> None:
    """Found by the adversarial review: the listings of two peers of a pool
    run on threads of their own and both watch 'mirroring:<pool>/<ns>'. Two
    watch() calls of one key at once each registered a RADOS watch and the
    first was left behind, its entry freed (a notify then read freed memory)."""
    images.create('img', mirror='')
    oid = header_oid(images, 'img')
    cluster = native.Cluster.connect(str(images.site.conf))
    watcher = native.HeaderWatcher()
    for _ in range(20):
        watcher.unwatch('shared')
        start = threading.Barrier(2)

        def watch() -> None:
            start.wait()
            watcher.watch(cluster, images.pool, images.namespace, oid, 'shared')
        threads = [threading.Thread(target=watch) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert watchers_of(images, oid) == 1, 'a second watch of the same key was registered and left behind'
    watcher.unwatch('shared')
    assert watchers_of(images, oid) == 0
