"""The operators' role: what the Step Functions console and `drexfy-ops` do, never decrypt a
seed or sign.

Every grant below is either a read the Step Functions console makes to show a workflow's
executions, or one AWS call a `drexfy-ops` command makes (ops/cli.py, ops/redrive.py), on the
resource it makes it on; tests/cdk/test_operators_role.py holds the list and checks the
synthesized role against it, and tests/ops/ run every command as this role on the embedded AWS,
which enforces IAM. Assuming it needs MFA (the trust policy's `aws:MultiFactorAuthPresent`),
which the embedded AWS evaluates too (local/aws/access.py).

`drexfy-ops --stack Drexfy-<env>` reads its configuration from the stack's outputs. Those that
are not the stack's own (cdk/platform_stack.py) are published here, under these stable names:

- `<Name>TableName` for every table but Purchases (`PurchasesTableName` is the stack's own):
  Wallets, Submissions, Tickets, Sequences, Instruments, Investors, Audit, Webhooks,
  Signatures, Notifications;
- `IssuerKeyId`, `CompanyKeyId`, `FundingKeyId`, `InvestorSeedKeyId`: KMS key ids;
- `XrplUrls`, `ExplorerUrl`, `ActivationXrp`, `LedgerCloseSeconds`: the functions' configuration,
  published when the stack passes it (`configuration=`, the settings that name no resource).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import ArnFormat, CfnOutput, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.keys import PlatformKeys
from cdk.nag import (
    REPLAYS_ARE_NAMED_AT_RUN_TIME,
    TASK_TOKENS_NAME_NO_RESOURCE,
    executions_of,
    its_own_stack,
)
from domain.events import OPERATOR_DECISIONS, OPERATOR_RESENDS, OPERATOR_WRITE_DOWNS

# Stack output -> the functions' configuration variable it publishes (see the module's doc).
CONFIGURATION_OUTPUTS = {
    "XrplUrls": "XRPL_URLS",
    "ExplorerUrl": "EXPLORER_URL",
    "ActivationXrp": "ACTIVATION_XRP",
    "LedgerCloseSeconds": "LEDGER_CLOSE_SECONDS",
}
STACK_OWN_TABLE_OUTPUTS = ("purchases",)  # cdk/platform_stack.py outputs PurchasesTableName


def table_output(name: str) -> str:
    return f"{name.title()}TableName"


def key_output(role: str) -> str:
    return f"{role.title()}KeyId"


SEED_KEY_OUTPUT = "InvestorSeedKeyId"
# The trust policy's condition: the role blocks investors and replays payments.
MFA_PRESENT = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def _executions_of(stack: Stack, machine: sfn.StateMachine) -> str:
    """arn:...:execution:<machine name>:*, every execution of the machine."""
    return stack.format_arn(
        service="states",
        resource="execution",
        resource_name=f"{machine.state_machine_name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


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
        unsent_to_provider: sqs.IQueue,
        configuration: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            # Whoever the account's IAM lets assume it, and only with MFA: AssumeRole must
            # carry SerialNumber and TokenCode (drexfy-ops --mfa-serial/--mfa-code).
            assumed_by=iam.AccountRootPrincipal().with_conditions(MFA_PRESENT),
            description="Drexfy operators: what drexfy-ops does (inspect, redrive, replay, block)",
        )
        archive_resource = archive.node.default_child
        assert isinstance(archive_resource, events.CfnArchive)
        bus_arn = archive_resource.source_arn  # the platform bus the archive records
        purchase = workflows["Purchase"]
        # arn:...:execution:<machine name>:<execution name>, every execution of the machine
        purchase_executions = _executions_of(stack, purchase)
        platform_keys = [
            keys.platform_accounts[r].key_arn for r in ("issuer", "company", "funding")
        ]
        allow = self.role.add_to_policy
        # the Step Functions console, where operators inspect stuck executions of every workflow
        allow(
            iam.PolicyStatement(
                actions=["states:ListExecutions", "states:DescribeStateMachine"],
                resources=[m.state_machine_arn for m in workflows.values()],
            )
        )
        allow(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:GetExecutionHistory"],
                resources=[_executions_of(stack, m) for m in workflows.values()],
            )
        )
        # every command, with --stack: its configuration
        allow(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"],
                resources=[
                    stack.format_arn(
                        service="cloudformation",
                        resource="stack",
                        resource_name=f"{stack.stack_name}/*",
                    )
                ],
            )
        )
        # purchases (Scan), purchase and redrive (GetItem)
        allow(
            iam.PolicyStatement(
                actions=["dynamodb:Scan", "dynamodb:GetItem"],
                resources=[tables["purchases"].table_arn],
            )
        )
        # purchase (GetExecutionHistory); redrive (DescribeExecution, RedriveExecution)
        allow(
            iam.PolicyStatement(
                actions=[
                    "states:GetExecutionHistory",
                    "states:DescribeExecution",
                    "states:RedriveExecution",
                ],
                resources=[purchase_executions],
            )
        )
        # replay: the destination bus's ARN, then a replay of the archive, watched to its end
        allow(iam.PolicyStatement(actions=["events:DescribeEventBus"], resources=[bus_arn]))
        replays = stack.format_arn(service="events", resource="replay", resource_name="*")
        allow(
            iam.PolicyStatement(
                actions=["events:StartReplay"], resources=[archive.archive_arn, replays]
            )
        )
        allow(iam.PolicyStatement(actions=["events:DescribeReplay"], resources=[replays]))
        # investor block|unblock, instrument write-down: an operator's decisions only, on the bus
        allow(
            iam.PolicyStatement(
                actions=["events:PutEvents"],
                resources=[bus_arn],
                conditions={
                    "StringEquals": {
                        "events:source": OPERATOR_DECISIONS.source,
                        "events:detail-type": [
                            *OPERATOR_DECISIONS.detail_types,
                            *OPERATOR_WRITE_DOWNS.detail_types,  # instrument write-down
                            # provider resend: a dead-lettered refund or payout, again
                            *(t for p in OPERATOR_RESENDS for t in p.detail_types),
                        ],
                    }
                },
            )
        )
        # accounts: the platform accounts' addresses, their tickets, the instruments' books
        allow(iam.PolicyStatement(actions=["kms:GetPublicKey"], resources=platform_keys))
        free_tickets = f"{tables['tickets'].table_arn}/index/available"  # the pool, no more
        allow(iam.PolicyStatement(actions=["dynamodb:Query"], resources=[free_tickets]))
        allow(
            iam.PolicyStatement(
                # accounts: the books (Scan); instrument: its cash flows (GetItem)
                actions=["dynamodb:Scan", "dynamodb:GetItem"],
                resources=[tables["instruments"].table_arn],
            )
        )
        # distributions: list and show them, approve one (its task token), run one again
        allow(
            iam.PolicyStatement(
                actions=["dynamodb:Scan", "dynamodb:GetItem"],
                resources=[tables["distributions"].table_arn],
            )
        )
        allow(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[tables["entitlements"].table_arn]
            )
        )
        allow(iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=["*"]))
        # withdrawals, withdrawal, payouts: the withdrawals (Scan, GetItem)
        allow(
            iam.PolicyStatement(
                actions=["dynamodb:Scan", "dynamodb:GetItem"],
                resources=[tables["withdrawals"].table_arn],
            )
        )
        # provider dead-letters (look), provider resend (take one, then delete it once re-sent)
        allow(
            iam.PolicyStatement(
                actions=["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                resources=[unsent_to_provider.queue_arn],
            )
        )
        # register: each change's cause (a distribution's take-backs by subject, an AML case's
        # locks in the investor's audit trail)
        allow(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[
                    f"{tables['submissions'].table_arn}/index/by-subject",
                    tables["audit"].table_arn,
                ],
            )
        )
        # statement: the investor's wallet address (the seed beside it stays sealed: the role
        # may not decrypt), purchases and withdrawals by investor, each entitlement and the
        # take-back of its units at maturity
        allow(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem"],
                resources=[
                    tables["wallets"].table_arn,
                    tables["entitlements"].table_arn,
                    tables["submissions"].table_arn,
                ],
            )
        )
        allow(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[
                    f"{tables['purchases'].table_arn}/index/by-investor",
                    f"{tables['withdrawals'].table_arn}/index/by-investor",
                ],
            )
        )
        # reconciliation(s): the reports (Scan, GetItem)
        allow(
            iam.PolicyStatement(
                actions=["dynamodb:Scan", "dynamodb:GetItem"],
                resources=[tables["reconciliations"].table_arn],
            )
        )
        # distribution run, reconcile, statements: start one
        allow(
            iam.PolicyStatement(
                actions=["states:StartExecution"],
                resources=[
                    workflows["Distribution"].state_machine_arn,
                    workflows["Reconciliation"].state_machine_arn,
                    workflows["Statements"].state_machine_arn,
                ],
            )
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
        its_own_stack(stack.stack_name).on(policy)
        REPLAYS_ARE_NAMED_AT_RUN_TIME.on(policy)
        TASK_TOKENS_NAME_NO_RESOURCE.on(policy)
        for machine in workflows.values():
            cfn_machine = machine.node.default_child
            assert isinstance(cfn_machine, sfn.CfnStateMachine)
            executions_of(stack.get_logical_id(cfn_machine)).on(policy)

        self._outputs(tables, keys, configuration or {})

    def _outputs(
        self,
        tables: dict[str, dynamodb.ITable],
        keys: PlatformKeys,
        configuration: Mapping[str, str],
    ) -> None:
        """What drexfy-ops reads from the stack, under names that do not change (the output's
        logical id is overridden: CDK would otherwise add this construct's path and a hash)."""
        values: dict[str, tuple[str, str]] = {
            table_output(name): (table.table_name, f"DynamoDB table {name}")
            for name, table in tables.items()
            if name not in STACK_OWN_TABLE_OUTPUTS
        }
        values |= {
            key_output(role): (key.key_id, f"KMS key of the {role} account (signs, never leaves)")
            for role, key in keys.platform_accounts.items()
        }
        values[SEED_KEY_OUTPUT] = (
            keys.investor_seeds.key_id,
            "KMS key sealing investor seeds (operators may not decrypt)",
        )
        values |= {
            output: (configuration[variable], f"the functions' {variable}")
            for output, variable in CONFIGURATION_OUTPUTS.items()
            if variable in configuration
        }
        for name, (value, description) in values.items():
            output = CfnOutput(self, name, value=value, description=description)
            output.override_logical_id(name)
