"""Integration tests run against the two real sandbox clusters."""
import faulthandler
import importlib
import json
import os
import signal
import sys
import threading
import time
import uuid

import pytest

from replication import Client, reset_option
from sandbox import (BUILD_DIR, PAUSED_PIDS, Images, Site, disable_mirroring_in_namespace, purge_namespace, sandbox,
                     unfence_namespace, wait_for)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption('--minutes', type=float, default=None,
                     help='how long test_random_ops runs (default: RANDOM_OPS_MINUTES or 2; longer runs find more)')


# A test that runs longer than this is taken as hung: the stacks of every
# thread are printed and the run ends, so that CI fails in bounded time and
# says where (a call into librados waits forever on an OSD that never answers).
WATCHDOG_SECONDS = float(os.environ.get('MIRROR_SNAPSHOT_TEST_WATCHDOG', '900'))
# The run's real stderr: while a test runs, pytest's capture has fd 2 in a
# temporary file, which an exit from the watchdog would never show.
REAL_STDERR = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    REAL_STDERR['file'] = os.fdopen(os.dup(2), 'w')


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    """The package test runs last: under `packaging/dev test` its package is
    built in the background meanwhile (test_debian_package.py)."""
    items.sort(key=lambda item: item.nodeid.startswith('test_debian_package.py')
               or '/test_debian_package.py' in item.nodeid)


def real_stderr():
    return REAL_STDERR.get('file', sys.__stderr__)


@pytest.fixture(autouse=True)
def hung_test_watchdog(request: pytest.FixtureRequest):
    limit = WATCHDOG_SECONDS
    minutes = request.config.getoption('--minutes') or float(os.environ.get('RANDOM_OPS_MINUTES', '0'))
    if minutes:
        limit = max(limit, minutes * 60 + 600)   # test_random_ops run longer on purpose
    faulthandler.dump_traceback_later(limit, exit=False, file=real_stderr())
    # Then the run ends; an OSD the test paused is resumed first, or the next
    # run on this sandbox would hang on it ('sandbox up' sees it running).
    abort = threading.Timer(limit + 2, _end_hung_run)
    abort.daemon = True
    abort.start()
    yield
    abort.cancel()
    faulthandler.cancel_dump_traceback_later()


def _end_hung_run() -> None:
    for pid in list(PAUSED_PIDS):
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass
    real_stderr().write('\nthe test above hung: run ended by its watchdog\n')
    real_stderr().flush()
    os._exit(1)


# packaging/dev names a file here where each test's start and outcome are
# written as they happen: if the test process dies (librbd 16.2 can abort a
# client of the tests', docs/operations.md), the run goes on in a new process
# with the tests that had not finished, and says so.
RECORD = os.environ.get('MIRROR_SNAPSHOT_TEST_RECORD')
FAILED_PHASES = set()


def record(line: str) -> None:
    if RECORD:
        with open(RECORD, 'a') as f:
            f.write(line + '\n')


def pytest_runtest_logstart(nodeid: str, location) -> None:
    record(f'started {nodeid}')


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A failure is printed as it happens, not only in the summary at the end:
    a run cut short (a hang, CI's time limit) still says what failed and why."""
    if report.failed:
        FAILED_PHASES.add(report.nodeid)
    if report.when == 'teardown':
        record(f"{'failed' if report.nodeid in FAILED_PHASES else 'finished'} {report.nodeid}")
    if report.failed:
        out = real_stderr()
        out.write(f'\n---- {report.nodeid} failed in {report.when} ----\n{report.longreprtext}\n')
        for title, text in report.sections:
            if 'stdout' in title or 'stderr' in title:
                out.write(f'---- {title} ----\n{text[-20000:]}\n')
        out.write(f'---- end of {report.nodeid} ----\n')
        out.flush()


@pytest.fixture(scope='session', autouse=True)
def sandbox_up() -> None:
    """`packaging/sandbox up` is idempotent: it reuses running clusters."""
    started = time.monotonic()
    proc = sandbox('up')
    assert proc.returncode == 0, proc.stderr.decode() + proc.stdout.decode()
    print(f'sandbox up took {time.monotonic() - started:.1f} s')


@pytest.fixture(scope='session')
def site_a() -> Site:
    return Site('site-a')


@pytest.fixture(scope='session')
def site_b() -> Site:
    return Site('site-b')


@pytest.fixture(scope='session', params=['site-a', 'site-b'])
def site(request: pytest.FixtureRequest) -> Site:
    return Site(request.param)


def wait_for_tx_peer(site_a: Site, pool: str) -> None:
    """site-a can create mirror snapshots of `pool` once site-b is a peer
    that receives from it, with its mirror uuid known: the rx-tx peer of
    the sandbox's bootstrap, or a tx-only one site-b's module announced (as
    rbd-mirror would)."""
    def has_tx_peer() -> bool:
        info = json.loads(site_a.rbd('mirror', 'pool', 'info', pool, '--format', 'json').stdout)
        return any(p['direction'] in ('tx-only', 'rx-tx') and p.get('mirror_uuid')
                   for p in info.get('peers', []))
    wait_for(has_tx_peer, 90, what=f'site-b to announce itself to site-a in pool {pool}')


@pytest.fixture(scope='session')
def primary_ready(site_a: Site, sandbox_up: None) -> Site:
    wait_for_tx_peer(site_a, 'rbd')
    return site_a


def namespace_images(site_a: Site, pool: str):
    """A fresh namespace of `pool` on site-a for one test's images; removed
    afterwards on both sites, with any schedule the test left."""
    imgs = Images(site_a, f't{uuid.uuid4().hex[:8]}', pool=pool)
    imgs.setup()
    yield imgs
    site_a.ceph('mirror', 'snapshot', 'schedule', 'remove', f'{pool}/{imgs.namespace}/', check=False)
    for spec in imgs.created:
        site_a.ceph('mirror', 'snapshot', 'schedule', 'remove', spec, check=False)
    unfence_namespace(site_a, imgs.pool, imgs.namespace)   # replicas there after a failback
    site_b = Site('site-b')
    disable_mirroring_in_namespace(site_b, imgs.pool, imgs.namespace)   # primaries there after a promote
    imgs.cleanup()
    purge_namespace(site_b, imgs.pool, imgs.namespace)  # the replicas
    # What a module was bringing back meanwhile (a copy that began before
    # mirroring was disabled) is removed too: nothing stays for later tests.
    purge_namespace(site_a, imgs.pool, imgs.namespace)


@pytest.fixture
def images(primary_ready: Site):
    """A namespace of pool rbd (on the memstore OSDs) for one test's images."""
    yield from namespace_images(primary_ready, 'rbd')


@pytest.fixture
def persistent_images(primary_ready: Site):
    """A namespace of pool rbd_persist, which lives on each site's bluestore
    OSD (osd.1): for tests that kill and restart an OSD."""
    wait_for_tx_peer(primary_ready, 'rbd_persist')
    yield from namespace_images(primary_ready, 'rbd_persist')


@pytest.fixture(scope='module')
def replayer_off_pool_rbd(site_b: Site, sandbox_up: None):
    """For tests that drive journal steps through the native binding
    themselves: site-b's module keeps off pool rbd meanwhile (it would
    replicate their journal-mode images too)."""
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_skip_pools', 'rbd')
    time.sleep(5)  # the mgr hands the option to the module, whose next refresh drops the pool
    yield
    reset_option(site_b, 'replay_skip_pools', '')


@pytest.fixture(scope='session')
def native():
    """The module's native extension, loaded in this test process (its
    functions take explicit clusters, so they work outside ceph-mgr too)."""
    sys.path.insert(0, str(BUILD_DIR / 'mgr_module' / 'mirror_snapshot'))
    try:
        yield importlib.import_module('_native')
    finally:
        sys.path.pop(0)


def site_clients(images: Images, site_b: Site):
    a = Client(images.site, images.namespace, pool=images.pool)
    b = Client(site_b, images.namespace, pool=images.pool)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def clients(images: Images, site_b: Site):
    """python-rados/rbd clients of both sites, in the test's namespace."""
    yield from site_clients(images, site_b)


@pytest.fixture
def persistent_clients(persistent_images: Images, site_b: Site):
    """The same, in the namespace of pool rbd_persist."""
    yield from site_clients(persistent_images, site_b)
