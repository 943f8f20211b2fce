"""The local servers stop on SIGTERM even when the kernel hands it to one of their threads."""

from __future__ import annotations

import subprocess
import sys

from local.processes import PROJECT_ROOT

SERVER = """
import signal, threading, time
from local.processes import wait_for_stop_signal

def busy_thread() -> None:
    time.sleep(0.5)
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # to this thread, not main
    time.sleep(60)

threading.Thread(target=busy_thread, daemon=True).start()
wait_for_stop_signal()
print("stopped")
"""


def test_a_sigterm_taken_by_another_thread_still_stops_the_server() -> None:
    # An untimed Event.wait() in the main thread never returns here (seen in `make down`).
    result = subprocess.run(
        [sys.executable, "-c", SERVER], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=20,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "stopped"
