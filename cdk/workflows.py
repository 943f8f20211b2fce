"""Workflows: each ASL file in statemachines/ with the small Lambdas its tasks call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.environments import DeploymentEnvironment

STATEMACHINES_DIR = Path(__file__).resolve().parent.parent / "statemachines"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


@dataclass(frozen=True)
class TaskFunction:
    """A Lambda behind workflow tasks; the ASL refers to it as `${<name>Arn}`."""

    name: str
    handler: str
    tables: tuple[str, ...] = ()
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


PURCHASE = WorkflowSpec(
    name="Purchase",
    definition_file="purchase.asl.json",
    tasks=(
        TaskFunction("RecordDeposit", "lambdas.purchase.record_deposit.handler", ("purchases",)),
        TaskFunction("RefundPayment", "lambdas.purchase.refund_payment.handler", ("purchases",)),
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
        environment: dict[str, str],
        env: DeploymentEnvironment,
    ) -> None:
        super().__init__(scope, construct_id)
        self._check_placeholders(spec)
        self.functions = {
            task.name: self._function(task, code, tables, environment, env) for task in spec.tasks
        }
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
