"""The Drexfy platform for one deployment environment."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk.data import PlatformTables
from cdk.environments import DeploymentEnvironment
from cdk.ingress import PlatformBus
from cdk.keys import PlatformKeys
from cdk.packaging import stage_lambda_code
from cdk.workflows import PURCHASE, Workflow


class PlatformStack(Stack):
    def __init__(self, scope: Construct, env: DeploymentEnvironment) -> None:
        super().__init__(scope, env.stack_name, description=f"Drexfy platform ({env.name})")
        tables = PlatformTables(self, "Tables", env)
        keys = PlatformKeys(self, "Keys", env)
        bus = PlatformBus(self, "Events", env)
        code = lambda_.Code.from_asset(str(stage_lambda_code()))
        # Every function gets the same environment: configuration is not a secret (IAM guards
        # access), and the local platform runs all handlers in one process.
        environment = {
            "PURCHASES_TABLE": tables.purchases.table_name,
            "WALLETS_TABLE": tables.wallets.table_name,
            "SUBMISSIONS_TABLE": tables.submissions.table_name,
            "TICKETS_TABLE": tables.tickets.table_name,
            "SEQUENCES_TABLE": tables.sequences.table_name,
            "INSTRUMENTS_TABLE": tables.instruments.table_name,
            "INVESTORS_TABLE": tables.investors.table_name,
            "EVENT_BUS_NAME": bus.bus.event_bus_name,
            "INVESTOR_SEED_KEY_ID": keys.investor_seeds.key_id,
            **{
                f"{role.upper()}_KEY_ID": key.key_id for role, key in keys.platform_accounts.items()
            },
            "XRPL_URL": env.xrpl_url,
            "ACTIVATION_XRP": str(env.activation_xrp),
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        self.purchase = Workflow(
            self,
            "PurchaseWorkflow",
            spec=PURCHASE,
            code=code,
            tables=tables.by_name(),
            keys=keys,
            bus=bus.bus,
            environment=environment,
            env=env,
        )
        self.bus = bus
        self.bus.route_payments_to(self.purchase.state_machine)
        for name, value in {
            "PurchaseStateMachineArn": self.purchase.state_machine.state_machine_arn,
            "EventBusName": self.bus.bus.event_bus_name,
            "EventArchiveArn": self.bus.archive.archive_arn,
            "PurchasesTableName": tables.purchases.table_name,
        }.items():
            CfnOutput(self, name, value=value)
