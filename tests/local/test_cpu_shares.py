"""The benchmarks' CPU shares: a busy thread is charged to the layer its code is in, a process
below to the functions' processes, and the sampler to itself."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any

from local.cpu_shares import FUNCTION_PROCESSES, SamplingProfile

EMULATION = "AWS emulation (moto, botocore, werkzeug)"
SPIN = """
def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
"""


def spinner_in(path: str) -> Any:
    """A function whose code says it lives at `path`, as moto's own code does."""
    scope: dict[str, Any] = {"time": time}
    exec(compile(SPIN, path, "exec"), scope)
    return scope["spin"]


class SpinnerProfile(SamplingProfile):
    """The real sampler, with a layer no other code in this process is in (a test process may
    hold other platforms' threads, busy in moto's code)."""

    LAYERS = (("spinner", ("/drexfy-test-spinner/",)), *SamplingProfile.LAYERS)


def test_a_busy_thread_is_charged_to_the_layer_its_code_is_in() -> None:
    profile = SpinnerProfile(interval=0.005)
    spin = spinner_in("/drexfy-test-spinner/moto/dynamodb/responses.py")

    with profile.running():
        worker = threading.Thread(target=spin, args=(0.5,))
        worker.start()
        worker.join()

    assert profile.samples["spinner"] >= 20  # its first known layer, the innermost
    assert profile.sampler_cpu > 0
    assert SamplingProfile.ITSELF in profile.shares()
    idle = SpinnerProfile(interval=0.005)
    with idle.running():
        time.sleep(0.3)
    assert idle.samples["spinner"] == 0


def test_code_in_moto_is_the_aws_emulation_whoever_called_it() -> None:
    scope: dict[str, Any] = {"sys": sys}
    exec(compile("def here():\n    return sys._getframe()\n", "/lib/moto/core/x.py", "exec"), scope)
    assert SamplingProfile().layer_of(scope["here"]()) == EMULATION


def test_a_process_below_is_charged_its_own_cpu_time() -> None:
    profile = SamplingProfile()
    burn = (
        "import sys, time\nend = time.process_time() + 0.4\n"
        "while time.process_time() < end: pass\nprint('burnt', flush=True)\nsys.stdin.read()"
    )
    with profile.running():
        child = subprocess.Popen(
            [sys.executable, "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"burnt\n"  # still alive, waiting for its input
    child.communicate(b"")

    assert 0.3 < profile.functions_cpu < 1.0
    assert profile.shares()[FUNCTION_PROCESSES] > 50
