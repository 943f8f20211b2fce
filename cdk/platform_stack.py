"""The Drexfy platform for one deployment environment."""

from __future__ import annotations

from aws_cdk import AssetHashType, CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk.api import PlatformApi
from cdk.books import DailyReconciliation, PeriodStatements
from cdk.data import PlatformTables, ServicingBucket
from cdk.environments import DeploymentEnvironment
from cdk.functions import PlatformResources
from cdk.ingress import PlatformBus
from cdk.keys import PlatformKeys
from cdk.nag import SHARED_SECRET_ROTATES_BY_AGREEMENT
from cdk.notifications import FrontendNotifications
from cdk.observability import Observability
from cdk.operators import OperatorsRole
from cdk.packaging import dependencies_digest, stage_lambda_code, stage_lambda_dependencies
from cdk.provider import PaymentProvider
from cdk.servicing import ServicingSchedule
from cdk.signing import SigningService
from cdk.workflows import WORKFLOWS, Workflow

SECRETS = {
    "payments-webhook": "HMAC key the payment gateway signs its webhooks with",
    "kyc-webhook": "HMAC key the KYC/AML provider signs its webhooks with",
    "collections-webhook": "HMAC key the SME pools' servicer signs its collection webhooks with",
    "adyen-webhook": "Adyen's HMAC key (hex) it signs its standard webhooks with",
    "frontend-api": "Bearer token of the frontend (Bubble API Connector and notifications)",
    "payment-provider-api": "API key Drexfy calls the payment provider with (refunds, payouts)",
}


def _generated(name: str) -> secretsmanager.SecretStringGenerator:
    """A shared secret until the provider's is put in its place; Adyen's HMAC key is 64 hex
    digits (a generated one is too, so the door works before the real one is set)."""
    if name == "adyen-webhook":
        return secretsmanager.SecretStringGenerator(
            password_length=64,
            exclude_lowercase=True,
            exclude_punctuation=True,
            exclude_characters="GHIJKLMNOPQRSTUVWXYZ",
        )
    return secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=48)


class PlatformStack(Stack):
    def __init__(self, scope: Construct, env: DeploymentEnvironment) -> None:
        super().__init__(scope, env.stack_name, description=f"Drexfy platform ({env.name})")
        tables = PlatformTables(self, "Tables", env)
        servicing = ServicingBucket(self, "Servicing", env)
        keys = PlatformKeys(self, "Keys", env)
        bus = PlatformBus(self, "Events", env)
        secrets = {
            name: secretsmanager.Secret(
                self,
                f"{name.title().replace('-', '')}Secret",
                description=description,
                generate_secret_string=_generated(name),
            )
            for name, description in SECRETS.items()
        }
        SHARED_SECRET_ROTATES_BY_AGREEMENT.on(*secrets.values())
        # Settings that name no resource; each function's resource names come from what it
        # may touch (cdk/functions.py, function_environment).
        configuration = {
            "XRPL_URLS": ",".join(env.xrpl_urls),
            "EXPLORER_URL": env.explorer_url,
            "ACTIVATION_XRP": str(env.activation_xrp),
            "LEDGER_CLOSE_SECONDS": str(env.ledger_close_seconds),
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        # Powertools comes in this layer too, pinned like every other dependency, rather than as
        # its public layer: one version, the one the tests ran, in every environment.
        dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(
                str(stage_lambda_dependencies()),
                asset_hash=dependencies_digest(),
                asset_hash_type=AssetHashType.CUSTOM,
            ),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_13],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="requirements.txt, from manylinux aarch64 wheels for Python 3.13",
        )
        resources = PlatformResources(
            code=lambda_.Code.from_asset(str(stage_lambda_code())),
            layers=(dependencies,),
            tables=tables.by_name(),
            keys=keys,
            signers={},
            bus=bus.bus,
            secrets=dict(secrets),
            configuration=configuration,
            servicing=servicing.bucket,
            env=env,
        )
        self.signing = SigningService(self, "Signing", resources)  # before those who ask it
        self.workflows = {
            spec.name: Workflow(self, f"{spec.name}Workflow", spec=spec, resources=resources)
            for spec in WORKFLOWS
        }
        self.bus = bus
        bus.route_payments_to(self.workflows["Purchase"].state_machine)
        bus.route_collections_to(self.workflows["Collection"].state_machine)
        bus.route_write_downs_to(self.workflows["WriteDown"].state_machine)
        bus.route_withdrawals_to(self.workflows["Withdrawal"].state_machine)
        bus.route_income_to(self.workflows["Withdrawal"].state_machine)
        bus.route_settlements_to(self.workflows["Settlement"].state_machine)
        bus.route_kyc_to(
            self.workflows["Onboarding"].state_machine, self.workflows["Compliance"].state_machine
        )
        self.servicing = ServicingSchedule(
            self,
            "ServicingSchedule",
            resources=resources,
            distribution=self.workflows["Distribution"].state_machine,
        )
        reconciliation = self.workflows["Reconciliation"]
        self.books = DailyReconciliation(
            self,
            "DailyReconciliation",
            workflow=reconciliation.state_machine,
            reconcile_books=reconciliation.functions["ReconcileBooks"],
            env=env,
        )
        self.api = PlatformApi(self, "Api", resources)
        self.statements = PeriodStatements(
            self,
            "PeriodStatements",
            workflow=self.workflows["Statements"].state_machine,
            frontend=self.api.functions["FrontendApi"],
        )
        self.notifications = FrontendNotifications(
            self, "Notifications", bus=bus.bus, token=secrets["frontend-api"], env=env
        )
        self.provider = PaymentProvider(
            self, "PaymentProvider", bus=bus.bus, api_key=secrets["payment-provider-api"], env=env
        )
        machines = {name: w.state_machine for name, w in self.workflows.items()}
        self.observability = Observability(
            self,
            "Observability",
            workflows=machines,
            api=self.api.api,
            dead_letters=self.notifications.dead_letters,
            unsent_to_provider=self.provider.dead_letters,
            env=env,
        )
        self.operators = OperatorsRole(
            self,
            "Operators",
            workflows=machines,
            tables=tables.by_name(),
            archive=bus.archive,
            keys=keys,
            unsent_to_provider=self.provider.dead_letters,
            configuration=configuration,
        )
        outputs = {
            **{
                f"{name}StateMachineArn": workflow.state_machine.state_machine_arn
                for name, workflow in self.workflows.items()
            },
            "EventBusName": bus.bus.event_bus_name,
            "EventArchiveArn": bus.archive.archive_arn,
            "XrplNetwork": env.xrpl_network,  # ops.bootstrap --stack: may a faucet fund it?
            "PurchasesTableName": tables.purchases.table_name,
            "ServicingBucketName": servicing.bucket.bucket_name,
            "StartDueDistributionsFunctionName": self.servicing.function.function_name,
            "ApiUrl": self.api.api.api_endpoint,
            "OperatorsRoleArn": self.operators.role.role_arn,
            # Bootstrap and registration sign through the signers, as the workflows do.
            **{
                f"{account.title()}SignerFunctionName": function.function_name
                for account, function in self.signing.functions.items()
            },
            "DashboardName": self.observability.dashboard.dashboard_name,
            "NotificationDeadLetterQueueUrl": self.notifications.dead_letters.queue_url,
            "ProviderDeadLetterQueueUrl": self.provider.dead_letters.queue_url,
            **{
                f"{name.title().replace('-', '')}SecretArn": secret.secret_arn
                for name, secret in secrets.items()
            },
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
