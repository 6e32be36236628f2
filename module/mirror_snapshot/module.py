"""mirror_snapshot: RBD mirror-snapshot scheduling and replication.

The module is thin: it parses and validates command arguments, owns the
threads, persists state and reports health; the work runs in the native core
(C++), which is only ever touched from this module's own threads.
"""
import errno
import json
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Dict, List, Optional, Tuple

from mgr_module import MgrModule, NotifyType, Option

from . import image_status, levels, memory_report, output
from ._version import MODULE_VERSION
from .client_registration import ClientRegistration
from .errors import CommandError, invalid
from .executor import ExecutorBusy, ExecutorNotReady, NativeExecutor
from .health_report import HealthReport
from .full_pools import FullPools
from .heap_release import DEFAULT_MMAP_THRESHOLD, HeapRelease, apply_mmap_threshold
from .local_cluster import BLOCKLISTED, LocalCluster, own_client_config, own_log_file
from .peer_announcer import PeerAnnouncer
from .peer_connections import PeerConnections
from .peer_fence import PeerFence
from .primary_scheduler import CreationBusy, PrimaryScheduler
from .replayer import (DEFAULT_IMAGE_IN_FLIGHT_BYTES, DEFAULT_KEEP_LOCAL_SNAPSHOTS, DEFAULT_MEMORY_BYTES,
                       Replayer)
from .image_commands import ImageCommands, promote_text, remove_text, resync_text, verify_text
from .run_records import RunRecords
from .schedule_commands import ScheduleCommands
from .schedule_import import RBD_SUPPORT_OPTION, ScheduleImport, import_table

CommandResult = Tuple[int, str, str]
Handler = Callable[[Any, Dict[str, Any]], CommandResult]

# How long a command waits for the native threads before answering EAGAIN or
# ETIMEDOUT: commands must never hang the mgr's command dispatch.
READY_TIMEOUT_SECONDS = 10.0
COMMAND_TIMEOUT_SECONDS = 60.0
STATUS_LIST_TIMEOUT_SECONDS = 15.0  # this site's primaries, for `status`
PEER_COMMAND_TIMEOUT_SECONDS = 180.0  # a sync to stop, a peer to answer, a rollback or a verify
CREATE_TIMEOUT_SECONDS = 120.0
# Command jobs waiting for a native thread, at most; past it a command gets
# EBUSY: jobs of commands that timed out keep their threads until they end.
MAX_WAITING_COMMAND_JOBS = 32

NOT_RUNNING_CHECK = 'MIRROR_SNAPSHOT_NOT_RUNNING'

LEVEL_SPEC = 'name=level_spec,type=CephString'
FORMAT_HELP = ' (--format plain|json|json-pretty)'


def command(line: str, desc: str, perm: str) -> Callable[[Handler], Handler]:
    """Declares the handler's command: its line (prefix and arguments, as
    ceph-mgr's COMMANDS spell them), help and permission. Module.COMMANDS and
    the dispatch table are both made from these, so each command is written
    once, beside its handler."""
    def declare(handler: Handler) -> Handler:
        handler.command = {'cmd': line, 'desc': desc, 'perm': perm}  # type: ignore[attr-defined]
        return handler
    return declare


def command_prefix(line: str) -> str:
    """'mirror snapshot image status' of its command line: the words before the arguments."""
    return line.split(' name=')[0]


def declared_commands(namespace: Dict[str, Any]) -> List[Dict[str, str]]:
    return [handler.command for handler in namespace.values() if hasattr(handler, 'command')]


class Module(MgrModule):
    # A new OSD map may change which pools are full (full_pools.py).
    NOTIFY_TYPES = [NotifyType.osd_map]


    MODULE_OPTIONS = [
        Option(name='native_threads', type='int', default=4, min=1, max=64,
               desc='threads that run native (C++) work for commands; '
                    'takes effect on module restart'),
        Option(name='max_concurrent_snap_create', type='int', default=10, min=1, max=256,
               desc='mirror snapshot creations running at once; takes effect on module restart'),
        Option(name='refresh_interval', type='secs', default=60, min=5,
               desc='how often images are re-listed to notice new, removed, promoted '
                    'and demoted images (schedule changes apply at once)'),
        Option(name='max_concurrent_image_syncs', type='int', default=16, min=1, max=64,
               desc='secondary images synced at once; takes effect on module restart'),
        Option(name='replay_memory_bytes', type='size', default=DEFAULT_MEMORY_BYTES, min=16 << 20,
               desc='data buffers of all syncs together, shared equally by the concurrent syncs'),
        Option(name='replay_image_in_flight_bytes', type='size', default=DEFAULT_IMAGE_IN_FLIGHT_BYTES, min=4 << 20,
               desc='data one sync keeps in flight (within replay_memory_bytes); more only '
                    'lengthens the OSDs\' queues (docs/benchmarks.md: in-flight sweep)'),
        Option(name='keep_local_snapshots', type='int', default=DEFAULT_KEEP_LOCAL_SNAPSHOTS, min=1, max=64,
               desc='local snapshots a secondary image keeps (the newest complete one always stays)'),
        Option(name='replay_stall_seconds', type='secs', default=60, min=5,
               desc='a sync with no progress for this long is reported as stalled (status and health)'),
        Option(name='local_op_timeout', type='secs', default=60, min=0, max=3600,
               desc='seconds an OSD or monitor operation of this site may take before it fails '
                    '(ETIMEDOUT: the step is retried later) instead of blocking a thread, e.g. on '
                    'an inactive PG; 0: no timeout; takes effect on module restart'),
        Option(name='heap_release_interval', type='secs', default=60, min=0, max=86400,
               desc='how often the free memory the C allocator (glibc malloc) keeps is handed back '
                    'to the system (malloc_trim); 0: never'),
        Option(name='heap_mmap_threshold', type='size', default=DEFAULT_MMAP_THRESHOLD, min=0, max=32 << 20,
               desc='C heap blocks (glibc malloc) this large or larger get a mapping of their own, '
                    'unmapped when freed: the journal objects and read buffers of replay passes do '
                    'not stay resident in the allocator once freed; 0: glibc\'s own threshold '
                    '(back only at the mgr\'s restart)'),
        Option(name='journal_poll_interval', type='secs', default=1, min=1, max=60,
               desc='how often a journal-mode image whose replica has caught up is looked at '
                    'for new journal entries (librbd does not announce them)'),
        Option(name='replay_skip_pools', type='str', default='',
               desc='comma-separated pools this module does not replay (e.g. handed to rbd-mirror)'),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._executor = NativeExecutor(__package__, self.log, 'native', max_waiting=MAX_WAITING_COMMAND_JOBS)
        self._creator = NativeExecutor(__package__, self.log, 'create')
        self._syncs = NativeExecutor(__package__, self.log, 'sync')
        # Its own thread: a peer that does not answer must not hold the
        # threads that serve commands.
        self._announcing = NativeExecutor(__package__, self.log, 'announce')
        self._native: Any = None
        self._local: Optional[LocalCluster] = None  # native client of our own cluster
        self._full_pools = FullPools(lambda: self.get('osd_map'))
        self._native_client_name: Optional[str] = None  # what it connected as
        self._registration = ClientRegistration(self)
        self._scheduler: Optional[PrimaryScheduler] = None
        self._schedules: Optional[ScheduleCommands] = None
        self._announcer: Optional[PeerAnnouncer] = None
        self._replayer: Optional[Replayer] = None
        self._image_commands: Optional[ImageCommands] = None
        self._heap_release: Optional[HeapRelease] = None
        self._mmap_threshold: Optional[int] = None  # heap_mmap_threshold as set in the process
        self._health = HealthReport(self.set_health_checks)
        self._handlers: Dict[str, Callable[[Dict[str, Any]], CommandResult]] = {
            command_prefix(handler.command['cmd']): getattr(self, name)
            for name, handler in vars(Module).items() if hasattr(handler, 'command')}

    # --- lifecycle ---------------------------------------------------------

    def serve(self) -> None:
        self._executor.start(int(self.get_module_option('native_threads') or 4))
        self._creator.start(int(self.get_module_option('max_concurrent_snap_create') or 10))
        self._syncs.start(int(self.get_module_option('max_concurrent_image_syncs') or 16))
        self._announcing.start(1)
        try:
            self._native = self._executor.wait_ready(READY_TIMEOUT_SECONDS * 6)
        except ExecutorNotReady as e:
            # Raised, not returned: ceph-mgr then reports MGR_MODULE_ERROR with
            # this message. Nothing can be scheduled or replicated without it.
            self.log.error(str(e))
            raise RuntimeError(f'mirror_snapshot cannot run: {e}') from e
        self._local = LocalCluster(lambda: self._open_local_cluster(self._native), self.log)
        if not self._connect_local_cluster():
            return
        records = RunRecords(self._native, self._local, self.log)
        self._schedules = ScheduleCommands(self._native, self._local,
                                           self.get_store, self.set_store)
        self._scheduler = PrimaryScheduler(
            self._native, self._local, self._schedules.store, records, self._creator,
            self.log, self._refresh_interval,
            lambda checks: self._set_health('scheduler', checks))
        fence = PeerFence(self.get_store, self.set_store, self.log)
        peers = PeerConnections(self._native, on_connect=fence.connected)
        self._announcer = PeerAnnouncer(self._native, self._local, peers, self.log)
        self._replayer = Replayer(self._native, self._local, peers, self._syncs, self.log,
                                  self.get_module_option,
                                  lambda checks: self._set_health('replayer', checks),
                                  self._full_pools)
        self._image_commands = ImageCommands(self._native, self._local, peers, self._replayer, self._scheduler,
                                   self.log)
        self._heap_release = HeapRelease(self._native, lambda: self.get_module_option('heap_release_interval'),
                                         self.log)
        self._mmap_threshold = apply_mmap_threshold(self._native, self.get_module_option('heap_mmap_threshold'),
                                                    self.log)
        self._scheduler.start()
        self._replayer.start()
        self._heap_release.start()
        self._ready.set()
        self._announce_loop()

    def shutdown(self) -> None:
        self._stopping.set()
        if self._scheduler:
            self._scheduler.stop()
        if self._replayer:
            self._replayer.stop()
        if self._heap_release:
            self._heap_release.stop()
        self._creator.stop()
        self._syncs.stop()
        self._announcing.stop()
        self._executor.stop()
        self._registration.unregister()


    def notify(self, notify_type: Any, notify_id: str) -> None:
        if notify_type == NotifyType.osd_map:
            self._full_pools.invalidate()

    def config_notify(self) -> None:
        if self._replayer is not None:
            self._replayer.refresh_soon()  # e.g. replay_skip_pools changed
        if self._heap_release is not None:
            self._heap_release.nudge()  # heap_release_interval applies now, not after the current wait
            self._mmap_threshold = apply_mmap_threshold(
                self._native, self.get_module_option('heap_mmap_threshold'), self.log, self._mmap_threshold)

    def _local_op_timeout(self) -> int:
        value = self.get_module_option('local_op_timeout')
        return 60 if value is None else int(value)

    def _refresh_interval(self) -> float:
        return float(self.get_module_option('refresh_interval') or 60)

    def _connect_local_cluster(self) -> bool:
        """Open the native client of our own cluster, retrying until it works."""
        delay = 1.0
        while not self._stopping.is_set():
            try:
                local = self._local
                assert local is not None
                self._executor.call(lambda native: local.connect())
                self.log.info('native client connected')
                self._set_health('module', {})
                return True
            except Exception as e:
                self.log.error(f'native client cannot connect yet: {e}')
                # Until it connects nothing is scheduled or replicated: said in
                # health, not only in the log.
                self._set_health('module', {NOT_RUNNING_CHECK: {
                    'severity': 'warning',
                    'summary': 'mirror_snapshot is not running: its client of this cluster cannot connect',
                    'count': 1,
                    'detail': [f'{e} (retrying)'],
                }})
                self._stopping.wait(delay)
                delay = min(delay * 2, 30.0)
        return False

    def _open_local_cluster(self, native: Any) -> Any:
        entity = f'mgr.{self.get_mgr_id()}'
        config = own_client_config(self.get_ceph_option, own_log_file(self.get_ceph_option('log_file')),
                                   self._local_op_timeout())
        try:
            cluster = native.Cluster.connect(self.get_ceph_conf_path(), entity, config)
            self._native_client_name = entity
            self.log.info(f'native client: own configuration as {entity} '
                          f'(rbd_cache off, zero-copy writes), log {config.get("log_file") or "none"}')
        except OSError as e:
            # Still replicates, with the mgr's librbd settings (buffers copied).
            self.log.warning(f'native client: cannot connect as {entity} with its own configuration '
                             f'({e.strerror or e}); sharing the mgr\'s (and its operation timeouts, '
                             f'not local_op_timeout)')
            cluster = native.Cluster.from_mgr_context(self.get_context())
            self._native_client_name = f'{entity} (sharing the mgr\'s CephContext)'
        # Registered so that a mgr failover blocklists this client too; the
        # client it replaces (blocklisted) is unregistered.
        self._registration.register(cluster.addresses())
        return cluster

    def _announce_loop(self) -> None:
        """This thread (serve's) announces us to our primaries, periodically,
        on the 'announce' thread; a round still running is not started again."""
        assert self._announcer is not None
        announcer = self._announcer
        running: Any = None
        while not self._stopping.is_set():
            if running is None or running.done():
                running = self._announcing.submit(lambda native: announcer.announce())
            try:
                running.result(timeout=COMMAND_TIMEOUT_SECONDS)
            except FutureTimeout:
                self.log.error('announcing to peers is taking more than '
                               f'{COMMAND_TIMEOUT_SECONDS:.0f} s; a peer does not answer')
            except Exception as e:
                self.log.error(f'announcing to peers failed: {e}')
            try:
                self._set_health('peers', announcer.health_checks())
            except Exception as e:   # announcing goes on; the next round reports again
                self.log.error(f'cannot report the peers\' health: {e}')
            self._stopping.wait(self._refresh_interval())

    def _set_health(self, source: str, checks: Dict[str, Any]) -> None:
        self._health.set(source, checks)

    # --- commands ----------------------------------------------------------

    def handle_command(self, inbuf: Optional[str], cmd: Dict[str, Any]) -> CommandResult:
        handler = self._handlers.get(cmd.get('prefix', ''))
        if handler is None:
            return -errno.EINVAL, '', f"unknown command '{cmd.get('prefix', '')}'"
        try:
            return handler(cmd)
        except CommandError as e:
            return -e.code, '', e.message
        except OSError as e:  # a failed native Status
            if e.errno == BLOCKLISTED and self._local is not None:
                local, error = self._local, e  # `e` is unbound after the except block
                try:
                    self._executor.submit(lambda native: local.recover(error))
                except ExecutorBusy:
                    pass  # the next failure tries again
            return -(e.errno or errno.EIO), '', e.strerror or str(e)
        except ExecutorNotReady as e:
            return -errno.EAGAIN, '', str(e)
        except ExecutorBusy as e:
            return -errno.EBUSY, '', str(e)
        except FutureTimeout:
            return -errno.ETIMEDOUT, '', 'the native core did not answer in time'
        except Exception as e:
            self.log.exception(f"command '{cmd.get('prefix')}' failed")
            return -errno.EIO, '', f'internal error: {e}'

    def _native_call(self, job: Callable[..., Any], *args: Any, same_as: Optional[Dict[str, Any]] = None) -> Any:
        """Run a command's job on a native thread. `same_as`: the (read-only)
        command it answers; while an identical command's job is unfinished
        (a monitoring loop asking again), this one waits for that job's result
        instead of queueing another."""
        self._executor.wait_ready(READY_TIMEOUT_SECONDS)
        shared_key = json.dumps(same_as, sort_keys=True, default=str) if same_as is not None else None
        return self._executor.call(job, *args, timeout=COMMAND_TIMEOUT_SECONDS, shared_key=shared_key)

    def _require_ready(self) -> None:
        if not self._ready.wait(READY_TIMEOUT_SECONDS):
            raise ExecutorNotReady('mirror_snapshot is starting, try again')

    @command('mirror snapshot version',
             'Show the versions of the module, its native core and the '
             'librados/librbd it runs against' + FORMAT_HELP,
             perm='r')
    def _cmd_version(self, cmd: Dict[str, Any]) -> CommandResult:
        fmt = output.requested_format(cmd)

        def job(native: Any) -> Dict[str, Any]:
            versions = native.versions()
            cluster = self._local.get() if self._local else None
            return {
                'module_version': MODULE_VERSION,
                'core_version': versions['core'],
                'librados_version': versions['librados'],
                'librbd_version': versions['librbd'],
                'cluster_fsid': cluster.fsid() if cluster is not None else None,
                'native_thread': threading.current_thread().name,
                # How the client that copies images is set up (see local_cluster.py).
                'client_name': self._native_client_name,
                'client_rbd_cache': cluster.config_value('rbd_cache') if cluster is not None else None,
                'client_zero_copy_writes': (cluster.config_value('rbd_disable_zero_copy_writes') == 'false'
                                            if cluster is not None else None),
                'client_osd_op_timeout': (cluster.config_value('rados_osd_op_timeout')
                                          if cluster is not None else None),
            }

        data = self._native_call(job, same_as=cmd)
        return 0, output.render(data, fmt, output.key_value_lines), ''

    def _memory_report(self, native: Any, release: bool) -> Dict[str, Any]:
        heap_release = self._heap_release
        return memory_report.memory_report(
            native, release=release, automatic=heap_release.last() if heap_release else None,
            interval=float(self.get_module_option('heap_release_interval') or 0), mmap_threshold=self._mmap_threshold)

    @command('mirror snapshot memory',
             'Show the mgr process\'s memory: resident, C heap in use and free but kept, this '
             'module\'s Python objects' + FORMAT_HELP,
             perm='r')
    def _cmd_memory(self, cmd: Dict[str, Any]) -> CommandResult:
        report = self._native_call(lambda native: self._memory_report(native, release=False), same_as=cmd)
        return 0, output.render(report, output.requested_format(cmd), memory_report.plain), ''

    @command('mirror snapshot memory release',
             'Hand the C heap\'s free pages back to the system (malloc_trim) and show the memory '
             'before and after' + FORMAT_HELP,
             perm='w')
    def _cmd_memory_release(self, cmd: Dict[str, Any]) -> CommandResult:
        # Shared by identical calls: a repeated or timed-out release takes one native thread, not one each.
        report = self._native_call(lambda native: self._memory_report(native, release=True), same_as=cmd)
        return 0, output.render(report, output.requested_format(cmd), memory_report.plain), ''

    @command(f'mirror snapshot schedule add {LEVEL_SPEC} '
             'name=interval,type=CephString '
             'name=start_time,type=CephString,req=false '
             'name=tz,type=CephString,req=false',
             'Add a mirror-snapshot schedule at a level ("" global, pool/, '
             'pool/ns/, pool/[ns/]image): an interval (N, Nm, Nh, Nd) with an '
             'optional ISO 8601 start time, or a cron expression with --tz',
             perm='w')
    def _cmd_schedule_add(self, cmd: Dict[str, Any]) -> CommandResult:
        self._require_ready()
        assert self._schedules and self._scheduler
        message = self._native_call(lambda native: self._schedules.add(
            cmd['level_spec'], cmd['interval'], cmd.get('start_time', ''), cmd.get('tz', '')))
        self._scheduler.schedules_changed()
        return 0, '', message

    @command(f'mirror snapshot schedule remove {LEVEL_SPEC} '
             'name=interval,type=CephString,req=false '
             'name=start_time,type=CephString,req=false '
             'name=tz,type=CephString,req=false',
             'Remove a schedule (same arguments as add), or every schedule of a level',
             perm='w')
    def _cmd_schedule_remove(self, cmd: Dict[str, Any]) -> CommandResult:
        self._require_ready()
        assert self._schedules and self._scheduler
        message = self._native_call(lambda native: self._schedules.remove(
            cmd['level_spec'], cmd.get('interval', ''), cmd.get('start_time', ''),
            cmd.get('tz', '')))
        self._scheduler.schedules_changed()
        return 0, '', message

    @command('mirror snapshot schedule import',
             "Import rbd_support's mirror-snapshot schedules (every level), start times as written; "
             "idempotent; rbd_support's own are left in place" + FORMAT_HELP,
             perm='w')
    def _cmd_schedule_import(self, cmd: Dict[str, Any]) -> CommandResult:
        fmt = output.requested_format(cmd)
        self._require_ready()
        assert self._schedules and self._scheduler and self._local
        importer = ScheduleImport(self._native, self._local, self._schedules.store,
                                  lambda: self.get_module_option_ex('rbd_support', RBD_SUPPORT_OPTION))
        rows = self._native_call(lambda native: importer.run())
        self._scheduler.schedules_changed()
        return 0, output.render(rows, fmt, import_table), ''

    @command('mirror snapshot schedule ls '
             'name=level_spec,type=CephString,req=false '
             'name=recursive,type=CephBool,req=false',
             "List a level's schedules; --recursive adds the levels below it" + FORMAT_HELP,
             perm='r')
    def _cmd_schedule_ls(self, cmd: Dict[str, Any]) -> CommandResult:
        fmt = output.requested_format(cmd)
        self._require_ready()
        assert self._schedules
        rows = self._native_call(lambda native: self._schedules.ls(
            cmd.get('level_spec', ''), bool(cmd.get('recursive', False))), same_as=cmd)
        return 0, output.render(rows, fmt, output.schedule_table), ''

    @command('mirror snapshot schedule status name=level_spec,type=CephString,req=false',
             'Every image a schedule covers: next run (UTC), schedule, last run '
             'and its lateness' + FORMAT_HELP,
             perm='r')
    def _cmd_schedule_status(self, cmd: Dict[str, Any]) -> CommandResult:
        fmt = output.requested_format(cmd)
        self._require_ready()
        assert self._scheduler

        def job(native: Any) -> Dict[str, Any]:
            within = None
            if cmd.get('level_spec'):
                within = levels.parse(native, cmd['level_spec'])
            return self._scheduler.status(within)

        data = self._native_call(job, same_as=cmd)
        return 0, output.render(data, fmt, output.status_table), ''

    @command('mirror snapshot create name=image_spec,type=CephString',
             'Create a mirror snapshot of <pool>/[<ns>/]<image> now (and prune)',
             perm='w')
    def _cmd_create(self, cmd: Dict[str, Any]) -> CommandResult:
        fmt = output.requested_format(cmd)
        self._require_ready()
        assert self._scheduler

        def resolve(native: Any) -> Tuple[Any, int]:
            level = levels.parse_image_spec(native, cmd['image_spec'])
            assert self._local is not None
            cluster = self._local.get()
            level, info = levels.resolve_with_info(native, cluster, level, need_snapshot_mode=True)
            assert info is not None  # an image level always has one
            if not info['primary']:
                raise invalid(f"image '{level.spec}' is not primary (non-primary or demoted)")
            return level, cluster.pool_id(level.pool)

        level, pool_id = self._native_call(resolve)
        try:
            record = self._scheduler.create_now(level, pool_id, CREATE_TIMEOUT_SECONDS)
        except CreationBusy:
            raise CommandError(errno.EBUSY,
                               f"a mirror snapshot of '{level.spec}' is already being created")
        if record['result'] == 'error':
            raise CommandError(record['errno'] or errno.EIO, record['error'])
        if record['result'] == 'skipped':
            raise invalid(f"image '{level.spec}': {record['error']}")
        data = {'image': level.spec, 'snap_id': record['snap_id'], 'pruned': record['pruned']}
        return 0, output.render(data, fmt, lambda d: f"created snapshot {d['snap_id']} of {d['image']}"), ''

    @command('mirror snapshot image status name=image_spec,type=CephString',
             'Replication status of <pool>/[<ns>/]<image>: role, state, last complete '
             'snapshot, sync in flight, last sync, last error' + FORMAT_HELP,
             perm='r')
    def _cmd_image_status(self, cmd: Dict[str, Any]) -> CommandResult:
        fmt = output.requested_format(cmd)
        self._require_ready()
        assert self._replayer is not None

        def job(native: Any) -> Dict[str, Any]:
            level = levels.parse_image_spec(native, cmd['image_spec'])
            found = self._replayer.find(level.pool, level.namespace, level.image)
            if found is not None:
                return found
            assert self._local is not None
            try:
                return image_status.local_image_status(
                    native, self._local.get(), level.pool, level.namespace, level.image,
                    self._replayer.split_brain(level.pool, level.namespace, level.image))
            except OSError as e:
                if e.errno == errno.ENOENT:
                    raise CommandError(errno.ENOENT, e.strerror or str(e))
                raise

        data = self._native_call(job, same_as=cmd)
        return 0, output.render(data, fmt, lambda d: image_status.status_table([d])), ''

    def _with_peer(self, job: Callable[[ImageCommands], Dict[str, Any]]) -> Dict[str, Any]:
        self._require_ready()
        commands = self._image_commands
        assert commands is not None
        self._executor.wait_ready(READY_TIMEOUT_SECONDS)
        return self._executor.call(lambda native: job(commands), timeout=PEER_COMMAND_TIMEOUT_SECONDS)

    def _image_command_with_force(self, cmd: Dict[str, Any],
                                  run: Callable[[ImageCommands, str, bool], Dict[str, Any]],
                                  text: Callable[[Dict[str, Any]], str]) -> CommandResult:
        """promote, resync, remove: <image_spec> [--force], the work on the executor."""
        fmt = output.requested_format(cmd)
        data = self._with_peer(lambda commands: run(commands, cmd['image_spec'], bool(cmd.get('force'))))
        return 0, output.render(data, fmt, text), ''

    @command('mirror snapshot image demote name=image_spec,type=CephString',
             'Demote a primary <pool>/[<ns>/]<image>: clients can no longer write it, and its '
             'final snapshot is synced by the secondary before a clean promote' + FORMAT_HELP,
             perm='w')
    def _cmd_demote(self, cmd: Dict[str, Any]) -> CommandResult:
        fmt = output.requested_format(cmd)
        data = self._with_peer(lambda commands: commands.demote(cmd['image_spec']))
        return 0, output.render(data, fmt, lambda d: f"{d['image']} is demoted already: final snapshot "
                                                     f"{d['demoted_snap_id']}" if d['already'] else
                                                     f"demoted {d['image']}: final snapshot "
                                                     f"{d['demoted_snap_id']}"), ''

    @command('mirror snapshot image promote name=image_spec,type=CephString '
             'name=force,type=CephBool,req=false',
             'Promote a secondary: without --force only once the primary is demoted and its '
             'final snapshot synced; with --force a partially applied delta is rolled back '
             'to the last complete snapshot' + FORMAT_HELP,
             perm='w')
    def _cmd_promote(self, cmd: Dict[str, Any]) -> CommandResult:
        return self._image_command_with_force(cmd, ImageCommands.promote, promote_text)

    @command('mirror snapshot image resync name=image_spec,type=CephString '
             'name=force,type=CephBool,req=false',
             'Make the old primary the secondary of its promoted peer, copying only what '
             'changed: writes made here since the last common snapshot are discarded '
             '(--force if it is still primary); a journal-mode replica is emptied and copied '
             'again' + FORMAT_HELP,
             perm='w')
    def _cmd_resync(self, cmd: Dict[str, Any]) -> CommandResult:
        return self._image_command_with_force(cmd, ImageCommands.resync, resync_text)

    @command('mirror snapshot image remove name=image_spec,type=CephString '
             'name=force,type=CephBool,req=false',
             'On the secondary: remove a replica whose primary is gone (removed, or no longer '
             'mirrored), with its snapshots; refused while the peer still mirrors its primary '
             '(--force: without asking the peer)' + FORMAT_HELP,
             perm='w')
    def _cmd_remove(self, cmd: Dict[str, Any]) -> CommandResult:
        return self._image_command_with_force(cmd, ImageCommands.remove, remove_text)

    # 'w': it reads every object on both clusters, with the peer's credentials.
    @command('mirror snapshot image verify name=image_spec,type=CephString '
             'name=snap_id,type=CephString,req=false',
             'On the secondary: compare a primary snapshot (default: the last one synced) with '
             'the local snapshot holding it, object by object, and list mismatching '
             'extents' + FORMAT_HELP,
             perm='w')
    def _cmd_verify(self, cmd: Dict[str, Any]) -> CommandResult:
        fmt = output.requested_format(cmd)
        data = self._with_peer(lambda commands: commands.verify(cmd['image_spec'], cmd.get('snap_id', '')))
        return 0, output.render(data, fmt, verify_text), ''

    @command('mirror snapshot status',
             'Replication status of every mirrored image of this site' + FORMAT_HELP,
             perm='r')
    def _cmd_status(self, cmd: Dict[str, Any]) -> CommandResult:
        fmt = output.requested_format(cmd)
        self._require_ready()
        assert self._replayer is not None and self._local is not None

        def job(native: Any) -> List[Dict[str, Any]]:
            cluster = self._local.get()
            rows: List[Dict[str, Any]] = []
            for pool in native.rbd_pools(cluster):
                for ns in native.namespaces(cluster, pool):
                    for image in native.mirrored_images(cluster, pool, ns):
                        row = (image_status.journal_primary_status if image['mode'] == 'journal'
                               else image_status.primary_status)
                        try:
                            rows.append(row(native, cluster, pool, ns, image['name'],
                                            self._replayer.split_brain(pool, ns, image['name']),
                                            demoted=not image['primary']))
                        except OSError:
                            continue  # removed meanwhile
            return rows

        # The secondaries' rows are the replayer's, in memory. This site's
        # primaries are read from its OSDs, which may not answer (down, or an
        # inactive PG): status says so rather than time out as a whole.
        replayer = self._replayer
        self._executor.wait_ready(READY_TIMEOUT_SECONDS)
        try:
            rows = self._executor.call(job, timeout=STATUS_LIST_TIMEOUT_SECONDS,
                                       shared_key=json.dumps(cmd, sort_keys=True, default=str))
        except FutureTimeout:
            rows = [image_status.unlisted_primaries_status(
                f'its OSDs or monitors did not answer in {STATUS_LIST_TIMEOUT_SECONDS:.0f} s')]
        except OSError as e:  # e.g. local_op_timeout, shorter than the wait
            rows = [image_status.unlisted_primaries_status(e.strerror or str(e))]
        rows = sorted(rows + replayer.statuses(), key=lambda r: (r['image'], r['role']))
        return 0, output.render({'images': rows}, fmt, lambda d: image_status.status_table(d['images'])), ''

    # What ceph-mgr reads: every @command above, in the order declared.
    COMMANDS = declared_commands(locals())
