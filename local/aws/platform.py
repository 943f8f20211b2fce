"""The embedded AWS platform in its two modes: in-process (tests) and a server on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from local.aws import patches
from local.aws.deployer import REGION, DeployedStack, Deployer, synthesize

MOTO_CONFIG: dict[str, Any] = {"stepfunctions": {"execute_state_machine": True}}
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@dataclass
class LocalAws:
    """A running embedded AWS with the platform stack deployed into it."""

    stack: DeployedStack
    endpoint_url: str | None  # None in-process: calls are intercepted, not sent

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)


def prepare_process(endpoint_url: str | None = None) -> None:
    """Patch moto and point this process's AWS clients (and in-process handlers) at it."""
    patches.apply_all()
    os.environ.update(FAKE_CREDENTIALS)
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    else:
        os.environ.pop("AWS_ENDPOINT_URL", None)


def deploy_platform(
    endpoint_url: str | None, environment_overrides: Mapping[str, str] | None = None
) -> DeployedStack:
    template = synthesize("local")
    deployer = Deployer(boto3.Session(), endpoint_url, environment_overrides)
    return deployer.deploy("Drexfy-local", template)


@contextmanager
def in_process(
    environment_overrides: Mapping[str, str] | None = None, instant_workflows: bool = True
) -> Iterator[LocalAws]:
    """moto in this process with the platform deployed; Retry and Wait are instant if asked."""
    from moto import mock_aws

    prepare_process()
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[call-overload]
        patches.WorkflowClock.instant = instant_workflows
        try:
            stack = deploy_platform(None, environment_overrides)
            # Test code reads the tables through the handlers' own models, so it needs the
            # same environment the handlers get.
            os.environ.update(stack.function_environment)
            yield LocalAws(stack, None)
        finally:
            patches.WorkflowClock.instant = False
