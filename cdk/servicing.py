"""Servicing's daily start: a scheduled rule calls the function that starts each distribution
whose payment date has come (one execution per instrument and date, named so it starts once)."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.functions import PlatformResources, TaskFunction, platform_function

START_DUE_DISTRIBUTIONS = TaskFunction(
    "StartDueDistributions",
    "lambdas.servicing.steps.start_due_distributions",
    reads=("instruments",),  # each instrument's terms: its payment dates
)
DAILY_AT = {"hour": "6", "minute": "0"}  # UTC: after TARGET2's record-date close


class ServicingSchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resources: PlatformResources,
        distribution: sfn.StateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = platform_function(self, START_DUE_DISTRIBUTIONS, resources)
        self.function.add_environment("DISTRIBUTION_WORKFLOW", distribution.state_machine_arn)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution"], resources=[distribution.state_machine_arn]
            )
        )
        self.rule = events.Rule(
            self,
            "Daily",
            description="Starts the distributions whose payment date has come",
            schedule=events.Schedule.cron(**DAILY_AT),
        )
        self.rule.add_target(targets.LambdaFunction(self.function, retry_attempts=4))
