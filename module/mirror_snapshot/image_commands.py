"""Commands on one mirrored image that need its peer: demote, promote and
resync (changing which site is primary), verify, and removing a replica
whose primary is gone.

The work is native (role_change.*, image_verify.*); this file finds the
peer, gets the image to itself for a role change (one role change per image
at a time, and the replayer stops syncing it first) and words the results.

A command that times out (the mgr answers ETIMEDOUT) goes on running on the
native thread. Retried meanwhile, it answers EBUSY "already running"; retried
after, it finds the work done and reports it (`already`).
"""
import errno
import threading
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional, Tuple

from . import levels
from .arguments import uint64_argument
from .errors import CommandError
from .peer_connections import CONNECT_TIMEOUT_SECONDS, PeerConnections, peer_error


class ImageCommands:
    def __init__(self, native: Any, local: Any, peers: PeerConnections, replayer: Any,
                 scheduler: Any, log: Any) -> None:
        self._native = native
        self._local = local  # LocalCluster
        self._peers = peers
        self._replayer = replayer
        self._scheduler = scheduler
        self._log = log
        self._running_lock = threading.Lock()
        self._running: Dict[Tuple[str, str, str], Tuple[str, float]] = {}  # image -> (what, since)

    def demote(self, image_spec: str) -> Dict[str, Any]:
        level = levels.parse_image_spec(self._native, image_spec)
        with self._role_change(level, 'demote'):
            report = self._native.demote_image(self._local.get(), level.pool, level.namespace, level.image)
        self._scheduler.schedules_changed()  # it is not scheduled any more
        if not report['already']:
            self._log.info(f"demoted '{level.spec}': final snapshot {report['demoted_snap_id']}")
        return {'image': level.spec, 'demoted_snap_id': report['demoted_snap_id'], 'already': report['already']}

    def promote(self, image_spec: str, force: bool) -> Dict[str, Any]:
        level = levels.parse_image_spec(self._native, image_spec)
        cluster = self._local.get()
        remote, peer_error = self._peer_of(cluster, level.pool)
        if remote is None and not force:
            raise CommandError(errno.EBUSY, f"cannot check the primary of '{level.spec}' ({peer_error}): "
                                            "promote with --force to fail over without it")
        with self._role_change(level, 'promote'):
            paused = self._pause(level)
            try:
                report = self._native.promote_image(cluster, level.pool, level.namespace, level.image,
                                                    remote, force)
            finally:
                self._replayer.resume(paused)
        self._scheduler.schedules_changed()  # this site's schedules cover it now
        if report['already']:
            return dict(report, image=level.spec)
        rolled = report['rolled_back']
        at = (f"at primary snapshot {report['primary_snap_id']}" if report['primary_snap_id']
              else f"at its last replayed journal entry (recovery point {report['recovery_point']})")
        self._log.info(f"promoted '{level.spec}'{' (forced)' if force else ''} {at}"
                       + (f", rolled back {rolled['objects_rolled_back']} objects" if rolled else ''))
        return dict(report, image=level.spec)

    def resync(self, image_spec: str, force: bool) -> Dict[str, Any]:
        level = levels.parse_image_spec(self._native, image_spec)
        cluster = self._local.get()
        remote, peer_error = self._peer_of(cluster, level.pool)
        if remote is None:
            raise CommandError(errno.ENOTCONN, f"cannot resync '{level.spec}': {peer_error}")
        with self._role_change(level, 'resync'):
            paused = self._pause(level)
            try:
                # A journal-mode replica is emptied and bootstrapped again by
                # the replayer's next step (what it holds is not trusted).
                if self._native.request_journal_resync(cluster, level.pool, level.namespace, level.image, remote):
                    self._log.info(f"resync of journal-mode replica '{level.spec}' asked for: it is copied again")
                    return {'image': level.spec, 'mode': 'journal', 'bootstrap': True, 'already': False,
                            'resumed': False, 'rolled_back': None, 'common_snap_id': 0, 'base_snap_id': 0}
                report = self._native.resync_image(cluster, level.pool, level.namespace, level.image, remote,
                                                   cluster.fsid(), remote.fsid(), force)
            finally:
                self._replayer.resume(paused)
        self._scheduler.schedules_changed()
        self._replayer.refresh_soon()
        return {'image': level.spec, 'common_snap_id': report['common_snap_id'],
                'base_snap_id': report['base_snap_id'], 'rolled_back': report['rolled_back'],
                'already': report['already'], 'resumed': report['resumed']}

    def remove(self, image_spec: str, force: bool) -> Dict[str, Any]:
        """Removes a replica whose primary is gone (removed, or no longer
        mirrored): the replayer leaves such a replica as it was, fenced, for
        the operator to keep (promote) or drop (this). With `force`, without
        asking the peer: when it cannot answer, or for a new full copy."""
        level = levels.parse_image_spec(self._native, image_spec)
        cluster = self._local.get()
        with self._role_change(level, 'remove'):
            replica = self._native.replica_state(cluster, level.pool, level.namespace, level.image)  # ENOENT
            if replica is None:
                raise CommandError(errno.EINVAL, f"'{level.spec}' is not a replica: rbd rm removes it")
            if replica['promoted']:
                raise CommandError(errno.EINVAL, f"'{level.spec}' was promoted: it is a primary, and rbd's "
                                                 f"commands remove it (rbd mirror image disable, rbd snap purge, "
                                                 f"rbd rm)")
            paused = self._pause(level, replica['global_id'])
            try:
                if not force:
                    self._check_primary_gone(cluster, level, replica)
                report = self._native.remove_replica(cluster, level.pool, level.namespace, level.image,
                                                     replica['global_id'])
            finally:
                self._replayer.resume(paused)
        self._log.info(f"removed replica '{level.spec}'{' (forced)' if force else ''}: it held primary snapshot "
                       f"{report['primary_snap_id']} of global id {report['global_id']}")
        return dict(report, image=level.spec, forced=force)

    def _check_primary_gone(self, cluster: Any, level: Any, replica: Dict[str, Any]) -> None:
        """EBUSY while the primary's cluster still mirrors it (found by global
        id: a renamed primary is still its primary); ENOTCONN when no rx peer
        of the pool is that cluster and answers."""
        fsid = replica['remote_fsid']
        refused_checks = []
        peers = [p for p in self._native.peer_sites(cluster, level.pool)
                 if p.direction != 'tx-only' and p.mon_host]
        for peer in peers:
            try:
                remote = self._peers.get(peer, wait=CONNECT_TIMEOUT_SECONDS + 5, retry_now=True)
                if remote.fsid() != fsid:
                    continue
                try:
                    primaries = self._native.mirrored_images(remote, level.pool, level.namespace)
                except OSError as e:
                    # Only the listing's ENOENT, on the primary's own cluster,
                    # says the pool is gone; a connection's never does.
                    if e.errno == errno.ENOENT:
                        return
                    raise
            except OSError as e:
                self._peers.failed(peer, e)
                refused_checks.append(peer_error(peer, e))
                continue
            for image in primaries:
                if image['global_id'] == replica['global_id']:
                    where = '/'.join(p for p in (level.pool, level.namespace, image['name']) if p)
                    raise CommandError(errno.EBUSY, f"'{level.spec}' is the replica of '{where}', which its "
                                                    f"peer still mirrors: disable mirroring of it there (or remove "
                                                    f"it) first; to fail over to this copy instead, promote it")
            return
        why = '; '.join(refused_checks) or f"no rx peer of pool '{level.pool}' is its primary's cluster (fsid {fsid})"
        raise CommandError(errno.ENOTCONN, f"cannot check that the primary of '{level.spec}' is gone ({why}): "
                                           f"--force removes it without asking")

    def verify(self, image_spec: str, snap: str) -> Dict[str, Any]:
        level = levels.parse_image_spec(self._native, image_spec)
        snap_id = uint64_argument('snap_id (a primary snapshot id)', snap) if snap else 0
        cluster = self._local.get()
        remote, peer_error = self._peer_of(cluster, level.pool)
        if remote is None:
            raise CommandError(errno.ENOTCONN, f"cannot verify '{level.spec}': {peer_error}")
        report = self._native.verify_image(cluster, level.pool, level.namespace, level.image, remote,
                                           snap_id)
        return dict(report, image=level.spec, mismatches=[list(m) for m in report['mismatches']])

    @contextmanager
    def _role_change(self, level: Any, what: str) -> Iterator[None]:
        """One role change per image at a time: a second one (a retry after a
        command timeout, or another operator) is refused while it runs."""
        key = (level.pool, level.namespace, level.image)
        with self._running_lock:
            running = self._running.get(key)
            if running is not None:
                doing, since = running
                raise CommandError(errno.EBUSY, f"a {doing} of '{level.spec}' is already running "
                                                f"(for {time.monotonic() - since:.0f} s): wait for it, then "
                                                f"run the command again to see its result")
            self._running[key] = (what, time.monotonic())
        try:
            yield
        finally:
            with self._running_lock:
                del self._running[key]

    def _pause(self, level: Any, global_id: str = '') -> Any:
        try:
            return self._replayer.pause(level.pool, level.namespace, level.image, global_id)
        except TimeoutError as e:
            raise CommandError(errno.EBUSY, str(e))

    def _peer_of(self, cluster: Any, pool: str) -> Tuple[Optional[Any], str]:
        """A connected client of the pool's rx peer, or (None, why not)."""
        peers = [p for p in self._native.peer_sites(cluster, pool)
                 if p.direction != 'tx-only' and p.mon_host]
        if not peers:
            return None, f"pool '{pool}' has no mirror peer to receive from"
        try:
            # An operator's command tries now, whatever the replayer's backoff.
            return self._peers.get(peers[0], wait=CONNECT_TIMEOUT_SECONDS + 5, retry_now=True), ''
        except OSError as e:
            self._peers.failed(peers[0], e)
            return None, peer_error(peers[0], e)


def promote_text(report: Dict[str, Any]) -> str:
    # A journal-mode replica has no snapshot to name: it holds the image as
    # of the last journal entry it replayed.
    journal = not report['primary_snap_id'] and not report['promoted_snap_id']
    if report.get('already'):
        if journal:
            return f"{report['image']} is primary already (recovery point {report['recovery_point']})"
        return (f"{report['image']} is primary already (promoted at primary snapshot "
                f"{report['primary_snap_id']}; first snapshot here {report['promoted_snap_id']})")
    if journal:
        lines = [f"promoted {report['image']}: holds the primary's image as of the last journal entry it "
                 f"replayed (recovery point {report['recovery_point']})"]
    else:
        lines = [f"promoted {report['image']}: holds primary snapshot {report['primary_snap_id']} "
                 f"(recovery point {report['recovery_point']}), first snapshot here {report['promoted_snap_id']}"]
    rolled = report.get('rolled_back')
    if rolled:
        lines.append(f"rolled back a partial apply: {rolled['objects_rolled_back']} objects, "
                     f"{rolled['bytes_rolled_back']} bytes in {rolled['seconds']:.3f} s")
    return '\n'.join(lines)


def resync_text(report: Dict[str, Any]) -> str:
    if report.get('mode') == 'journal':
        return (f"{report['image']} (a journal-mode replica) will be emptied and copied again from its "
                f"primary (image status shows the bootstrap)")
    if report.get('already'):
        return f"{report['image']} is the secondary of its peer already (from the peer's snapshot " \
               f"{report['base_snap_id']})"
    text = (f"{report['image']} is now the secondary of its peer, from the peer's snapshot "
            f"{report['base_snap_id']} (same data as snapshot {report['common_snap_id']} here)")
    rolled = report.get('rolled_back')
    if rolled:
        text += (f"; discarded writes since: {rolled['objects_rolled_back']} objects, "
                 f"{rolled['bytes_rolled_back']} bytes")
    if report.get('resumed'):
        text += '; finished a resync that had stopped half-way'
    return text


def verify_text(report: Dict[str, Any]) -> str:
    head = (f"{report['image']}: primary snapshot {report['primary_snap_id']} vs {report['local_snap_name']}: "
            f"{report['objects_compared']} objects, {report['bytes_compared']} bytes in {report['seconds']:.2f} s")
    if report['size_mismatch']:
        head += '; SIZES DIFFER'
    if not report['mismatches']:
        return head + '; identical' if not report['size_mismatch'] else head
    lines = [head + f"; {len(report['mismatches'])} mismatching extent(s):"]
    lines += [f'  offset {off} length {length}' for off, length in report['mismatches']]
    return '\n'.join(lines)


def remove_text(report: Dict[str, Any]) -> str:
    text = f"removed replica {report['image']}{' (forced)' if report.get('forced') else ''}"
    if report['primary_snap_id']:   # a journal-mode replica names no snapshot
        text += f": it held primary snapshot {report['primary_snap_id']}"
    return text + f"; {report['snapshots_removed']} snapshot(s) removed with it"
