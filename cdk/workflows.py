"""Workflows: each ASL file in statemachines/ with the small Lambdas its tasks call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.functions import (
    PlatformResources,
    TaskFunction,
    grant_servicing_objects,
    log_group,
    platform_function,
)
from cdk.nag import STATE_MACHINE_XRAY_AND_LOG_DELIVERY, map_runs_of
from domain import events

STATEMACHINES_DIR = Path(__file__).resolve().parent.parent / "statemachines"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    definition_file: str
    tasks: tuple[TaskFunction, ...]
    distributed_map: bool = False  # reads its items from the servicing bucket, runs children

    def definition(self) -> str:
        return (STATEMACHINES_DIR / self.definition_file).read_text()

    def placeholders(self) -> set[str]:
        return set(PLACEHOLDER.findall(self.definition()))


# What a ledger step keeps: its signed transactions before submitting them, the ticket and
# sequence it takes, and the purchase's record of them.
_LEDGER_WRITES = ("submissions", "tickets", "sequences")
_STEPS = "lambdas.purchase.ledger_steps"


def _ledger_step(name: str, handler: str, *signs_as: str) -> TaskFunction:
    return TaskFunction(
        name,
        f"{_STEPS}.{handler}",
        reads=("investors",),
        writes=("purchases", *_LEDGER_WRITES),
        signs_as=signs_as,
    )


PURCHASE = WorkflowSpec(
    name="Purchase",
    definition_file="purchase.asl.json",
    tasks=(
        TaskFunction(
            "RecordDeposit",
            "lambdas.purchase.record_deposit.handler",
            reads=("investors", "wallets", "payments"),
            writes=("purchases", "instruments"),  # the purchase and its units reserved
        ),
        TaskFunction(
            "AuthorizeTrustLine",
            "lambdas.purchase.authorize_trust_line.handler",
            reads=("investors",),
            writes=("purchases", *_LEDGER_WRITES),
            signs_as=("issuer", "company", "investor"),
        ),
        _ledger_step("MintStablecoin", "mint_stablecoin", "issuer"),
        _ledger_step("ConfirmMint", "confirm_mint", "issuer"),  # re-signs an expired mint
        _ledger_step("TransferStablecoin", "transfer_stablecoin", "investor"),
        _ledger_step("DeliverInstrument", "deliver_instrument", "company"),
        TaskFunction(
            "CompletePurchase",
            "lambdas.purchase.complete_purchase.handler",
            writes=("purchases", "instruments"),
        ),
        TaskFunction(
            "AnnounceDelivery",
            "lambdas.purchase.announce_delivery.handler",
            publishes=(events.PURCHASE_COMPLETIONS,),
        ),
        TaskFunction(
            "BeginCompensation",
            "lambdas.purchase.begin_compensation.handler",
            writes=("purchases",),
        ),
        # Undoing first settles the forward steps it reverses: an investor's transaction on a
        # Sequence is still sent, so the wallet does not stall, unless the investor signer
        # refuses (blocked); then its Sequence is given back (lambdas/ledger_adapter/submission.py).
        _ledger_step("TakeBackInstrument", "take_back_instrument", "company"),
        _ledger_step("RedeemStablecoin", "redeem_stablecoin", "company", "investor"),
        _ledger_step("ClawBackStablecoin", "claw_back_stablecoin", "issuer", "investor"),
        TaskFunction(
            "ReleaseUnits",
            "lambdas.purchase.release_units.handler",
            writes=("purchases", "instruments"),
        ),
        TaskFunction(
            "RefundPayment",
            "lambdas.purchase.refund_payment.handler",
            writes=("purchases",),
            publishes=(events.REFUND_REQUESTS,),
        ),
        TaskFunction(
            "ParkPurchase", "lambdas.purchase.park_purchase.handler", writes=("purchases",)
        ),
    ),
)

_NOTIFY = TaskFunction(
    "NotifyFrontend",
    "lambdas.frontend.notify.handler",
    writes=("notifications",),
    publishes=(events.INVESTOR_NOTIFICATIONS,),
)

ONBOARDING = WorkflowSpec(
    name="Onboarding",
    definition_file="onboarding.asl.json",
    tasks=(
        TaskFunction(
            "RecordKycDecision",
            "lambdas.onboarding.steps.record_kyc_decision",
            writes=("investors",),
            appends=("audit",),
        ),
        TaskFunction(
            "CreateWallet",
            "lambdas.onboarding.steps.create_wallet",
            reads=("investors",),
            writes=("wallets",),  # a new wallet only: its record is never changed or deleted
            encrypts_seeds=True,
        ),
        TaskFunction(
            "FundWallet",
            "lambdas.onboarding.steps.fund_wallet",
            reads=("investors", "wallets"),
            writes=_LEDGER_WRITES,
            signs_as=("funding",),
        ),
        TaskFunction(
            "AuthorizeStablecoinLine",
            "lambdas.onboarding.steps.authorize_stablecoin_line",
            reads=("investors", "wallets"),
            writes=_LEDGER_WRITES,
            signs_as=("issuer", "investor"),
        ),
        TaskFunction(
            "ActivateInvestor",
            "lambdas.onboarding.steps.activate_investor",
            reads=("wallets",),
            writes=("investors",),
            appends=("audit",),
        ),
        _NOTIFY,
    ),
)

COMPLIANCE = WorkflowSpec(
    name="Compliance",
    definition_file="compliance.asl.json",
    tasks=(
        TaskFunction(
            "RecordAmlDecision",
            "lambdas.compliance.steps.record_aml_decision",
            writes=("investors",),
            appends=("audit",),
        ),
        TaskFunction(
            "FreezeHoldings",
            "lambdas.compliance.steps.freeze_holdings",
            reads=("investors", "wallets", "instruments"),
            writes=_LEDGER_WRITES,
            appends=("audit",),
            signs_as=("issuer", "company"),
        ),
        TaskFunction(
            "UnfreezeHoldings",
            "lambdas.compliance.steps.unfreeze_holdings",
            reads=("investors", "wallets", "instruments"),
            writes=_LEDGER_WRITES,
            signs_as=("issuer", "company"),
        ),
        TaskFunction(
            "ReinstateInvestor",
            "lambdas.compliance.steps.reinstate_investor",
            # where onboarding stood (a clearance gives back no more), and the case's ledger
            # transactions as the freeze steps settled them
            reads=("wallets", "submissions"),
            writes=("investors",),
            appends=("audit",),
        ),
        _NOTIFY,
    ),
)

_SERVICING = "lambdas.servicing.steps"


def _holder_ledger_step(name: str, handler: str, reads: tuple[str, ...]) -> TaskFunction:
    return TaskFunction(
        name,
        f"{_SERVICING}.{handler}",
        reads=reads,
        writes=("entitlements", *_LEDGER_WRITES) if name == "PayHolder" else _LEDGER_WRITES,
        signs_as=("company",),
    )


DISTRIBUTION = WorkflowSpec(
    name="Distribution",
    definition_file="distribution.asl.json",
    distributed_map=True,
    tasks=(
        TaskFunction(
            "TakeDistribution",
            f"{_SERVICING}.take_distribution",
            reads=("instruments", "purchases", "wallets"),  # the holders, as the records say
            writes=("distributions", "entitlements"),
            servicing_objects=("s3:PutObject",),  # the holders' list, the Map's items
            timeout_seconds=300,  # a holder's entitlement is one write: thousands of holders
        ),
        TaskFunction(
            "CheckFunds",
            f"{_SERVICING}.check_funds",
            reads=("entitlements",),
            knows_addresses_of=True,  # the company's line to the issuer
        ),
        TaskFunction(
            "RequestApproval", f"{_SERVICING}.request_approval", writes=("distributions",)
        ),
        TaskFunction("RecordApproval", f"{_SERVICING}.record_approval", writes=("distributions",)),
        _holder_ledger_step("PayHolder", "pay_holder", ("investors",)),
        TaskFunction(
            "NotifyHolder",
            f"{_SERVICING}.notify_holder",
            reads=("entitlements", "withdrawals"),  # where the investor chose income to go
            writes=("notifications",),
            publishes=(events.INVESTOR_NOTIFICATIONS,),
        ),
        TaskFunction(
            "TakeBackUnits",
            f"{_SERVICING}.take_back_units",
            reads=("distributions",),
            # the entitlement and the instrument count the units redeemed, once
            writes=("entitlements", "instruments", *_LEDGER_WRITES),
            signs_as=("company",),
        ),
        TaskFunction(
            "ReportDistribution",
            f"{_SERVICING}.report_distribution",
            reads=("entitlements",),
            writes=("distributions",),
            servicing_objects=("s3:PutObject",),
        ),
        _holder_ledger_step("RetireIssuance", "retire_issuance", ("distributions", "instruments")),
    ),
)

COLLECTION = WorkflowSpec(
    name="Collection",
    definition_file="collection.asl.json",
    tasks=(
        TaskFunction(
            "MintCollection",
            f"{_SERVICING}.mint_collection",
            writes=_LEDGER_WRITES,
            signs_as=("issuer",),
        ),
    ),
)

WRITE_DOWN = WorkflowSpec(
    name="WriteDown",
    definition_file="write_down.asl.json",
    tasks=(
        TaskFunction(
            "RecordWriteDown",
            f"{_SERVICING}.record_write_down",
            writes=("instruments",),  # the write-down on the instrument's record
        ),
    ),
)

_WITHDRAWALS = "lambdas.withdrawals.steps"
_NOTIFY_WITHDRAWAL = TaskFunction(
    "NotifyWithdrawal",
    f"{_WITHDRAWALS}.notify_withdrawal",
    reads=("withdrawals",),
    writes=("notifications",),
    publishes=(events.INVESTOR_NOTIFICATIONS,),
)
_PUT_BACK_IN_WALLET = TaskFunction(
    "PutBackInWallet",
    f"{_WITHDRAWALS}.put_back_in_wallet",
    reads=("wallets",),
    writes=("withdrawals", *_LEDGER_WRITES),  # RETURNED or REFUSED, and the day's total
    signs_as=("issuer",),
)

WITHDRAWAL = WorkflowSpec(
    name="Withdrawal",
    definition_file="withdrawal.asl.json",
    tasks=(
        TaskFunction(
            "TakeIncomePayout",
            "lambdas.withdrawals.income.take_income_payout",
            reads=("investors",),  # standing and the payout account
            writes=("withdrawals",),  # the investor's choice, and the withdrawal kept
        ),
        _NOTIFY_WITHDRAWAL,
        TaskFunction(
            "RedeemStablecoin",
            f"{_WITHDRAWALS}.redeem_stablecoin",
            reads=("wallets", "investors"),
            writes=("withdrawals", *_LEDGER_WRITES),
            signs_as=("investor",),
        ),
        TaskFunction(
            "RequestPayout",
            f"{_WITHDRAWALS}.request_payout",
            reads=("investors",),
            writes=("withdrawals",),
            publishes=(events.PAYOUT_REQUESTS,),
        ),
        _PUT_BACK_IN_WALLET,
    ),
)

SETTLEMENT = WorkflowSpec(
    name="Settlement",
    definition_file="settlement.asl.json",
    tasks=(
        TaskFunction(
            "RecordPayoutOutcome", f"{_WITHDRAWALS}.record_payout_outcome", writes=("withdrawals",)
        ),
        _PUT_BACK_IN_WALLET,
        _NOTIFY_WITHDRAWAL,
        TaskFunction(
            "RecordRefundOutcome", f"{_WITHDRAWALS}.record_refund_outcome", writes=("purchases",)
        ),
    ),
)

RECONCILIATION = WorkflowSpec(
    name="Reconciliation",
    definition_file="reconciliation.asl.json",
    tasks=(
        TaskFunction(
            "ReconcileBooks",
            "lambdas.books.steps.reconcile_books",
            # Every record of money that moved, read; the report, added once and never changed.
            reads=(
                "purchases",
                "distributions",
                "entitlements",
                "withdrawals",
                "submissions",
                "payments",
                "instruments",
                "wallets",
                "reconciliations",
            ),
            appends=("reconciliations",),  # a retried run finds its report kept (GetItem)
            knows_addresses_of=True,  # the issuer's and the company's, to read their history
            secrets=("payment-provider-api",),  # the key its settlement report is asked with
            timeout_seconds=300,
        ),
    ),
)

STATEMENTS = WorkflowSpec(
    name="Statements",
    definition_file="statements.asl.json",
    tasks=(
        TaskFunction(
            "StatementsDue",
            "lambdas.books.steps.statements_due",
            reads=("wallets",),  # who has a wallet: the investors ids only (a projection)
        ),
        TaskFunction(
            "MakeStatementDocuments",
            "lambdas.books.steps.make_statement_documents",
            # the lines of a statement: what the investor bought, was paid and withdrew
            reads=(
                "wallets",
                "instruments",
                "purchases",
                "distributions",
                "entitlements",
                "submissions",
                "withdrawals",
            ),
            knows_addresses_of=True,  # the issuer's, whose line to the wallet is the stablecoin
            statement_objects=("s3:PutObject",),
            timeout_seconds=120,  # reads the ledger at both bounds, for every instrument held
        ),
    ),
)

WORKFLOWS = (
    PURCHASE,
    ONBOARDING,
    COMPLIANCE,
    DISTRIBUTION,
    COLLECTION,
    WRITE_DOWN,
    WITHDRAWAL,
    SETTLEMENT,
    RECONCILIATION,
    STATEMENTS,
)


class Workflow(Construct):
    """One Standard state machine and its task functions, each granted only what it declares."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: WorkflowSpec,
        resources: PlatformResources,
    ) -> None:
        super().__init__(scope, construct_id)
        self._check_placeholders(spec)
        self.functions = {
            task.name: platform_function(self, task, resources) for task in spec.tasks
        }
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=f"Drexfy-{resources.env.name}-{spec.name}",
            definition_body=sfn.DefinitionBody.from_string(spec.definition()),
            definition_substitutions={
                task.placeholder: self.functions[task.name].function_arn for task in spec.tasks
            },
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=log_group(self, "Executions", resources.env),
                level=sfn.LogLevel.ALL,
                # inputs and outputs hold personal data: only where it is made up (environments)
                include_execution_data=resources.env.log_execution_data,
            ),
        )
        # The ASL names each function by its unqualified ARN: no versions or aliases (`:*`).
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn for function in self.functions.values()],
            )
        )
        STATE_MACHINE_XRAY_AND_LOG_DELIVERY.on(
            self.state_machine.role.node.find_child("DefaultPolicy")
        )
        if spec.distributed_map:
            self._run_distributed_map(resources)

    def _run_distributed_map(self, resources: PlatformResources) -> None:
        """Its items from the servicing bucket, and its child executions: a Distributed Map
        starts each batch as an execution of this machine (named by ARN, not by reference,
        which would make the machine depend on its own policy)."""
        grant_servicing_objects(self.state_machine.role, ("s3:GetObject",), resources.servicing)
        stack = Stack.of(self)
        name = f"Drexfy-{resources.env.name}-Distribution"
        machine = stack.format_arn(
            service="states", resource="stateMachine", resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )  # fmt: skip
        executions = stack.format_arn(
            service="states", resource="execution", resource_name=f"{name}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )  # fmt: skip
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine])
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[executions],
            )
        )
        map_runs_of(name).on(self.state_machine.role.node.find_child("DefaultPolicy"))

    @staticmethod
    def _check_placeholders(spec: WorkflowSpec) -> None:
        provided = {task.placeholder for task in spec.tasks}
        if spec.placeholders() != provided:
            raise ValueError(
                f"{spec.definition_file}: placeholders {sorted(spec.placeholders())} "
                f"do not match task functions {sorted(provided)}"
            )
