"""What an operator watches: alarms (by e-mail) and the dashboard they open first."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.environments import DeploymentEnvironment

FIVE_MINUTES = Duration.minutes(5)
UNANSWERED_PERIODS = 3  # a ledger server silent this many 5-minute periods in a row, not a blip


def ledger_metric(name: str) -> cloudwatch.Metric:
    """Counted by lambdas/ledger_adapter/quorum.py each time a decision could not be taken."""
    return cloudwatch.Metric(
        namespace="Drexfy",
        metric_name=name,
        dimensions_map={"service": "ledger"},
        statistic="Sum",
        period=FIVE_MINUTES,
    )


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workflows: dict[str, sfn.StateMachine],
        api: apigw.HttpApi,
        dead_letters: sqs.IQueue,
        unsent_to_provider: sqs.IQueue,
        env: DeploymentEnvironment,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "Alarms", display_name=f"Drexfy {env.name} alarms", enforce_ssl=True
        )
        self.topic.add_subscription(subscriptions.EmailSubscription(env.alarm_email))
        parked = cloudwatch.Metric(
            namespace="Drexfy",
            metric_name="PurchasesParked",
            dimensions_map={"service": "purchase"},
            statistic="Sum",
            period=FIVE_MINUTES,
        )
        signals = {
            "PurchaseParked": (
                parked,
                "A purchase is parked (NEEDS_OPERATOR): see docs/purchase-saga.md",
            ),
            "NotificationsUndelivered": (
                dead_letters.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES),
                "Notifications to the frontend are in the dead-letter queue",
            ),
            "ProviderRequestsUnsent": (
                unsent_to_provider.metric_approximate_number_of_messages_visible(
                    period=FIVE_MINUTES
                ),
                "A refund or payout never reached the payment provider: drexfy-ops provider",
            ),
            "ApiServerErrors": (
                api.metric_server_error(period=FIVE_MINUTES),
                "The API answered 5xx",
            ),
            **{
                f"{name}ExecutionsFailed": (
                    machine.metric_failed(period=FIVE_MINUTES),
                    f"{name} executions failed (a parked purchase fails its execution too)",
                )
                for name, machine in workflows.items()
                if name != "Reconciliation"
            },
            "BooksDiffer": (
                workflows["Reconciliation"].metric_failed(period=FIVE_MINUTES),
                "The daily reconciliation found a difference between the ledger, the records and "
                "the payment provider, or could not read one of them: drexfy-ops reconciliation",
            ),
        }
        self.alarms = {
            name: self._alarm(name, metric, description)
            for name, (metric, description) in signals.items()
        }
        contradict = ledger_metric("LedgerServersContradict")
        unanswered = ledger_metric("LedgerServerUnanswered")
        self.alarms["LedgerServersContradict"] = self._alarm(
            "LedgerServersContradict",
            contradict,
            "Two XRPL servers stated different facts about one ledger or transaction (a lying or "
            "forked node): nothing is decided until they agree, see docs/operations.md",
        )
        self.alarms["LedgerServerUnanswered"] = self._alarm(
            "LedgerServerUnanswered",
            unanswered,
            "An XRPL server has not answered decisions for 15 minutes: with fewer than two in "
            "step nothing is decided, see docs/operations.md",
            periods=UNANSWERED_PERIODS,
        )
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"Drexfy-{env.name}",
            default_interval=Duration.hours(6),
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms.values()), width=24
            ),
            cloudwatch.GraphWidget(
                title="Purchases",
                left=[
                    workflows["Purchase"].metric_started(period=FIVE_MINUTES),
                    workflows["Purchase"].metric_succeeded(period=FIVE_MINUTES),
                    workflows["Purchase"].metric_failed(period=FIVE_MINUTES),
                    parked,
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Webhooks and frontend API",
                left=[api.metric_count(period=FIVE_MINUTES)],
                right=[
                    api.metric_client_error(period=FIVE_MINUTES),
                    api.metric_server_error(period=FIVE_MINUTES),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Onboarding and compliance",
                left=[
                    machine.metric(metric, period=FIVE_MINUTES, statistic="Sum")
                    for name, machine in workflows.items()
                    if name != "Purchase"
                    for metric in ("ExecutionsSucceeded", "ExecutionsFailed")
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Undelivered notifications",
                left=[
                    dead_letters.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES)
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Ledger servers: decisions not taken",
                left=[contradict, unanswered],
                width=12,
            ),
        )

    def _alarm(
        self, name: str, metric: cloudwatch.IMetric, description: str, periods: int = 1
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=1,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        return alarm
