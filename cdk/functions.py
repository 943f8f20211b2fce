"""The platform's Lambda functions: each declares what it may touch, and gets only that."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk.environments import DeploymentEnvironment
from cdk.keys import PlatformKeys
from cdk.nag import LAMBDA_BASIC_EXECUTION_ROLE, LAMBDA_RUNTIME, indexes_of, objects_of
from domain.events import Publication

SEED_PURPOSE = "drexfy-investor-seed"  # lambdas.custody.wallet_generator.SEED_PURPOSE
# What the handlers' reads are (pynamodb get, query, scan); no BatchGetItem, ConditionCheckItem
# or DescribeTable: a full test run exercises none (the grants report, tests/support/grants.py).
TABLE_READS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan")
TABLES_WITH_INDEXES = (
    "submissions",
    "purchases",
    "withdrawals",
    "tickets",
)  # cdk/data.py: grants name index/* too


@dataclass(frozen=True)
class TaskFunction:
    """A Lambda; a workflow's ASL refers to it as `${<name>Arn}`.

    What it may touch is declared here: its tables, the signers it asks for signatures, the key
    it holds if it is a signer, whether it encrypts new seeds (the Wallet Generator), whether it
    publishes on the bus, which secrets it reads."""

    name: str
    handler: str
    reads: tuple[str, ...] = ()  # tables it only reads
    writes: tuple[str, ...] = ()  # tables it reads, puts and updates in; never deletes from
    appends: tuple[str, ...] = ()  # tables it only adds to (records nobody changes: audit)
    deletes: tuple[str, ...] = ()  # tables it writes and also deletes from
    signs_as: tuple[str, ...] = ()  # asks these accounts' signers (cdk/signing.py) to sign
    holds_key_of: str | None = None  # a signer: kms:Sign with this platform account's key
    decrypts_seeds: bool = False  # the investor signer alone
    encrypts_seeds: bool = False
    publishes: tuple[Publication, ...] = ()  # on the bus: only these sources and detail types
    secrets: tuple[str, ...] = ()
    knows_addresses_of: bool = False  # reads the platform accounts' public keys (addresses)
    servicing_objects: tuple[str, ...] = ()  # in the servicing bucket: "s3:GetObject", ...
    statement_objects: tuple[str, ...] = ()  # investors' statements, in the same bucket
    timeout_seconds: int = 30
    reserved_concurrency: int | None = None  # a cap that also keeps the rest for the others

    @property
    def placeholder(self) -> str:
        return f"{self.name}Arn"

    @property
    def tables(self) -> tuple[str, ...]:
        named = (*self.reads, *self.writes, *self.appends, *self.deletes)
        return tuple(dict.fromkeys(named))

    def table_actions(self, table: str) -> tuple[str, ...]:
        """The DynamoDB actions it may take on `table`: reads, writes and deletes only as
        declared; BatchWriteItem never (it deletes with no DeleteItem grant)."""
        actions: tuple[str, ...] = ()
        if table in (*self.reads, *self.writes, *self.deletes):
            actions += TABLE_READS
        if table in (*self.writes, *self.deletes):
            actions += ("dynamodb:PutItem", "dynamodb:UpdateItem")
        elif table in self.appends:
            actions += ("dynamodb:PutItem",)
        if table in self.deletes:
            actions += ("dynamodb:DeleteItem",)
        return actions


@dataclass(frozen=True)
class PlatformResources:
    """What functions are granted access to."""

    code: lambda_.Code
    layers: tuple[lambda_.ILayerVersion, ...]
    tables: dict[str, dynamodb.ITable]
    keys: PlatformKeys
    signers: dict[str, lambda_.IFunction]  # by account; filled in as the signers are made
    bus: events.IEventBus
    secrets: dict[str, secretsmanager.ISecret]
    configuration: dict[str, str]  # settings that name no resource: every function gets them
    servicing: s3.IBucket  # distributions' holder lists and reports
    env: DeploymentEnvironment


def platform_function(
    scope: Construct, task: TaskFunction, resources: PlatformResources
) -> lambda_.Function:
    function = lambda_.Function(
        scope,
        task.name,
        runtime=lambda_.Runtime.PYTHON_3_13,
        architecture=lambda_.Architecture.ARM_64,
        handler=task.handler,
        code=resources.code,
        layers=list(resources.layers),
        memory_size=512,
        timeout=Duration.seconds(task.timeout_seconds),
        reserved_concurrent_executions=task.reserved_concurrency,
        environment=function_environment(task, resources),
        # No active tracing: the handlers carry no X-Ray SDK (its import would cost every cold
        # start), so it would only add Lambda's own segment and an xray:* grant on "*". The
        # state machines' tracing still shows each execution's tasks end to end.
        tracing=lambda_.Tracing.DISABLED,
        log_group=log_group(scope, f"{task.name}Logs", resources.env),
    )
    _grant(task, function, resources)
    LAMBDA_RUNTIME.on(function)
    role = function.role
    assert role is not None
    LAMBDA_BASIC_EXECUTION_ROLE.on(role)
    return function


def function_environment(task: TaskFunction, resources: PlatformResources) -> dict[str, str]:
    """The names of what the function may touch, and nothing else (lambdas/config.py reads
    them): its tables, the keys it uses, the bus if it publishes, the secrets it reads."""
    keys = resources.keys
    environment = dict(resources.configuration)
    for name in task.tables:
        environment[f"{name.upper()}_TABLE"] = resources.tables[name].table_name
    if task.decrypts_seeds or task.encrypts_seeds:
        environment["INVESTOR_SEED_KEY_ID"] = keys.investor_seeds.key_id
    if task.signs_as or task.knows_addresses_of or task.holds_key_of:
        for role, key in keys.platform_accounts.items():
            environment[f"{role.upper()}_KEY_ID"] = key.key_id
    for role in task.signs_as:
        environment[f"{role.upper()}_SIGNER_FUNCTION"] = resources.signers[role].function_name
    if task.publishes:
        environment["EVENT_BUS_NAME"] = resources.bus.event_bus_name
    for name in task.secrets:
        environment[f"{name.upper().replace('-', '_')}_SECRET"] = resources.secrets[name].secret_arn
    if task.servicing_objects or task.statement_objects:
        environment["SERVICING_BUCKET"] = resources.servicing.bucket_name
    return environment


def _grant(task: TaskFunction, function: lambda_.Function, resources: PlatformResources) -> None:
    for table_name in task.tables:
        table = resources.tables[table_name]
        table.grant(function, *task.table_actions(table_name))
        if table_name in TABLES_WITH_INDEXES:
            table_resource = table.node.default_child
            assert isinstance(table_resource, CfnResource)
            policy = function.role.node.find_child("DefaultPolicy")  # type: ignore[union-attr]
            indexes_of(Stack.of(table).get_logical_id(table_resource)).on(policy)
    for role in task.signs_as:
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[resources.signers[role].function_arn],
            )
        )
    if task.holds_key_of:
        _use_key(function, resources.keys.platform_accounts[task.holds_key_of], ("kms:Sign",))
    if task.signs_as or task.knows_addresses_of or task.holds_key_of:
        # Public keys are not secret: whoever works with the ledger may learn every platform
        # account's address, but only a signer signs, and only as its own account.
        for key in resources.keys.platform_accounts.values():
            key.grant(function, "kms:GetPublicKey")
    if task.decrypts_seeds:
        _use_key(function, resources.keys.investor_seeds, ("kms:Decrypt",), _SEED_CONTEXT)
    if task.encrypts_seeds:
        function.add_to_role_policy(_seed_key_statement("kms:Encrypt", resources.keys))
    for publication in task.publishes:
        function.add_to_role_policy(_put_events_statement(publication, resources.bus))
    for secret in task.secrets:
        resources.secrets[secret].grant_read(function)
    if task.servicing_objects:
        grant_servicing_objects(function.role, task.servicing_objects, resources.servicing)
    if task.statement_objects:
        grant_servicing_objects(
            function.role, task.statement_objects, resources.servicing, STATEMENTS_PREFIX
        )


SERVICING_PREFIX = "distributions/"  # lambdas/servicing/distributions.py keeps all under it
STATEMENTS_PREFIX = "statements/"  # lambdas/books/documents.py


def grant_servicing_objects(
    role: iam.IRole | None,
    actions: tuple[str, ...],
    bucket: s3.IBucket,
    prefix: str = SERVICING_PREFIX,
) -> None:
    """Objects under one prefix only, with exactly these actions."""
    assert role is not None
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[bucket.arn_for_objects(f"{prefix}*")])
    )
    bucket_resource = bucket.node.default_child
    assert isinstance(bucket_resource, CfnResource)
    policy = role.node.find_child("DefaultPolicy")
    objects_of(Stack.of(bucket).get_logical_id(bucket_resource), prefix).on(policy)


def _put_events_statement(publication: Publication, bus: events.IEventBus) -> iam.PolicyStatement:
    """Its own events only: a role that may reach the bus cannot forge another's (domain/events)."""
    return iam.PolicyStatement(
        actions=["events:PutEvents"],
        resources=[bus.event_bus_arn],
        conditions={
            "StringEquals": {
                "events:source": publication.source,
                "events:detail-type": list(publication.detail_types),
            }
        },
    )


_SEED_CONTEXT = {"StringEquals": {"kms:EncryptionContext:purpose": SEED_PURPOSE}}


def _use_key(
    function: lambda_.Function,
    key: kms.IKey,
    actions: tuple[str, ...],
    conditions: dict[str, Any] | None = None,
) -> None:
    """Using a key needs its role's grant and the key policy naming that role: the key policy
    gives the account (its administrators) no use of the key (cdk/keys.py)."""
    role = function.role
    assert role is not None
    function.add_to_role_policy(
        iam.PolicyStatement(actions=list(actions), resources=[key.key_arn], conditions=conditions)
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=list(actions),
            resources=["*"],  # in a key policy, "*" is the key itself
            principals=[iam.ArnPrincipal(role.role_arn)],
            conditions=conditions,
        )
    )


def _seed_key_statement(action: str, keys: PlatformKeys) -> iam.PolicyStatement:
    """The seed key only for seeds: the encryption context must name the seed purpose (and
    KMS then also binds each ciphertext to its investor and address)."""
    return iam.PolicyStatement(
        actions=[action], resources=[keys.investor_seeds.key_arn], conditions=_SEED_CONTEXT
    )


def log_group(scope: Construct, construct_id: str, env: DeploymentEnvironment) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
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
