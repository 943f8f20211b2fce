"""Workflows: each ASL file in statemachines/ with the small Lambdas its tasks call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.environments import DeploymentEnvironment
from cdk.keys import PlatformKeys

STATEMACHINES_DIR = Path(__file__).resolve().parent.parent / "statemachines"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


@dataclass(frozen=True)
class TaskFunction:
    """A Lambda behind workflow tasks; the ASL refers to it as `${<name>Arn}`.

    What it may touch is declared here: its tables, the platform keys it signs with, whether it
    decrypts investor seeds (the Signer), whether it publishes on the bus."""

    name: str
    handler: str
    tables: tuple[str, ...] = ()
    signs_as: tuple[str, ...] = ()
    decrypts_seeds: bool = False
    publishes: bool = False
    timeout_seconds: int = 30

    @property
    def placeholder(self) -> str:
        return f"{self.name}Arn"


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


def _ledger_step(name: str, handler: str, signs_as: str) -> TaskFunction:
    return TaskFunction(
        name,
        f"{_STEPS}.{handler}",
        _LEDGER_TABLES + (("wallets",) if signs_as == "investor" else ()),
        signs_as=("issuer", "company") if signs_as == "platform" else (signs_as,),
        decrypts_seeds=signs_as == "investor",
    )


PURCHASE = WorkflowSpec(
    name="Purchase",
    definition_file="purchase.asl.json",
    tasks=(
        TaskFunction(
            "RecordDeposit",
            "lambdas.purchase.record_deposit.handler",
            ("purchases", "investors", "wallets", "instruments"),
        ),
        TaskFunction(
            "AuthorizeTrustLine",
            "lambdas.purchase.authorize_trust_line.handler",
            (*_LEDGER_TABLES, "wallets"),
            signs_as=("issuer", "company", "investor"),
            decrypts_seeds=True,
        ),
        _ledger_step("MintStablecoin", "mint_stablecoin", "issuer"),
        _ledger_step("TransferStablecoin", "transfer_stablecoin", "investor"),
        _ledger_step("DeliverInstrument", "deliver_instrument", "company"),
        TaskFunction(
            "CompletePurchase",
            "lambdas.purchase.complete_purchase.handler",
            ("purchases", "instruments"),
        ),
        TaskFunction(
            "AnnounceDelivery", "lambdas.purchase.announce_delivery.handler", publishes=True
        ),
        TaskFunction(
            "BeginCompensation", "lambdas.purchase.begin_compensation.handler", ("purchases",)
        ),
        # Undoing settles the forward steps first, so these sign as the forward steps' signers.
        _ledger_step("TakeBackInstrument", "take_back_instrument", "platform"),
        _ledger_step("RedeemStablecoin", "redeem_stablecoin", "platform"),
        _ledger_step("ClawBackStablecoin", "claw_back_stablecoin", "platform"),
        TaskFunction(
            "ReleaseUnits", "lambdas.purchase.release_units.handler", ("purchases", "instruments")
        ),
        TaskFunction(
            "RefundPayment",
            "lambdas.purchase.refund_payment.handler",
            ("purchases",),
            publishes=True,
        ),
        TaskFunction("ParkPurchase", "lambdas.purchase.park_purchase.handler", ("purchases",)),
    ),
)

WORKFLOWS = (PURCHASE,)


class Workflow(Construct):
    """One Standard state machine and its task functions, each with access to only its tables."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: WorkflowSpec,
        code: lambda_.Code,
        tables: dict[str, dynamodb.ITable],
        keys: PlatformKeys,
        bus: events.IEventBus,
        environment: dict[str, str],
        env: DeploymentEnvironment,
    ) -> None:
        super().__init__(scope, construct_id)
        self._check_placeholders(spec)
        self.functions = {
            task.name: self._function(task, code, tables, environment, env) for task in spec.tasks
        }
        for task in spec.tasks:
            self._grant(task, self.functions[task.name], keys, bus)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=f"Drexfy-{env.name}-{spec.name}",
            definition_body=sfn.DefinitionBody.from_string(spec.definition()),
            definition_substitutions={
                task.placeholder: self.functions[task.name].function_arn for task in spec.tasks
            },
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self._log_group("Executions", env),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
        )
        for function in self.functions.values():
            function.grant_invoke(self.state_machine)

    @staticmethod
    def _check_placeholders(spec: WorkflowSpec) -> None:
        provided = {task.placeholder for task in spec.tasks}
        if spec.placeholders() != provided:
            raise ValueError(
                f"{spec.definition_file}: placeholders {sorted(spec.placeholders())} "
                f"do not match task functions {sorted(provided)}"
            )

    def _function(
        self,
        task: TaskFunction,
        code: lambda_.Code,
        tables: dict[str, dynamodb.ITable],
        environment: dict[str, str],
        env: DeploymentEnvironment,
    ) -> lambda_.Function:
        function = lambda_.Function(
            self,
            task.name,
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=task.handler,
            code=code,
            memory_size=512,
            timeout=Duration.seconds(task.timeout_seconds),
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self._log_group(f"{task.name}Logs", env),
        )
        for table_name in task.tables:
            tables[table_name].grant_read_write_data(function)
        return function

    @staticmethod
    def _grant(
        task: TaskFunction, function: lambda_.Function, keys: PlatformKeys, bus: events.IEventBus
    ) -> None:
        for role in task.signs_as:
            if role != "investor":
                keys.platform_accounts[role].grant(function, "kms:Sign", "kms:GetPublicKey")
        if task.decrypts_seeds:
            keys.investor_seeds.grant_decrypt(function)
        if task.publishes:
            bus.grant_put_events_to(function)

    def _log_group(self, construct_id: str, env: DeploymentEnvironment) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            construct_id,
            retention=_retention(env.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if env.retain_data else RemovalPolicy.DESTROY,
        )


def _retention(days: int) -> logs.RetentionDays:
    by_days = {
        7: logs.RetentionDays.ONE_WEEK,
        14: logs.RetentionDays.TWO_WEEKS,
        30: logs.RetentionDays.ONE_MONTH,
        365: logs.RetentionDays.ONE_YEAR,
    }
    return by_days[days]
