"""Access to the two sandbox clusters from tests: CLI wrappers and paths."""
import contextlib
import gc
import json
import os
import signal
import struct
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get('MIRROR_SNAPSHOT_BUILD_DIR', REPO / 'build'))
SANDBOX_DIR = Path(os.environ.get('SANDBOX_DIR', BUILD_DIR / 'sandbox'))
SANDBOX_SCRIPT = REPO / 'packaging' / 'sandbox'
CLI_TIMEOUT = 120
# An OSD paused for less than this keeps its PGs' read leases (16 s).
LEASE_SAFE_PAUSE = 5.0
# OSDs a test has paused (SIGSTOP) and not resumed yet, with the monotonic
# time of the pause: the hung-test watchdog (conftest.py) resumes them before
# it ends the run.
PAUSED_PIDS: Dict[int, float] = {}


class CommandFailed(AssertionError):
    pass


class Site:
    """One sandbox cluster, driven through the real `ceph` and `rbd` CLIs."""

    def __init__(self, name: str, sandbox_dir: Path = SANDBOX_DIR) -> None:
        self.name = name
        self.dir = sandbox_dir / name
        self.conf = self.dir / 'ceph.conf'

    def __repr__(self) -> str:
        return f'Site({self.name})'

    def run(self, tool: str, *args: str, check: bool = True,
            timeout: float = CLI_TIMEOUT, stdin: Optional[bytes] = None
            ) -> subprocess.CompletedProcess:
        cmd = [tool, '-c', str(self.conf), *args]
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, input=stdin)
        if check and proc.returncode != 0:
            raise CommandFailed(
                f'{" ".join(cmd)} exited {proc.returncode}: {proc.stderr.decode(errors="replace")}')
        return proc

    def ceph(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        return self.run('ceph', *args, **kwargs)

    def rbd(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        return self.run('rbd', *args, **kwargs)

    def ceph_json(self, *args: str) -> Any:
        return json.loads(self.ceph(*args, '--format', 'json').stdout)

    def mirror_snapshot(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        return self.ceph('mirror', 'snapshot', *args, **kwargs)

    def mirror_snapshot_json(self, *args: str) -> Any:
        return json.loads(self.mirror_snapshot(*args, '--format', 'json').stdout)

    def fsid(self) -> str:
        return self.ceph('fsid').stdout.decode().strip()

    def daemon_pid(self, daemon: str) -> Optional[int]:
        pid_file = self.dir / 'run' / f'{daemon}.pid'
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        # The pid must still be this daemon's: a stale file's pid may belong to
        # another process by now, and a test must never SIGSTOP or kill that.
        # Its config must be this site's: another sandbox on the machine (a
        # CI-like clone) has daemons of the same names.
        kind, _, ident = daemon.partition('.')
        try:
            argv = [arg.decode(errors='replace') for arg in Path(f'/proc/{pid}/cmdline').read_bytes().split(b'\0')]
            cwd = Path(os.readlink(f'/proc/{pid}/cwd'))
        except OSError:
            return None

        def arg(flag: str) -> Optional[str]:
            return argv[argv.index(flag) + 1] if flag in argv[:-1] else None
        conf = arg('-c')
        ours = (Path(argv[0]).name == f'ceph-{kind}' and arg('-i') == ident and conf is not None
                and (cwd / conf).resolve() == self.conf.resolve())
        return pid if ours else None

    def active_mgr(self) -> str:
        return self.ceph_json('mgr', 'stat')['active_name']

    def pause_osd(self, daemon: str) -> int:
        """`daemon` (an OSD) alive but answering nothing (SIGSTOP) until
        resume_osd(); its pid, remembered in PAUSED_PIDS for the watchdog."""
        pid = self.daemon_pid(daemon)
        assert pid is not None, f'{self.name}: {daemon} is not running'
        PAUSED_PIDS[pid] = time.monotonic()
        os.kill(pid, signal.SIGSTOP)
        return pid

    @contextlib.contextmanager
    def paused_osd(self, daemon: str) -> Iterator[int]:
        """pause_osd() for the block; resumed afterwards, whatever happened."""
        pid = self.pause_osd(daemon)
        try:
            yield pid
        finally:
            self.resume_osd(daemon, pid)

    def resume_osd(self, daemon: str, pid: int) -> None:
        """SIGCONT, then a re-peer if the pause was long. Each sandbox pool
        lives on one OSD, and Ceph 16.2 can leave such a PG laggy for ever once
        its OSD was paused past its read lease (16 s by default; nothing
        re-checks it: ceph/ceph-container#1682, ceph/ceph#71663): every op on
        it then waits, and the tests after would too. Marking the OSD down
        makes it boot again and its PGs re-peer."""
        os.kill(pid, signal.SIGCONT)
        paused_seconds = time.monotonic() - PAUSED_PIDS.pop(pid)
        if paused_seconds < LEASE_SAFE_PAUSE:
            return
        osd_id = int(daemon.split('.')[1])
        # An OSD marked down more than osd_max_markdown_count (5) times in 10
        # minutes shuts itself down: test_role_changes pauses one 9 times.
        self.ceph('config', 'set', 'osd', 'osd_max_markdown_count', '1000', check=False)

        def up_from() -> int:
            osds = self.ceph_json('osd', 'dump')['osds']
            return next(o['up_from'] if o['up'] else -1 for o in osds if o['osd'] == osd_id)
        before = up_from()
        self.ceph('osd', 'down', str(osd_id), check=False)
        wait_for(lambda: up_from() > before, 120, what=f'{self.name}: {daemon} up again after a re-peer')
        epoch = up_from()

        def its_pgs_active() -> bool:
            stats = [pg for pg in self.ceph_json('pg', 'dump', 'pgs')['pg_stats'] if osd_id in pg['acting']]
            return bool(stats) and all(pg['reported_epoch'] >= epoch and pg['state'].startswith('active')
                                       and 'laggy' not in pg['state'] for pg in stats)
        wait_for(its_pgs_active, 120, what=f"{self.name}: {daemon}'s PGs active again")


def sandbox(*args: str, env: Optional[dict] = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([str(SANDBOX_SCRIPT), *args], capture_output=True,
                          timeout=timeout, env=full_env)


def project_version() -> str:
    for line in (REPO / 'CMakeLists.txt').read_text().splitlines():
        if line.startswith('project(') and 'VERSION' in line:
            words = line.split()
            return words[words.index('VERSION') + 1]
    raise AssertionError('no project VERSION in CMakeLists.txt')


def stderr_lines(proc: subprocess.CompletedProcess) -> List[str]:
    return [l for l in proc.stderr.decode(errors='replace').splitlines() if l.strip()]


def socket_inodes(pid: int) -> Set[str]:
    """Inodes of the sockets process `pid` has open (to match /proc/net/tcp rows);
    empty if it is gone."""
    inodes = set()
    try:
        for fd in os.listdir(f'/proc/{pid}/fd'):
            try:
                target = os.readlink(f'/proc/{pid}/fd/{fd}')
            except OSError:
                continue
            if target.startswith('socket:['):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = 'condition'):
    """Polls until predicate() is truthy; returns its value or fails the test."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout:.0f} s waiting for {what}')
        time.sleep(interval)


def resize(image, size: int, timeout: float = 30) -> None:
    """Resizes through an open librbd handle and returns once that handle sees
    the new size. If another client holds the image's exclusive lock (site-b's
    replayer takes the primary's briefly to remove the snapshots it released),
    librbd forwards the resize to that client and this handle learns the new
    size only from the header-update notify: a write beyond the old size
    straight after would fail with EINVAL. `size()` refreshes the handle once
    the notify has arrived."""
    image.resize(size)
    wait_for(lambda: image.size() == size, timeout, interval=0.1, what=f'the handle to see size {size}')


class Images:
    """Mirrored test images in their own namespace of a pool (`rbd` unless told)."""

    def __init__(self, site: Site, namespace: str, pool: str = 'rbd') -> None:
        self.site = site
        self.namespace = namespace
        self.pool = pool
        self.created: List[str] = []

    def setup(self) -> None:
        self.site.rbd('namespace', 'create', f'{self.pool}/{self.namespace}')
        self.site.rbd('mirror', 'pool', 'enable', f'{self.pool}/{self.namespace}', 'image')

    def spec(self, name: str) -> str:
        return f'{self.pool}/{self.namespace}/{name}'

    def create(self, name: str, size: str = '16M', mirror: str = 'snapshot') -> str:
        spec = self.spec(name)
        self.site.rbd('create', '--size', size, spec)
        if mirror:
            self.site.rbd('mirror', 'image', 'enable', spec, mirror)
        self.created.append(spec)
        return spec

    def mirror_snapshots(self, spec: str) -> List[dict]:
        snaps = json.loads(self.site.rbd('snap', 'ls', '--all', '--format', 'json', spec).stdout)
        return [s for s in snaps if s['namespace']['type'] == 'mirror'
                and s['namespace']['state'] == 'primary']

    def cleanup(self) -> None:
        for spec in self.created:
            self.site.rbd('mirror', 'image', 'disable', '--force', spec, check=False)
        # Every image, with its snapshots and clones: a namespace left
        # behind keeps its data in the memstore OSD's memory for the rest
        # of the run (seen: 2 GiB a third into a CI run).
        purge_namespace(self.site, self.pool, self.namespace)


RBD_FEATURE_NON_PRIMARY = 1 << 10


def set_fence(ioctx, name: str, fenced: bool) -> None:
    """Sets or clears the NON_PRIMARY feature bit with which the module fences
    a replica against clients (as `rbd` has no command for it): what a forced
    operation on the secondary, or an old module, would do."""
    import rbd
    with rbd.Image(ioctx, name, read_only=True) as image:
        image_id = image.id()
    ioctx.execute(f'rbd_header.{image_id}', 'rbd', 'set_features',
                  struct.pack('<QQ', RBD_FEATURE_NON_PRIMARY if fenced else 0, RBD_FEATURE_NON_PRIMARY))
    ioctx.notify(f'rbd_header.{image_id}', '')


# The tests' own librados clients give up on an operation after this long
# instead of waiting forever (an OSD a test stopped and a failure left stopped):
# the test fails with ETIMEDOUT rather than hang the whole run.
TEST_CLIENT_CONF = {'rados_osd_op_timeout': '300', 'rados_mon_op_timeout': '120'}


def unfence_namespace(site: Site, pool: str, namespace: str) -> None:
    """Lifts the fence of every image of pool/namespace, so that they can be removed."""
    import rados
    import rbd
    with rados.Rados(conffile=str(site.conf), conf=TEST_CLIENT_CONF) as cluster:
        with cluster.open_ioctx(pool) as ioctx:
            ioctx.set_namespace(namespace)
            try:
                names = rbd.RBD().list(ioctx)
            except rbd.Error:
                return
            for name in names:
                try:
                    set_fence(ioctx, name, False)
                except (rbd.Error, rados.Error):
                    pass


def disable_mirroring_in_namespace(site: Site, pool: str, namespace: str) -> None:
    """Mirroring off for every image of pool/namespace on `site`: a primary
    left there (a replica promoted by the test) would be replicated back by
    the other site's module while the namespaces are removed."""
    import rados
    import rbd
    with rados.Rados(conffile=str(site.conf), conf=TEST_CLIENT_CONF) as cluster:
        with cluster.open_ioctx(pool) as ioctx:
            if not rbd.RBD().namespace_exists(ioctx, namespace):
                return
            ioctx.set_namespace(namespace)
            for name in rbd.RBD().list(ioctx):
                try:
                    set_fence(ioctx, name, False)
                    with rbd.Image(ioctx, name) as image:
                        if image.mirror_image_get_info()['state'] != rbd.RBD_MIRROR_IMAGE_DISABLED:
                            image.mirror_image_disable(True)
                except (rbd.Error, rados.Error):
                    pass


PURGE_SECONDS = 90


def purge_namespace(site: Site, pool: str, namespace: str) -> None:
    """Removes every image of pool/namespace on `site` (clones before their
    parents, snapshots unprotected first), then the namespace. Replicas are
    fenced against clients: the fence is lifted first. Through librbd in
    this process: one `rbd` command per step would cost seconds per test."""
    import rados
    import rbd
    deadline = time.monotonic() + PURGE_SECONDS
    with rados.Rados(conffile=str(site.conf), conf=TEST_CLIENT_CONF) as cluster:
        with cluster.open_ioctx(pool) as ioctx:
            if not rbd.RBD().namespace_exists(ioctx, namespace):
                return
            ioctx.set_namespace(namespace)
            for passes in range(1 << 30):
                if passes >= 2:
                    # What is left waits for something: an image this very
                    # process still has open, through a native object only a
                    # reference cycle keeps (a traceback kept by pytest.raises),
                    # goes with a collection; a killed client's watch with time.
                    gc.collect()
                    time.sleep(1)
                names = rbd.RBD().list(ioctx)
                if not names:
                    break
                # A clone goes before its parent can; a killed client's watch
                # holds an image until the OSD times it out (30 s).
                assert time.monotonic() < deadline, f'{site}: images left in {pool}/{namespace}: {names}'
                for name in names:
                    try:
                        set_fence(ioctx, name, False)
                        with rbd.Image(ioctx, name) as image:
                            for snap in list(image.list_snaps()):
                                if snap.get('namespace', rbd.RBD_SNAP_NAMESPACE_TYPE_USER) != \
                                        rbd.RBD_SNAP_NAMESPACE_TYPE_USER:
                                    continue   # mirror snapshots go with the image
                                if image.is_protected_snap(snap['name']):
                                    image.unprotect_snap(snap['name'])
                                image.remove_snap(snap['name'])
                        rbd.RBD().remove(ioctx, name)
                    except (rbd.Error, rados.Error):
                        pass   # tried again in the next pass
        with cluster.open_ioctx(pool) as ioctx:
            rbd.RBD().namespace_remove(ioctx, namespace)
