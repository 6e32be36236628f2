"""PrimaryScheduler's thread survives failures (review finding #4).

The scheduler runs against a fake of the module's native interface (the
pybind11 extension's Planner and functions, as primary_scheduler.py calls
them), the module's own LocalCluster and RunRecords, and a creator that runs
each creation on its own thread, like NativeExecutor.
"""
import errno
import logging
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from mirror_snapshot import primary_scheduler
from mirror_snapshot.levels import Level
from mirror_snapshot.local_cluster import LocalCluster
from mirror_snapshot.primary_scheduler import CreationBusy, PrimaryScheduler
from mirror_snapshot.run_records import RunRecords

POOL_ID = 7
IMAGE = {'name': 'img', 'id': 'abc123', 'primary': True}
KEY = f'{POOL_ID}//abc123'
LOOP_HEALTH_CHECK = 'MIRROR_SNAPSHOT_SCHEDULER_FAILED'
LOG = logging.getLogger('test_primary_scheduler')


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = 'condition') -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f'timed out waiting for {what}')


class FakeClient:
    """A native Cluster: `blocklisted` ones fail every call with ESHUTDOWN."""
    def __init__(self, name: str) -> None:
        self.name = name
        self.blocklisted = False

    def check(self) -> None:
        if self.blocklisted:
            raise OSError(errno.ESHUTDOWN, 'Cannot send after transport endpoint shutdown')

    def pool_id(self, pool: str) -> int:
        self.check()
        return POOL_ID


class FakePlanner:
    """native.Planner: every image due now at plan(), then every second."""
    def __init__(self) -> None:
        self.due: Dict[str, int] = {}
        self.fail_pop_due = 0  # how many pop_due calls raise

    def set_schedules(self, table: List[Any]) -> None:
        self.table = table

    def plan(self, images: List[Tuple[str, str, str, str]], last_runs: Dict[str, int], now: int,
             first: bool) -> Dict[str, int]:
        for key, *_ in images:
            self.due.setdefault(key, now)
        for key in list(self.due):
            if key not in {i[0] for i in images}:
                del self.due[key]
        return {'catch_ups': 0}

    def peek(self) -> Optional[Tuple[str, int]]:
        if not self.due:
            return None
        key = min(self.due, key=self.due.__getitem__)
        return key, self.due[key]

    def pop_due(self, now: int) -> List[Tuple[str, int]]:
        if self.fail_pop_due:
            self.fail_pop_due -= 1
            raise RuntimeError('planner failed')
        out = [(k, t) for k, t in self.due.items() if t <= now]
        for key, _ in out:
            del self.due[key]
        return out

    def reschedule(self, key: str, now: int) -> None:
        self.due[key] = now + 1

    def retry_at(self, key: str, when: int) -> None:
        self.due[key] = when

    def covers(self, pool: str, ns: str, name: str) -> bool:
        return True

    def applicable(self, key: str) -> Tuple[str, List[str]]:
        return '', ['every 1s']

    def next_run(self, key: str) -> Optional[int]:
        return self.due.get(key)


class FakeNative:
    """The functions of the native extension that the scheduler and RunRecords use."""
    def __init__(self) -> None:
        self.planner = FakePlanner()
        self.creations: List[str] = []  # client name of each creation
        self.create_error: Optional[BaseException] = None
        self.create_gate: Optional[threading.Event] = None  # creations wait for it
        self.omap_error: Optional[BaseException] = None
        self.list_delay = 0.0  # seconds each listing of images takes
        self.created_at: List[float] = []

    def Planner(self) -> FakePlanner:
        return self.planner

    def rbd_pools(self, cluster: FakeClient) -> List[str]:
        cluster.check()
        return ['rbd']

    def namespaces(self, cluster: FakeClient, pool: str) -> List[str]:
        cluster.check()
        return ['']

    def snapshot_mirrored_images(self, cluster: FakeClient, pool: str, ns: str) -> List[Dict[str, Any]]:
        cluster.check()
        time.sleep(self.list_delay)
        return [dict(IMAGE)]

    def format_instant(self, t: int) -> str:
        return f'@{t}'

    def create_primary_snapshot(self, cluster: FakeClient, pool: str, ns: str, id: str) -> Dict[str, Any]:
        if self.create_gate is not None:
            self.create_gate.wait(10)
        cluster.check()
        if self.create_error is not None:
            raise self.create_error
        self.creations.append(cluster.name)
        self.created_at.append(time.monotonic())
        return {'snap_id': len(self.creations), 'skipped': '', 'pruned': []}

    def omap_read(self, cluster: FakeClient, pool: str, oid: str) -> Dict[str, str]:
        return {}

    def omap_set(self, cluster: FakeClient, pool: str, oid: str, values: Dict[str, str]) -> None:
        if self.omap_error is not None:
            raise self.omap_error


class FakeStore:
    def load(self, pools: List[str]) -> List[Tuple[Level, List[Dict[str, str]]]]:
        return [(Level('global'), [{'interval': '1m'}])]


class ThreadCreator:
    """NativeExecutor's submit(): job(native, *args) on a module thread."""
    def __init__(self, native: FakeNative) -> None:
        self._native = native

    def submit(self, job: Callable[..., Any], *args: Any) -> 'Future[Any]':
        future: 'Future[Any]' = Future()

        def run() -> None:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(job(self._native, *args))
            except BaseException as e:
                future.set_exception(e)
        threading.Thread(target=run, daemon=True).start()
        return future


class Opener:
    """LocalCluster's open_client: a new FakeClient, or the error it is told to raise."""
    def __init__(self) -> None:
        self.clients: List[FakeClient] = []
        self.error: Optional[BaseException] = None
        self.failures = 0

    def __call__(self) -> FakeClient:
        if self.error is not None:
            self.failures += 1
            raise self.error
        client = FakeClient(f'client{len(self.clients) + 1}')
        self.clients.append(client)
        return client


class Harness:
    def __init__(self, cluster_ref: Any = None) -> None:
        self.native = FakeNative()
        self.opener = Opener()
        self.local = cluster_ref if cluster_ref is not None else LocalCluster(self.opener, LOG)
        self.local.connect()
        self.records = RunRecords(self.native, self.local, LOG)
        self.health: List[Dict[str, Any]] = []
        self.scheduler = PrimaryScheduler(self.native, self.local, FakeStore(), self.records,
                                          ThreadCreator(self.native), LOG, lambda: 0.05,
                                          self.health.append)

    def image_level(self) -> Level:
        return Level('image', 'rbd', '', IMAGE['name'], IMAGE['id'])

    def alive(self) -> bool:
        thread = self.scheduler._thread
        return thread is not None and thread.is_alive()

    def stop(self) -> None:
        self.scheduler.stop()


@pytest.fixture
def harness() -> Any:
    made: List[Harness] = []

    def make(cluster_ref: Any = None) -> Harness:
        h = Harness(cluster_ref)
        made.append(h)
        return h
    yield make
    for h in made:
        h.stop()


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(primary_scheduler, 'LOOP_BACKOFF_SECONDS', 0.05, raising=False)


def test_a_blocklisted_client_that_cannot_be_reopened_does_not_end_the_thread(harness: Any) -> None:
    h = harness()
    # Blocklisted, and the mons are unreachable: reopening fails for a while.
    h.opener.clients[0].blocklisted = True
    h.opener.error = OSError(errno.ETIMEDOUT, 'mons unreachable')
    h.scheduler.start()
    wait_until(lambda: h.opener.failures >= 3, what='reopen attempts')
    assert h.alive()
    assert not h.native.creations
    # The mons are back: the next failure reopens, and schedules run again.
    h.opener.error = None
    wait_until(lambda: h.native.creations, what='a creation with the new client')
    assert h.native.creations[0] == 'client2'
    assert h.alive()
    assert h.scheduler.status(None)['refresh_error'] == ''


class RecoverRaises(LocalCluster):
    """A LocalCluster.recover that raises, as it did before it caught errors."""
    def __init__(self) -> None:
        super().__init__(lambda: FakeClient('client1'), LOG)
        self.recover_calls = 0

    def recover(self, error: BaseException) -> bool:
        self.recover_calls += 1
        raise OSError(errno.ETIMEDOUT, 'recover failed')


def test_a_recover_that_raises_does_not_end_the_thread(harness: Any) -> None:
    cluster = RecoverRaises()
    h = harness(cluster)
    client = cluster.get()
    client.blocklisted = True
    h.scheduler.start()
    wait_until(lambda: cluster.recover_calls >= 3, what='recover calls')
    assert h.alive()
    client.blocklisted = False  # e.g. the blocklist entry expired
    wait_until(lambda: h.native.creations, what='a creation')
    assert h.alive()


def test_a_failing_loop_reports_health_and_keeps_going(harness: Any) -> None:
    h = harness()
    h.native.planner.fail_pop_due = 3
    h.scheduler.start()
    wait_until(lambda: h.native.creations, what='a creation after the loop failed')
    assert h.alive()
    assert any(LOOP_HEALTH_CHECK in checks for checks in h.health)
    # Cleared once a pass works again.
    wait_until(lambda: LOOP_HEALTH_CHECK not in h.health[-1], what='the check to clear')


def test_a_create_command_racing_a_scheduled_run_does_not_end_the_thread(harness: Any) -> None:
    h = harness()
    scheduler = h.scheduler
    gate = threading.Event()
    h.native.create_gate = gate
    manual: Dict[str, Any] = {}
    raced = threading.Event()
    original_get = h.records.get

    def get_racing(key: str) -> Optional[Dict[str, Any]]:
        # The scheduler thread is about to start the image's run: a
        # `create` command gets there first.
        if threading.current_thread().name == 'mirror_snapshot-scheduler' and not raced.is_set():
            raced.set()

            def command() -> None:
                try:
                    manual['record'] = scheduler.create_now(h.image_level(), POOL_ID, 10)
                except BaseException as e:
                    manual['error'] = e
            threading.Thread(target=command, daemon=True).start()
            wait_until(lambda: KEY in scheduler._in_flight, what='the manual creation')
        return original_get(key)

    h.records.get = get_racing  # type: ignore[assignment]
    scheduler.start()
    wait_until(raced.is_set, what='the race')
    wait_until(lambda: scheduler.status(None)['images'][0]['note'], what='the skipped run reported')
    row = scheduler.status(None)['images'][0]
    assert 'previous creation was still running' in row['note']
    assert row['state'] == 'creating'
    assert h.alive()
    gate.set()
    wait_until(lambda: 'record' in manual, what='the manual creation to finish')
    assert manual['record']['trigger'] == 'manual'
    # Scheduled runs go on.
    wait_until(lambda: len(h.native.creations) >= 2, what='a scheduled creation after the race')
    assert h.records.get(KEY)['trigger'] in ('schedule', 'retry')
    assert h.alive()


def test_a_second_create_is_busy_while_one_runs(harness: Any) -> None:
    h = harness()
    gate = threading.Event()
    h.native.create_gate = gate
    first = h.scheduler._start_creation(
        primary_scheduler.TrackedImage.of('rbd', POOL_ID, '', IMAGE['name'], IMAGE['id']), None, 'manual')
    with pytest.raises(CreationBusy):
        h.scheduler.create_now(h.image_level(), POOL_ID, 10)
    gate.set()
    assert first.result(10)['result'] == 'created'


@pytest.mark.parametrize('failure', ['recover raises', 'record raises'])
def test_an_exception_inside_a_creation_still_clears_in_flight(harness: Any, failure: str) -> None:
    if failure == 'recover raises':
        h = harness(RecoverRaises())
        h.native.create_error = OSError(errno.ESHUTDOWN, 'blocklisted')
    else:
        h = harness()
        h.native.omap_error = RuntimeError('cannot encode the record')
    scheduler = h.scheduler
    try:
        record = scheduler.create_now(h.image_level(), POOL_ID, 10)
        assert record['result'] == 'error'  # recorded when it can be
    except Exception as e:
        assert failure == 'record raises', e  # the caller hears of what could not be recorded
    assert KEY not in scheduler._in_flight
    # Not "creating" forever: the next creation starts (no CreationBusy).
    h.native.create_error = None
    h.native.omap_error = None
    record = scheduler.create_now(h.image_level(), POOL_ID, 10)
    assert record['result'] == 'created'
    assert KEY not in scheduler._in_flight


def test_a_run_due_is_not_made_late_by_the_periodic_refresh(harness: Any) -> None:
    """The soak (200 images, 1-minute schedule) found every run 6 s late: the
    periodic refresh, due at the same second as the runs, listed every image
    first. Runs due go first now."""
    h = harness()
    scheduler = h.scheduler
    scheduler._refresh()  # planned: the image is due now
    scheduler._refresh_requested = False
    scheduler._last_refresh = 0.0  # and so is the periodic refresh
    h.native.list_delay = 1.0
    started = time.monotonic()
    scheduler._run_once()
    assert wait_until(lambda: h.native.created_at)
    assert h.native.created_at[0] - started < 0.5, 'the run waited for the refresh'
