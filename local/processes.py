"""Starting the local platform's servers as child processes and waiting for their ready line."""

from __future__ import annotations

import enum
import faulthandler
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ChildServer:
    process: subprocess.Popen[str]
    ready_line: str
    log_path: Path

    def field(self, name: str) -> str:
        """A `name=value` field of the ready line."""
        for part in self.ready_line.split():
            key, _, value = part.partition("=")
            if key == name:
                return value
        raise KeyError(f"ready line has no {name}: {self.ready_line!r}")

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_module(
    module: str,
    args: Sequence[str],
    ready_prefix: str,
    log_path: Path | None = None,
    timeout: float = 120.0,
) -> ChildServer:
    """Run `python -m module args` and return once it prints a line starting with ready_prefix.

    Everything after the ready line is copied to log_path, so the child never blocks on a full
    pipe.
    """
    log_path = log_path or PROJECT_ROOT / ".local" / "logs" / f"{module}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=0.5):
            if process.poll() is not None:
                break
            continue
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        if line.startswith(ready_prefix):
            _copy_rest(process.stdout, log_path)
            return ChildServer(process, line.strip(), log_path)
    process.kill()
    output = process.stdout.read() if process.poll() is not None else ""
    raise RuntimeError(f"{module} did not become ready (exit code {process.poll()}):\n{output}")


def _copy_rest(stream: IO[str], log_path: Path) -> None:
    def copy() -> None:
        with log_path.open("a") as log:
            for line in stream:
                log.write(line)
                log.flush()

    threading.Thread(target=copy, name=f"log-{log_path.name}", daemon=True).start()


def start_detached(
    module: str, args: Sequence[str], ready_prefix: str, log_path: Path, timeout: float = 120.0
) -> tuple[int, str]:
    """Run `python -m module args` in its own session, outliving this process, with its output
    appended to log_path; returns (pid, ready line) once the line appears in the log."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            start_new_session=True,  # make's Ctrl-C must not take the platform down with it
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with log_path.open() as log:
            log.seek(start)
            for line in log:
                if line.startswith(ready_prefix):
                    return process.pid, line.strip()
        if process.poll() is not None:
            break
        time.sleep(0.2)
    if process.poll() is None:
        process.kill()
    with log_path.open() as log:
        log.seek(start)
        output = log.read()
    raise RuntimeError(f"{module} did not become ready (exit code {process.poll()}):\n{output}")


STACKS_SIGNAL = signal.SIGUSR1


def write_stacks_on_signal() -> None:
    """Let `stop_pid` see where this server hangs before it kills it."""
    faulthandler.register(STACKS_SIGNAL, all_threads=True)


def wait_for_stop_signal(poll_seconds: float = 0.5) -> None:
    """Block until SIGTERM or SIGINT.

    It polls: the kernel may hand the signal to a busy server thread, and then a main thread
    blocked in an untimed wait is never woken to run the Python handler (seen: `make down`
    waiting a minute on a server that never heard it)."""
    stop = threading.Event()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: stop.set())
    while not stop.wait(poll_seconds):
        pass


class Stopped(enum.Enum):
    NOT_RUNNING = "was not running"
    EXITED = "exited"
    KILLED = "was killed after its deadline"


def stop_pid(pid: int, timeout: float) -> Stopped:
    """SIGTERM `pid` and wait for it to go; SIGKILL after `timeout`."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return Stopped.NOT_RUNNING
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(pid):
            return Stopped.EXITED
        time.sleep(0.2)
    try:
        os.kill(pid, STACKS_SIGNAL)  # our servers write every thread's stack to their log on it
        time.sleep(1)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return Stopped.EXITED  # just in time
    return Stopped.KILLED


def is_running(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our exited child
        if waited == pid:
            return False
    except ChildProcessError:
        pass  # not our child: started by an earlier `make up`
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
