"""The embedded AWS platform in its two modes: in-process (tests) and a server on 127.0.0.1.

Either way the platform is moto with the stack deployed, the local API gateway serving the
stack's HTTP API on a free port, (unless an endpoint is given) a frontend receiver on a free
port that the notifications API destination delivers to, and a payment provider stand-in that
the refund and payout API destinations deliver to and that answers on the payments webhook.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from local import payment_gateway
from local.api.gateway import ApiGateway
from local.aws import lambda_runtime, patches
from local.aws.deployer import REGION, DeployedStack, Deployer, synthesize
from local.frontend_receiver import FrontendReceiver
from local.payment_provider import PaymentProvider

# The payment provider's endpoint in the local environment's template (cdk/environments.py):
# its API destinations are moved to the stand-in's free port.
TEMPLATE_PROVIDER_ENDPOINT = "http://127.0.0.1:8791"

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
    api_url: str | None = None  # the local API gateway (the stack output ApiUrl)
    notifications: FrontendReceiver | None = None  # the local frontend, if this started one
    notifications_url: str | None = None  # where API destinations deliver (None: the template's)
    gateway: ApiGateway | None = None
    provider: PaymentProvider | None = None  # the payment provider stand-in, if this started one

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)

    def stop(self) -> None:
        """Stop the provider, the gateway and the receiver (moto itself belongs to whoever
        started it). The provider first: it would retry its webhooks on a closing gateway."""
        if self.provider is not None:
            self.provider.stop()
        if self.gateway is not None:
            self.gateway.stop()
        if self.notifications is not None:
            self.notifications.stop()


def prepare_process(endpoint_url: str | None = None) -> None:
    """Patch moto and point this process's AWS clients (and in-process handlers) at it."""
    patches.apply_all()
    # werkzeug logs a line per request to stderr (3 % of the emulator's time at 200 purchases
    # at once, and a 400 that is a refused condition reads as a fault): its warnings stay.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    os.environ.update(FAKE_CREDENTIALS)
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    else:
        os.environ.pop("AWS_ENDPOINT_URL", None)


def deploy_platform(
    endpoint_url: str | None,
    environment_overrides: Mapping[str, str] | None = None,
    *,
    api_endpoint: str | None = None,
    api_destination_endpoint: str | None = None,
    provider_url: str | None = None,
) -> DeployedStack:
    template = synthesize("local")
    deployer = Deployer(
        boto3.Session(),
        endpoint_url,
        environment_overrides,
        api_endpoint=api_endpoint,
        api_destination_endpoint=api_destination_endpoint,
        api_destinations_under={TEMPLATE_PROVIDER_ENDPOINT: provider_url} if provider_url else {},
    )
    return deployer.deploy("Drexfy-local", template)


def launch(
    endpoint_url: str | None,
    environment_overrides: Mapping[str, str] | None = None,
    *,
    api_destination_endpoint: str | None = None,
    frontend_receiver: bool = True,
    api_port: int = 0,
    notifications_port: int = 0,
    notifications_log: Path | None = None,
    provider_port: int = 0,
    provider_log: Path | None = None,
    deployed: DeployedStack | None = None,
) -> LocalAws:
    """Deploy the platform into the running moto and start its gateway, receiver and payment
    provider stand-in.

    `api_destination_endpoint` sends every API destination but the provider's there; without
    it, and with `frontend_receiver`, a FrontendReceiver is started and its URL is the endpoint.
    `deployed` is a stack already in moto (restored from a snapshot): nothing is deployed, and
    the gateway, receiver and provider must get the ports the stack was deployed with."""
    receiver = None
    if api_destination_endpoint is None and frontend_receiver:
        receiver = FrontendReceiver(notifications_port, notifications_log).start()
        api_destination_endpoint = receiver.url
    gateway = ApiGateway(endpoint_url=endpoint_url, port=api_port)
    provider = PaymentProvider(
        "", b"", gateway.url + "/webhooks/payments", port=provider_port, log_file=provider_log
    ).start()
    # The reconciliation reads the provider's settlement report where the stand-in listens.
    overrides = {**(environment_overrides or {}), "PAYMENT_PROVIDER_ENDPOINT": provider.base_url}
    try:
        stack = deployed or deploy_platform(
            endpoint_url,
            overrides,
            api_endpoint=gateway.url,
            api_destination_endpoint=api_destination_endpoint,
            provider_url=provider.base_url,
        )
    except BaseException:
        gateway.stop()
        provider.stop()
        if receiver is not None:
            receiver.stop()
        raise
    gateway.serve(stack.http_api).start()
    platform = LocalAws(
        stack,
        endpoint_url,
        api_url=gateway.url,
        notifications=receiver,
        notifications_url=api_destination_endpoint,
        gateway=gateway,
        provider=provider,
    )
    _hand_the_provider_its_secrets(platform, provider)
    payment_gateway.take_payments_through(provider)
    return platform


def _hand_the_provider_its_secrets(platform: LocalAws, provider: PaymentProvider) -> None:
    """What the account's administrator agrees with the provider: the key Drexfy calls it with,
    and the key it signs its webhooks with."""
    secrets = platform.client("secretsmanager")

    def secret(output: str) -> str:
        value = secrets.get_secret_value(SecretId=platform.stack.output(output))
        return str(value["SecretString"])

    provider.api_key = secret("PaymentProviderApiSecretArn")
    provider.webhook_secret = secret("PaymentsWebhookSecretArn").encode()


@contextmanager
def in_process(
    environment_overrides: Mapping[str, str] | None = None,
    instant_workflows: bool = True,
    *,
    api_destination_endpoint: str | None = None,
    frontend_receiver: bool = True,
) -> Iterator[LocalAws]:
    """moto in this process with the platform deployed; Retry and Wait are instant if asked.

    The API gateway runs on a free port (`LocalAws.api_url`); notifications go to a
    FrontendReceiver on a free port (`LocalAws.notifications`) unless `api_destination_endpoint`
    names another endpoint or `frontend_receiver` is False (then the template's endpoint)."""
    from moto import mock_aws
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    prepare_process()
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[call-overload]
        patches.WorkflowClock.instant = instant_workflows
        # The functions' own processes reach this process's backends over HTTP.
        endpoint = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        endpoint.start()
        host, port = endpoint.get_host_and_port()
        lambda_runtime.FunctionProcesses.endpoint_url = f"http://{host}:{port}"
        platform = None
        try:
            platform = launch(
                None,
                environment_overrides,
                api_destination_endpoint=api_destination_endpoint,
                frontend_receiver=frontend_receiver,
            )
            # Test code reads the tables through the handlers' own models, so it needs the
            # same environment the handlers get.
            os.environ.update(platform.stack.function_environment)
            yield platform
        finally:
            if platform is not None:
                platform.stop()
            lambda_runtime.FunctionProcesses.stop_all()
            endpoint.stop()
            patches.WorkflowClock.instant = False
