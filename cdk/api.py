"""The HTTP API: the two providers' webhooks and the frontend's API, each route a small Lambda.

Authentication is in the functions, not API Gateway: webhooks by each provider's HMAC signature,
the frontend by a bearer token, both secrets in Secrets Manager.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk.functions import PlatformResources, TaskFunction, platform_function

WEBHOOK_TABLES = ("webhooks", "signatures")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str


API_FUNCTIONS = (
    TaskFunction(
        "PaymentWebhook",
        "lambdas.ingress.webhooks.payments_handler",
        WEBHOOK_TABLES,
        publishes=True,
        secrets=("payments-webhook",),
    ),
    TaskFunction(
        "KycWebhook",
        "lambdas.ingress.webhooks.kyc_handler",
        WEBHOOK_TABLES,
        publishes=True,
        secrets=("kyc-webhook",),
    ),
    TaskFunction(
        "FrontendApi",
        "lambdas.frontend.api.handler",
        ("investors", "wallets", "instruments", "purchases"),
        publishes=True,
        secrets=("frontend-api",),
    ),
)

ROUTES = (
    Route("POST", "/webhooks/payments", "PaymentWebhook"),
    Route("POST", "/webhooks/kyc", "KycWebhook"),
    Route("GET", "/openapi.json", "FrontendApi"),
    Route("GET", "/instruments", "FrontendApi"),
    Route("GET", "/investors/{investor_id}", "FrontendApi"),
    Route("GET", "/investors/{investor_id}/portfolio", "FrontendApi"),
    Route("POST", "/investors/{investor_id}/wallet", "FrontendApi"),
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
            self.api.add_routes(
                path=route.path,
                methods=[apigw.HttpMethod(route.method)],
                integration=integrations_by_function[route.function],
            )
