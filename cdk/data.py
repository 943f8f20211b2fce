"""Data: the platform's DynamoDB tables."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from cdk.environments import DeploymentEnvironment


class PlatformTables(Construct):
    def __init__(self, scope: Construct, construct_id: str, env: DeploymentEnvironment) -> None:
        super().__init__(scope, construct_id)
        self.purchases = self._table("Purchases", "purchase_id", env)

    def _table(self, name: str, key: str, env: DeploymentEnvironment) -> dynamodb.TableV2:
        return dynamodb.TableV2(
            self,
            name,
            partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=env.retain_data,
            removal_policy=RemovalPolicy.RETAIN if env.retain_data else RemovalPolicy.DESTROY,
        )
