"""AWS clients, created once per process, and the translation of AWS faults into our taxonomy."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from domain.errors import TransientFault
from lambdas.config import settings

_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "KMSInternalException",
        "DependencyTimeoutException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


@functools.cache
def kms() -> Any:
    return boto3.client("kms", region_name=settings().region)


def is_transient(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in _TRANSIENT_CODES or status >= 500


@contextmanager
def transient_faults(what: str) -> Iterator[None]:
    """Throttling, 5xx and connection errors become TransientFault, which workflows retry."""
    try:
        yield
    except ClientError as error:
        if is_transient(error):
            raise TransientFault(f"{what}: {error}") from error
        raise
    except BotoCoreError as error:
        raise TransientFault(f"{what}: {error}") from error
