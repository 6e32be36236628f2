"""An OSD of either site stopped and started again in the middle of a sync.

Pool rbd_persist lives on each site's bluestore OSD (osd.1), whose data
survives the stop. While the OSD is down the sync's I/O waits in librados:
the image must be reported stalled (status and health), and once
`packaging/sandbox up` has started the OSD again the same sync must go on by
itself and finish with the primary's data."""
import os
import signal
from pathlib import Path

import pytest

from replication import (assert_replica_matches, copying_past, image_status, reset_option,
                         reset_slow_sync, start_slow_sync, wait_for_health)
from sandbox import Images, Site, sandbox, wait_for

STALL_SECONDS = 5


def stop(site: Site, daemon: str, how: signal.Signals) -> None:
    pid = site.daemon_pid(daemon)
    assert pid is not None, f'{site.name} {daemon} is not running'
    os.kill(pid, how)
    wait_for(lambda: not Path(f'/proc/{pid}').exists(), 60, interval=0.1, what=f'{daemon} to exit')


@pytest.mark.parametrize('site_name, how', [('site-b', signal.SIGKILL), ('site-a', signal.SIGTERM)],
                         ids=['secondary-osd-killed', 'primary-osd-stopped'])
def test_osd_stopped_mid_sync_stalls_it_and_it_resumes_by_itself(
        persistent_images: Images, site_b: Site, persistent_clients, site_name: str, how: signal.Signals) -> None:
    images = persistent_images
    spec = images.spec('osd')
    site = Site(site_name)
    site_b.ceph('config', 'set', 'mgr', 'mgr/mirror_snapshot/replay_stall_seconds', str(STALL_SECONDS))
    try:
        # One 4 MiB chunk in flight and 1 GiB to copy: some seconds even on a
        # fast machine, for the stop to land mid-copy.
        _, second = start_slow_sync(images, site_b, 'osd', '1G', one_chunk=True)
        wait_for(copying_past(site_b, spec, 0.05, 0.7), 90, interval=0.05, what='sync copying')
        stop(site, 'osd.1', how)
        stalled = wait_for(lambda: (s := image_status(site_b, spec)) and
                           (s['last_error'] or '').startswith('stalled') and s, 60, what='stall reported')
        assert stalled['state'] == 'error'
        assert stalled['in_flight']['to_snap_id'] == second
        assert stalled['last_complete']['primary_snap_id'] != second
        wait_for_health(site_b, 'MIRROR_SNAPSHOT_REPLAY_FAILED', True)
    finally:
        proc = sandbox('up')    # starts the stopped OSD again
        reset_slow_sync(site_b)
        reset_option(site_b, 'replay_stall_seconds', '60')
    assert proc.returncode == 0, proc.stderr.decode()
    status = assert_replica_matches(images, site_b, persistent_clients, 'osd', second)
    # The same sync went on (librados waits for the OSD): it was not failed
    # and retried from its checkpoint.
    assert status['last_sync']['resumed_at'] is None, status['last_sync']
    wait_for_health(site_b, 'MIRROR_SNAPSHOT_REPLAY_FAILED', False)
