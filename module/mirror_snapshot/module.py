"""mirror_snapshot: RBD mirror-snapshot scheduling and replication.

The module is thin: it parses and validates command arguments, owns the
threads, persists state and reports health; the work runs in the native core
(C++), which is only ever touched from this module's own threads.
"""
import errno
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Dict, List, Optional, Tuple

from mgr_module import MgrModule, Option

from . import output
from ._version import MODULE_VERSION
from .errors import CommandError
from .executor import ExecutorNotReady, NativeExecutor

CommandResult = Tuple[int, str, str]

# How long a command waits for the native threads before answering EAGAIN or
# ETIMEDOUT: commands must never hang the mgr's command dispatch.
READY_TIMEOUT_SECONDS = 10.0
COMMAND_TIMEOUT_SECONDS = 60.0


class Module(MgrModule):
    NOTIFY_TYPES: List[Any] = []  # no cluster-map notifications needed yet

    COMMANDS = [
        {
            'cmd': 'mirror snapshot version',
            'desc': 'Show the versions of the module, its native core and the '
                    'librados/librbd it runs against',
            'perm': 'r',
        },
    ]

    MODULE_OPTIONS = [
        Option(name='native_threads', type='int', default=4, min=1, max=64,
               desc='threads that run native (C++) work for commands and '
                    'background jobs; takes effect on module restart'),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stopping = threading.Event()
        self._executor = NativeExecutor(__package__, self.log)
        self._local_cluster: Any = None  # native Cluster sharing our CephContext
        self._handlers: Dict[str, Callable[[Dict[str, Any]], CommandResult]] = {
            'mirror snapshot version': self._cmd_version,
        }

    # --- lifecycle ---------------------------------------------------------

    def serve(self) -> None:
        threads = int(self.get_module_option('native_threads') or 4)
        self._executor.start(threads)
        self._connect_local_cluster()
        self._stopping.wait()

    def shutdown(self) -> None:
        self._stopping.set()
        self._executor.stop()

    def _connect_local_cluster(self) -> None:
        """Open the native client of our own cluster, retrying until it works."""
        delay = 1.0
        while not self._stopping.is_set():
            try:
                self._local_cluster = self._executor.call(self._open_local_cluster)
                self.log.info('native client connected')
                return
            except Exception as e:
                self.log.error(f'native client cannot connect yet: {e}')
                self._stopping.wait(delay)
                delay = min(delay * 2, 30.0)

    def _open_local_cluster(self, native: Any) -> Any:
        cluster = native.Cluster.from_mgr_context(self.get_context())
        # Registered so that a mgr failover blocklists this client too.
        self._ceph_register_client(cluster.addresses())
        return cluster

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
            return -(e.errno or errno.EIO), '', e.strerror or str(e)
        except ExecutorNotReady as e:
            return -errno.EAGAIN, '', str(e)
        except FutureTimeout:
            return -errno.ETIMEDOUT, '', 'the native core did not answer in time'
        except Exception as e:
            self.log.exception(f"command '{cmd.get('prefix')}' failed")
            return -errno.EIO, '', f'internal error: {e}'

    def _native_call(self, job: Callable[..., Any], *args: Any) -> Any:
        self._executor.wait_ready(READY_TIMEOUT_SECONDS)
        return self._executor.call(job, *args, timeout=COMMAND_TIMEOUT_SECONDS)

    def _cmd_version(self, cmd: Dict[str, Any]) -> CommandResult:
        fmt = output.requested_format(cmd)

        def job(native: Any) -> Dict[str, Any]:
            versions = native.versions()
            cluster = self._local_cluster
            return {
                'module_version': MODULE_VERSION,
                'core_version': versions['core'],
                'librados_version': versions['librados'],
                'librbd_version': versions['librbd'],
                'cluster_fsid': cluster.fsid() if cluster is not None else None,
                'native_thread': threading.current_thread().name,
            }

        data = self._native_call(job)
        return 0, output.render(data, fmt, output.key_value_lines), ''
