"""Runs a Lambda function's real handler in this process, the way the Lambda runtime would.

moto would start a Docker container per invoke; there is no Docker here, so the function's
``Handler`` ("package.module.attribute") is imported and called directly.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

HandlerFunc = Callable[[Any, Any], Any]

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
