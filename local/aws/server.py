"""The embedded AWS as a server on 127.0.0.1, for the demo and the operator tool."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import requests
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local.aws.deployer import REGION
from local.aws.platform import MOTO_CONFIG, LocalAws, launch, prepare_process


class AwsServer:
    """moto's threaded server on a free loopback port, patched, with the platform deployed, the
    API gateway on another free port and, unless `notifications_url` is given, a frontend
    receiver on a third."""

    def __init__(self, port: int = 0) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint_url = ""
        self.platform: LocalAws | None = None

    def start(
        self,
        environment_overrides: dict[str, str] | None = None,
        *,
        notifications_url: str | None = None,
        api_port: int = 0,
        notifications_port: int = 0,
        notifications_log: Path | None = None,
    ) -> LocalAws:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        # Step Functions calls Lambda through boto3 at localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(port)
        prepare_process(self.endpoint_url)
        requests.post(f"{self.endpoint_url}/moto-api/config", json=MOTO_CONFIG, timeout=10)
        self.platform = launch(
            self.endpoint_url,
            environment_overrides,
            api_destination_endpoint=notifications_url,
            api_port=api_port,
            notifications_port=notifications_port,
            notifications_log=notifications_log,
        )
        return self.platform

    def stop(self) -> None:
        if self.platform is not None:
            self.platform.stop()
        self._server.stop()


def write_state(path: Path, platform: LocalAws, extra: dict[str, Any] | None = None) -> None:
    """Tell other processes (operator tool, demo) where the platform is and what it holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "endpoint_url": platform.endpoint_url,
        "region": REGION,
        "api_url": platform.api_url,
        "notifications_url": platform.notifications_url,
        "stack": platform.stack.to_json(),
        # Table names and key ids, not secrets: what operator tools need to act like a Lambda.
        "function_environment": platform.stack.function_environment,
    }
    state.update(extra or {})
    path.write_text(json.dumps(state, indent=2))
