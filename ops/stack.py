"""Where `drexfy-ops --stack` gets its configuration and its credentials.

Configuration: the stack's CloudFormation outputs (`describe_stacks`), published by
cdk/platform_stack.py and cdk/operators.py under stable names; `COMMAND_OUTPUTS` says which
each command needs. The commands that read records use the Lambdas' own code (lambdas/), which
reads the functions' environment, so the outputs are turned back into the variables the
functions get (`LAMBDA_ENVIRONMENT_OUTPUTS`).

Credentials: the caller's (the environment, or `--profile`), optionally exchanged for the
operators' role (`--role-arn`, STS AssumeRole with a session named after the operator, and the
operator's MFA device and code, which the role's trust policy demands).
"""

from __future__ import annotations

import getpass
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# The functions' environment variable (lambdas/config.py) -> the stack output holding its value.
LAMBDA_ENVIRONMENT_OUTPUTS: dict[str, str] = {
    **{
        f"{table.upper()}_TABLE": f"{table.title()}TableName"
        for table in (
            "purchases", "wallets", "submissions", "tickets", "sequences", "instruments",
            "investors", "audit", "webhooks", "signatures", "notifications", "payments",
            "distributions", "entitlements", "withdrawals", "reconciliations",
        )
    },
    **{
        f"{account.upper()}_SIGNER_FUNCTION": f"{account.title()}SignerFunctionName"
        for account in ("investor", "issuer", "company", "funding")
    },
    "INVESTOR_SEED_KEY_ID": "InvestorSeedKeyId",
    "ISSUER_KEY_ID": "IssuerKeyId",
    "COMPANY_KEY_ID": "CompanyKeyId",
    "FUNDING_KEY_ID": "FundingKeyId",
    "PAYMENTS_WEBHOOK_SECRET": "PaymentsWebhookSecretArn",
    "KYC_WEBHOOK_SECRET": "KycWebhookSecretArn",
    "FRONTEND_API_SECRET": "FrontendApiSecretArn",
    "EVENT_BUS_NAME": "EventBusName",
    "DISTRIBUTION_WORKFLOW": "DistributionStateMachineArn",
    "XRPL_URLS": "XrplUrls",
    "EXPLORER_URL": "ExplorerUrl",
    "ACTIVATION_XRP": "ActivationXrp",
    "LEDGER_CLOSE_SECONDS": "LedgerCloseSeconds",
}  # fmt: skip

# The outputs each command reads, itself or through the Lambdas' code it runs.
COMMAND_OUTPUTS: dict[str, tuple[str, ...]] = {
    "purchases": ("PurchasesTableName",),
    "purchase": ("PurchasesTableName",),
    "redrive": ("PurchasesTableName",),
    "replay": ("EventBusName", "EventArchiveArn"),
    "investor": ("EventBusName",),
    "accounts": (
        "XrplUrls", "IssuerKeyId", "CompanyKeyId", "FundingKeyId", "TicketsTableName",
        "InstrumentsTableName",
    ),
    "distributions": ("DistributionsTableName",),
    "instrument": ("InstrumentsTableName",),
    "instrument write-down": ("EventBusName",),
    "distribution": (
        "DistributionsTableName", "EntitlementsTableName", "DistributionStateMachineArn",
    ),
    "withdrawals": ("WithdrawalsTableName",),
    "withdrawal": ("WithdrawalsTableName",),
    "payouts": ("WithdrawalsTableName", "PurchasesTableName"),
    "provider dead-letters": ("ProviderDeadLetterQueueUrl",),
    "provider resend": ("ProviderDeadLetterQueueUrl", "EventBusName"),
    "reconcile": ("ReconciliationStateMachineArn", "ReconciliationsTableName"),
    "reconciliations": ("ReconciliationsTableName",),
    "statements": ("StatementsStateMachineArn",),
    "statement": (
        "XrplUrls", "IssuerKeyId", "CompanyKeyId", "FundingKeyId", "WalletsTableName",
        "InstrumentsTableName", "PurchasesTableName", "DistributionsTableName",
        "EntitlementsTableName", "SubmissionsTableName", "WithdrawalsTableName",
    ),
    "register": (
        "XrplUrls", "IssuerKeyId", "CompanyKeyId", "FundingKeyId", "InstrumentsTableName",
        "PurchasesTableName", "DistributionsTableName", "EntitlementsTableName",
        "SubmissionsTableName", "AuditTableName",
    ),
    "reconciliation": ("ReconciliationsTableName",),
}  # fmt: skip

_SESSION_NAME_CHARACTERS = re.compile(r"[^\w+=,.@-]")


class ConfigurationError(RuntimeError):
    """drexfy-ops cannot find or reach the platform: says what is missing and where."""


class MissingOutputs(ConfigurationError):
    def __init__(self, stack: str, names: Iterable[str], needed_by: str) -> None:
        self.stack = stack
        self.names = sorted(names)
        plural = "s" if len(self.names) > 1 else ""
        super().__init__(
            f"stack {stack} has no output{plural} {', '.join(self.names)} (needed by "
            f"drexfy-ops {needed_by}): deploy this version of the stack (docs/operations.md)"
        )


@dataclass(frozen=True)
class OperatorSession:
    """The session every client is made from, and who it acts as (for the operator to see)."""

    session: boto3.Session
    acting_as: str


def session_name(user: str | None = None) -> str:
    """`drexfy-ops-<user>`: what CloudTrail shows for every call of this run."""
    if user is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no login name (a container without a passwd entry)
            user = "operator"
    return f"drexfy-ops-{_SESSION_NAME_CHARACTERS.sub('-', user)}"[:64]


def operator_session(
    *,
    profile: str | None = None,
    role_arn: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    mfa_serial: str | None = None,
    mfa_code: str | None = None,
) -> OperatorSession:
    """The caller's session (`profile`, else the environment), as `role_arn` if given.

    Assuming the role takes MFA: the device `mfa_serial` (else the profile's `mfa_serial`)
    and its current `mfa_code` (asked for on the terminal when not given).
    With a profile or a role, its credentials are also exported to the environment: the
    Lambdas' code (pynamodb models, their KMS client) builds its own clients from there."""
    try:
        base = boto3.Session(profile_name=profile, region_name=region)
    except BotoCoreError as error:
        raise ConfigurationError(f"profile {profile}: {error}") from None
    region = base.region_name
    if not region:
        raise ConfigurationError("no AWS region: give --region or set AWS_DEFAULT_REGION")
    if role_arn is None:
        if mfa_serial or mfa_code:  # a profile that assumes a role asks for its code itself
            raise ConfigurationError("--mfa-serial and --mfa-code go with --role-arn")
        if profile is None:
            return OperatorSession(base, "the environment's credentials")
        session = base
        acting_as = f"profile {profile}"
    else:
        mfa = _mfa(base, mfa_serial, mfa_code)
        try:
            assumed = base.client("sts", endpoint_url=endpoint_url).assume_role(
                RoleArn=role_arn, RoleSessionName=session_name(), **mfa
            )
        except (ClientError, BotoCoreError) as error:
            raise ConfigurationError(f"cannot assume {role_arn}: {error}") from None
        credentials = assumed["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
        acting_as = str(assumed["AssumedRoleUser"]["Arn"])
    export_credentials(session)
    return OperatorSession(session, acting_as)


def _mfa(base: boto3.Session, serial: str | None, code: str | None) -> dict[str, str]:
    """AssumeRole's SerialNumber and TokenCode; none without a device (AWS then refuses a
    role whose trust policy demands MFA, and says so)."""
    if serial is None:
        profile = base._session.get_scoped_config()  # the profile's settings, as the CLI reads
        serial = profile.get("mfa_serial")
    if not serial:
        if code:
            raise ConfigurationError("--mfa-code needs --mfa-serial (or mfa_serial in the profile)")
        return {}
    if not code:
        if not sys.stdin.isatty():
            raise ConfigurationError(f"give --mfa-code: the current code of {serial}")
        code = getpass.getpass(f"MFA code for {serial}: ").strip()
    return {"SerialNumber": serial, "TokenCode": code}


def export_credentials(session: boto3.Session) -> None:
    credentials = session.get_credentials()
    if credentials is None:
        raise ConfigurationError("no AWS credentials")
    frozen = credentials.get_frozen_credentials()
    os.environ["AWS_ACCESS_KEY_ID"] = frozen.access_key
    os.environ["AWS_SECRET_ACCESS_KEY"] = frozen.secret_key
    if frozen.token:
        os.environ["AWS_SESSION_TOKEN"] = frozen.token
    else:
        os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)  # the exported keys are the ones to use
    region = session.region_name
    if region:
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    """The stack's outputs by name, from `describe_stacks`."""
    try:
        (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        region = cloudformation.meta.region_name
        if code == "ValidationError":
            raise ConfigurationError(f"no stack {stack} in {region}: {message}") from None
        raise ConfigurationError(f"cannot read stack {stack} in {region}: {message}") from None
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def require(outputs: Mapping[str, str], stack: str, command: str) -> None:
    """Every output `command` reads is there, or MissingOutputs names those that are not."""
    missing = [o for o in COMMAND_OUTPUTS[command] if o not in outputs]
    if missing:
        raise MissingOutputs(stack, missing, command)


def lambda_environment(outputs: Mapping[str, str]) -> dict[str, str]:
    """The functions' variables the outputs give: the Lambdas' code reads its configuration
    (table names, key ids, the ledger's URL) from there."""
    return {
        variable: outputs[output]
        for variable, output in LAMBDA_ENVIRONMENT_OUTPUTS.items()
        if output in outputs
    }


def add_stack_arguments(parser: Any, stack_help: str, required: bool = False) -> None:
    """--stack, --profile and --region, as each command on a deployed stack reads them."""
    parser.add_argument("--stack", required=required, help=stack_help)
    parser.add_argument("--profile", help="with --stack: the AWS profile to use")
    parser.add_argument("--region", help="with --stack: the stack's region")


def stack_arguments(stack: str, profile: str | None, region: str | None) -> list[str]:
    """The arguments `add_stack_arguments` reads, for a command run on the same stack."""
    return [
        "--stack", stack,
        *(["--profile", profile] if profile else []),
        *(["--region", region] if region else []),
    ]  # fmt: skip


def deployed_platform(
    stack: str, profile: str | None, region: str | None
) -> tuple[OperatorSession, dict[str, str]]:
    """The stack's outputs, read as the caller (credentials, region and endpoint from the
    environment or the profile); the Lambdas' configuration and the caller's credentials are put
    in the environment, where the Lambdas' code reads them."""
    operator = operator_session(profile=profile, region=region)
    export_credentials(operator.session)
    outputs = stack_outputs(operator.session.client("cloudformation"), stack)
    os.environ.update(lambda_environment(outputs))
    return operator, outputs
