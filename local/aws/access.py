"""IAM enforced on the embedded AWS: every request is checked against its principal's policies.

Who is calling:
- a Lambda handler or a state machine task: the role the template gives it (`acting_as`, set by
  the local Lambda runtime and the Step Functions task patch for the duration of the call);
- any other client: the role behind its access key (credentials from STS AssumeRole), or the
  local administrator (`ADMINISTRATOR_ACCESS_KEYS`: the deployer, tests' set-up, the harness),
  which AWS's account root stands for. An unknown key is refused, as AWS refuses it.

What is asked: `checks()` turns a request into the IAM actions, resource ARNs and condition keys
AWS evaluates for it (a TransactWriteItems is one check per item, a PutEvents one per entry).
The policies are read from moto's IAM (role inline and managed policies, and a role's trust
policy for AssumeRole) and KMS (key policies), which the deployer filled from the template, so
a snapshot carries them too.
"""

from __future__ import annotations

import contextvars
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.credentials import Credentials

from local.aws import iam_policy, presigned
from local.aws.iam_policy import Decision, Policy, Request

__all__ = ["Decision", "acting", "authorize", "caller_of", "decide_for", "evaluate"]

# The local account's root: platform.FAKE_CREDENTIALS, and the key mock_aws puts in the
# environment of the process it runs in.
ADMINISTRATOR_ACCESS_KEY = "testing"
ADMINISTRATOR_ACCESS_KEYS = frozenset({ADMINISTRATOR_ACCESS_KEY, "FOOBARKEY"})
# Their secret keys and session tokens, which an S3 link they signed is checked with.
ADMINISTRATOR_SECRETS = {
    ADMINISTRATOR_ACCESS_KEY: (ADMINISTRATOR_ACCESS_KEY, ADMINISTRATOR_ACCESS_KEY),
    "FOOBARKEY": ("FOOBARSECRET", None),
}
_IAM_PREFIX = {"stepfunctions": "states", "apigatewayv2": "apigateway"}
_JSON_PROTOCOLS = frozenset(
    {"dynamodb", "kms", "events", "stepfunctions", "secretsmanager", "logs", "lambda", "sqs"}
)
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")

acting_as: contextvars.ContextVar[str | None] = contextvars.ContextVar("acting_as", default=None)


class Enforcement:
    """Always on (there is no switch: a local run must never be looser than AWS); `recorded`
    counts each (principal, action, resource, decision) seen."""

    recorded: Counter[tuple[str, str, str, str]] = Counter()
    _lock = threading.Lock()

    @classmethod
    def record(cls, request: Request, decision: Decision) -> None:
        with cls._lock:
            cls.recorded[(request.principal, request.action, request.resource, decision.value)] += 1


@contextmanager
def acting(principal: str | None) -> Iterator[None]:
    """Calls made in this block are made as `principal` (a role ARN)."""
    token = acting_as.set(principal)
    try:
        yield
    finally:
        acting_as.reset(token)


@dataclass(frozen=True)
class Check:
    action: str
    resource: str
    context: Mapping[str, iam_policy.ContextValue]


class AccessDenied(Exception):
    """Raised inside moto; `local.aws.patches` turns it into the service's error response."""

    def __init__(self, code: str, message: str, json_protocol: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.json_protocol = json_protocol


# --- the decision -----------------------------------------------------------------------------


def authorize(service: str, action: str, params: Mapping[str, Any], caller: Caller) -> None:
    """Raise AccessDenied unless the caller may make this request. The administrator is the
    account root: it may do anything no key policy withholds and no resource policy denies."""
    principal = caller.principal or account_root(caller.account_id)
    prefix = _IAM_PREFIX.get(service, service)
    for check in checks(prefix, action, params, caller):
        request = Request(principal, check.action, check.resource, check.context)
        decision = evaluate(request, caller.account_id, caller.region)
        Enforcement.record(request, decision)
        if decision is not Decision.ALLOW:
            raise AccessDenied(
                "AccessDeniedException" if service in _JSON_PROTOCOLS else "AccessDenied",
                denial_message(request, decision),
                service in _JSON_PROTOCOLS,
            )


def decide_for(
    principal: str | None, action: str, resource: str, account_id: str, region: str
) -> Decision:
    """A service acting for a principal (an EventBridge target's role): no role, no access."""
    if not principal:
        return Decision.IMPLICIT_DENY
    request = Request(principal, action, resource, {})
    decision = evaluate(request, account_id, region)
    Enforcement.record(request, decision)
    return decision


def evaluate(request: Request, account_id: str, region: str) -> Decision:
    key_policy = resource_policy = None
    if request.action.startswith("kms:") and ":key/" in request.resource:
        key_policy = _key_policy(request.resource, account_id, region)
    if request.action.startswith("dynamodb:") and ":table/" in request.resource:
        resource_policy = _table_policy(request.resource, account_id, region)
    if request.action == "sts:AssumeRole":
        # A trust policy consents as a key policy does: naming the caller allows it, naming
        # the account hands the decision to the caller's own policies; no role, no consent.
        key_policy = trust_policy(request.resource, account_id)
    identity = (
        [ADMINISTRATOR_POLICY]
        if request.principal == account_root(account_id)
        else role_policies(request.principal, account_id)
    )
    return iam_policy.decide(request, identity, account_id, key_policy, resource_policy)


def account_root(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


ADMINISTRATOR_POLICY = Policy.parse(
    {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def denial_message(request: Request, decision: Decision) -> str:
    reason = (
        "with an explicit deny"
        if decision is Decision.EXPLICIT_DENY
        else f"because no policy allows the {request.action} action"
    )
    return (
        f"User: {request.principal} is not authorized to perform: {request.action} "
        f"on resource: {request.resource} {reason}"
    )


def role_policies(role_arn: str, account_id: str) -> list[Policy]:
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account_id]["aws"].get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 - moto raises its own IAMNotFoundException
        return []
    documents = list(role.policies.values())
    for managed in role.managed_policies.values():
        documents += [v.document for v in managed.versions if v.is_default]
    return [Policy.parse(unquote(d) if d.startswith("%7B") else d) for d in documents]


def trust_policy(role_arn: str, account_id: str) -> Policy:
    """The role's AssumeRolePolicyDocument; an unknown role trusts no one (AWS answers
    AccessDenied for it too)."""
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account_id]["aws"].get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 - moto raises its own IAMNotFoundException
        return Policy(())
    document = role.assume_role_policy_document
    return Policy.parse(unquote(document) if document.startswith("%7B") else document)


def _table_policy(resource_arn: str, account_id: str, region: str) -> Policy | None:
    """The resource policy of the table (of an index: its table's), if it has one."""
    from moto.dynamodb.models import dynamodb_backends

    table_arn = re.sub(r"(:table/[^/]+).*", r"\1", resource_arn)
    policy = dynamodb_backends[account_id][region].resource_policies.get(table_arn)
    return Policy.parse(policy.policy_doc) if policy is not None else None


def _key_policy(key_arn: str, account_id: str, region: str) -> Policy | None:
    from moto.kms.models import kms_backends

    key = kms_backends[account_id][region].keys.get(key_arn.rsplit("/", 1)[-1])
    return Policy.parse(key.policy) if key is not None else None


# --- who is calling ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    principal: str | None  # None: the local administrator
    account_id: str
    region: str


class UnrecognizedClient(Exception):
    def __init__(self, access_key: str, json_protocol: bool) -> None:
        super().__init__(f"The security token included in the request is invalid: {access_key}")
        self.json_protocol = json_protocol


def caller_of(headers: Mapping[str, str], service: str, account_id: str, region: str) -> Caller:
    acting = acting_as.get()
    if acting is not None:
        return Caller(acting, account_id, region)
    match = _CREDENTIAL.search(headers.get("Authorization", "") or "")
    access_key = match.group(1) if match else ""
    if access_key in ADMINISTRATOR_ACCESS_KEYS:
        return Caller(None, account_id, region)
    assumed = _assumed_role(access_key, account_id)
    if assumed is None:
        raise UnrecognizedClient(access_key, service in _JSON_PROTOCOLS)
    return Caller(assumed.role_arn, account_id, region)


def caller_of_link(
    link: presigned.SignedLink, request: presigned.LinkRequest, account_id: str, region: str
) -> Caller:
    """Who signed an S3 link, once its signature and lifetime are checked against their keys."""
    if link.access_key in ADMINISTRATOR_ACCESS_KEYS:
        secret, token = ADMINISTRATOR_SECRETS[link.access_key]
        presigned.check(link, Credentials(link.access_key, secret, token), request)
        return Caller(None, account_id, region)
    assumed = _assumed_role(link.access_key, account_id)
    if assumed is None:
        raise UnrecognizedClient(link.access_key, json_protocol=False)
    keys = Credentials(link.access_key, assumed.secret_access_key, assumed.session_token)
    presigned.check(link, keys, request)
    return Caller(assumed.role_arn, account_id, region)


def _assumed_role(access_key: str, account_id: str) -> Any:
    from moto.sts.models import sts_backends

    return sts_backends[account_id]["aws"].get_assumed_role_from_access_key(access_key)


# --- what is asked: a request's actions, resources and condition keys ------------------------


def checks(prefix: str, action: str, params: Mapping[str, Any], caller: Caller) -> list[Check]:
    special = _SPECIAL.get((prefix, action))
    if special is not None:
        return special(params, caller)
    resource = _RESOURCE.get(prefix, _anything)(params, caller)
    return [Check(f"{prefix}:{action}", resource, {})]


def _anything(params: Mapping[str, Any], caller: Caller) -> str:
    return "*"


def _arn(caller: Caller, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{caller.region}:{caller.account_id}:{resource}"


def _table_arn(caller: Caller, table: str, index: str | None = None) -> str:
    if table.startswith("arn:"):
        return table
    arn = _arn(caller, "dynamodb", f"table/{table}")
    return f"{arn}/index/{index}" if index else arn


def _dynamodb_resource(params: Mapping[str, Any], caller: Caller) -> str:
    table = params.get("TableName")
    return _table_arn(caller, table, params.get("IndexName")) if table else "*"


_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _transact(params: Mapping[str, Any], caller: Caller) -> list[Check]:
    """DynamoDB authorizes a transaction item by item, as the item's own action."""
    found = []
    for item in params.get("TransactItems", []):
        for kind, body in item.items():
            arn = _table_arn(caller, body["TableName"])
            found.append(Check(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", arn, {}))
    return found


def _batch(action: str) -> Callable[[Mapping[str, Any], Caller], list[Check]]:
    def per_table(params: Mapping[str, Any], caller: Caller) -> list[Check]:
        tables = params.get("RequestItems", {})
        return [Check(f"dynamodb:{action}", _table_arn(caller, t), {}) for t in tables]

    return per_table


def _kms_key_arn(key_id: str, caller: Caller) -> str:
    from moto.kms.models import kms_backends

    backend = kms_backends[caller.account_id][caller.region]
    return _looked_up(
        lambda: _arn(caller, "kms", f"key/{backend.any_id_to_key_id(key_id)}"),
        _arn(caller, "kms", f"key/{key_id}"),
    )


def _kms(action: str) -> Callable[[Mapping[str, Any], Caller], list[Check]]:
    def check(params: Mapping[str, Any], caller: Caller) -> list[Check]:
        key_id = params.get("KeyId") or _ciphertext_key(params)
        resource = _kms_key_arn(key_id, caller) if key_id else "*"
        return [Check(f"kms:{action}", resource, _kms_context(params))]

    return check


def _ciphertext_key(params: Mapping[str, Any]) -> str | None:
    """A symmetric Decrypt names no key: KMS (and moto) read it from the ciphertext."""
    import base64

    from moto.kms.utils import _deserialize_ciphertext_blob

    blob = params.get("CiphertextBlob")
    if not blob:
        return None
    try:
        return _deserialize_ciphertext_blob(base64.b64decode(blob)).key_id
    except Exception:  # noqa: BLE001 - malformed: moto answers InvalidCiphertext after us
        return None


def _kms_context(params: Mapping[str, Any]) -> dict[str, iam_policy.ContextValue]:
    context: dict[str, iam_policy.ContextValue] = {}
    encryption_context = params.get("EncryptionContext") or {}
    for key, value in encryption_context.items():
        context[f"kms:EncryptionContext:{key}"] = str(value)
    if encryption_context:
        context["kms:EncryptionContextKeys"] = list(encryption_context)
    for name, key in (
        ("SigningAlgorithm", "kms:SigningAlgorithm"),
        ("MessageType", "kms:MessageType"),
    ):
        if name in params:
            context[key] = str(params[name])
    return context


def _bus_arn(name: str | None, caller: Caller) -> str:
    name = name or "default"
    return name if name.startswith("arn:") else _arn(caller, "events", f"event-bus/{name}")


def _put_events(params: Mapping[str, Any], caller: Caller) -> list[Check]:
    """Each entry is authorized on its bus with its own source and detail type."""
    return [
        Check(
            "events:PutEvents",
            _bus_arn(entry.get("EventBusName"), caller),
            {
                "events:source": str(entry.get("Source", "")),
                "events:detail-type": str(entry.get("DetailType", "")),
            },
        )
        for entry in params.get("Entries", [])
    ]


def _events_resource(params: Mapping[str, Any], caller: Caller) -> str:
    if "EventSourceArn" in params:  # StartReplay: the archive
        return str(params["EventSourceArn"])
    if "ReplayName" in params:
        return _arn(caller, "events", f"replay/{params['ReplayName']}")
    if "ArchiveName" in params:
        return _arn(caller, "events", f"archive/{params['ArchiveName']}")
    if "Rule" in params or ("Name" in params and "EventPattern" in params):
        rule = params.get("Rule") or params["Name"]
        bus = params.get("EventBusName")
        return _arn(
            caller, "events", f"rule/{bus}/{rule}" if bus and bus != "default" else f"rule/{rule}"
        )
    if "Name" in params or "EventBusName" in params:
        return _bus_arn(params.get("Name") or params.get("EventBusName"), caller)
    return "*"


def _states_resource(params: Mapping[str, Any], caller: Caller) -> str:
    return str(params.get("executionArn") or params.get("stateMachineArn") or "*")


def _looked_up(find: Callable[[], Any], unknown: str) -> str:
    """The ARN moto holds for a named resource; `unknown` when it holds none (moto then answers
    NotFound after the check, as AWS does for a resource the caller may name)."""
    try:
        return str(find())
    except Exception:  # noqa: BLE001 - moto's own not-found exceptions differ per service
        return unknown


def _secret_resource(params: Mapping[str, Any], caller: Caller) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    secret_id = params.get("SecretId")
    backend = secretsmanager_backends[caller.account_id][caller.region]
    if not secret_id:
        return "*"
    return _looked_up(lambda: backend.describe_secret(secret_id).arn, str(secret_id))


def _sqs_resource(params: Mapping[str, Any], caller: Caller) -> str:
    url = params.get("QueueUrl")
    return _arn(caller, "sqs", str(url).rstrip("/").rsplit("/", 1)[-1]) if url else "*"


def _stack_resource(params: Mapping[str, Any], caller: Caller) -> str:
    from moto.cloudformation.models import cloudformation_backends

    name = params.get("StackName")
    backend = cloudformation_backends[caller.account_id][caller.region]
    if not name:
        return "*"
    unknown = _arn(caller, "cloudformation", f"stack/{name}/*")
    return _looked_up(lambda: backend.get_stack(name).stack_id, unknown)


_MFA_SERIAL = re.compile(r"arn:aws:iam::\d{12}:mfa/[\w+=,.@/-]+|GAHT\d{8}")
_MFA_CODE = re.compile(r"\d{6}")


def _assume_role(params: Mapping[str, Any], caller: Caller) -> list[Check]:
    """`aws:MultiFactorAuthPresent` is true when the request carries an MFA device's serial
    and a code. There are no devices locally, so the code is not verified (any six digits):
    what is enforced is the trust policy's demand for MFA, as AWS enforces it."""
    serial, code = str(params.get("SerialNumber") or ""), str(params.get("TokenCode") or "")
    with_mfa = bool(_MFA_SERIAL.fullmatch(serial) and _MFA_CODE.fullmatch(code))
    context = {"aws:MultiFactorAuthPresent": "true"} if with_mfa else {}
    return [Check("sts:AssumeRole", str(params.get("RoleArn", "*")), context)]


def _no_permission_needed(params: Mapping[str, Any], caller: Caller) -> list[Check]:
    return []


_RESOURCE: dict[str, Callable[[Mapping[str, Any], Caller], str]] = {
    "dynamodb": _dynamodb_resource,
    "events": _events_resource,
    "states": _states_resource,
    "secretsmanager": _secret_resource,
    "sqs": _sqs_resource,
    "cloudformation": _stack_resource,
    "lambda": lambda params, caller: str(params.get("FunctionArn", "*")),
    "s3": lambda params, caller: str(params.get("Resource", "*")),
}
_SPECIAL: dict[tuple[str, str], Callable[[Mapping[str, Any], Caller], list[Check]]] = {
    ("dynamodb", "TransactWriteItems"): _transact,
    ("dynamodb", "TransactGetItems"): _transact,
    ("dynamodb", "BatchWriteItem"): _batch("BatchWriteItem"),
    ("dynamodb", "BatchGetItem"): _batch("BatchGetItem"),
    ("events", "PutEvents"): _put_events,
    ("sts", "AssumeRole"): _assume_role,
    ("sts", "GetCallerIdentity"): _no_permission_needed,
    **{
        ("kms", action): _kms(action)
        for action in (
            "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
            "Sign", "Verify", "GetPublicKey", "DescribeKey", "GetKeyPolicy", "PutKeyPolicy",
            "ScheduleKeyDeletion", "EnableKeyRotation", "DisableKey", "EnableKey", "TagResource",
        )
    },
}  # fmt: skip


def request_params(body: Any, querystring: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON body's fields, or a query request's parameters (first value of each)."""
    if isinstance(body, dict):
        return body
    if body:
        try:
            parsed = json.loads(body)
            if isinstance(parsed, dict):
                return parsed
        except (ValueError, TypeError):
            pass
    return {k: v[0] if isinstance(v, list) and v else v for k, v in querystring.items()}
