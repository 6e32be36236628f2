"""What `mirror snapshot memory` reports: the mgr process's memory as the
kernel, the C allocator and this module's Python interpreter see it.

ceph-mgr on Debian uses glibc's malloc, so `ceph tell mgr heap stats` (a
tcmalloc command) says nothing. An RSS that grows is either memory in use
(a leak, or a cache) or memory freed that the allocator keeps (spread over
its per-thread arenas); the heap's in-use and free figures tell them apart,
and `release` (malloc_trim) shows how much of the RSS was the latter: by
the RSS it hands back (glibc still counts trimmed chunks as free).
"""
import collections
import gc
import os
import sys
import time
from typing import Any, Dict, Optional, Tuple

TOP_TYPES = 12


def process_figures() -> Tuple[int, int]:
    """(resident bytes, threads) of this process, from /proc."""
    rss = 0
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1]) * 1024
    return rss, len(os.listdir('/proc/self/task'))


def python_figures() -> Dict[str, Any]:
    """Objects the garbage collector of this module's interpreter tracks
    (each mgr module has its own), the most numerous types, and the
    pymalloc blocks of the whole process."""
    objects = gc.get_objects()
    counts = collections.Counter(type(o).__name__ for o in objects)
    return {'gc_objects': len(objects),
            'allocated_blocks': sys.getallocatedblocks(),
            'top_types': dict(counts.most_common(TOP_TYPES))}


def release_heap(native: Any) -> Dict[str, Any]:
    """malloc_trim, the RSS it handed back and how long it took (it holds
    each arena's lock in turn). Shared by `memory release` and the periodic
    release (heap_release.py)."""
    rss_before, _ = process_figures()
    started = time.monotonic()
    released = bool(native.release_free_heap_memory())
    seconds = time.monotonic() - started
    rss_after, _ = process_figures()
    return {'returned_memory': released, 'rss_after_bytes': rss_after,
            'rss_returned_bytes': max(0, rss_before - rss_after), 'seconds': seconds}


def memory_report(native: Any, release: bool, automatic: Optional[Dict[str, Any]] = None,
                  interval: float = 0.0, mmap_threshold: Optional[int] = None) -> Dict[str, Any]:
    """Runs on a native thread (process_heap is a native call).
    `automatic`: the last periodic release (heap_release.py), if any;
    `interval`: its period in seconds (0: off); `mmap_threshold`: the
    heap_mmap_threshold set in the process (None: glibc's own)."""
    rss, threads = process_figures()
    heap = dict(native.process_heap(), mmap_threshold_bytes=mmap_threshold)
    report: Dict[str, Any] = {'rss_bytes': rss, 'threads': threads, 'heap': heap,
                              'python': python_figures(),
                              'automatic_release': {'interval_seconds': interval, 'last': automatic}}
    if release:
        # Garbage in reference cycles first: what it frees goes back with the rest.
        collected = gc.collect()
        report['release'] = release_heap(native)
        report['release'].update({'heap_after': native.process_heap(), 'python_collected': collected,
                                  'python_objects_after': len(gc.get_objects())})
    return report


def plain(report: Dict[str, Any]) -> str:
    mib = 1 << 20
    heap = report['heap']
    lines = [f"rss              {report['rss_bytes'] / mib:.1f} MiB, {report['threads']} threads"]
    if heap['available']:
        lines.append(f"heap in use      {heap['in_use_bytes'] / mib:.1f} MiB (+ {heap['mmapped_bytes'] / mib:.1f} "
                     f"MiB mapped blocks)")
        lines.append(f"heap free, kept  {heap['free_bytes'] / mib:.1f} MiB of {heap['arena_bytes'] / mib:.1f} MiB "
                     f"in arenas")
        threshold = heap.get('mmap_threshold_bytes')
        lines.append(f"mapped alone     blocks of {threshold / mib:g} MiB and more (heap_mmap_threshold)" if threshold
                     else "mapped alone     above glibc's own rising threshold (heap_mmap_threshold 0)")
    else:
        lines.append('heap             no figures: the process does not use glibc (>= 2.33) malloc')
    python = report['python']
    lines.append(f"python objects   {python['gc_objects']} tracked, {python['allocated_blocks']} blocks; most: " +
                 ', '.join(f'{name} {count}' for name, count in python['top_types'].items()))
    automatic = report.get('automatic_release') or {}
    if not heap['available']:
        lines.append('auto release     nothing to release: not glibc malloc')
    elif automatic.get('interval_seconds'):
        last = automatic.get('last')
        when = (f"last {time.strftime('%H:%M:%S', time.gmtime(last['at']))} UTC handed back "
                f"{last['rss_returned_bytes'] / mib:.1f} MiB in {last.get('seconds', 0) * 1000:.0f} ms"
                if last else 'none yet')
        lines.append(f"auto release     every {automatic['interval_seconds']:g} s (heap_release_interval); {when}")
    else:
        lines.append('auto release     off (heap_release_interval 0)')
    if 'release' in report:
        release = report['release']
        lines.append(f"released         {release['rss_returned_bytes'] / mib:.1f} MiB of RSS "
                     f"(now {release['rss_after_bytes'] / mib:.1f} MiB); {release['python_collected']} "
                     f"unreachable Python objects collected, {release['python_objects_after']} tracked after")
    return '\n'.join(lines)
