"""The books' schedules. The daily reconciliation: the books at midnight UTC, read at 00:30 once
the night's webhooks are in (domain/reconciliation.py: cut_off_of, SCHEDULED_GRACE); the
workflow is statemachines/reconciliation.asl.json, its differences raise the BooksDiffer alarm.
The statements: on the 1st at 01:00 UTC, every investor's for the periods that ended
(statemachines/statements.asl.json); the frontend may ask for one investor's too."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.environments import DeploymentEnvironment

DAILY_AT = {"hour": "0", "minute": "30"}  # UTC
PERIOD_ENDS_AT = {"day": "1", "hour": "1", "minute": "0"}  # UTC, after the night's books


class DailyReconciliation(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workflow: sfn.StateMachine,
        reconcile_books: lambda_.Function,
        env: DeploymentEnvironment,
    ) -> None:
        super().__init__(scope, construct_id)
        # Where the provider's settlement report is: this function alone asks for it.
        reconcile_books.add_environment("PAYMENT_PROVIDER_ENDPOINT", env.payment_provider_endpoint)
        self.rule = scheduled(
            self, "Daily", "Reconciles the ledger, the records and the payment provider",
            DAILY_AT, workflow,
        )  # fmt: skip


class PeriodStatements(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workflow: sfn.StateMachine,
        frontend: lambda_.Function,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = scheduled(
            self, "PeriodEnd", "Makes every investor's statements for the periods that ended",
            PERIOD_ENDS_AT, workflow,
        )  # fmt: skip
        # An investor may ask for their own documents (lambdas/frontend/books.py).
        frontend.add_environment("STATEMENTS_WORKFLOW", workflow.state_machine_arn)
        workflow.grant_start_execution(frontend)


def scheduled(
    scope: Construct,
    rule_id: str,
    description: str,
    cron: dict[str, str],
    workflow: sfn.StateMachine,
) -> events.Rule:
    """A rule starting the workflow on the cron, with {"scheduled_at": the event's time}."""
    rule = events.Rule(
        scope, rule_id, description=description, schedule=events.Schedule.cron(**cron)
    )
    rule.add_target(
        targets.SfnStateMachine(
            workflow,
            input=events.RuleTargetInput.from_object({"scheduled_at": events.EventField.time}),
            retry_attempts=4,
        )
    )
    return rule
