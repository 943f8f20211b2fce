"""The operators' role: read and repair workflows and records, never decrypt a seed."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.keys import PlatformKeys
from cdk.nag import REPLAYS_ARE_NAMED_AT_RUN_TIME, REPLAYS_ARE_NOT_RESOURCES, executions_of

READ_TABLES = ("purchases", "investors", "audit", "submissions", "webhooks", "instruments")


class OperatorsRole(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workflows: dict[str, sfn.StateMachine],
        tables: dict[str, dynamodb.ITable],
        archive: events.Archive,
        keys: PlatformKeys,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.AccountRootPrincipal(),
            description="Drexfy operators: inspect and redrive purchases, replay events",
        )
        stack = Stack.of(self)
        # arn:...:execution:<machine name>:<execution name>, for every execution of each machine
        executions = [
            stack.format_arn(
                service="states",
                resource="execution",
                resource_name=f"{machine.state_machine_name}:*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for machine in workflows.values()
        ]
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:ListExecutions", "states:DescribeStateMachine"],
                resources=[m.state_machine_arn for m in workflows.values()],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "states:DescribeExecution",
                    "states:GetExecutionHistory",
                    "states:RedriveExecution",
                ],
                resources=executions,
            )
        )
        for name in READ_TABLES:
            tables[name].grant_read_data(self.role)
        stack = Stack.of(self)
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["events:StartReplay", "events:DescribeReplay"],
                resources=[
                    archive.archive_arn,
                    stack.format_arn(service="events", resource="replay", resource_name="*"),
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["events:ListReplays"], resources=["*"])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["kms:Decrypt", "kms:ReEncrypt*", "kms:Sign"],
                resources=[keys.investor_seeds.key_arn]
                + [key.key_arn for key in keys.platform_accounts.values()],
            )
        )
        policy = self.role.node.find_child("DefaultPolicy")
        REPLAYS_ARE_NOT_RESOURCES.on(policy)
        REPLAYS_ARE_NAMED_AT_RUN_TIME.on(policy)
        for machine in workflows.values():
            cfn_machine = machine.node.default_child
            assert isinstance(cfn_machine, sfn.CfnStateMachine)
            executions_of(stack.get_logical_id(cfn_machine)).on(policy)
