"""Commands that make the module work on both clusters need the mgr's 'w'
permission (review finding #17): a read-only mgr user must not start a read
of every object of an image on both sites, with the peer's credentials."""
import errno
import subprocess
import uuid

from sandbox import Site


def test_verify_needs_write_permission(site_b: Site, tmp_path) -> None:
    name = f'client.ro-{uuid.uuid4().hex[:8]}'
    keyring = tmp_path / 'keyring'
    site_b.ceph('auth', 'get-or-create', name, 'mon', 'allow r', 'mgr', 'allow r', '-o', str(keyring))
    try:
        def as_reader(*args: str) -> subprocess.CompletedProcess:
            return site_b.ceph('--name', name, '--keyring', str(keyring), *args, check=False)

        # The user can read: status answers.
        assert as_reader('mirror', 'snapshot', 'status').returncode == 0
        verify = as_reader('mirror', 'snapshot', 'image', 'verify', 'rbd/no-such-image')
        assert verify.returncode == errno.EACCES, verify.stderr.decode()
        # Reading the mgr's memory is monitoring; changing its heap is not.
        assert as_reader('mirror', 'snapshot', 'memory').returncode == 0
        release = as_reader('mirror', 'snapshot', 'memory', 'release')
        assert release.returncode == errno.EACCES, release.stderr.decode()
    finally:
        site_b.ceph('auth', 'rm', name, check=False)
