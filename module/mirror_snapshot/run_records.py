"""What happened at each image's last scheduled (or manual) run.

Kept in memory for `status` and health, and written to the omap of RADOS
object `mirror_snapshot_state` in the image's pool (key
`<namespace>/<image id>`, JSON value) so that a restarted or failed-over mgr
knows each image's last run and catches up exactly once.
"""
import json
import threading
from typing import Any, Dict, List, Optional

STATE_OBJECT = 'mirror_snapshot_state'

# Backoff after failures: 30 s, 1 min, 2 min, ... capped at 30 min.
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 1800


def backoff_seconds(consecutive_failures: int) -> int:
    exponent = max(0, min(consecutive_failures - 1, 16))
    return min(BACKOFF_BASE_SECONDS * (2 ** exponent), BACKOFF_MAX_SECONDS)


class RunRecords:
    def __init__(self, native: Any, cluster: Any, log: Any) -> None:
        self._native = native
        self._cluster_ref = cluster  # LocalCluster
        self._log = log
        self._lock = threading.Lock()
        self._records: Dict[str, Dict[str, Any]] = {}  # image key -> record

    def load(self, pool: str, pool_id: int) -> None:
        values = self._native.omap_read(self._cluster_ref.get(), pool, STATE_OBJECT)
        with self._lock:
            for state_key, value in values.items():
                try:
                    record = json.loads(value)
                except ValueError:
                    continue
                self._records[f'{pool_id}/{state_key}'] = record

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        with self._lock:
            record = self._records.get(key)
            return dict(record) if record else None

    def last_runs(self) -> Dict[str, int]:
        with self._lock:
            return {k: int(r['time']) for k, r in self._records.items() if 'time' in r}

    def failing(self) -> List[Dict[str, Any]]:
        with self._lock:
            return [dict(r, key=k) for k, r in self._records.items() if r.get('result') == 'error']

    def record(self, key: str, pool: str, state_key: str, image_spec: str, result: str,
               scheduled_for: Optional[int], started: float, snap_id: Optional[int] = None,
               error: str = '', errno_code: int = 0, pruned: Optional[List[int]] = None,
               trigger: str = 'schedule') -> Dict[str, Any]:
        with self._lock:
            previous = self._records.get(key, {})
            failures = previous.get('consecutive_failures', 0) + 1 if result == 'error' else 0
            record: Dict[str, Any] = {
                'image': image_spec,
                'time': int(started),
                'result': result,            # 'created', 'skipped' or 'error'
                'trigger': trigger,          # 'schedule', 'catch-up', 'retry' or 'manual'
                'scheduled_for': scheduled_for,
                'lateness_seconds': (round(started - scheduled_for, 3)
                                     if scheduled_for is not None else None),
                'snap_id': snap_id,
                'pruned': pruned or [],
                'error': error,
                'errno': errno_code,
                'consecutive_failures': failures,
                'failing_since': (previous.get('failing_since') or int(started)) if failures else None,
            }
            self._records[key] = record
        try:
            self._native.omap_set(self._cluster_ref.get(), pool, STATE_OBJECT,
                                  {state_key: json.dumps(record, sort_keys=True)})
        except OSError as e:
            # The run itself happened; only its record is not durable.
            self._log.error(f'cannot persist the run record of {image_spec}: {e}')
        return record

