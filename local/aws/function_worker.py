"""One Lambda function's process: its own environment, credentials, imports and caches.

The embedded AWS forks one per function (from a server that has the heavy libraries imported)
and sends it invocations over a pipe; the worker calls the handler, on a thread per concurrent
invocation, and answers with the Lambda result. What the function may do is what its role's
credentials, given in its environment, let it do against the embedded AWS's endpoint.

Imports only the standard library and `lambda_runtime`: the handler's own imports happen here,
after the environment is the function's, as in a Lambda container.
"""

from __future__ import annotations

import os
import threading
from multiprocessing.connection import Connection
from typing import Any

from local.aws import lambda_runtime

# Libraries every handler imports: loaded once in the fork server, shared by every worker.
PRELOADED = (
    "boto3",
    "botocore.session",
    "pynamodb.models",
    "aws_lambda_powertools",
    "pydantic",
    "httpx",
    "xrpl.models",
    "xrpl.core.binarycodec",
)


def serve(connection: Connection, handler_path: str, environment: dict[str, str]) -> None:
    """Until the pipe closes: receive (id, event, context fields), answer (id, result)."""
    os.environ.clear()
    os.environ.update(environment)
    sending = threading.Lock()

    def run(request_id: int, event: Any, context_fields: dict[str, Any]) -> None:
        context = lambda_runtime.InvocationContext(**context_fields)
        result = lambda_runtime.run_handler(handler_path, event, context)  # counted by the caller
        with sending:
            connection.send((request_id, result))

    while True:
        try:
            request_id, event, context_fields = connection.recv()
        except (EOFError, OSError):
            return
        threading.Thread(target=run, args=(request_id, event, context_fields), daemon=True).start()
