"""The HTTP API: the two providers' webhooks and the frontend's API, each route a small Lambda.

Authentication is in the functions, not API Gateway: webhooks by each provider's HMAC signature,
the frontend by a bearer token (every route but the OpenAPI document), both secrets in Secrets
Manager. Every request is access-logged, without its headers, to a log group kept like the
functions' logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.environments import DeploymentEnvironment
from cdk.functions import PlatformResources, TaskFunction, log_group, platform_function
from cdk.nag import OPENAPI_DOCUMENT_IS_PUBLIC, ROUTE_AUTHENTICATED_IN_ITS_FUNCTION
from domain import events

# A cap on each API function's concurrent executions, reserved out of the account's (1,000 by
# default): together they can never hold more than these 95, so a flood of webhooks or frontend
# calls cannot starve the workflows' functions, which share the unreserved rest. Sized from the
# stage's throttling (cdk/environments.py, 50 requests a second a route) by Little's law: a
# webhook takes about 0.2 s warm, so 50 a second is about 10 at once, and twice that leaves
# room for cold starts; the frontend's portfolio reads the ledger (0.5-1 s), hence more. Lambda
# keeps 100 unreserved: the account's concurrency quota must be at least 195 (a new account's
# may start at 10: ask for the default 1,000 before the first deploy).
RESERVED_CONCURRENCY = {
    "PaymentWebhook": 20,
    "KycWebhook": 20,
    "CollectionWebhook": 5,  # a servicer reports a few collections a day
    "AdyenWebhook": 10,  # batches of up to 100 items, so fewer requests than one per event
    "FrontendApi": 40,
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    public: bool = False  # no credentials asked (lambdas/frontend/api.py agrees)


API_FUNCTIONS = (
    TaskFunction(
        "PaymentWebhook",
        "lambdas.ingress.webhooks.payments_handler",
        # a payment for an instrument not sold here is refused, and an answer about a payout
        # or refund nobody asked for
        reads=("instruments", "withdrawals", "purchases"),
        writes=("webhooks", "payments"),  # the only writer of payment announcements
        deletes=("signatures",),  # a signature is released when its event missed the bus
        publishes=(events.PAYMENTS,),
        secrets=("payments-webhook",),
        reserved_concurrency=RESERVED_CONCURRENCY["PaymentWebhook"],
    ),
    TaskFunction(
        "KycWebhook",
        "lambdas.ingress.webhooks.kyc_handler",
        writes=("webhooks",),
        deletes=("signatures",),
        publishes=(events.KYC_DECISIONS,),
        secrets=("kyc-webhook",),
        reserved_concurrency=RESERVED_CONCURRENCY["KycWebhook"],
    ),
    TaskFunction(
        "AdyenWebhook",
        "lambdas.ingress.webhooks.adyen_handler",
        reads=("instruments", "withdrawals", "purchases"),  # as the payment gateway's door
        writes=("webhooks", "payments"),
        deletes=("signatures",),
        publishes=(events.PAYMENTS,),
        secrets=("adyen-webhook",),
        reserved_concurrency=RESERVED_CONCURRENCY["AdyenWebhook"],
    ),
    TaskFunction(
        "CollectionWebhook",
        "lambdas.ingress.webhooks.collections_handler",
        writes=("webhooks",),
        deletes=("signatures",),
        publishes=(events.COLLECTIONS,),
        secrets=("collections-webhook",),
        reserved_concurrency=RESERVED_CONCURRENCY["CollectionWebhook"],
    ),
    TaskFunction(
        "FrontendApi",
        "lambdas.frontend.api.handler",
        # distributions and entitlements: the cash flows; submissions and audit: the causes of
        # the changes in a register extract
        reads=(
            "investors",
            "wallets",
            "instruments",
            "purchases",
            "distributions",
            "entitlements",
            "submissions",
            "audit",
        ),
        # a withdrawal asked for (counted against the day's limit), where income goes
        writes=("withdrawals",),
        publishes=(events.WALLET_REQUESTS, events.WITHDRAWAL_REQUESTS),
        secrets=("frontend-api",),
        knows_addresses_of=True,  # the portfolio reads the investor's line to the issuer
        statement_objects=("s3:GetObject",),  # the links it hands out are signed as itself
        reserved_concurrency=RESERVED_CONCURRENCY["FrontendApi"],
    ),
)

# One JSON line per request; no headers, so no signature or token is ever logged.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "sourceIp": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latency": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
}

ROUTES = (
    Route("POST", "/webhooks/payments", "PaymentWebhook"),
    Route("POST", "/webhooks/kyc", "KycWebhook"),
    Route("POST", "/webhooks/collections", "CollectionWebhook"),
    Route("POST", "/webhooks/adyen", "AdyenWebhook"),
    Route("GET", "/openapi.json", "FrontendApi", public=True),
    Route("GET", "/instruments", "FrontendApi"),
    Route("GET", "/investors/{investor_id}", "FrontendApi"),
    Route("GET", "/investors/{investor_id}/portfolio", "FrontendApi"),
    Route("GET", "/investors/{investor_id}/cash-flows", "FrontendApi"),
    Route("POST", "/investors/{investor_id}/wallet", "FrontendApi"),
    Route("GET", "/investors/{investor_id}/withdrawals", "FrontendApi"),
    Route("POST", "/investors/{investor_id}/withdrawals", "FrontendApi"),
    Route("PUT", "/investors/{investor_id}/income-payout", "FrontendApi"),
    Route(
        "GET", "/investors/{investor_id}/holdings/{instrument_id}/register-extract", "FrontendApi"
    ),
    Route("GET", "/investors/{investor_id}/statements/{period}", "FrontendApi"),
    Route("GET", "/investors/{investor_id}/statements/{period}/documents", "FrontendApi"),
    Route("POST", "/investors/{investor_id}/statements/{period}/documents", "FrontendApi"),
    Route("GET", "/purchases/{purchase_id}", "FrontendApi"),
)


class PlatformApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, resources: PlatformResources) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[str, lambda_.Function] = {
            task.name: platform_function(self, task, resources) for task in API_FUNCTIONS
        }
        self.api = apigw.HttpApi(
            self,
            "HttpApi",
            api_name=f"Drexfy-{resources.env.name}-api",
            description="Webhooks of the payment gateway and the KYC/AML provider; frontend API",
            create_default_stage=True,
        )
        integrations_by_function = {
            name: integrations.HttpLambdaIntegration(f"{name}Integration", function)
            for name, function in self.functions.items()
        }
        for route in ROUTES:
            (http_route,) = self.api.add_routes(
                path=route.path,
                methods=[apigw.HttpMethod(route.method)],
                integration=integrations_by_function[route.function],
            )
            if route.public:
                OPENAPI_DOCUMENT_IS_PUBLIC.on(http_route)
            else:
                ROUTE_AUTHENTICATED_IN_ITS_FUNCTION.on(http_route)
        self.access_logs = log_group(self, "AccessLogs", resources.env)
        self._log_access(self.access_logs)
        self._throttle(resources.env)

    def _default_stage(self) -> apigw.CfnStage:
        """The default stage's resource (HttpApi has no options for its logs or throttling; its
        stage is kept as it is, so a deployed API keeps its $default stage)."""
        stage = self.api.default_stage
        assert stage is not None
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        return cfn_stage

    def _throttle(self, env: DeploymentEnvironment) -> None:
        """Every route's rate and burst (cdk/environments.py); beyond them API Gateway answers
        429 Too Many Requests without invoking a function."""
        self._default_stage().default_route_settings = apigw.CfnStage.RouteSettingsProperty(
            throttling_rate_limit=env.api_rate_per_second,
            throttling_burst_limit=env.api_burst,
        )

    def _log_access(self, destination: logs.ILogGroup) -> None:
        """Access logs on the default stage."""
        cfn_stage = self._default_stage()
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=destination.log_group_arn,
            format=json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")),
        )
