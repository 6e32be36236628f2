"""The primary side: a thread that creates mirror snapshots when they are due.

The thread owns the native planner (schedule table + due-queue). It
refreshes its view of schedules and images at start, at once after any
schedule change, and every `refresh_interval` seconds (to notice new,
removed, promoted and demoted images); in between it sleeps until the next
image is due. Creations run on their own bounded pool of module threads, so
neither this thread nor a command ever waits for librbd.
"""
import errno
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from .levels import Level
from .run_records import RunRecords, backoff_seconds
from .schedule_store import ScheduleStore, item_parts

HEALTH_CHECK = 'MIRROR_SNAPSHOT_SCHEDULE_FAILED'
# The scheduler's own loop failed (not one image's run): schedules may be late.
LOOP_HEALTH_CHECK = 'MIRROR_SNAPSHOT_SCHEDULER_FAILED'
# After the loop failed: wait this long, doubling up to the maximum, then go on.
LOOP_BACKOFF_SECONDS = 1.0
LOOP_BACKOFF_MAX_SECONDS = 60.0


class TrackedImage(NamedTuple):
    key: str          # '<pool id>/<namespace>/<image id>'
    pool: str
    pool_id: int
    namespace: str
    name: str
    image_id: str

    @classmethod
    def of(cls, pool: str, pool_id: int, namespace: str, name: str, image_id: str) -> 'TrackedImage':
        return cls(f'{pool_id}/{namespace}/{image_id}', pool, pool_id, namespace, name, image_id)

    @property
    def level(self) -> Level:
        return Level('image', self.pool, self.namespace, self.name, self.image_id)

    @property
    def spec(self) -> str:
        return self.level.spec

    @property
    def state_key(self) -> str:
        return f'{self.namespace}/{self.image_id}'


class CreationBusy(Exception):
    pass


class PrimaryScheduler:
    def __init__(self, native: Any, cluster: Any, store: ScheduleStore, records: RunRecords,
                 creator: Any, log: Any, refresh_interval: Callable[[], float],
                 on_health_change: Callable[[Dict[str, Any]], None]) -> None:
        self._native = native
        self._cluster_ref = cluster  # LocalCluster
        self._store = store
        self._records = records
        self._creator = creator          # NativeExecutor for creations
        self._log = log
        self._refresh_interval = refresh_interval
        self._on_health_change = on_health_change
        self._planner = native.Planner()
        self._lock = threading.RLock()   # guards planner and the maps below
        # Computing the checks and handing them over happen under one lock:
        # creation threads report at once, and an older verdict must not be
        # sent after a newer one.
        self._report_lock = threading.Lock()
        self._images: Dict[str, TrackedImage] = {}
        self._skipped: Dict[str, Tuple[TrackedImage, str]] = {}  # covered but not primary
        self._in_flight: Dict[str, float] = {}
        self._notes: Dict[str, str] = {}  # key -> last scheduler note (e.g. overlap)
        self._wake = threading.Event()
        self._refresh_requested = True
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._last_refresh = 0.0
        self._refresh_error = ''
        self._loaded_records = False
        self._loop_error = ''  # why the loop last failed; '' once a pass succeeds

    # --- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name='mirror_snapshot-scheduler',
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)

    def schedules_changed(self) -> None:
        """Called after add/remove: re-plan now, not at the next refresh."""
        self._refresh_requested = True
        self._wake.set()

    # --- the loop -----------------------------------------------------------

    def _run(self) -> None:
        """Never ends before stop(): a failed pass is logged, reported as a
        health check, and retried after a backoff."""
        backoff = LOOP_BACKOFF_SECONDS
        while not self._stopping.is_set():
            try:
                self._run_once()
            except Exception as e:
                self._log.exception('the mirror snapshot scheduler failed; retrying in '
                                    f'{backoff:.0f} s')
                self._loop_error = f'{type(e).__name__}: {e}'
                self._report_health()
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, LOOP_BACKOFF_MAX_SECONDS)
                self._refresh_requested = True  # what we know may be stale
                continue
            backoff = LOOP_BACKOFF_SECONDS
            if self._loop_error:
                self._log.info('the mirror snapshot scheduler works again')
                self._loop_error = ''
                self._report_health()

    def _run_once(self) -> None:
        periodic = time.time() - self._last_refresh >= self._refresh_interval()
        if self._refresh_requested:  # schedules changed: plan with them first
            self._refresh_requested = False
            self._refresh()
            periodic = False
        # What is due goes before the periodic refresh: it lists every image
        # (seconds, with hundreds), and would make each run that much late.
        self._dispatch_due(int(time.time()))
        if periodic:
            self._refresh()
            self._dispatch_due(int(time.time()))
        self._wake.wait(self._sleep_seconds())
        self._wake.clear()

    def _report_health(self) -> None:
        try:
            with self._report_lock:
                self._on_health_change(self.health_checks())
        except Exception:  # reporting must not stop scheduling
            self._log.exception('cannot report the scheduler\'s health')

    def _recover(self, error: BaseException) -> None:
        """Replace a blocklisted client; never raises (the next failure retries)."""
        try:
            self._cluster_ref.recover(error)
        except Exception as e:
            self._log.error(f'cannot replace the native client yet: {e}')

    def _sleep_seconds(self) -> float:
        until_refresh = self._last_refresh + self._refresh_interval() - time.time()
        with self._lock:
            head = self._planner.peek()
        until_due = head[1] - time.time() if head else until_refresh
        return max(0.05, min(until_refresh, until_due))

    def _refresh(self) -> None:
        started = time.time()
        try:
            self._refresh_once()
            self._refresh_error = ''
        except Exception as e:  # keep scheduling what we know; say why in status/log
            self._recover(e)
            self._refresh_error = str(e)
            self._log.error(f'schedule refresh failed: {e}')
        self._last_refresh = time.time()
        self._report_health()
        self._log.debug(f'schedule refresh took {time.time() - started:.3f} s')

    def _refresh_once(self) -> None:
        cluster = self._cluster_ref.get()
        rbd_pools = self._native.rbd_pools(cluster)
        levels = self._store.load(rbd_pools)
        pool_ids = {pool: cluster.pool_id(pool) for pool in rbd_pools}
        first = not self._loaded_records
        if first:
            for pool in rbd_pools:
                self._records.load(pool, pool_ids[pool])
            self._loaded_records = True

        # Which pools to scan: all if the global level has schedules, else
        # only pools some level names.
        has_global = any(level.kind == 'global' for level, _ in levels)
        wanted = set(rbd_pools) if has_global else {lvl.pool for lvl, _ in levels} & set(rbd_pools)

        images: List[TrackedImage] = []
        skipped: Dict[str, Tuple[TrackedImage, str]] = {}
        names_by_id: Dict[Tuple[str, str, str], str] = {}
        for pool in sorted(wanted):
            for ns in self._native.namespaces(cluster, pool):
                for image in self._native.snapshot_mirrored_images(cluster, pool, ns):
                    tracked = TrackedImage.of(pool, pool_ids[pool], ns, image['name'], image['id'])
                    names_by_id[(pool, ns, image['id'])] = image['name']
                    if image['primary']:
                        images.append(tracked)
                    else:
                        skipped[tracked.key] = (tracked, 'not primary (non-primary or demoted)')

        # Image levels are stored by id: give them the image's current name.
        table = []
        for level, items in levels:
            if level.kind == 'image':
                name = names_by_id.get((level.pool, level.namespace, level.image_id))
                if name is None:
                    continue  # image gone or not mirrored in snapshot mode now
                level = level._replace(image=name)
            table.append((level.spec, [item_parts(i) for i in items]))

        with self._lock:
            self._planner.set_schedules(table)
            stats = self._planner.plan(
                [(i.key, i.pool, i.namespace, i.name) for i in images],
                self._records.last_runs() if first else {}, int(time.time()), first)
            self._images = {i.key: i for i in images}
            self._skipped = {k: v for k, v in skipped.items()
                             if self._covered(v[0])}
        if stats['catch_ups']:
            self._log.info(f"{stats['catch_ups']} image(s) missed a run: one catch-up each")

    def _covered(self, image: TrackedImage) -> bool:
        return self._planner.covers(image.pool, image.namespace, image.name)

    # --- creating -----------------------------------------------------------

    def _dispatch_due(self, now: int) -> None:
        with self._lock:
            due = self._planner.pop_due(now)
        for key, when in due:
            image = self._images.get(key)
            if image is None:
                continue
            try:
                self._start_creation(image, when, self._trigger_for(key))
            except CreationBusy:
                # Still creating the previous one (scheduled, or a `create`
                # command's): report it, do not queue twice.
                with self._lock:
                    self._notes[key] = (f'run due at {self._native.format_instant(when)} skipped: '
                                        'the previous creation was still running')
                    self._planner.reschedule(key, now)

    def _trigger_for(self, key: str) -> str:
        record = self._records.get(key)
        return 'retry' if record and record.get('result') == 'error' else 'schedule'

    def _start_creation(self, image: TrackedImage, scheduled_for: Optional[int],
                        trigger: str) -> 'Future[Dict[str, Any]]':
        with self._lock:
            if image.key in self._in_flight:
                raise CreationBusy(image.spec)
            self._in_flight[image.key] = time.time()
        future = self._creator.submit(self._create, image, scheduled_for, trigger)
        return future

    def _create(self, native: Any, image: TrackedImage, scheduled_for: Optional[int],
                trigger: str) -> Dict[str, Any]:
        """Runs on a creation thread."""
        started = time.time()
        outcome: Dict[str, Any]
        record: Optional[Dict[str, Any]] = None
        try:
            try:
                run = native.create_primary_snapshot(self._cluster_ref.get(), image.pool, image.namespace,
                                                     id=image.image_id)
                outcome = {'result': 'created' if run['snap_id'] is not None else 'skipped',
                           'snap_id': run['snap_id'], 'error': run['skipped'], 'pruned': run['pruned']}
            except OSError as e:
                self._recover(e)  # blocklisted: the retry gets a new client
                outcome = {'result': 'error', 'error': e.strerror or str(e), 'errno_code': e.errno or errno.EIO}
            except Exception as e:
                outcome = {'result': 'error', 'error': str(e), 'errno_code': errno.EIO}
            record = self._records.record(image.key, image.pool, image.state_key, image.spec,
                                          scheduled_for=scheduled_for, started=started, trigger=trigger,
                                          **outcome)
            return record
        finally:
            # Whatever failed above, the image is no longer in flight.
            self._finish(image, record)

    def _finish(self, image: TrackedImage, record: Optional[Dict[str, Any]]) -> None:
        """`record` is None when the run failed before it was recorded: then
        the image is retried after the first backoff."""
        now = int(time.time())
        with self._lock:
            self._in_flight.pop(image.key, None)
            self._notes.pop(image.key, None)
            if image.key in self._images:
                self._planner.reschedule(image.key, now)
                if record is None or record['result'] == 'error':
                    failures = record['consecutive_failures'] if record else 1
                    self._planner.retry_at(image.key, now + backoff_seconds(failures))
        self._report_health()
        self._wake.set()

    # --- on demand ----------------------------------------------------------

    def create_now(self, level: Level, pool_id: int, timeout: float) -> Dict[str, Any]:
        """`ceph mirror snapshot create`: the scheduler's own path, now."""
        image = TrackedImage.of(level.pool, pool_id, level.namespace, level.image, level.image_id)
        future = self._start_creation(image, None, 'manual')
        return future.result(timeout)

    # --- reporting ----------------------------------------------------------

    def health_checks(self) -> Dict[str, Any]:
        checks: Dict[str, Any] = {}
        # A refresh that fails leaves the scheduler with what it knew (after
        # a failover: nothing at all), so it is said here, not only in status.
        problems = []
        if self._loop_error:
            problems.append(self._loop_error)
        if self._refresh_error:
            problems.append(f'schedule refresh failed: {self._refresh_error}')
        if problems:
            checks[LOOP_HEALTH_CHECK] = {
                'severity': 'warning',
                'summary': 'the mirror snapshot scheduler failed and is retrying: schedules may be late',
                'count': len(problems),
                'detail': problems,
            }
        failing = self._records.failing()
        with self._lock:
            # Only images a schedule still covers: a failure of one whose
            # schedule was removed is never retried, and would stay for good.
            tracked = {key for key, image in self._images.items() if self._covered(image)}
        # A failed manual `create` is answered to its caller; health is about schedules.
        failing = [r for r in failing if r['key'] in tracked]
        if not failing:
            return checks
        # No attempt count: it changes at every retry, and each change is a
        # report ceph-mgr 16.2 keeps (health_report.py); `schedule status` has it.
        detail = [f"{r['image']}: {r['error']} (failing since "
                  f"{self._native.format_instant(int(r['failing_since']))})" for r in failing]
        checks[HEALTH_CHECK] = {
            'severity': 'warning',
            'summary': f'{len(failing)} image(s) failed to get a scheduled mirror snapshot',
            'count': len(failing),
            'detail': detail,
        }
        return checks

    def status(self, within: Optional[Level]) -> Dict[str, Any]:
        fmt = self._native.format_instant
        rows = []
        with self._lock:
            images = list(self._images.values())
            skipped = list(self._skipped.values())
            entries = []
            for image in images:
                applicable = self._planner.applicable(image.key)
                entries.append((image, applicable, self._planner.next_run(image.key),
                                image.key in self._in_flight, self._notes.get(image.key)))
        for image, applicable, next_run, in_flight, note in entries:
            if within is not None and not within.contains(image.level):
                continue
            record = self._records.get(image.key)
            rows.append({
                'image': image.spec,
                'image_id': image.image_id,
                'level': applicable[0] if applicable else None,
                'schedules': applicable[1] if applicable else [],
                'next_run': fmt(next_run) if next_run is not None else None,
                'state': 'creating' if in_flight else ('error' if record and record['result'] == 'error' else 'scheduled'),
                'last_run': _format_record(record, fmt),
                'note': note or '',
            })
        for image, reason in skipped:
            if within is not None and not within.contains(image.level):
                continue
            rows.append({'image': image.spec, 'image_id': image.image_id, 'level': None,
                         'schedules': [], 'next_run': None, 'state': 'skipped',
                         'last_run': _format_record(self._records.get(image.key), fmt),
                         'note': reason})
        rows.sort(key=lambda r: (r['next_run'] or '9999', r['image']))
        return {'images': rows,
                'refreshed': fmt(int(self._last_refresh)) if self._last_refresh else None,
                'refresh_error': self._refresh_error}


def _format_record(record: Optional[Dict[str, Any]], fmt: Callable[[int], str]) -> Optional[Dict[str, Any]]:
    if not record:
        return None
    return {
        'time': fmt(int(record['time'])),
        'result': record['result'],
        'trigger': record.get('trigger', 'schedule'),
        'snap_id': record.get('snap_id'),
        'error': record.get('error', ''),
        'lateness_seconds': record.get('lateness_seconds'),
        'scheduled_for': fmt(int(record['scheduled_for'])) if record.get('scheduled_for') is not None else None,
    }
