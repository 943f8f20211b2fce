"""Starting the local platform's servers as child processes and waiting for their ready line."""

from __future__ import annotations

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
