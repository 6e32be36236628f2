"""The Debian package (packaging/debian, built by packaging/deb): lintian
clean, installed with dpkg -i into Ceph's own module directory, loaded from
there by a sandbox mgr started with the stock mgr_module_path, replicating an
image; dpkg -r and dpkg -P take every file of it away again.

Needs root (dpkg -i); CI runs as root."""
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import List

import pytest

from replication import Client, snapshot_now, wait_synced
from sandbox import REPO, Images, Site, sandbox, wait_for

PACKAGE = 'ceph-mgr-mirror-snapshot'
MULTIARCH = subprocess.run(['dpkg-architecture', '-qDEB_HOST_MULTIARCH'], capture_output=True,
                           text=True).stdout.strip()
STOCK_MODULE_PATH = Path('/usr/share/ceph/mgr')
INSTALLED_MODULE = STOCK_MODULE_PATH / 'mirror_snapshot'
MiB = 1 << 20


def run(*argv: str, env=None, timeout: float = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=timeout)
    assert proc.returncode == 0, f'{" ".join(argv)} exited {proc.returncode}:\n' + proc.stdout.decode()[-4000:]
    return proc


def package_status() -> str:
    proc = subprocess.run(['dpkg-query', '-W', '-f=${Status}', PACKAGE], capture_output=True)
    return proc.stdout.decode() if proc.returncode == 0 else 'not known'


def package_files(deb: Path) -> List[Path]:
    listing = run('dpkg-deb', '--fsys-tarfile', str(deb)).stdout
    names = subprocess.run(['tar', '-t'], input=listing, capture_output=True, check=True).stdout.decode()
    return [Path(name[1:]) for name in names.split() if name.startswith('./') and not name.endswith('/')]


def prebuilt(out: Path) -> None:
    """Waits for the build that `packaging/dev test` started in the
    background at the start of the run (niced, so that it takes only the
    CPU the other tests leave idle: it costs CI no time of its own)."""
    rc_file = out / 'rc'
    deadline = time.monotonic() + 1800
    while not rc_file.exists():
        assert time.monotonic() < deadline, f'the background package build in {out} did not finish in 30 min'
        time.sleep(2)
    log = (out / 'build.log').read_text(errors='replace')
    assert rc_file.read_text().strip() == '0', 'the background package build failed:\n' + log[-4000:]


@pytest.fixture(scope='module')
def deb(tmp_path_factory) -> Path:
    """The package built from this tree (without its unit tests: ctest runs
    them), by this fixture or, under `packaging/dev test`, in the background
    (MIRROR_SNAPSHOT_DEB_PREBUILD names its directory)."""
    assert os.geteuid() == 0, 'this test installs a package: run it as root (CI does)'
    if os.environ.get('MIRROR_SNAPSHOT_DEB_PREBUILD'):
        out = Path(os.environ['MIRROR_SNAPSHOT_DEB_PREBUILD'])
        prebuilt(out)
    else:
        out = tmp_path_factory.mktemp('deb')
        env = dict(os.environ, MIRROR_SNAPSHOT_BUILD_DIR=str(out),
                   DEB_BUILD_OPTIONS=f'nocheck parallel={os.cpu_count() or 1}')
        run(str(REPO / 'packaging' / 'deb'), 'lintian', env=env, timeout=1800)
    debs = [p for p in (out / 'deb').glob(f'{PACKAGE}_*.deb')]
    assert len(debs) == 1, debs
    return debs[0]


def start_mgr_with_stock_module_path(site: Site) -> int:
    """Site's mgr.x restarted alone (mgr.y stopped so that it cannot take
    over), reading modules from Ceph's own directory instead of the
    sandbox's: the module there is the installed one."""
    for daemon in ('mgr.y', 'mgr.x'):
        pid = site.daemon_pid(daemon)
        if pid:
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: site.daemon_pid(daemon) is None, 30, what=f'{daemon} gone')
    run('ceph-mgr', '-c', str(site.conf), '-i', 'x', f'--mgr_module_path={STOCK_MODULE_PATH}')
    return wait_for(lambda: site.daemon_pid('mgr.x'), 30, what='mgr.x started')


def module_loaded_from_package(site: Site, pid: int) -> bool:
    if site.ceph_json('mgr', 'stat').get('active_name') != 'x':
        return False
    proc = site.mirror_snapshot('status', '--format', 'json', check=False)
    maps = Path(f'/proc/{pid}/maps').read_text()
    return proc.returncode == 0 and f'/usr/lib/{MULTIARCH}/{PACKAGE}/_native' in maps


def test_package_installs_replicates_and_removes_cleanly(deb: Path, images: Images, site_a: Site,
                                                         site_b: Site) -> None:
    files = package_files(deb)
    assert INSTALLED_MODULE / 'module.py' in files
    assert Path('/etc/prometheus/ceph/mirror_snapshot_alerts.yml') in files
    assert not INSTALLED_MODULE.exists(), f'{INSTALLED_MODULE} exists before the package is installed'
    run('dpkg', '-i', str(deb))
    try:
        assert package_status() == 'install ok installed'
        for path in files:
            assert path.exists(), f'{path} of the package is not installed'
        native = [p for p in INSTALLED_MODULE.glob('_native*.so')]
        assert len(native) == 1 and native[0].is_symlink() and native[0].resolve().is_file(), native

        pid = start_mgr_with_stock_module_path(site_b)
        wait_for(lambda: module_loaded_from_package(site_b, pid), 120, interval=1,
                 what="site-b's mgr running the installed module")

        images.create('packaged', size='64M')
        a = Client(site_a, images.namespace)
        b = Client(site_b, images.namespace)
        try:
            with a.image('packaged') as image:
                image.write(os.urandom(4 * MiB), 12 * MiB)
                image.write(os.urandom(1 * MiB), 40 * MiB)
            snap = snapshot_now(images, 'packaged')
            status = wait_synced(site_b, images.spec('packaged'), snap)
            local = status['last_complete']['local_snap_name']
            assert b.digest('packaged', snap_name=local) == a.digest('packaged', snap_id=snap)
        finally:
            a.close()
            b.close()
        assert site_b.daemon_pid('mgr.x') == pid, "the installed module's mgr restarted during the test"
    finally:
        pid = site_b.daemon_pid('mgr.x')
        if pid:
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: site_b.daemon_pid('mgr.x') is None, 30, what='mgr.x gone')
        sandbox('up')   # both mgrs back on the sandbox's module path
        removed = subprocess.run(['dpkg', '-r', PACKAGE], capture_output=True)
    assert removed.returncode == 0, removed.stderr.decode()
    # The mgr that ran it wrote __pycache__ beside the module's files: the
    # package's removal takes it too, and with it every directory of its own.
    assert not INSTALLED_MODULE.exists(), list(INSTALLED_MODULE.rglob('*'))
    assert not Path(f'/usr/lib/{MULTIARCH}/{PACKAGE}').exists()
    conffiles = [p for p in files if str(p).startswith('/etc/')]
    assert all(p.exists() for p in conffiles), 'dpkg -r keeps configuration files'
    run('dpkg', '-P', PACKAGE)
    assert package_status() == 'not known' or 'not-installed' in package_status(), package_status()
    assert not any(p.exists() for p in files), [p for p in files if p.exists()]
