"""Integration tests run against the two real sandbox clusters."""
import time

import pytest

from sandbox import Site, sandbox


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
