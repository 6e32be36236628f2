"""Secondary side: replicate every mirrored primary image of our peers.

For every RBD pool of this cluster with an rx peer (Ceph's own peer records),
the replayer lists the peer pool's mirrored primary images, watches their
headers (a new mirror snapshot is noticed in milliseconds) and hands each
changed image to the sync pool. A snapshot-mode image runs the native
replayer until the secondary holds the newest complete primary snapshot; a
journal-mode image runs journal steps (bootstrap, then replay) until its
replica has applied the journal's end, and is looked at again every
journal_poll_interval (new journal entries are not announced). Failures put
the image in `error` with the cause, raise a health warning and are retried
with backoff; other images keep syncing.

Threads: one module thread runs the loop (refresh, watch, retry); syncs run
on the 'sync' NativeExecutor. Both call the extension (module threads only).
"""
import errno
import threading
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Set, Tuple

from .peer_connections import PeerConnecting, PeerConnections, peer_error, steady

HEALTH_CHECK = 'MIRROR_SNAPSHOT_REPLAY_FAILED'
SPLIT_BRAIN_CHECK = 'MIRROR_SNAPSHOT_SPLIT_BRAIN'
# The defaults of the module options of the same names (module.py); the
# native core's own (ReplayOptions) are the same.
DEFAULT_MEMORY_BYTES = 256 << 20
DEFAULT_IMAGE_IN_FLIGHT_BYTES = 64 << 20
DEFAULT_KEEP_LOCAL_SNAPSHOTS = 3
PAUSE_TIMEOUT_SECONDS = 60.0
RETRY_MIN_SECONDS = 5.0
RETRY_MAX_SECONDS = 300.0
RETRY_SOON_SECONDS = 2.0
DEFAULT_JOURNAL_POLL_SECONDS = 1.0
JOURNAL_RATE_WINDOW_SECONDS = 60.0
JOURNAL_SLOT_SECONDS = 20.0  # a journal image's job gives its sync slot back after this long  # the replay rate shown is over the steps of about this long
WATCH_WAIT_SECONDS = 1.0
HEALTH_SECONDS = 1.0
# New images are announced on the peer's rbd_mirroring objects (watched); new
# namespaces are not, so the peer is also re-listed this often.
DISCOVERY_SECONDS = 5.0
MIRRORING_PREFIX = 'mirroring:'
# A peer's listing runs on a thread of its own: the loop waits this long for
# it, then goes on with what is known (a peer whose OSDs stopped answering
# would hold it for their op timeout, and every other peer's images with it).
LISTING_WAIT_SECONDS = 2.0
LOOP_RETRY_SECONDS = 1.0  # after an unexpected failure of the replayer loop
LISTING_SLOW_SECONDS = 15.0  # then the pool's health says the peer does not answer


class PoolListing:
    """One listing of a pool's images on a peer, on its own thread."""

    def __init__(self, pool: str, peer: Any, job: Callable[[str, Any], Set[str]]) -> None:
        self.pool = pool
        self.peer = peer
        self.started = time.monotonic()
        self.seen: Optional[Set[str]] = None
        self.error: Optional[BaseException] = None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(job,), daemon=True,
                                        name=f'mirror_snapshot.list.{pool}.{peer.site_name}')
        self._thread.start()

    def _run(self, job: Callable[[str, Any], Set[str]]) -> None:
        try:
            self.seen = job(self.pool, self.peer)
        except BaseException as e:  # handed to the loop
            self.error = e
        finally:
            self.done.set()


class PausedImage(NamedTuple):
    """What Replayer.pause stopped, for Replayer.resume."""
    name: Tuple[str, str, str]  # pool, namespace, image name
    images: List['ReplayedImage']


class ReplayedImage:
    """One primary image this site replicates, and what is known of its sync."""

    def __init__(self, native: Any, pool: str, ns: str, image: Dict[str, Any], peer: Any) -> None:
        self.pool = pool
        self.ns = ns
        self.name: str = image['name']
        self.remote_id: str = image['id']
        self.global_id: str = image['global_id']
        self.remote_primary: bool = image['primary']  # False: demoted there
        self.mode: str = image.get('mode', 'snapshot')  # or 'journal'
        self.peer = peer  # the native PeerSite it comes from
        self.progress = native.ReplayProgress()
        self.replica: Optional[Dict[str, Any]] = None  # the native replica state
        self.outcome = 'waiting'
        self.ready_to_promote = False  # as the last step found it (native FinalSnapshotSynced)
        # Set while the last step that reached the peer found the image primary
        # on both sites: errors of later attempts (the peer unreachable) do not
        # clear or replace it; only a step that finds roles settled does.
        self.split_brain: Optional[str] = None
        self.paused = False  # a role change has the image to itself
        self.last_sync: Optional[Dict[str, float]] = None
        self.last_error: Optional[str] = None
        self.failures = 0
        self.retry_at = 0.0
        self.running = False  # a sync job is queued or runs
        self.started = False  # ... and a sync thread runs it
        self.queued_at = 0.0  # when that job was queued (monotonic)
        self.pending = False
        # The separate data pool (rbd create --data-pool) its replica writes
        # to, '' for none; None until read from the primary (it never changes).
        self.data_pool: Optional[str] = None
        # The replica's name here, as the last step left it: the primary's
        # until it is renamed there, and then until the next step follows.
        self.local_name: str = self.name
        # Journal mode: the last step's figures, when the next look at the
        # journal is due (monotonic), and (monotonic end, seconds, entries,
        # bytes) of the recent steps for the replay rate.
        self.journal: Optional[Dict[str, Any]] = None
        self.poll_at = 0.0
        self.journal_steps: List[Tuple[float, float, int, int]] = []

    @property
    def key(self) -> str:
        return image_key(self.pool, self.ns, self.remote_id)

    @property
    def spec(self) -> str:
        return '/'.join(p for p in (self.pool, self.ns, self.name) if p)


def image_key(pool: str, ns: str, remote_id: str) -> str:
    return f'{pool}/{ns}/{remote_id}'


def watch_pool(key: str) -> str:
    """The pool of a watch key: an image's, or 'mirroring:<pool>/<ns>'."""
    return key[len(MIRRORING_PREFIX):].split('/')[0] if key.startswith(MIRRORING_PREFIX) else key.split('/')[0]


class Replayer:
    def __init__(self, native: Any, local: Any, peers: PeerConnections, syncs: Any, log: Any,
                 option: Callable[[str], Any], set_health: Callable[[Dict[str, Any]], None],
                 full_pools: Callable[[], Set[str]]) -> None:
        self._native = native
        self._local = local  # LocalCluster
        self._peers = peers
        self._syncs = syncs  # NativeExecutor
        self._log = log
        self._option = option
        self._set_health = set_health
        self._full_pools = full_pools  # local pools flagged full (OSDs or quota)
        self._lock = threading.Lock()
        self._images: Dict[str, ReplayedImage] = {}
        self._paused_names: Set[Tuple[str, str, str]] = set()  # (pool, ns, name) a role change holds
        self._pool_errors: Dict[Tuple[str, str], str] = {}  # (pool, peer site) -> error
        self._loop_error: Optional[str] = None  # the replayer loop's last failure, until a clean round
        self._listings: Dict[Tuple[str, str], PoolListing] = {}  # (pool, peer record uuid) -> running listing
        self._stopping = threading.Event()
        self._refresh_now = threading.Event()
        peers.on_ready(self._peer_ready)
        self._thread: Optional[threading.Thread] = None
        self._health_thread: Optional[threading.Thread] = None
        self._watcher: Any = None
        self._budget: Any = None  # native.MemoryBudget, shared by every sync
        self._side_jobs: Any = None  # native.TaskPool: the syncs' releases of primary snapshots

    # --- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name='mirror_snapshot.replayer', daemon=True)
        self._thread.start()
        # Health has its own thread: the loop above blocks while this site's
        # OSDs do not answer, and that is exactly when a stall must be reported.
        self._health_thread = threading.Thread(target=self._health_loop, name='mirror_snapshot.replay_health',
                                               daemon=True)
        self._health_thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for thread in (self._thread, self._health_thread):
            if thread is not None:
                thread.join(timeout=10)

    def _health_loop(self) -> None:
        while not self._stopping.wait(HEALTH_SECONDS):
            try:
                self._report_health()
            except Exception as e:  # never let the loop die
                self._log.exception(f'replayer health report failed: {e}')

    def _make_side_jobs(self) -> Any:
        """One release thread per sync slot, started once (a thread per step
        made the thread count jump with every burst of syncs). Without it
        (no thread could be started) each step starts its own, as before."""
        try:
            return self._native.TaskPool(int(self._option('max_concurrent_image_syncs') or 16))
        except Exception as e:
            self._log.error(f'could not start the threads that release primary snapshots ({e}); '
                            'each sync starts its own instead')
            return None

    def refresh_soon(self) -> None:
        self._refresh_now.set()

    def _peer_ready(self, peer: Any) -> None:
        """A peer record connected (in the background): its images take this
        version of the record (e.g. the key just fixed), those that failed
        meanwhile are retried now (their backoff was the peer's), and its
        pools are listed at once."""
        with self._lock:
            for image in self._images.values():
                same_record = image.peer.uuid == peer.uuid
                if same_record:
                    image.peer = peer
                if (same_record or image.peer == peer) and image.last_error and not image.running:
                    image.retry_at = 0.0
        self.refresh_soon()

    def _run(self) -> None:
        self._watcher = self._native.HeaderWatcher()
        self._budget = self._native.MemoryBudget(self._memory_bytes())
        self._side_jobs = self._make_side_jobs()
        next_refresh = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= next_refresh or self._refresh_now.is_set():
                    self._refresh_now.clear()
                    self._budget.set_limit(self._memory_bytes())
                    try:
                        self._refresh()
                    except Exception as e:  # the loop goes on: images keep syncing
                        self._log.exception(f'replayer refresh failed: {e}')
                    next_refresh = time.monotonic() + min(DISCOVERY_SECONDS,
                                                          float(self._option('refresh_interval') or 60))
                for key in self._watcher.wait(WATCH_WAIT_SECONDS):
                    if key.startswith(MIRRORING_PREFIX):
                        self._refresh_now.set()  # an image's mirroring was enabled or disabled
                    else:
                        self._kick(key)
                self._retry_due()
                self._loop_error = None
            except Exception as e:
                # Never let the loop die silently: nothing would be synced or
                # retried again while health stayed green. Said in health,
                # tried again in a second.
                self._log.exception(f'replayer loop failed: {e}')
                self._loop_error = f'internal error in the replayer loop: {e} (retrying every second)'
                self._stopping.wait(LOOP_RETRY_SECONDS)
        for key in self._watcher.keys():
            self._watcher.unwatch(key)

    # --- discovering images ---------------------------------------------------

    def _skipped_pools(self) -> Set[str]:
        text = str(self._option('replay_skip_pools') or '')
        return {p.strip() for p in text.replace(' ', ',').split(',') if p.strip()}

    def _refresh(self) -> None:
        """Lists the images of every pool's peers. A peer without a client
        costs nothing here: its connection is made in the background
        (PeerConnections), its images stay as they are meanwhile, and the
        other peers' images are listed and watched without waiting for it."""
        local = self._local.get()
        skipped = self._skipped_pools()
        seen: Set[str] = set()
        pool_errors: Dict[Tuple[str, str], str] = {}
        all_peers: List[Any] = []
        listed: List[Tuple[str, Any]] = []
        listed_all = True
        for pool in self._native.rbd_pools(local):
            if pool in skipped:
                continue
            try:
                peers = [p for p in self._native.peer_sites(local, pool)
                         if p.direction != 'tx-only' and p.mon_host]
            except OSError as e:
                pool_errors[(pool, '')] = f'cannot list mirror peers: {e.strerror}'
                listed_all = False
                with self._lock:  # what is known of its images stays (this site's OSDs may be down)
                    seen |= {key for key, image in self._images.items() if image.pool == pool}
                continue
            all_peers += peers
            listed += [(pool, peer) for peer in peers]
        # Every listing starts at once; the loop waits for them together.
        listings = [self._start_listing(pool, peer) for pool, peer in listed]
        deadline = time.monotonic() + LISTING_WAIT_SECONDS
        busy: Set[str] = set()  # pools with a listing not taken in this refresh
        for listing in listings:
            pool, peer = listing.pool, listing.peer
            if not listing.done.wait(max(deadline - time.monotonic(), 0.0)):
                # Still listing: its images stay as they are meanwhile, and
                # what it adds until it ends is kept (see below).
                busy.add(pool)
                seen |= self._images_of(pool, peer)
                if time.monotonic() - listing.started > LISTING_SLOW_SECONDS:
                    # No running seconds: this text goes to health (see steady()).
                    pool_errors[(pool, peer.site_name)] = peer_error(
                        peer, OSError(errno.ETIMEDOUT, f'listing its images has taken more than '
                                                       f'{LISTING_SLOW_SECONDS:.0f} s: its OSDs or monitors '
                                                       f'do not answer'))
                continue
            self._listings.pop((pool, peer.uuid), None)
            try:
                if listing.error is not None:
                    raise listing.error
                assert listing.seen is not None
                seen |= listing.seen
            except PeerConnecting:
                seen |= self._images_of(pool, peer)
            except OSError as e:
                self._peers.failed(peer, e)
                message = peer_error(peer, e)
                pool_errors[(pool, peer.site_name)] = message
                seen |= self._mark_pool_failed(pool, peer, message)
        if listed_all:
            self._peers.retain(all_peers)
        current = {(pool, peer.uuid) for pool, peer in listed}
        for key in [key for key, listing in self._listings.items() if key not in current and listing.done.is_set()]:
            del self._listings[key]
        # A listing not taken here adds images and watches as it finds them:
        # nothing of its pool goes until a refresh takes its result.
        with self._lock:
            self._pool_errors = pool_errors
            for key in [key for key, image in self._images.items()
                        if key not in seen and not image.running and image.pool not in busy]:
                del self._images[key]
        for key in self._watcher.keys():
            if key not in seen and watch_pool(key) not in busy:
                self._watcher.unwatch(key)

    def _start_listing(self, pool: str, peer: Any) -> PoolListing:
        """The listing of `pool` on `peer` that runs, or a new one."""
        key = (pool, peer.uuid)
        listing = self._listings.get(key)
        if listing is None or (listing.done.is_set() and listing.peer != peer):
            listing = PoolListing(pool, peer, self._refresh_pool)
            self._listings[key] = listing
        return listing

    def _refresh_pool(self, pool: str, peer: Dict[str, str]) -> Set[str]:
        """Runs on the listing's own thread."""
        remote = self._peers.get(peer)
        seen: Set[str] = set()
        for ns in self._native.namespaces(remote, pool):
            mirroring_key = f'{MIRRORING_PREFIX}{pool}/{ns}'
            try:
                self._watcher.watch(remote, pool, ns, 'rbd_mirroring', mirroring_key)
            except OSError as e:
                if e.errno == errno.ENOENT:
                    continue  # the namespace was removed (or has no mirroring) since it was listed
                raise
            seen.add(mirroring_key)
            # Demoted primaries too: their final snapshot is synced before a
            # clean promote here.
            for image in self._native.mirrored_images(remote, pool, ns):
                key = image_key(pool, ns, image['id'])
                seen.add(key)
                with self._lock:
                    tracked = self._images.get(key)
                    new = tracked is None
                    renamed = not new and tracked.name != image['name']
                    if new:
                        tracked = ReplayedImage(self._native, pool, ns, image, peer)
                        tracked.paused = (pool, ns, tracked.name) in self._paused_names
                        self._images[key] = tracked
                    else:
                        if tracked.peer != peer and tracked.last_error:
                            tracked.retry_at = 0.0  # its record changed (a key or mon_host fixed): try now
                        tracked.peer = peer
                        tracked.remote_primary = image['primary']
                        tracked.mode = image.get('mode', 'snapshot')
                        # Renamed on the primary: the next step renames the replica.
                        tracked.name = image['name']
                self._watcher.watch(remote, pool, ns, f"rbd_header.{image['id']}", key)
                if renamed:
                    self._log.info(f"'{tracked.spec}' was renamed on the primary: its replica follows")
                if new or renamed:
                    self._kick(key)
        return seen

    def _images_of(self, pool: str, peer: Any) -> Set[str]:
        """Keys of the tracked images of `pool` that come from `peer`'s record
        (its uuid); they follow the record's newest version (a new key or
        mon_host), never an older one."""
        with self._lock:
            keys = {key for key, image in self._images.items()
                    if image.pool == pool and image.peer.uuid == peer.uuid}
            for key in keys:
                self._images[key].peer = peer
            return keys

    def _mark_pool_failed(self, pool: str, peer: Any, message: str) -> Set[str]:
        """The pool's peer is unreachable: its images go to error, and stay
        tracked; images of the pool's other peers are not its business."""
        keys = self._images_of(pool, peer)
        with self._lock:
            for key in keys:
                image = self._images[key]
                if not image.running:
                    self._failed(image, message)
        return keys

    # --- syncing --------------------------------------------------------------

    def _kick(self, key: str) -> None:
        full = self._full_pools()
        with self._lock:
            image = self._images.get(key)
            if image is None or image.paused:
                return
            blocked = full_message_of(image, full)
            if blocked and not image.running:
                # Writes to a full pool block in librbd: do not start any.
                self._failed(image, blocked, soon=True)
                return
            if image.running:
                image.pending = True
                return
            image.running = True
            image.started = False
            image.queued_at = time.monotonic()
            image.pending = False
        self._syncs.submit(lambda native: self._sync(native, image))

    def _retry_due(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [key for key, image in self._images.items()
                   if not image.running and (image.retry_at <= now if image.last_error else
                                             image.mode == 'journal' and image.poll_at <= now)]
        for key in due:
            self._kick(key)

    def _sync(self, native: Any, image: ReplayedImage) -> None:
        """Runs on a sync thread: replay until up to date (or an error)."""
        with self._lock:
            image.started = True
            queued_seconds = time.monotonic() - image.queued_at
        try:
            local = self._local.get()
            if image.mode == 'journal':
                self._replay_journal(native, image, local)
                return
            while not self._stopping.is_set():
                with self._lock:
                    image.pending = False
                step_started = time.monotonic()
                remote = self._peers.get(image.peer)
                if self._data_pool_full(native, remote, image):
                    return
                self._log.debug(f"replaying '{image.spec}'")
                name = image.name
                result = native.replay_image(
                    remote, local, image.pool, image.ns, image.remote_id, name,
                    remote.fsid(), local.fsid(), image.progress,
                    self._image_in_flight_bytes(),
                    int(self._option('keep_local_snapshots') or DEFAULT_KEEP_LOCAL_SNAPSHOTS),
                    self._budget, self._side_jobs)
                # The whole time the step held its sync slot: the record says
                # complete after `seconds`, then snapshots are released.
                step_seconds = time.monotonic() - step_started
                self._log.debug(f"replaying '{image.spec}': {result['outcome'].name} in {result['seconds']:.3f} s "
                                f"({step_seconds:.3f} s in its slot)")
                for note in result['notes']:
                    self._log.warning(f"replaying '{image.spec}': {note}")
                if result['adopted']:
                    self._log.info(f"'{image.spec}' was the primary before its peer's promotion: "
                                   f"it is that image's secondary now")
                outcome = result['outcome']
                if outcome == native.ReplayOutcome.split_brain:
                    # Nothing written on either side; retried with backoff
                    # until an operator resyncs one of them.
                    with self._lock:
                        image.replica = None
                        image.outcome = outcome.name
                        image.ready_to_promote = False
                        image.split_brain = result['reason']
                        self._failed(image, result['reason'])
                    self._log.error(f"replaying '{image.spec}' failed: {result['reason']}")
                    return
                with self._lock:
                    image.local_name = name  # the step renamed the replica to it, if it had to
                    local_primary = outcome == native.ReplayOutcome.local_primary
                    image.replica = None if local_primary else result['state']
                    image.outcome = outcome.name
                    image.split_brain = None
                    image.ready_to_promote = result['ready_to_promote']
                    # What the step read, fresher than the last listing: status
                    # shows the primary's role and readiness from one reading.
                    image.remote_primary = not result['primary_demoted']
                    image.last_error = None
                    image.failures = 0
                    if outcome == native.ReplayOutcome.synced:
                        image.last_sync = {'seconds': result['seconds'], 'bytes': result['bytes_copied'],
                                           'finished': result['completed_at'],
                                           'skipped_snapshots': result['skipped_snapshots'],
                                           'phase_seconds': {phase: round(seconds, 3) for phase, seconds
                                                             in result['phase_seconds'].items()},
                                           'resumed_at': result['resumed_at'] if result['resumed'] else None,
                                           'step_seconds': round(step_seconds, 3),
                                           'queued_seconds': round(queued_seconds, 3),
                                           'delta_source': result['delta_source'],
                                           'full_scan_reason': result['full_scan_reason'] or None,
                                           'objects_scanned': result['objects_scanned'],
                                           'objects_in_image': result['objects_in_image'],
                                           'notes': list(result['notes'])}
                        queued_seconds = 0.0  # the job's next step does not wait for a slot
                        continue
                    if not image.pending:
                        break
        except OSError as e:
            if e.errno == errno.ECANCELED and image.paused:
                return  # a role change stopped it; it says what happens next
            if e.errno != errno.ETIMEDOUT:
                # A timeout may be this site's (local_op_timeout): it says
                # nothing against the peer's client, which reconnects by itself.
                self._peers.failed(image.peer, e)
            message = e.strerror or str(e)
            if e.errno == errno.ETIMEDOUT:
                message += ' (OSDs or monitors did not answer in time; retried with backoff)'
            with self._lock:
                image.ready_to_promote = False
                # EAGAIN: a clone's parent not replicated yet, or the peer being connected.
                self._failed(image, message, soon=e.errno == errno.EAGAIN)
            if e.errno == errno.EAGAIN:
                # A peer being (re)connected, a parent not replicated yet: it
                # is retried in seconds, and stays in the image's status.
                self._log.info(f"replaying '{image.spec}' waits: {e.strerror or e}")
            else:
                self._log.error(f"replaying '{image.spec}' failed: {e.strerror or e}")
        except Exception as e:
            self._log.exception(f"replaying '{image.spec}' failed")
            with self._lock:
                self._failed(image, f'internal error: {e}')
        finally:
            with self._lock:
                image.running = False
                image.started = False
                again = image.pending and not image.last_error
            if again:
                self._kick(image.key)

    def _replay_journal(self, native: Any, image: ReplayedImage, local: Any) -> None:
        """Journal steps until the replica has applied the journal's end (a
        bootstrap takes a few steps first), for JOURNAL_SLOT_SECONDS at most:
        then the image goes to the back of the queue (a busy journal never
        lets its replica be caught up, and must not hold a sync slot
        forever). Errors are the caller's."""
        held_since = time.monotonic()
        while not self._stopping.is_set():
            with self._lock:
                image.pending = False
            remote = self._peers.get(image.peer)
            if self._data_pool_full(native, remote, image):
                return
            name = image.name
            result = native.replay_journal_image(
                remote, local, image.pool, image.ns, image.remote_id, name, remote.fsid(), local.fsid(),
                max_in_flight_bytes=self._image_in_flight_bytes(), budget=self._budget, progress=image.progress)
            for note in result['notes']:
                self._log.warning(f"replaying '{image.spec}': {note}")
            if result['outcome'] in ('local_primary', 'split_brain'):
                self._journal_image_primary_here(image, result['outcome'])
                return
            if result['bytes_copied']:
                self._log.info(f"'{image.spec}': bootstrap copied {result['bytes_copied']} bytes "
                               f"({result['phase']} next)")
            with self._lock:
                image.local_name = name
                image.outcome = 'bootstrapping' if result['outcome'] == 'bootstrapping' else 'replaying'
                image.split_brain = None
                image.remote_primary = not result['primary_demoted']
                # The demoted primary's journal is replayed to its end: a
                # promote without --force will succeed.
                image.ready_to_promote = result['primary_demoted'] and result['caught_up']
                image.last_error = None
                image.failures = 0
                now = time.monotonic()
                image.journal_steps = [s for s in image.journal_steps if now - s[0] < JOURNAL_RATE_WINDOW_SECONDS]
                if result['outcome'] == 'replayed':
                    image.journal_steps.append((now, result['seconds'], result['entries_applied'],
                                                result['bytes_written']))
                image.journal = dict(result, finished=time.time())
                image.poll_at = now + self._journal_poll_seconds()
                # Straight on while a bootstrap advances or a busy journal
                # has more; a step that waited for entries still landing, or
                # applied nothing (an operation's end not journaled yet),
                # looks again at the next poll.
                if result['outcome'] == 'bootstrapping':
                    more = not result['waiting']
                else:
                    more = not (result['caught_up'] or result['waiting']) and result['entries_applied'] > 0
            if not more or image.paused:
                return
            if time.monotonic() - held_since > JOURNAL_SLOT_SECONDS:
                with self._lock:
                    image.pending = True  # re-queued when this job ends (_sync)
                return

    def _journal_image_primary_here(self, image: ReplayedImage, outcome: str) -> None:
        """The image here was promoted: it is not replayed into; its status is
        a primary's. Primary on both sites: split-brain, as in snapshot mode."""
        with self._lock:
            image.journal = None
            image.ready_to_promote = False
            image.outcome = 'local_primary' if outcome == 'local_primary' else 'split_brain'
            if outcome == 'split_brain':
                reason = (f"split-brain: '{image.spec}' is primary on both sites; resync the one whose writes "
                          f"are to be discarded")
                image.split_brain = reason
                self._failed(image, reason)
            else:
                image.split_brain = None
                image.last_error = None
                image.failures = 0
                image.poll_at = time.monotonic() + float(self._option('refresh_interval') or 60)

    def _journal_poll_seconds(self) -> float:
        return float(self._option('journal_poll_interval') or DEFAULT_JOURNAL_POLL_SECONDS)

    def _data_pool_full(self, native: Any, remote: Any, image: ReplayedImage) -> bool:
        """Whether the image's data pool here is full (then it is in error and
        retried soon). Its name is read from the primary once: the replica's
        data pool has the same name."""
        if image.data_pool is None:
            try:
                data_pool = native.image_data_pool(remote, image.pool, image.ns, image.remote_id)
            except OSError:
                data_pool = None  # the primary cannot be read: the sync itself says why
            with self._lock:
                image.data_pool = data_pool
        blocked = full_message_of(image, self._full_pools())
        if not blocked:
            return False
        with self._lock:
            self._failed(image, blocked, soon=True)
        return True

    # --- role changes ---------------------------------------------------------

    def pause(self, pool: str, ns: str, name: str, global_id: str = '') -> 'PausedImage':
        """Stops syncing the image (the sync in flight stops at its next chunk)
        and waits until no sync runs: a role change has it to itself. An image
        found only later (its peer was slow to list) starts paused too."""
        with self._lock:
            self._paused_names.add((pool, ns, name))
            # A role change names the image here: a replica that has not yet
            # followed a rename of its primary is found by its own name, or by
            # its primary's global id where the caller read it from its record.
            images = [i for i in self._images.values()
                      if (i.pool, i.ns) == (pool, ns)
                      and (name in (i.name, i.local_name) or (global_id and i.global_id == global_id))]
            for image in images:
                image.paused = True
                image.progress.set_cancelled(True)
        paused = PausedImage((pool, ns, name), images)
        deadline = time.monotonic() + PAUSE_TIMEOUT_SECONDS
        # A sync that only waits for a slot does nothing once it starts (its
        # progress is cancelled): only one a thread already runs is waited for.
        while self._syncing(images):
            if time.monotonic() > deadline:
                self.resume(paused)
                raise TimeoutError(f"the sync of '{images[0].spec}' did not stop in time")
            time.sleep(0.05)
        return paused

    def _syncing(self, images: List['ReplayedImage']) -> bool:
        with self._lock:
            return any(i.running and i.started for i in images)

    def resume(self, paused: 'PausedImage') -> None:
        with self._lock:
            self._paused_names.discard(paused.name)
            # Those paused (renamed on the primary meanwhile, some may not
            # have that name any more), and those found since under it.
            images = list(paused.images) + [i for i in self._images.values()
                                            if (i.pool, i.ns, i.name) == paused.name and i not in paused.images]
            for image in images:
                image.paused = False
                image.progress.set_cancelled(False)
                # The role change that paused it settled the roles: an earlier
                # split-brain verdict is the next step's to give again.
                if image.split_brain:
                    image.split_brain = None
                    image.outcome = 'waiting'
                image.last_error = None
                image.failures = 0
                image.retry_at = 0.0
        for image in images:
            self._kick(image.key)
        self.refresh_soon()

    def _failed(self, image: ReplayedImage, message: str, soon: bool = False) -> None:
        """Record an error (call with the lock held). `soon`: a condition that
        clears by itself (a clone's parent not replicated yet): retry shortly."""
        image.last_error = message
        if soon:
            image.retry_at = time.monotonic() + RETRY_SOON_SECONDS
            return
        image.failures += 1
        backoff = min(RETRY_MIN_SECONDS * 2 ** (image.failures - 1), RETRY_MAX_SECONDS)
        image.retry_at = time.monotonic() + backoff

    def _memory_bytes(self) -> int:
        return int(self._option('replay_memory_bytes') or DEFAULT_MEMORY_BYTES)

    def _image_in_flight_bytes(self) -> int:
        return min(int(self._option('replay_image_in_flight_bytes') or DEFAULT_IMAGE_IN_FLIGHT_BYTES),
                   self._memory_bytes())

    # --- reporting ------------------------------------------------------------

    def _report_health(self) -> None:
        full = self._full_pools()
        with self._lock:
            # Health detail without the stall's running seconds: a text that
            # changed every second would be a change to send every second.
            stall = self._stall_seconds()
            # A split-brain image is reported as that alone (a peer error of
            # its retries changes nothing of it); images primary here are not
            # replicated here, whatever their peer's state.
            split = [f"'{i.spec}': {i.split_brain}" for i in self._images.values() if i.split_brain]
            errors = [(i.spec, steady(self._error_of(i, full, stall, exact_idle=False) or ''))
                      for i in self._images.values() if self._replays_here(i)]
            failed = [f"'{spec}': {error}" for spec, error in errors if error]
            failed += [f"pool '{pool}': {steady(error)}" for (pool, _), error in self._pool_errors.items()]
            if self._loop_error:
                failed.append(self._loop_error)
        checks: Dict[str, Any] = {}
        if failed:
            checks[HEALTH_CHECK] = warning(f'{len(failed)} image(s) or pool(s) cannot be replicated', failed)
        if split:
            checks[SPLIT_BRAIN_CHECK] = warning(f'{len(split)} image(s) are primary on both sites (split-brain)',
                                                split)
        self._set_health(checks)

    def _error_of(self, image: ReplayedImage, full: Set[str], stall: float,
                  exact_idle: bool = True) -> Optional[str]:
        """`stall`: replay_stall_seconds, read once by the caller (not per image)."""
        blocked = full_message_of(image, full)
        if image.running and blocked:
            return blocked  # the sync in flight is blocked
        if image.running:
            view = image.progress.view()
            idle = time.time() - view['updated']
            if view['phase'] in ('scanning', 'copying', 'snapshotting', 'replaying') and idle > stall:
                since = f'for {idle:.0f} s' if exact_idle else f'for more than {stall:.0f} s'
                return (f"stalled: no progress {since} in phase {view['phase']} (OSDs of either "
                        f"site down or blocked?); it goes on by itself when they answer")
        return image.last_error

    def _stall_seconds(self) -> float:
        return float(self._option('replay_stall_seconds') or 60)

    @staticmethod
    def _replays_here(image: ReplayedImage) -> bool:
        """False for an image that is primary here (promoted, or split-brain):
        its status is the primary's."""
        return image.outcome != 'local_primary' and not image.split_brain

    def find(self, pool: str, ns: str, name: str) -> Optional[Dict[str, Any]]:
        full, stall = self._full_pools(), self._stall_seconds()
        with self._lock:
            for image in self._images.values():
                if (image.pool, image.ns, image.name) == (pool, ns, name) and self._replays_here(image):
                    return self._status(image, full, stall)
        return None

    def split_brain(self, pool: str, ns: str, name: str) -> Optional[str]:
        """The split-brain error of a primary image of this site, if any."""
        with self._lock:
            for image in self._images.values():
                if (image.pool, image.ns, image.name) == (pool, ns, name) and image.split_brain:
                    return image.split_brain
        return None

    def statuses(self) -> List[Dict[str, Any]]:
        full, stall = self._full_pools(), self._stall_seconds()
        with self._lock:
            images = sorted((i for i in self._images.values() if self._replays_here(i)), key=lambda i: i.spec)
            out = [self._status(i, full, stall) for i in images]
            for (pool, _), error in sorted(self._pool_errors.items()):
                if not any(i.pool == pool for i in images):
                    out.append({'image': f'{pool}/', 'role': 'secondary', 'state': 'error',
                                'last_error': error, 'last_complete': None, 'in_flight': None,
                                'last_sync': None})
        return out

    def _status(self, image: ReplayedImage, full: Set[str], stall: float) -> Dict[str, Any]:
        """Call with the lock held."""
        if image.mode == 'journal':
            return self._journal_status(image, full, stall)
        view = image.progress.view()
        syncing = image.running and view['phase'] in ('scanning', 'copying', 'snapshotting')
        error = self._error_of(image, full, stall)
        if error:
            state = 'error'
        elif syncing:
            state = 'syncing'
        elif image.running and not image.started:
            state = 'queued'  # a newer primary snapshot waits for a sync slot
        elif image.replica is None or not image.replica['primary_snap_id']:
            state = 'waiting'
        else:
            state = 'idle'
        ready = image.ready_to_promote and not error
        return {
            'image': image.spec,
            'role': 'secondary',
            'mode': 'snapshot',
            'state': state,
            'primary': self._primary_of(image),
            # The primary was demoted and its final snapshot is here: a
            # promote without --force will succeed.
            'ready_to_promote': ready,
            'last_complete': last_complete(image.replica),
            'in_flight': in_flight(view, image.replica) if syncing or _interrupted(image.replica) else None,
            'last_sync': image.last_sync or last_sync_of(image.replica),
            'last_error': error,
        }

    @staticmethod
    def _primary_of(image: ReplayedImage) -> Dict[str, Any]:
        return {'site': image.peer.site_name, 'image_id': image.remote_id, 'global_id': image.global_id,
                'state': 'primary' if image.remote_primary else 'demoted'}

    def _journal_status(self, image: ReplayedImage, full: Set[str], stall: float) -> Dict[str, Any]:
        """A journal-mode image: bootstrapping (its first copy), replaying,
        or error; `journal` has how far behind the primary it is. Call with
        the lock held."""
        view = image.progress.view()
        copying = image.running and view['phase'] == 'copying'
        error = self._error_of(image, full, stall)
        step = image.journal
        if error:
            state = 'error'
        elif copying or image.outcome == 'bootstrapping':
            state = 'bootstrapping'
        elif step is None:
            state = 'queued' if image.running else 'waiting'
        else:
            state = 'replaying'
        journal = None
        if step is not None:
            seconds = sum(s[1] for s in image.journal_steps)
            journal = {
                'client_id': step['client_id'],
                'phase': step['phase'],
                # The primary's writer commits its position every few
                # seconds (rbd_journal_commit_age): this lags by as much.
                'entries_behind_primary': step['entries_behind'],
                # The journal's bytes past our position when the step last
                # read it (entries appended since are not in it).
                'bytes_behind_primary': step['bytes_behind'],
                # As of the last step that ended; never while in error (a
                # step stalled on unanswering OSDs is one).
                'caught_up': step['caught_up'] and not error,
                'caught_up_at': step['finished'] if step['caught_up'] else None,
                # Time of the newest entry applied (the recovery point while
                # entries keep coming; an idle primary's is its last write).
                'last_applied_entry_time': step['last_applied'] or None,
                'entries_applied_total': step['entries_applied_total'],
                'replay_entries_per_sec': (sum(s[2] for s in image.journal_steps) / seconds
                                           if seconds > 0 else None),
                'replay_bytes_per_sec': (sum(s[3] for s in image.journal_steps) / seconds
                                         if seconds > 0 else None),
                'bootstrapped_at': step['bootstrapped_at'] or None,
                'last_step': {'seconds': round(step['seconds'], 3), 'entries': step['entries_applied'],
                              'bytes': step['bytes_written'], 'bytes_copied': step['bytes_copied'],
                              'finished': step['finished']},
            }
        return {
            'image': image.spec,
            'role': 'secondary',
            'mode': 'journal',
            'state': state,
            'primary': self._primary_of(image),
            'ready_to_promote': image.ready_to_promote and not error,
            'last_complete': None,
            'in_flight': in_flight(view, None) if copying else None,
            'last_sync': None,
            'journal': journal,
            'last_error': error,
        }


def warning(summary: str, details: List[str]) -> Dict[str, Any]:
    return {'severity': 'warning', 'summary': summary, 'count': len(details), 'detail': sorted(details)}


def full_message(pool: str) -> str:
    return f"pool '{pool}' on this site is full (OSDs or quota): replication is paused until it has room"


def full_message_of(image: ReplayedImage, full: Set[str]) -> Optional[str]:
    """Why the image's replica cannot be written now: its pool or its data
    pool (an EC pool, often) is full here; None if neither is."""
    if image.pool in full:
        return full_message(image.pool)
    if image.data_pool and image.data_pool in full:
        return (f"data pool '{image.data_pool}' on this site is full (OSDs or quota): "
                f"replication is paused until it has room")
    return None


def _interrupted(replica: Optional[Dict[str, Any]]) -> bool:
    return bool(replica and replica['inflight_to_snap_id'])


def last_complete(replica: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    if not replica or not replica['primary_snap_id']:
        return None
    return {'primary_snap_id': replica['primary_snap_id'],
            'local_snap_name': replica['local_snap_name'],
            'primary_snap_time': replica['primary_snap_time']}


def last_sync_of(replica: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    if not replica or not replica['last_sync_finished']:
        return None
    return {'seconds': replica['last_sync_seconds'], 'bytes': replica['last_sync_bytes'],
            'finished': float(replica['last_sync_finished'])}


def in_flight(view: Dict[str, Any], replica: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The sync in progress (from the live view), or one left interrupted."""
    if view['phase'] == 'idle' and replica:
        return {'phase': 'interrupted', 'from_snap_id': replica['primary_snap_id'],
                'to_snap_id': replica['inflight_to_snap_id'], 'bytes_done': None,
                'bytes_total': replica['inflight_bytes_total'], 'rate_bytes_per_sec': None,
                'eta_seconds': None, 'checkpoint_offset': replica['checkpoint_offset']}
    elapsed = max(time.time() - view['started'], 1e-3)
    rate = view['bytes_done'] / elapsed
    remaining = max(view['bytes_total'] - view['bytes_done'], 0)
    return {'phase': view['phase'], 'from_snap_id': view['from_snap_id'], 'to_snap_id': view['to_snap_id'],
            'bytes_done': view['bytes_done'], 'bytes_total': view['bytes_total'],
            'rate_bytes_per_sec': rate, 'eta_seconds': remaining / rate if rate > 0 else None,
            'checkpoint_offset': replica['checkpoint_offset'] if replica else None}
