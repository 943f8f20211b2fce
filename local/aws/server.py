"""The embedded AWS as a server on 127.0.0.1, for the demo and the operator tool."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from moto import mock_aws
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local.aws import lambda_runtime, snapshot
from local.aws.deployer import REGION, DeployedStack
from local.aws.platform import MOTO_CONFIG, LocalAws, launch, prepare_process

STOPPED_BY_SHUTDOWN = "The local platform was stopped (make down); redrive to finish"


@dataclass(frozen=True)
class SavedPlatform:
    """What a snapshot holds besides moto: the deployed stack and the ports it was deployed
    with (its URLs are baked into the API destination and the ApiUrl output)."""

    stack: DeployedStack
    moto_port: int
    api_port: int
    notifications_port: int | None  # None when notifications went to an outside endpoint
    notifications_url: str | None
    provider_port: int | None = None  # the payment provider stand-in's (its API destinations)


class AwsServer:
    """moto's threaded server on a free loopback port, patched, with the platform deployed, the
    API gateway on another free port and, unless `notifications_url` is given, a frontend
    receiver on a third."""

    def __init__(self, port: int = 0, restored: snapshot.Snapshot | None = None) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._restored = restored
        self.endpoint_url = ""
        self.platform: LocalAws | None = None
        self._intercepting: Any = None

    @classmethod
    def restore(cls, path: Path) -> AwsServer:
        """A server that starts with the snapshot at `path` in place of a fresh deploy, on the
        port it was saved from."""
        saved = snapshot.read(path)
        if not isinstance(saved.extra, SavedPlatform):
            raise snapshot.SnapshotError(f"{path} holds no saved platform")
        return cls(saved.extra.moto_port, restored=saved)

    def start(
        self,
        environment_overrides: dict[str, str] | None = None,
        *,
        notifications_url: str | None = None,
        api_port: int = 0,
        notifications_port: int = 0,
        notifications_log: Path | None = None,
        provider_port: int = 0,
        provider_log: Path | None = None,
    ) -> LocalAws:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        os.environ["MOTO_PORT"] = str(port)
        lambda_runtime.FunctionProcesses.endpoint_url = self.endpoint_url
        requests.post(f"{self.endpoint_url}/moto-api/config", json=MOTO_CONFIG, timeout=10)
        # Handlers and state machine tasks run in this process: their calls are intercepted
        # in their own thread, where IAM knows whose role they act as (local/aws/access.py).
        # Other processes reach the same backends over HTTP with their own credentials.
        prepare_process()
        self._intercepting = mock_aws(config=MOTO_CONFIG)  # type: ignore[call-overload]
        self._intercepting.start(reset=False)
        if self._restored is not None:
            return self._start_restored(self._restored, notifications_log, provider_log)
        self.platform = launch(
            self.endpoint_url,
            environment_overrides,
            api_destination_endpoint=notifications_url,
            api_port=api_port,
            notifications_port=notifications_port,
            notifications_log=notifications_log,
            provider_port=provider_port,
            provider_log=provider_log,
        )
        return self.platform

    def _start_restored(
        self,
        restored: snapshot.Snapshot,
        notifications_log: Path | None,
        provider_log: Path | None,
    ) -> LocalAws:
        restored.install()
        saved: SavedPlatform = restored.extra
        os.environ.update(saved.stack.function_environment)
        self.platform = launch(
            self.endpoint_url,
            deployed=saved.stack,
            api_destination_endpoint=None if saved.notifications_port else saved.notifications_url,
            api_port=saved.api_port,
            notifications_port=saved.notifications_port or 0,
            notifications_log=notifications_log,
            provider_port=saved.provider_port or 0,
            provider_log=provider_log,
        )
        return self.platform

    def save(self, path: Path, settle_seconds: float = 60.0) -> list[str]:
        """Let running executions finish (up to `settle_seconds`), stop the rest, and write the
        snapshot. Returns the ARNs of the executions that had to be stopped."""
        assert self.platform is not None, "start the server first"
        began = time.monotonic()
        stopped = settle_executions(self.platform, settle_seconds)
        print(f"settled in {time.monotonic() - began:.1f} s; saving", flush=True)
        receiver = self.platform.notifications
        saved = SavedPlatform(
            stack=self.platform.stack,
            moto_port=_port(self.endpoint_url),
            api_port=_port(self.platform.api_url or ""),
            notifications_port=_port(receiver.url) if receiver is not None else None,
            notifications_url=self.platform.notifications_url,
            provider_port=self.platform.provider.port if self.platform.provider else None,
        )
        snapshot.save(path, saved)
        return stopped

    def stop(self) -> None:
        if self.platform is not None:
            self.platform.stop()
        lambda_runtime.FunctionProcesses.stop_all()
        if self._intercepting is not None:
            self._intercepting.stop(remove_data=False)
        self._server.stop()


def settle_executions(platform: LocalAws, settle_seconds: float) -> list[str]:
    """Wait for running executions; stop those still running after `settle_seconds`."""
    sfn = platform.client("stepfunctions")
    machines = [
        value for name, value in platform.stack.outputs.items() if name.endswith("StateMachineArn")
    ]

    def running() -> list[str]:
        return [
            execution["executionArn"]
            for machine in machines
            for execution in sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")[
                "executions"
            ]
        ]

    deadline = time.monotonic() + settle_seconds
    while (arns := running()) and time.monotonic() < deadline:
        time.sleep(0.5)
    for arn in arns:
        sfn.stop_execution(executionArn=arn, error="PlatformStopped", cause=STOPPED_BY_SHUTDOWN)
    # moto's interpreter notices a stop between states: let it write ABORTED before the save.
    deadline = time.monotonic() + 30
    while (still := running()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for arn in still:
        print(f"still running after its stop, saved as RUNNING: {arn}", flush=True)
    return arns


def _port(url: str) -> int:
    port = urlsplit(url).port
    if port is None:
        raise ValueError(f"{url!r} names no port")
    return port


def write_state(path: Path, platform: LocalAws, extra: dict[str, Any] | None = None) -> None:
    """Tell other processes (operator tool, demo) where the platform is and what it holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "endpoint_url": platform.endpoint_url,
        "region": REGION,
        "api_url": platform.api_url,
        "notifications_url": platform.notifications_url,
        "provider_url": platform.provider.base_url if platform.provider else None,
        "stack": platform.stack.to_json(),
        # Table names and key ids, not secrets: what operator tools need to act like a Lambda.
        "function_environment": platform.stack.function_environment,
    }
    state.update(extra or {})
    path.write_text(json.dumps(state, indent=2))
