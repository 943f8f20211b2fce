"""cdk-nag's AwsSolutions checks on every synth, and every exception to them with its reason.

`apply_checks(app)` makes any unacknowledged finding fail the synth (and so `cdk deploy`); the
findings are written to `<outdir>/validation-report.json`.

Every exception is declared below: the exact finding id (with its `[Resource::...]` or
`[Policy::...]` part where the rule reports one) and a one-line reason. The construct that owns
the resource acknowledges it on that resource only (`SUPPRESSION.on(resource)`), so a new
resource never inherits an exception. tests/cdk/test_checks.py synthesizes every environment and
asserts zero findings, a reason on every acknowledgment, and that the wildcard resources
acknowledged here carry only the actions these reasons name.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def apply_checks(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


@dataclass(frozen=True)
class Suppression:
    rule: str  # the finding id exactly as cdk-nag reports it
    reason: str  # one line

    def on(self, *scopes: IConstruct) -> None:
        """Acknowledge on each scope's CloudFormation resource (the scope itself if it has none)."""
        for scope in scopes:
            resource = scope.node.default_child or scope
            cdk.Validations.of(resource).acknowledge(
                cdk.Acknowledgment(id=self.rule, reason=self.reason)
            )


# --- Lambda functions (cdk/functions.py) ---------------------------------------------------------

LAMBDA_BASIC_EXECUTION_ROLE = Suppression(
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]",
    "The AWS-maintained minimum for a function to write its own logs; nothing else is granted.",
)
LAMBDA_RUNTIME = Suppression(
    "AwsSolutions-L1",
    "We target Python 3.13 on ARM (the layer's wheels and the tests); 3.14 follows our deps.",
)

# --- Workflows (cdk/workflows.py) ----------------------------------------------------------------

STATE_MACHINE_XRAY_AND_LOG_DELIVERY = Suppression(
    "AwsSolutions-IAM5[Resource::*]",
    "Tracing (xray:*) and execution logs (logs:*LogDelivery*, resource policies) accept only *.",
)

# --- Servicing (cdk/data.py, cdk/servicing.py) ---------------------------------------------------

SERVICING_BUCKET_ACCESS_IN_CLOUDTRAIL = Suppression(
    "AwsSolutions-S1",
    "Only the platform's own roles read and write it; their calls are in CloudTrail.",
)


def map_runs_of(state_machine_name: str) -> Suppression:
    """A Distributed Map's child executions are named at run time, under its map runs."""
    return Suppression(
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
        f"execution:{state_machine_name}/*]",
        "A Distributed Map's child executions are named at run time; this machine's only.",
    )


# --- HTTP API (cdk/api.py) -----------------------------------------------------------------------

ROUTE_AUTHENTICATED_IN_ITS_FUNCTION = Suppression(
    "AwsSolutions-APIG4",
    "Checked in the function: webhooks by the provider's HMAC signature, others by bearer.",
)
OPENAPI_DOCUMENT_IS_PUBLIC = Suppression(
    "AwsSolutions-APIG4",
    "The OpenAPI document is public by design: it describes the API and holds no data.",
)

# --- Notifications (cdk/notifications.py) --------------------------------------------------------

QUEUE_IS_A_DEAD_LETTER_QUEUE = Suppression(
    "AwsSolutions-SQS3",
    "It is the notification target's DLQ (EventBridge DeadLetterConfig) and is alarmed.",
)

# --- Secrets (cdk/platform_stack.py) -------------------------------------------------------------

SHARED_SECRET_ROTATES_BY_AGREEMENT = Suppression(
    "AwsSolutions-SMG4",
    "Shared with a provider or the frontend: rotated by agreement with them, not by a timer.",
)

# --- Operators' role (cdk/operators.py) ----------------------------------------------------------

REPLAYS_ARE_NAMED_AT_RUN_TIME = Suppression(
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:"
    "replay/*]",
    "Replays are named when an operator starts one: any replay, of this archive only.",
)

TASK_TOKENS_NAME_NO_RESOURCE = Suppression(
    "AwsSolutions-IAM5[Resource::*]",
    "SendTaskSuccess takes a task token, not a resource: IAM accepts only * for it.",
)


def executions_of(state_machine_logical_id: str) -> Suppression:
    """Executions are created at run time: the narrowest grant is every execution of one
    machine (`execution:<name>:*`)."""
    return Suppression(
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
        f"execution:<{state_machine_logical_id}.Name>:*]",
        "Executions are named at run time: operators inspect and redrive any of this machine.",
    )


def its_own_stack(stack_name: str) -> Suppression:
    """DescribeStacks on this stack by name: the stack id's suffix is known only once created."""
    return Suppression(
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:"
        f"<AWS::AccountId>:stack/{stack_name}/*]",
        "drexfy-ops reads this stack's outputs; a stack id ends in a suffix set at creation.",
    )


def indexes_of(table_logical_id: str) -> Suppression:
    """A grant on a table that has indexes covers them as `index/*`."""
    return Suppression(
        f"AwsSolutions-IAM5[Resource::<{table_logical_id}.Arn>/index/*]",
        "DynamoDB grants a table's indexes as index/*; this table's indexes are its own.",
    )


def objects_of(bucket_logical_id: str, prefix: str) -> Suppression:
    """Objects are named at run time (a folder per distribution, per investor's statements):
    the grant is a prefix."""
    return Suppression(
        f"AwsSolutions-IAM5[Resource::<{bucket_logical_id}.Arn>/{prefix}*]",
        f"Objects are named at run time (a distribution, an investor's statement); the grant is "
        f"the {prefix} prefix only.",
    )
