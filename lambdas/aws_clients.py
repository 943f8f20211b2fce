"""AWS clients, created once per process, and the translation of AWS faults into our taxonomy."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
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
        # A transaction cancelled for anything but a condition (callers read those first): a
        # conflicting transaction or throttling inside it.
        "TransactionCanceledException",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)


class AwsRefused(RuntimeError):
    """AWS refused the call for a reason no retry fixes (access denied, a missing table or key,
    a malformed request): a deployment or code fault, shown to operators as AWS said it."""


def dynamodb_fault(what: str, error: Exception) -> Exception:
    """A pynamodb failure in our taxonomy: no answer, throttling or a conflict is transient; a
    refusal is not, and keeps AWS's code and message (pynamodb's own text hides them)."""
    code = getattr(error, "cause_response_code", None)
    reason = getattr(error, "cause_response_message", None) or str(error)
    detail = f"{what}: {code or type(error).__name__}: {reason}"
    if code is None or code in _TRANSIENT_CODES:
        return TransientFault(detail)
    return AwsRefused(detail)


@functools.cache
def kms() -> Any:
    return boto3.client("kms", region_name=settings().region)


@functools.cache
def s3() -> Any:
    """SigV4 (the only signature a KMS-encrypted object's link may carry), on the bucket's
    regional name: the global one answers a new bucket with a redirect a signed link cannot
    follow. A local endpoint (AWS_ENDPOINT_URL) names no buckets, so it is addressed by path."""
    client = boto3.client(
        "s3", region_name=settings().region, config=Config(signature_version="s3v4")
    )
    if not str(client.meta.endpoint_url).endswith(".amazonaws.com"):
        return client
    virtual = Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
    return boto3.client("s3", region_name=settings().region, config=virtual)


@functools.cache
def step_functions() -> Any:
    return boto3.client("stepfunctions", region_name=settings().region)


@functools.cache
def lambda_functions() -> Any:
    """For the signing service: a signature is quick, so a long wait means something is wrong."""
    return boto3.client(
        "lambda",
        region_name=settings().region,
        config=Config(read_timeout=20, connect_timeout=5, retries={"mode": "standard"}),
    )


def is_transient(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in _TRANSIENT_CODES or status >= 500


@contextmanager
def transient_faults(what: str) -> Iterator[None]:
    """Throttling, 5xx and connection errors become TransientFault, which workflows retry; any
    other refusal becomes AwsRefused, which they do not."""
    try:
        yield
    except ClientError as error:
        if is_transient(error):
            raise TransientFault(f"{what}: {error}") from error
        raise AwsRefused(f"{what}: {error}") from error
    except BotoCoreError as error:
        raise TransientFault(f"{what}: {error}") from error
