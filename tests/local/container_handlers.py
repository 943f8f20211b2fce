"""Lambda handlers for the tests of functions' own processes (see test_function_processes.py)."""

from __future__ import annotations

import os
import sys
from typing import Any

_invocations = 0  # module state: kept while the function's process is warm


def describe(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _invocations
    _invocations += 1
    return {
        "pid": os.getpid(),
        "variables": sorted(os.environ),
        "access_key": os.environ.get("AWS_ACCESS_KEY_ID"),
        "invocations": _invocations,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "main_module_file": getattr(sys.modules["__main__"], "__file__", None),
        "moto_imported": "moto" in sys.modules,
    }


def list_tables(event: dict[str, Any], context: Any) -> dict[str, Any]:
    import boto3
    from botocore.exceptions import ClientError

    try:
        boto3.client("dynamodb").list_tables()
    except ClientError as error:
        return {"error": error.response["Error"]["Code"]}
    return {"error": None}


def crash(event: dict[str, Any], context: Any) -> None:
    os._exit(3)


def sleep_past_timeout(event: dict[str, Any], context: Any) -> None:
    import time

    time.sleep(context.get_remaining_time_in_millis() / 1000 + 5)


def sleep(event: dict[str, Any], context: Any) -> dict[str, Any]:
    import time

    time.sleep(float(event["seconds"]))
    return {"slept": event["seconds"]}


_kept: list[bytearray] = []


def allocate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _kept.append(bytearray(event["mb"] * 1024 * 1024))  # written: resident, not only reserved
    return {"pid": os.getpid(), "allocated_mb": event["mb"]}
