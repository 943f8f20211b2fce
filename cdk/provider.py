"""The payment provider's API: refunds and payouts the workflows ask for, delivered from the bus
through EventBridge API destinations, with retries, a dead-letter queue and an alarm.

One path for every request: a rule per kind (refund, payout, and an operator's re-send of
either) with exactly its source and detail types, an input transformer giving the provider's
request body, and the connection's API key. The provider deduplicates on the body's
`idempotency_key` (a rule's HTTP headers are static: a per-request key travels in the body), so
EventBridge's retries and an operator's re-send pay nothing twice. Replays are not delivered
(`replay-name` must not exist): a replay re-runs workflows, which ask again only what they
never asked.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk.environments import DeploymentEnvironment
from cdk.outbound import bearer_connection, dead_letter_queue, never_on_replays
from domain.events import OPERATOR_RESENDS, PAYOUT_REQUESTS, REFUND_REQUESTS, Publication

RETRY_ATTEMPTS = 185  # EventBridge's most: with its back-off, about a day of the provider down
MAX_EVENT_AGE = Duration.hours(24)

_field = events.EventField.from_path
PAYOUT_BODY: dict[str, str] = {
    "idempotency_key": _field("$.detail.idempotency_key"),
    "withdrawal_id": _field("$.detail.withdrawal_id"),
    "investor_id": _field("$.detail.investor_id"),
    "amount": _field("$.detail.amount"),
    "currency": _field("$.detail.currency"),
    "beneficiary": _field("$.detail.beneficiary"),
}
REFUND_BODY: dict[str, str] = {
    "idempotency_key": _field("$.detail.idempotency_key"),
    "purchase_id": _field("$.detail.purchase_id"),
    "payment_id": _field("$.detail.payment_id"),
    "amount": _field("$.detail.amount"),
    "currency": _field("$.detail.currency"),
    "reason": _field("$.detail.reason"),
}


class PaymentProvider(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus,
        api_key: secretsmanager.ISecret,
        env: DeploymentEnvironment,
    ) -> None:
        super().__init__(scope, construct_id)
        self._event_bus = bus
        connection = bearer_connection(
            self, api_key, "The payment provider's API: authenticated with Drexfy's API key"
        )
        self.dead_letters = dead_letter_queue(self, "Unsent")
        payouts, refunds = (
            events.ApiDestination(
                self,
                f"{kind.title()}Api",
                connection=connection,
                endpoint=f"{env.payment_provider_endpoint}/{kind}",
                http_method=events.HttpMethod.POST,
                rate_limit_per_second=50,
                description=f"The payment provider's {kind}",
            )
            for kind in ("payouts", "refunds")
        )
        resent_payouts, resent_refunds = OPERATOR_RESENDS
        self.rules = [
            self._deliver("Payouts", PAYOUT_REQUESTS, payouts, PAYOUT_BODY),
            self._deliver("ResentPayouts", resent_payouts, payouts, PAYOUT_BODY),
            self._deliver("Refunds", REFUND_REQUESTS, refunds, REFUND_BODY),
            self._deliver("ResentRefunds", resent_refunds, refunds, REFUND_BODY),
        ]

    def _deliver(
        self,
        rule_id: str,
        publication: Publication,
        destination: events.ApiDestination,
        body: Mapping[str, str],
    ) -> events.Rule:
        rule = events.Rule(
            self,
            rule_id,
            event_bus=self._event_bus,
            description=f"{', '.join(publication.detail_types)} to the payment provider",
            event_pattern=events.EventPattern(
                source=[publication.source], detail_type=list(publication.detail_types)
            ),
        )
        never_on_replays(rule)
        rule.add_target(
            targets.ApiDestination(
                destination,
                dead_letter_queue=self.dead_letters,
                retry_attempts=RETRY_ATTEMPTS,
                max_event_age=MAX_EVENT_AGE,
                event=events.RuleTargetInput.from_object(body),
            )
        )
        return rule
