"""Schedules survive `ceph mgr fail` and a full mgr outage; missed runs are
caught up exactly once. Slow by nature: it waits for minute boundaries."""
import json
import os
import signal
import time

from sandbox import Images, sandbox, wait_for
from test_schedules import schedule, status_of


def snapshot_times(images: Images, spec: str) -> list:
    out = []
    for snap in images.mirror_snapshots(spec):
        out.append((snap['id'], time.mktime(time.strptime(snap['timestamp'], '%a %b %d %H:%M:%S %Y'))))
    return out


def wait_for_module(site) -> None:
    wait_for(lambda: site.ceph('mirror', 'snapshot', 'version', check=False).returncode == 0, 120,
             what='the module to answer')


def test_failover_keeps_schedules_and_an_outage_is_caught_up_once(images: Images) -> None:
    site = images.site
    img = images.create('img')
    site.rbd('config', 'image', 'set', img, 'rbd_mirroring_max_mirroring_snapshots', '20')
    schedule(site, 'add', img, '1m')
    first = wait_for(lambda: (status_of(site, img).get('last_run') or {}).get('snap_id'), 75,
                     what='the first scheduled snapshot')

    # 1. Failover to the standby mgr: the schedule is still there and the
    #    next minute gets exactly one snapshot.
    site.ceph('mgr', 'fail')
    wait_for_module(site)
    listed = json.loads(schedule(site, 'ls', img, '--format', 'json').stdout)
    assert [s['interval'] for r in listed for s in r['schedules']] == ['1m']
    after_failover = wait_for(lambda: (status_of(site, img).get('last_run') or {}).get('snap_id', 0) > first
                              and status_of(site, img)['last_run'], 75, what='a run after failover')
    minutes = [int(t // 60) for _, t in snapshot_times(images, img)]
    assert len(minutes) == len(set(minutes)), f'two snapshots in one minute: {minutes}'

    # 2. Both mgrs down across two or more scheduled minutes.
    killed_at = time.time()
    for mgr in ('mgr.x', 'mgr.y'):
        pid = site.daemon_pid(mgr)
        if pid:
            os.kill(pid, signal.SIGKILL)
    # Come back a few seconds into a minute, at least two slots later, so the
    # catch-up cannot be confused with the next regular run.
    resume = (int(killed_at // 60) + 2) * 60 + 3   # slots m+1 and m+2 are missed
    time.sleep(max(0, resume - time.time()))
    restarted_at = time.time()
    proc = sandbox('up')
    assert proc.returncode == 0, proc.stderr.decode()
    wait_for_module(site)
    next_boundary = (int(restarted_at // 60) + 1) * 60
    catch_up = wait_for(lambda: (status_of(site, img).get('last_run') or {}).get('snap_id', 0) >
                        after_failover['snap_id'] and status_of(site, img)['last_run'], 50,
                        what='the catch-up snapshot')
    assert time.time() < next_boundary, 'the catch-up came too late to be told apart from the next run'
    during_outage_and_catch_up = [sid for sid, t in snapshot_times(images, img)
                                  if killed_at < t < next_boundary]
    assert during_outage_and_catch_up == [catch_up['snap_id']], during_outage_and_catch_up
    # ...and the regular schedule goes on after it.
    wait_for(lambda: (status_of(site, img).get('last_run') or {}).get('snap_id', 0) > catch_up['snap_id'],
             75, what='the next regular run')
    assert status_of(site, img)['last_run']['scheduled_for'].endswith(':00Z')
