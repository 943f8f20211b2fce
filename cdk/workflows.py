"""Workflows: each ASL file in statemachines/ with the small Lambdas its tasks call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.functions import PlatformResources, TaskFunction, log_group, platform_function
from cdk.nag import STATE_MACHINE_XRAY_AND_LOG_DELIVERY
from domain import events

STATEMACHINES_DIR = Path(__file__).resolve().parent.parent / "statemachines"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    definition_file: str
    tasks: tuple[TaskFunction, ...]

    def definition(self) -> str:
        return (STATEMACHINES_DIR / self.definition_file).read_text()

    def placeholders(self) -> set[str]:
        return set(PLACEHOLDER.findall(self.definition()))


_LEDGER_TABLES = ("purchases", "investors", "submissions", "tickets", "sequences")
_STEPS = "lambdas.purchase.ledger_steps"


def _ledger_step(name: str, handler: str, *signs_as: str) -> TaskFunction:
    return TaskFunction(
        name,
        f"{_STEPS}.{handler}",
        _LEDGER_TABLES + (("wallets",) if "investor" in signs_as else ()),
        signs_as=signs_as,
        decrypts_seeds="investor" in signs_as,
    )


PURCHASE = WorkflowSpec(
    name="Purchase",
    definition_file="purchase.asl.json",
    tasks=(
        TaskFunction(
            "RecordDeposit",
            "lambdas.purchase.record_deposit.handler",
            ("purchases", "investors", "wallets", "instruments", "payments"),
        ),
        TaskFunction(
            "AuthorizeTrustLine",
            "lambdas.purchase.authorize_trust_line.handler",
            (*_LEDGER_TABLES, "wallets"),
            signs_as=("issuer", "company", "investor"),
            decrypts_seeds=True,
        ),
        _ledger_step("MintStablecoin", "mint_stablecoin", "issuer"),
        _ledger_step("ConfirmMint", "confirm_mint", "issuer"),  # re-signs an expired mint
        _ledger_step("TransferStablecoin", "transfer_stablecoin", "investor"),
        _ledger_step("DeliverInstrument", "deliver_instrument", "company"),
        TaskFunction(
            "CompletePurchase",
            "lambdas.purchase.complete_purchase.handler",
            ("purchases", "instruments"),
        ),
        TaskFunction(
            "AnnounceDelivery",
            "lambdas.purchase.announce_delivery.handler",
            publishes=(events.PURCHASE_COMPLETIONS,),
        ),
        TaskFunction(
            "BeginCompensation", "lambdas.purchase.begin_compensation.handler", ("purchases",)
        ),
        # Undoing first settles the forward steps it reverses, which may mean re-signing an
        # expired one: these sign as their own account and as the forward steps' signers.
        _ledger_step("TakeBackInstrument", "take_back_instrument", "company"),
        _ledger_step("RedeemStablecoin", "redeem_stablecoin", "company", "investor"),
        _ledger_step("ClawBackStablecoin", "claw_back_stablecoin", "issuer", "investor"),
        TaskFunction(
            "ReleaseUnits", "lambdas.purchase.release_units.handler", ("purchases", "instruments")
        ),
        TaskFunction(
            "RefundPayment",
            "lambdas.purchase.refund_payment.handler",
            ("purchases",),
            publishes=(events.REFUND_REQUESTS,),
        ),
        TaskFunction("ParkPurchase", "lambdas.purchase.park_purchase.handler", ("purchases",)),
    ),
)

_INVESTOR_LEDGER_TABLES = ("investors", "audit", "wallets", "submissions", "tickets", "sequences")
_NOTIFY = TaskFunction(
    "NotifyFrontend",
    "lambdas.frontend.notify.handler",
    ("notifications",),
    publishes=(events.INVESTOR_NOTIFICATIONS,),
)

ONBOARDING = WorkflowSpec(
    name="Onboarding",
    definition_file="onboarding.asl.json",
    tasks=(
        TaskFunction(
            "RecordKycDecision",
            "lambdas.onboarding.steps.record_kyc_decision",
            ("investors", "audit"),
        ),
        TaskFunction(
            "CreateWallet",
            "lambdas.onboarding.steps.create_wallet",
            ("investors", "wallets"),
            encrypts_seeds=True,
        ),
        TaskFunction(
            "FundWallet",
            "lambdas.onboarding.steps.fund_wallet",
            _INVESTOR_LEDGER_TABLES,
            signs_as=("funding",),
        ),
        TaskFunction(
            "AuthorizeStablecoinLine",
            "lambdas.onboarding.steps.authorize_stablecoin_line",
            _INVESTOR_LEDGER_TABLES,
            signs_as=("issuer", "investor"),
            decrypts_seeds=True,
        ),
        TaskFunction(
            "ActivateInvestor",
            "lambdas.onboarding.steps.activate_investor",
            ("investors", "audit", "wallets"),
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
            ("investors", "audit"),
        ),
        TaskFunction(
            "FreezeHoldings",
            "lambdas.compliance.steps.freeze_holdings",
            (*_INVESTOR_LEDGER_TABLES, "instruments"),
            signs_as=("issuer", "company"),
        ),
        TaskFunction(
            "UnfreezeHoldings",
            "lambdas.compliance.steps.unfreeze_holdings",
            (*_INVESTOR_LEDGER_TABLES, "instruments"),
            signs_as=("issuer", "company"),
        ),
        TaskFunction(
            "ReinstateInvestor",
            "lambdas.compliance.steps.reinstate_investor",
            ("investors", "audit", "submissions"),
            knows_addresses_of=True,  # reads the freeze's transactions through the ledger service
        ),
        _NOTIFY,
    ),
)

WORKFLOWS = (PURCHASE, ONBOARDING, COMPLIANCE)


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
                include_execution_data=True,
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

    @staticmethod
    def _check_placeholders(spec: WorkflowSpec) -> None:
        provided = {task.placeholder for task in spec.tasks}
        if spec.placeholders() != provided:
            raise ValueError(
                f"{spec.definition_file}: placeholders {sorted(spec.placeholders())} "
                f"do not match task functions {sorted(provided)}"
            )
