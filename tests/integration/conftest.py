"""Integration tests run against the two real sandbox clusters."""
import time

import pytest

import importlib
import json
import sys
import uuid

from replication import Client
from sandbox import BUILD_DIR, Images, Site, purge_namespace, sandbox, wait_for


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


@pytest.fixture(scope='session')
def primary_ready(site_a: Site, sandbox_up: None) -> Site:
    """site-a can create mirror snapshots once site-b is a peer of pool rbd
    that receives from it, with its mirror uuid known: the rx-tx peer of
    the sandbox's bootstrap, or a tx-only one site-b's module announced (as
    rbd-mirror would)."""
    def has_tx_peer() -> bool:
        info = json.loads(site_a.rbd('mirror', 'pool', 'info', 'rbd', '--format', 'json').stdout)
        return any(p['direction'] in ('tx-only', 'rx-tx') and p.get('mirror_uuid')
                   for p in info.get('peers', []))
    wait_for(has_tx_peer, 90, what='site-b to announce itself to site-a')
    return site_a


@pytest.fixture
def images(primary_ready: Site):
    """A namespace of pool rbd on site-a for one test's images."""
    imgs = Images(primary_ready, f't{uuid.uuid4().hex[:8]}')
    imgs.setup()
    yield imgs
    primary_ready.ceph('mirror', 'snapshot', 'schedule', 'remove', f'rbd/{imgs.namespace}/',
                       check=False)
    for spec in imgs.created:
        primary_ready.ceph('mirror', 'snapshot', 'schedule', 'remove', spec, check=False)
    imgs.cleanup()
    purge_namespace(Site('site-b'), imgs.pool, imgs.namespace)  # the replicas


@pytest.fixture(scope='session')
def native():
    """The module's native extension, loaded in this test process (its
    functions take explicit clusters, so they work outside ceph-mgr too)."""
    sys.path.insert(0, str(BUILD_DIR / 'mgr_module' / 'mirror_snapshot'))
    try:
        yield importlib.import_module('_native')
    finally:
        sys.path.pop(0)


@pytest.fixture
def clients(images: Images, site_b: Site):
    """python-rados/rbd clients of both sites, in the test's namespace."""
    a = Client(images.site, images.namespace)
    b = Client(site_b, images.namespace)
    yield a, b
    a.close()
    b.close()
