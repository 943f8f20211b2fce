"""What every delivery from the bus to an outside API has (the frontend's notifications, the
payment provider's requests): a connection with a bearer token, a dead-letter queue for what
never arrives, and rules that never deliver an archive replay."""

from __future__ import annotations

from aws_cdk import Duration, SecretValue
from aws_cdk import aws_events as events
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.nag import QUEUE_IS_A_DEAD_LETTER_QUEUE


def bearer_connection(
    scope: Construct, token: secretsmanager.ISecret, description: str
) -> events.Connection:
    """`Authorization: Bearer <token>` on every request (a dynamic reference inside the string:
    CloudFormation resolves it, the token never enters the template)."""
    return events.Connection(
        scope,
        "Connection",
        description=description,
        authorization=events.Authorization.api_key(
            "Authorization",
            SecretValue.unsafe_plain_text("Bearer " + token.secret_value.unsafe_unwrap()),
        ),
    )


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """Kept two weeks, encrypted, TLS only; alarmed by cdk/observability.py."""
    queue = sqs.Queue(
        scope,
        construct_id,
        retention_period=Duration.days(14),
        enforce_ssl=True,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
    )
    QUEUE_IS_A_DEAD_LETTER_QUEUE.on(queue)
    return queue


def never_on_replays(rule: events.Rule) -> None:
    """`replay-name` must not exist: a replay reprocesses, it never delivers outside again."""
    cfn_rule = rule.node.default_child
    assert isinstance(cfn_rule, events.CfnRule)
    cfn_rule.add_property_override("EventPattern.replay-name", [{"exists": False}])
