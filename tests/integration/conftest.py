"""Integration tests run against the two real sandbox clusters."""
import time

import pytest

import importlib
import json
import sys
import uuid

from replication import Client
from sandbox import BUILD_DIR, Images, Site, purge_namespace, sandbox, unfence_namespace, wait_for


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption('--minutes', type=float, default=None,
                     help='how long test_random_ops runs (default: RANDOM_OPS_MINUTES or 4)')


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
    imgs.cleanup()
    purge_namespace(Site('site-b'), imgs.pool, imgs.namespace)  # the replicas


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
