"""Where the CPU goes while the local platform works: the embedded AWS, the platform's code
in it, the ledger, and the functions' own processes (the benchmarks' "share of time spent in
the local emulation versus platform code")."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FUNCTION_PROCESSES = "Lambdas in their own processes (handlers, their AWS and ledger clients)"


def descendants_cpu_seconds() -> dict[int, float]:
    """CPU seconds of each process below this one: the forkserver and the functions' processes,
    which the sampler below cannot see into. Linux /proc only; empty elsewhere."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # it ended while we looked
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    below: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - below
        below |= frontier
    return {pid: cpu[pid] for pid in below}


class SamplingProfile:
    """Where the CPU goes. In this process, every thread's stack is sampled and a busy sample is
    charged to the innermost known layer, in proportion to this process's CPU time; the
    functions' processes are charged their own CPU time, read from the kernel. The sampler's
    own time is charged to itself: with 500 threads it is not free."""

    LAYERS = (
        ("ledger", ("/local/ledger_server/", "/xrpl/core/", "/ecpy/", "/coincurve/")),
        ("Lambdas (handlers, domain, adapters)", ("/lambdas/", "/domain/", "/pynamodb/")),
        ("AWS emulation (moto, botocore, werkzeug)",
         ("/moto/", "/botocore/", "/boto3/", "/werkzeug/", "/jsonata", "/responses/")),
    )  # fmt: skip
    OTHER = "other (interpreter, threads, json)"
    ITSELF = "the sampler itself"
    IDLE = frozenset({"sleep", "wait", "select", "acquire", "_wait_for_tstate_lock", "poll",
                      "accept", "recv_into", "readinto", "serve_forever", "run_forever",
                      "_run_once", "get", "join"})  # fmt: skip

    def __init__(self, interval: float = 0.05) -> None:
        # Every 50 ms: every 5 ms, walking 500 threads' stacks took 12 % of the emulator's time
        # at 200 purchases at once (6 % every 20 ms), time the platform then lacked.
        self.interval = interval
        self.samples: Counter[str] = Counter()
        self.own_cpu = 0.0  # seconds, this process
        self.sampler_cpu = 0.0  # seconds, of those the sampler's
        self.functions_cpu = 0.0  # seconds, the processes below it
        self._layer_of: dict[Any, str | None] = {}  # code object -> its layer, None: none
        self._stop = threading.Event()

    @contextmanager
    def running(self) -> Iterator[None]:
        self._stop.clear()  # sampled again in a later run: the last one set it
        thread = threading.Thread(target=self._sample, daemon=True, name="profiler")
        own, below = time.process_time(), descendants_cpu_seconds()
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()
            self.own_cpu += time.process_time() - own
            after = descendants_cpu_seconds()  # a process ended meanwhile is not counted
            self.functions_cpu += sum(t - below.get(pid, 0.0) for pid, t in after.items())

    def _sample(self) -> None:
        me, started = threading.get_ident(), time.thread_time()
        while not self._stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident != me and frame.f_code.co_name not in self.IDLE:
                    self.samples[self.layer_of(frame)] += 1
        self.sampler_cpu += time.thread_time() - started

    def layer_of(self, frame: Any) -> str:
        """The innermost known layer of the frame's stack."""
        while frame is not None:
            code = frame.f_code
            if code not in self._layer_of:
                self._layer_of[code] = next(
                    (layer for layer, marks in self.LAYERS
                     if any(mark in code.co_filename for mark in marks)),
                    None,
                )  # fmt: skip
            layer = self._layer_of[code]
            if layer is not None:
                return layer
            frame = frame.f_back
        return self.OTHER

    def shares(self) -> dict[str, float]:
        """Percent of all CPU time (this process and the functions' processes) per layer."""
        sampled = sum(self.samples.values()) or 1
        sampled_cpu = max(self.own_cpu - self.sampler_cpu, 0.0)
        seconds = {layer: sampled_cpu * n / sampled for layer, n in self.samples.items()}
        seconds[self.ITSELF] = self.sampler_cpu
        seconds[FUNCTION_PROCESSES] = self.functions_cpu
        total = sum(seconds.values()) or 1.0
        ranked = sorted(seconds.items(), key=lambda item: -item[1])
        return {layer: round(100 * t / total, 1) for layer, t in ranked}
