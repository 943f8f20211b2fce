"""Runs a Lambda function's real handler the way the Lambda runtime would.

moto would start a Docker container per invoke; there is no Docker here. By default each
function gets a process of its own (`FunctionProcesses`, `local.aws.function_worker`): only the
variables CDK gives it, its own imports and caches, and its role's credentials, so it can do
nothing locally that its role could not do in AWS. `Isolation.enabled = False` runs handlers in
this process instead, for tests that inject faults into handler code (IAM still applies there,
through `local.aws.access.acting`).

Either way a function's reserved concurrency holds (`ReservedConcurrency`): an invocation beyond
it is refused, as Lambda refuses it.
"""

from __future__ import annotations

import importlib
import io
import itertools
import json
import logging
import multiprocessing
import multiprocessing.context
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.context import set_spawning_popen
from typing import Any

HandlerFunc = Callable[[Any, Any], Any]

LOG = logging.getLogger(__name__)
_handlers: dict[str, HandlerFunc] = {}
_env_lock = threading.Lock()


@dataclass
class InvocationContext:
    """The subset of the Lambda context object handlers and Powertools read."""

    function_name: str
    function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    @property
    def invoked_function_arn(self) -> str:
        return self.function_arn

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class InvocationResult:
    payload: str
    errored: bool
    logs: str


def resolve_handler(handler_path: str) -> HandlerFunc:
    """Import "package.module.attribute" once and return the callable."""
    cached = _handlers.get(handler_path)
    if cached is not None:
        return cached
    module_name, _, attribute = handler_path.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {handler_path!r} is not 'module.function'")
    handler: HandlerFunc = getattr(importlib.import_module(module_name), attribute)
    _handlers[handler_path] = handler
    return handler


def apply_function_environment(variables: Mapping[str, str], environ: dict[str, str]) -> None:
    """Put a function's variables into the shared process environment.

    Handlers share one process, so the deployer refuses functions that disagree on a variable
    (see deployer.merged_function_environment); here the values are simply applied.
    """
    with _env_lock:
        environ.update(variables)


def invoke(handler_path: str, event: Any, context: InvocationContext) -> InvocationResult:
    """An invocation in this process, within the function's reserved concurrency."""
    with ReservedConcurrency.slot(context.function_arn):
        return run_handler(handler_path, event, context)


def run_handler(handler_path: str, event: Any, context: InvocationContext) -> InvocationResult:
    """Call the handler; an exception becomes the Lambda error payload Retry/Catch match on."""
    try:
        result = resolve_handler(handler_path)(event, context)
        return InvocationResult(json.dumps(result, default=str), errored=False, logs="")
    except Exception as error:  # noqa: BLE001 - the Lambda runtime reports every error
        payload = {
            "errorType": type(error).__name__,
            "errorMessage": str(error),
            "stackTrace": traceback.format_exception(error)[-5:],
        }
        return InvocationResult(json.dumps(payload), errored=True, logs=traceback.format_exc())


# --- reserved concurrency ----------------------------------------------------------------------


class ReservedConcurrency:
    """A function's reserved concurrency is also its cap: with that many invocations running,
    Lambda refuses the next at once (TooManyRequestsException, HTTP 429; a Step Functions task
    sees `Lambda.TooManyRequestsException`) rather than queue it. Counted in this process, where
    every invocation starts, whether the handler then runs in its function's process or here."""

    _running: dict[str, int] = {}
    _lock = threading.Lock()

    @classmethod
    @contextmanager
    def slot(cls, function_arn: str) -> Iterator[None]:
        reserved = reserved_concurrency_of(function_arn)
        if reserved is None:
            yield
            return
        key = ":".join(function_arn.split(":")[:7])  # versions and aliases share it
        with cls._lock:
            running = cls._running.get(key, 0)
            if running >= reserved:
                raise throttled(key.rsplit(":", 1)[-1], reserved)
            cls._running[key] = running + 1
        try:
            yield
        finally:
            with cls._lock:
                cls._running[key] -= 1


def reserved_concurrency_of(function_arn: str) -> int | None:
    """The function's ReservedConcurrentExecutions as the embedded Lambda holds it (set by the
    deployer from the template); None when it has none, or is no function of it."""
    from moto.awslambda.models import lambda_backends

    parts = function_arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        return None
    region, account, name = parts[3], parts[4], parts[6]
    try:
        reserved = lambda_backends[account][region].get_function(name).reserved_concurrency
    except Exception:  # noqa: BLE001 - not a function of the embedded Lambda: no reservation
        return None
    return None if reserved is None else int(reserved)


def throttled(function_name: str, reserved: int) -> Exception:
    """Lambda's refusal of an invocation beyond the reserved concurrency, as its API sends it."""
    from moto.awslambda.exceptions import LambdaClientError

    LOG.warning(
        "%s throttled: %d invocations running, its reserved concurrency", function_name, reserved
    )
    error = LambdaClientError("TooManyRequestsException", "Rate Exceeded.")
    error.code = 429
    error.description = json.dumps(
        {
            "__type": "TooManyRequestsException",
            "message": "Rate Exceeded.",
            "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
            "Type": "User",
        }
    )
    return error


# --- a process per function -------------------------------------------------------------------


class Isolation:
    """Whether handlers run in their function's own process (the default) or in this one."""

    enabled = True


@dataclass(frozen=True)
class FunctionSpec:
    """What a function's process is made of: its handler and its complete environment."""

    handler: str
    environment: dict[str, str]


def _context_fields(context: InvocationContext) -> dict[str, Any]:
    return {
        "function_name": context.function_name,
        "function_arn": context.function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "timeout_seconds": max(1, context.get_remaining_time_in_millis() // 1000),
        "aws_request_id": context.aws_request_id,
    }


TIMEOUT_GRACE_SECONDS = 1.0


class _ContainerPopen(popen_forkserver.Popen):
    """Starts a function's process as Lambda starts a container: without the caller's
    `__main__`, which multiprocessing imports into every child it starts (a bench script's,
    with moto and the ledger: hundreds of MB and seconds of each cold start)."""

    def _launch(self, process_obj: Any) -> None:  # Python 3.11's, less the main module
        prep_data = {
            key: value
            for key, value in spawn.get_preparation_data(process_obj._name).items()
            if key not in ("init_main_from_name", "init_main_from_path")
        }
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _ContainerProcess(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _ContainerPopen:
        return _ContainerPopen(process_obj)


class FunctionProcess:
    """One function's worker process and the invocations waiting for it."""

    def __init__(self, spec: FunctionSpec) -> None:
        from local.aws import function_worker

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(function_worker.PRELOADED))
        self._connection, child = context.Pipe()
        self._process = _ContainerProcess(
            target=function_worker.serve,
            args=(child, spec.handler, spec.environment),
            daemon=True,
        )
        self._process.start()
        child.close()
        self._sending = threading.Lock()
        self._retiring = False  # a timeout or its memory ended it: it takes no new invocation
        self._waiting: dict[int, tuple[threading.Event, list[InvocationResult]]] = {}
        self._most_at_once = 1  # invocations it served at the same time, at most
        self._ids = itertools.count()
        threading.Thread(target=self._receive, daemon=True).start()

    def invoke(self, event: Any, context: InvocationContext) -> InvocationResult:
        request_id, done = next(self._ids), threading.Event()
        answer: list[InvocationResult] = []
        self._waiting[request_id] = (done, answer)
        self._most_at_once = max(self._most_at_once, len(self._waiting))
        try:
            with self._sending:
                self._connection.send((request_id, event, _context_fields(context)))
        except OSError as error:
            self._waiting.pop(request_id, None)
            return _runtime_exit(f"the function's process is gone: {error}")
        allowed = context.get_remaining_time_in_millis() / 1000
        if not done.wait(allowed + TIMEOUT_GRACE_SECONDS):
            self._waiting.pop(request_id, None)
            self._retire()
            payload = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Task timed out after {allowed:.2f} seconds",
            }
            return InvocationResult(json.dumps(payload), errored=True, logs=payload["errorMessage"])
        peak, allowed_mb = self._peak_mb(), context.memory_limit_in_mb * self._most_at_once
        if peak is not None and peak > allowed_mb:
            self._retire()
            return _out_of_memory(context, peak, allowed_mb)
        return answer[0]

    def _peak_mb(self) -> int | None:
        """The process's peak resident memory (Linux's VmHWM), None where it cannot be read.

        Lambda kills an environment whose memory passes the function's MemorySize. Here one
        process serves every concurrent invocation, so the bound is MemorySize times the most
        it served at once: exact for one at a time."""
        try:
            with open(f"/proc/{self._process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) // 1024
        except OSError:
            return None
        return None

    def _retire(self) -> None:
        """Lambda ends a timed-out or out-of-memory environment; invocations running beside it
        run in environments of their own there, so here they finish before this process ends,
        and the next invocation starts a new one."""
        self._retiring = True
        if not self._waiting:
            self.stop()

    def _receive(self) -> None:
        while True:
            try:
                request_id, result = self._connection.recv()
            except (EOFError, OSError):
                break
            waiting = self._waiting.pop(request_id, None)
            if waiting is None:  # a timed-out invocation's late answer: already given up on
                continue
            done, answer = waiting
            answer.append(result)
            done.set()
            if self._retiring and not self._waiting:
                threading.Thread(target=self.stop, daemon=True).start()
                break
        for done, answer in list(self._waiting.values()):  # the process died mid-invocation
            answer.append(_runtime_exit("the function's process exited"))
            done.set()

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    @property
    def serving(self) -> bool:
        """It takes invocations: alive, and not ended by a timeout."""
        return self.alive and not self._retiring

    def stop(self) -> None:
        self.end()
        self._process.join(timeout=5)

    def end(self) -> None:
        """Terminate without waiting (stop_all ends every process first, then waits once)."""
        self._connection.close()
        self._process.terminate()

    def join(self, timeout: float) -> None:
        self._process.join(timeout=timeout)


def _runtime_exit(message: str) -> InvocationResult:
    payload = {"errorType": "Runtime.ExitError", "errorMessage": message}
    return InvocationResult(json.dumps(payload), errored=True, logs=message)


def _out_of_memory(context: InvocationContext, peak_mb: int, allowed_mb: int) -> InvocationResult:
    message = (
        f"RequestId: {context.aws_request_id} Error: Runtime exited with error: signal: killed"
        f" (its process reached {peak_mb} MB; {allowed_mb} MB allowed)"
    )
    payload = {"errorType": "Runtime.OutOfMemory", "errorMessage": message}
    return InvocationResult(json.dumps(payload), errored=True, logs=message)


class FunctionProcesses:
    """Each function's process, started at its first invocation (a cold start).

    `endpoint_url` is the embedded AWS's HTTP endpoint, which the processes call."""

    endpoint_url: str | None = None
    _running: dict[str, FunctionProcess] = {}
    _lock = threading.Lock()

    @classmethod
    def invoke(
        cls,
        function_arn: str,
        spec: Callable[[], FunctionSpec],
        event: Any,
        context: InvocationContext,
    ) -> InvocationResult:
        with ReservedConcurrency.slot(function_arn):  # a throttled invocation starts nothing
            with cls._lock:
                process = cls._running.get(function_arn)
                if process is None or not process.serving:  # a crash or a timeout ended it
                    process = cls._running[function_arn] = FunctionProcess(spec())
            return process.invoke(event, context)

    @classmethod
    def stop_all(cls) -> None:
        with cls._lock:
            running, cls._running = cls._running, {}
        for process in running.values():  # all at once: a join each would add up at shutdown
            process.end()
        deadline = time.monotonic() + 5
        for process in running.values():
            process.join(max(0.0, deadline - time.monotonic()))
