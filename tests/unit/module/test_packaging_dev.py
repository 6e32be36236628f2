"""packaging/dev, the README's test command, exits with what the tests say.

A run whose tests all passed once exited 1: the EXIT trap that stops the
background package build ran `kill` on a process group that had already
ended, and under `set -e` that failure became the script's exit status."""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def exit_status_after(body):
    """Source packaging/dev (functions only, its own `set -euo pipefail`) and run body."""
    script = f'source "{REPO}/packaging/dev"\n{body}\n'
    return subprocess.run(['bash', '-c', script], capture_output=True, text=True, timeout=60)


def a_pid_that_has_ended():
    child = subprocess.Popen(['true'])
    child.wait()
    return child.pid


def test_stopping_a_package_build_that_already_ended_keeps_a_pass_a_pass():
    run = exit_status_after(f'PREBUILD_PID={a_pid_that_has_ended()}\ntrap stop_prebuild EXIT\necho passed')
    assert (run.returncode, run.stdout) == (0, 'passed\n'), run.stderr


def test_a_failure_stays_a_failure_with_the_trap_set():
    run = exit_status_after(f'PREBUILD_PID={a_pid_that_has_ended()}\ntrap stop_prebuild EXIT\nexit 3')
    assert run.returncode == 3, run.stderr


def test_stopping_a_running_package_build_stops_its_whole_group():
    build = subprocess.Popen(['setsid', 'sleep', '300'])
    try:
        run = exit_status_after(f'PREBUILD_PID={build.pid}\ntrap stop_prebuild EXIT\ntrue')
        assert run.returncode == 0, run.stderr
        assert build.wait(timeout=10) == -15
    finally:
        if build.poll() is None:
            os.kill(build.pid, 9)
