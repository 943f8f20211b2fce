"""Notifications to the frontend: platform events delivered to Bubble's backend-workflow endpoint
through an EventBridge API destination, with retries and a dead-letter queue.

Replayed events are not delivered again (`replay-name` must not exist): a replay reprocesses, it
does not re-notify; and the workflows put each notification on the bus once.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk.environments import DeploymentEnvironment
from cdk.outbound import bearer_connection, dead_letter_queue, never_on_replays
from domain.events import FOR_THE_FRONTEND

# From the bus's catalogue (domain/events.py), never a list kept beside it.
NOTIFICATIONS = tuple(
    detail_type for publication in FOR_THE_FRONTEND for detail_type in publication.detail_types
)
# The platform's own sources only: a provider's event that shares a name (the KYC provider's
# KycRejected) is its word to us, not a notification.
NOTIFYING_SOURCES = tuple(sorted({publication.source for publication in FOR_THE_FRONTEND}))


class FrontendNotifications(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus,
        token: secretsmanager.ISecret,
        env: DeploymentEnvironment,
    ) -> None:
        super().__init__(scope, construct_id)
        connection = bearer_connection(
            self,
            token,
            "Bubble backend workflows: authenticated with the frontend's API key",
        )
        destination = events.ApiDestination(
            self,
            "Frontend",
            connection=connection,
            endpoint=env.frontend_endpoint,
            http_method=events.HttpMethod.POST,
            rate_limit_per_second=50,
            description="The frontend's endpoint for platform notifications",
        )
        self.dead_letters = dead_letter_queue(self, "Undelivered")
        self.rule = events.Rule(
            self,
            "NotifyFrontend",
            event_bus=bus,
            description="Platform notifications to the frontend (never replays)",
            event_pattern=events.EventPattern(
                source=list(NOTIFYING_SOURCES),
                detail_type=list(NOTIFICATIONS),
            ),
        )
        never_on_replays(self.rule)
        self.rule.add_target(
            targets.ApiDestination(
                destination,
                dead_letter_queue=self.dead_letters,
                retry_attempts=10,
                max_event_age=Duration.hours(24),
                event=events.RuleTargetInput.from_object(
                    {
                        "id": events.EventField.event_id,
                        "type": events.EventField.detail_type,
                        "time": events.EventField.time,
                        "detail": events.EventField.from_path("$.detail"),
                    }
                ),
            )
        )
