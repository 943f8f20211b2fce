"""Where moto 5.2.5 falls short of AWS for this project, and the fix for each.

Every patch names what it replaces in `PATCH_POINTS`; `tests/local/test_moto_guards.py` checks
each point still exists with the same signature, so an upgrade that moves one fails loudly.
"""

from __future__ import annotations

import base64
import copy
import datetime
import inspect
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import moto
from cryptography.hazmat.primitives.asymmetric import ec, utils
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.common_models import BaseModel
from moto.core.exceptions import JsonRESTError
from moto.core.exceptions import _RESTError as RestError
from moto.core.utils import camelcase_to_underscores
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.events.models import Replay, Rule, events_backends
from moto.kms import responses as kms_responses
from moto.kms import utils as kms_utils
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
    resource_eval_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (  # noqa: E501
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from local.aws import access, lambda_runtime, presigned

MOTO_VERSION = "5.2.5"
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class PatchPoint:
    """A name in moto that a patch replaces, and its parameters when the patch was written."""

    owner: Any
    attribute: str
    parameters: tuple[str, ...] | None  # None: a module-level value, not a function

    def current_parameters(self) -> tuple[str, ...]:
        return tuple(inspect.signature(getattr(self.owner, self.attribute)).parameters)


PATCH_POINTS: tuple[PatchPoint, ...] = (
    PatchPoint(LambdaFunction, "_invoke_lambda", ("self", "event")),
    PatchPoint(Rule, "send_to_targets", ("self", "original_event", "transform_input")),
    PatchPoint(Replay, "replay_events", ("self", "archive")),
    PatchPoint(kms_utils.ECDSAPrivateKey, "sign", ("self", "message", "signing_algorithm")),
    PatchPoint(
        kms_utils.ECDSAPrivateKey, "verify", ("self", "message", "signature", "signing_algorithm")
    ),
    PatchPoint(kms_responses.KmsResponse, "sign", ("self",)),
    PatchPoint(kms_responses.KmsResponse, "verify", ("self",)),
    PatchPoint(moto_jsonata, "_eval_jsonata", None),
    PatchPoint(retrier_decl, "time", None),
    PatchPoint(wait_function.WaitFunction, "_wait_interval", ("self", "env", "wait_seconds")),
    PatchPoint(DynamoHandler, "call_action", ("self",)),
    PatchPoint(BaseModel, "__new__", ("cls", "args", "kwargs")),
    PatchPoint(DynamoDBBackend, "transact_write_items", ("self", "transact_items")),
    PatchPoint(dynamodb_models, "copy", None),
    PatchPoint(ExecutionWorker, "_execution_logic", ("self",)),
    PatchPoint(Preprocessor, "_query_language_per_scope", None),
    PatchPoint(
        ActionAuthenticatorMixin, "_authenticate_and_authorize_normal_action", ("self", "resource")
    ),
    PatchPoint(
        lambda_eval_utils,
        "execute_lambda_function_integration",
        ("env", "parameters", "region", "state_credentials"),
    ),
    PatchPoint(
        ActionAuthenticatorMixin,
        "_authenticate_and_authorize_s3_action",
        ("self", "bucket_name", "key_name"),
    ),
    PatchPoint(resource_eval_s3.ResourceEvalS3, "eval_resource", ("self", "env")),
    PatchPoint(DistributedIterationComponent, "_map_run", ("self", "env", "eval_input")),
)

_originals: dict[tuple[int, str], Any] = {}
_applied = False
_apply_lock = threading.Lock()


class MotoMismatch(RuntimeError):
    """moto is not the version, or not the shape, these patches were written for."""


def check_patch_points() -> None:
    """Fail loudly if moto moved anything the patches rely on."""
    if moto.__version__ != MOTO_VERSION:
        raise MotoMismatch(f"patches are for moto {MOTO_VERSION}, found {moto.__version__}")
    for point in PATCH_POINTS:
        if not hasattr(point.owner, point.attribute):
            raise MotoMismatch(f"{point.owner!r} has no {point.attribute}")
        if point.parameters is not None and point.current_parameters() != point.parameters:
            raise MotoMismatch(
                f"{point.owner.__name__}.{point.attribute} now takes "
                f"{point.current_parameters()}, patch expects {point.parameters}"
            )


def original(owner: Any, attribute: str) -> Any:
    """What moto had before the patch (for tests and for delegating)."""
    return _originals.get((id(owner), attribute), getattr(owner, attribute))


def _replace(owner: Any, attribute: str, value: Any) -> None:
    _originals.setdefault((id(owner), attribute), getattr(owner, attribute))
    setattr(owner, attribute, value)


def apply_all() -> None:
    """Apply every patch once per process; safe to call again."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        check_patch_points()
        _patch_lambda_invoke()
        _patch_event_targets()
        _patch_replay_window()
        _patch_kms_digest_signing()
        _patch_jsonata()
        _patch_timing()
        _patch_dynamodb_atomicity()
        _patch_model_registry()
        _patch_transaction_backup()
        _patch_dead_execution_threads()
        _patch_parser_scopes()
        _patch_access_control()
        _patch_map_run_failures()
        _applied = True


# --- Lambda: run the real handler in-process --------------------------------------------------


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    payload = json.loads(event) if isinstance(event, (str, bytes)) else (event or {})
    context = lambda_runtime.InvocationContext(
        function_name=self.function_name,
        function_arn=self.function_arn,
        memory_limit_in_mb=int(self.memory_size),
        timeout_seconds=int(self.timeout),
    )
    if lambda_runtime.Isolation.enabled:
        result = lambda_runtime.FunctionProcesses.invoke(
            self.function_arn, lambda: _function_spec(self), payload, context
        )
    else:
        import os

        lambda_runtime.apply_function_environment(self.environment_vars or {}, os.environ)  # type: ignore[arg-type]
        with access.acting(self.role):
            result = lambda_runtime.invoke(str(self.handler), payload, context)
    return result.payload, result.errored, result.logs


def _function_spec(function: LambdaFunction) -> lambda_runtime.FunctionSpec:
    """What Lambda gives a container: the function's variables, the runtime's, and its role's
    credentials; locally also the embedded AWS's endpoint (the only local difference)."""
    from moto.sts.models import sts_backends

    endpoint = lambda_runtime.FunctionProcesses.endpoint_url
    if endpoint is None:
        raise RuntimeError("isolated functions need the embedded AWS's HTTP endpoint")
    session = sts_backends[function.account_id]["aws"].assume_role(
        region_name=function.region,
        role_session_name=function.function_name[:64],
        role_arn=function.role,
        policy="",
        duration=43200,
        external_id="",
    )
    environment = {
        **{str(k): str(v) for k, v in (function.environment_vars or {}).items()},
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.function_name}",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_ACCESS_KEY_ID": session.access_key_id,
        "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
        "AWS_SESSION_TOKEN": session.session_token,
        "AWS_ENDPOINT_URL": endpoint,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    return lambda_runtime.FunctionSpec(str(function.handler), environment)


def _patch_lambda_invoke() -> None:
    _replace(LambdaFunction, "_invoke_lambda", _invoke_in_process)


# --- EventBridge: deliver to Lambda and Step Functions targets ---------------------------------


def target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a target receives, as EventBridge computes it from Input/InputPath/Transformer."""
    delivered = _as_delivered(event)
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        return _json_path(delivered, target["InputPath"])
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        values = {
            name: _json_path(delivered, path)
            for name, path in transformer.get("InputPathsMap", {}).items()
        }
        values["aws.events.event.json"] = delivered
        values["aws.events.event.ingestion-time"] = delivered.get("time")
        return render_input_template(transformer["InputTemplate"], values)
    return delivered


def _json_path(document: Any, path: str) -> Any:
    from jsonpath_ng.ext import parse

    matches = parse(path).find(document)
    return matches[0].value if matches else None


def render_input_template(template: str, values: dict[str, Any]) -> Any:
    """Fill `<name>` placeholders as EventBridge does: inside a JSON string a value goes in as
    text; outside one it goes in as JSON, so a string gains its quotes (moto never adds them)."""
    out: list[str] = []
    in_string = escaped = False
    index = 0
    while index < len(template):
        char = template[index]
        if char == "<":
            end = template.find(">", index)
            name = template[index + 1 : end] if end > 0 else ""
            if name in values:
                out.append(_placeholder_text(values[name], in_string))
                index = end + 1
                continue
        if in_string and char == "\\" and not escaped:
            escaped = True
        else:
            if char == '"' and not escaped:
                in_string = not in_string
            escaped = False
        out.append(char)
        index += 1
    rendered = "".join(out)
    try:
        return json.loads(rendered)
    except ValueError:
        return rendered  # a plain-text template is delivered as a string


def _placeholder_text(value: Any, in_string: bool) -> str:
    if in_string:
        text = value if isinstance(value, str) else json.dumps(value)
        return json.dumps(text)[1:-1]
    return json.dumps(value)


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a target sees it: `time` as an ISO timestamp, no internal fields."""
    delivered = {k: v for k, v in event.items() if k != "ingestion-time"}
    if isinstance(delivered.get("time"), (int, float)):
        delivered["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(delivered["time"]))
    return delivered


def is_handled_here(target: dict[str, Any]) -> bool:
    arn = target["Arn"]
    return ":lambda:" in arn or ":states:" in arn or ":api-destination/" in arn


_TARGET_ACTIONS = {
    ":api-destination/": "events:InvokeApiDestination",
    ":states:": "states:StartExecution",
}


def _target_permitted(rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> bool:
    """A Step Functions or API destination target is reached with the target's role, which must
    allow it (a Lambda target's permission is the function's resource policy)."""
    arn = target["Arn"]
    action = next((a for marker, a in _TARGET_ACTIONS.items() if marker in arn), None)
    if action is None:
        return True
    role = target.get("RoleArn")
    decision = access.decide_for(role, action, arn, rule.account_id, rule.region_name)
    if decision is access.Decision.ALLOW:
        return True
    message = f"rule {rule.name} may not reach {arn} as {role or 'no role'}: {decision.value}"
    if ":api-destination/" in arn:
        _dead_letter(rule, target, event, DeliveryFailure("NO_PERMISSIONS", message, False), 0)
    else:
        LOG.error("event dropped: %s", message)
    return False


def deliver(rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
    """One event to one of the rule's targets, as EventBridge delivers it (with its role)."""
    payload = target_input(target, event)
    arn = target["Arn"]
    if not _target_permitted(rule, target, event):
        return
    if ":api-destination/" in arn:
        deliver_to_api_destination(rule, target, event, payload)
        return
    if ":lambda:" in arn:
        function = lambda_backends[rule.account_id][rule.region_name].get_function(arn)
        body, errored, logs = function._invoke_lambda(event=json.dumps(payload))
        if errored:
            # AWS retries async invokes, then drops to the function's DLQ; here we say so loudly.
            LOG.error("event %s to %s failed: %s %s", event.get("id"), arn, body, logs)
        return
    from moto.stepfunctions.responses import get_backend

    # EventBridge cannot name executions; AWS gives each a random name.
    get_backend(rule.account_id, rule.region_name).start_execution(
        arn, str(uuid.uuid4()), json.dumps(payload)
    )


# --- EventBridge: API destinations ----------------------------------------------------------

API_DESTINATION_TIMEOUT = 5.0  # EventBridge gives an endpoint 5 seconds
DEFAULT_RETRY_ATTEMPTS = 185  # EventBridge's default RetryPolicy
# EventBridge retries these statuses, timeouts and connection failures; any other status (and
# 4xx in particular) goes to the dead-letter queue at once.
RETRIED_STATUSES = frozenset({401, 407, 409, 429})


@dataclass(frozen=True)
class DeliveryFailure:
    code: str  # EventBridge's ERROR_CODE: CONNECTION_FAILURE, TIMEOUT, THROTTLING, ...
    message: str
    retryable: bool


def retry_delay(retry: int) -> float:
    """EventBridge backs off exponentially over up to a day; locally it stays well under a
    second per retry (and nothing when WorkflowClock is instant)."""
    return float(min(0.01 * 2**retry, 0.25))


def deliver_to_api_destination(
    rule: Rule, target: dict[str, Any], event: dict[str, Any], payload: Any
) -> None:
    """Send a target input to an API destination as EventBridge does: the connection's
    authorization, the target's HTTP parameters, retries per RetryPolicy, then the target's
    dead-letter queue (with EventBridge's error attributes) or, without one, a logged drop."""
    backend = events_backends[rule.account_id][rule.region_name]
    try:
        destination = _by_arn(backend.destinations, target["Arn"], "API destination")
        connection = _by_arn(backend.connections, destination.connection_arn, "connection")
    except LookupError as error:
        _dead_letter(rule, target, event, DeliveryFailure("NO_RESOURCE", str(error), False), 0)
        return
    request = _api_destination_request(rule, destination, connection, target, payload)
    retries_allowed = int(
        target.get("RetryPolicy", {}).get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS)
    )
    retries = 0
    while (failure := _send_once(request)) is not None:
        if not failure.retryable or retries >= retries_allowed:
            break
        retries += 1
        WorkflowClock.sleep(retry_delay(retries))
    if failure is None:
        return
    exhausted = "MaximumRetryAttempts" if failure.retryable else None
    _dead_letter(rule, target, event, failure, retries, exhausted)


def _by_arn(models: dict[str, Any], arn: str, kind: str) -> Any:
    for model in models.values():
        if model.arn == arn:
            return model
    raise LookupError(f"{kind} {arn} does not exist")


def _api_destination_request(
    rule: Rule, destination: Any, connection: Any, target: dict[str, Any], payload: Any
) -> urllib.request.Request:
    parameters = target.get("HttpParameters", {})
    invocation = connection.auth_parameters.get("InvocationHttpParameters", {})
    url = str(destination.invocation_endpoint)
    for value in parameters.get("PathParameterValues", []):
        url = url.replace("*", str(value), 1)
    query = {p["Key"]: p["Value"] for p in invocation.get("QueryStringParameters", [])}
    query.update(parameters.get("QueryStringParameters", {}))
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Amazon/EventBridge/ApiDestinations",
    }
    headers.update({p["Key"]: p["Value"] for p in invocation.get("HeaderParameters", [])})
    headers.update(parameters.get("HeaderParameters", {}))
    headers.update(_authorization(rule, connection))
    body = payload if isinstance(payload, str) else json.dumps(payload)
    method = str(destination.http_method).upper()
    data = None if method in ("GET", "HEAD") else body.encode("utf-8")
    return urllib.request.Request(url, data=data, headers=headers, method=method)


def _authorization(rule: Rule, connection: Any) -> dict[str, str]:
    """The connection's auth header, from the secret EventBridge keeps it in."""
    from moto.secretsmanager import secretsmanager_backends

    secrets = secretsmanager_backends[rule.account_id][rule.region_name]
    stored = json.loads(
        secrets.get_secret_value(connection.secret_arn, None, None)["SecretString"]  # type: ignore[arg-type]
    )
    if connection.authorization_type == "API_KEY":
        return {stored["api_key_name"]: stored["api_key_value"]}
    if connection.authorization_type == "BASIC":
        pair = f"{stored['username']}:{stored['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    raise NotImplementedError(f"connection authorization {connection.authorization_type}")


def _send_once(request: urllib.request.Request) -> DeliveryFailure | None:
    try:
        with urllib.request.urlopen(request, timeout=API_DESTINATION_TIMEOUT) as response:
            response.read()
        return None
    except urllib.error.HTTPError as error:
        status = error.code
        error.close()
        code = "THROTTLING" if status == 429 else "ERROR_FROM_TARGET"
        retryable = status in RETRIED_STATUSES or status >= 500
        return DeliveryFailure(code, f"Received a {status} response from the target", retryable)
    except TimeoutError:
        return DeliveryFailure("TIMEOUT", "The target did not answer within 5 seconds", True)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError):
            return DeliveryFailure("TIMEOUT", "The target did not answer within 5 seconds", True)
        return DeliveryFailure("CONNECTION_FAILURE", f"Unable to connect: {reason}", True)


def _dead_letter(
    rule: Rule,
    target: dict[str, Any],
    event: dict[str, Any],
    failure: DeliveryFailure,
    retries: int,
    exhausted: str | None = None,
) -> None:
    queue_arn = target.get("DeadLetterConfig", {}).get("Arn")
    LOG.warning(
        "event %s to %s failed (%s: %s) after %d retries; %s",
        event.get("id"),
        target["Arn"],
        failure.code,
        failure.message,
        retries,
        f"sent to {queue_arn}" if queue_arn else "dropped (no dead-letter queue)",
    )
    if not queue_arn:
        return
    from moto.sqs import sqs_backends

    attributes = {
        "RULE_ARN": rule.arn,
        "TARGET_ARN": target["Arn"],
        "ERROR_CODE": failure.code,
        "ERROR_MESSAGE": failure.message,
        "RETRY_ATTEMPTS": str(retries),
    }
    if exhausted:
        attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
    _, _, _, region, account, queue_name = queue_arn.split(":", 5)
    sqs_backends[account][region].send_message(
        queue_name=queue_name,
        message_body=json.dumps(_as_delivered(event)),
        message_attributes={
            name: {"DataType": "Number" if name == "RETRY_ATTEMPTS" else "String", "StringValue": v}
            for name, v in attributes.items()
        },
    )


def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    # A scheduled rule has no pattern, which moto would match to every event: it fires on its
    # schedule only (local/aws/schedules.py).
    if self.scheduled_expression or not self.event_pattern.matches_event(original_event):
        return
    ours = [t for t in self.targets if is_handled_here(t)]
    others = [t for t in self.targets if not is_handled_here(t)]
    if others:
        rest = copy.copy(self)
        rest.targets = others
        original(Rule, "send_to_targets")(rest, original_event, transform_input)
    for target in ours:
        deliver(self, target, original_event)


def _patch_event_targets() -> None:
    _replace(Rule, "send_to_targets", _send_to_targets)


def _replay_window(self: Replay, archive: Any) -> None:
    """moto replays the whole archive; EventBridge replays only the requested time window."""
    start, end = float(self.event_start_time), float(self.event_end_time)
    in_window = copy.copy(archive)
    in_window.events = [e for e in archive.events if start <= float(e.get("time", 0)) <= end]
    original(Replay, "replay_events")(self, in_window)


def _patch_replay_window() -> None:
    _replace(Replay, "replay_events", _replay_window)


# --- KMS: MessageType=DIGEST signs the digest itself -------------------------------------------

_kms_request = threading.local()


def _with_message_type(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def handle(self: Any) -> Any:
        _kms_request.digest = self._get_param("MessageType") == "DIGEST"
        try:
            return action(self)
        finally:
            _kms_request.digest = False

    return handle


def _ecdsa_algorithm(key: Any, signing_algorithm: str) -> ec.ECDSA:
    hash_algorithm = key._ECDSAPrivateKey__hash_algorithm(signing_algorithm)
    if getattr(_kms_request, "digest", False):
        return ec.ECDSA(utils.Prehashed(hash_algorithm))
    return ec.ECDSA(hash_algorithm)


def _ecdsa_sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
    kms_utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
    return self.private_key.sign(message, _ecdsa_algorithm(self, signing_algorithm))  # type: ignore[no-any-return]


def _ecdsa_verify(self: Any, message: bytes, signature: bytes, signing_algorithm: str) -> bool:
    from cryptography.exceptions import InvalidSignature

    kms_utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
    try:
        self.private_key.public_key().verify(
            signature, message, _ecdsa_algorithm(self, signing_algorithm)
        )
        return True
    except InvalidSignature:
        return False


def _patch_kms_digest_signing() -> None:
    response = kms_responses.KmsResponse
    _replace(response, "sign", _with_message_type(original(response, "sign")))
    _replace(response, "verify", _with_message_type(original(response, "verify")))
    _replace(kms_utils.ECDSAPrivateKey, "sign", _ecdsa_sign)
    _replace(kms_utils.ECDSAPrivateKey, "verify", _ecdsa_verify)


# --- Step Functions: JSONata and timing ---------------------------------------------------------


def evaluate_jsonata(expression: str) -> Any:
    import jsonata

    try:
        return jsonata.Jsonata(expression).evaluate(None)
    except Exception as error:  # moto maps this to States.QueryEvaluationError
        raise moto_jsonata.JSONataException("UNKNOWN", str(error)) from error


def _patch_jsonata() -> None:
    _replace(moto_jsonata, "_eval_jsonata", evaluate_jsonata)


class WorkflowClock:
    """Sleeps of Retry back-off and Wait states; tests make them instant, the demo never does.

    `on_wait`, when set, runs in place of an instant Wait state: a test with a ledger that
    closes only on demand closes one there, as the real network would have meanwhile."""

    instant = False
    on_wait: Callable[[], None] | None = None

    @classmethod
    def sleep(cls, seconds: float) -> None:
        if not cls.instant:
            time.sleep(seconds)


class _RetrierTime:
    """Stands in for the `time` module inside moto's retrier: only `sleep` differs."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        WorkflowClock.sleep(seconds)


def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    if WorkflowClock.instant:
        if WorkflowClock.on_wait is not None:
            WorkflowClock.on_wait()
        return
    original(wait_function.WaitFunction, "_wait_interval")(self, env, wait_seconds)


def _patch_timing() -> None:
    _replace(retrier_decl, "time", _RetrierTime())
    _replace(wait_function.WaitFunction, "_wait_interval", _wait_interval)


# --- DynamoDB: one request at a time ------------------------------------------------------------

_dynamodb_lock = threading.RLock()


def _patch_dynamodb_atomicity() -> None:
    """moto's TransactWriteItems rolls back by restoring whole-table copies taken before it ran,
    which erases writes other threads made meanwhile; DynamoDB itself is atomic per request.
    Serialising each request's action restores that (each takes a few milliseconds).

    Only the action: its answer is a copy by then (DynamoResult turns items into plain dicts),
    and writing it out, most of a read's cost, then holds no other request back (a watcher's
    reads had every function's requests queue behind them)."""
    call_action = original(DynamoHandler, "call_action")

    def atomic_call_action(self: DynamoHandler) -> Any:
        action = camelcase_to_underscores(self._get_action())
        method = getattr(type(self), action, None)
        if callable(method):

            def one_at_a_time() -> Any:
                with _dynamodb_lock:
                    return method(self)

            setattr(self, action, one_at_a_time)  # this request's handler only: made per request
        return call_action(self)

    _replace(DynamoHandler, "call_action", atomic_call_action)


# --- moto's models: no registry of every instance ever made ----------------------------------


def _unregistered_new(cls: type[BaseModel], *args: Any, **kwargs: Any) -> Any:
    return super(BaseModel, cls).__new__(cls)  # what BaseModel.__new__ does, minus the registry


def _patch_model_registry() -> None:
    """moto's BaseModel appends every instance to a class-level list, kept for its own
    introspection API. DynamoDB makes an Item for every item a scan returns and copies whole
    tables for every TransactWriteItems, so the list kept all of them alive: about 2 MB a
    purchase, gigabytes over a long run. Nothing here reads the list."""
    _replace(BaseModel, "__new__", _unregistered_new)


# --- DynamoDB: a transaction backs up the items it names, not whole tables -------------------

ItemBackup = tuple[Table, DynamoType, DynamoType | None, Any]  # table, hash, range, item or None


class _CopyKeepingTables:
    """The `copy` module as moto.dynamodb.models sees it, except that a Table is not copied."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _named_items(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> list[ItemBackup]:
    """A copy of each item the transaction names, as it is now (None: it does not exist)."""
    backups = []
    for entry in transact_items:
        for op_type, op in entry.items():
            table = backend.tables.get(op.get("TableName", ""))
            key = op.get("Item") if op_type == "Put" else op.get("Key")
            if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
                continue  # moto refuses the transaction before writing anything
            hash_value = DynamoType(key[table.hash_key_attr])
            range_attr = table.range_key_attr
            range_value = DynamoType(key[range_attr]) if range_attr in key else None
            if table.has_range_key and range_value is None:
                continue
            item = table.get_item(hash_value, range_value)
            backups.append((table, hash_value, range_value, copy.deepcopy(item)))
    return backups


def _restore(backups: list[ItemBackup]) -> None:
    for table, hash_value, range_value, item in reversed(backups):
        if item is None:
            if table.get_item(hash_value, range_value) is not None:
                table.delete_item(hash_value, range_value)
        elif range_value is not None:
            table.items[hash_value][range_value] = item
        else:
            table.items[hash_value] = item


def _patch_transaction_backup() -> None:
    """moto backs a TransactWriteItems up by deep-copying every table it names, whole, to
    restore them if it is cancelled: O(table) per transaction, so a long run slowed down as the
    tables grew. Requests are serialised (above), so restoring just the named items gives the
    same state; moto's own table copy becomes the table itself."""
    transact = original(DynamoDBBackend, "transact_write_items")

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        backups = _named_items(self, transact_items)
        try:
            transact(self, transact_items)
        except Exception:
            _restore(backups)
            raise

    _replace(dynamodb_models, "copy", _CopyKeepingTables())
    _replace(DynamoDBBackend, "transact_write_items", transact_write_items)


# --- Step Functions: an execution whose thread dies before it starts fails, visibly ----------


def _fail_unstarted(worker: ExecutionWorker, error: Exception) -> None:
    execution = worker._execution_communication.execution  # type: ignore[attr-defined]
    execution.error = type(error).__name__
    execution.cause = f"the emulated execution could not start: {error}"
    execution.stop_date = datetime.datetime.now(datetime.UTC)
    execution.exec_status = ExecutionStatus.FAILED


def _patch_dead_execution_threads() -> None:
    """moto runs each execution in its own thread. An exception there before the program
    starts ends the thread and leaves the execution RUNNING forever, with no history, and a
    run waiting for it times out an hour later with no reason. Once in 2,000 executions a
    full duplicates run met one; the execution now ends FAILED with the error, logged."""
    logic = original(ExecutionWorker, "_execution_logic")

    def execution_logic(self: ExecutionWorker) -> None:
        try:
            logic(self)
        except Exception as error:
            LOG.exception("emulated execution thread died")
            if self.env is not None:
                raise  # the program ran: moto's own handling applies
            _fail_unstarted(self, error)

    _replace(ExecutionWorker, "_execution_logic", execution_logic)


def _patch_parser_scopes() -> None:
    """moto's ASL Preprocessor keeps its stack of query-language scopes in a class attribute,
    one list shared by every parse: executions started at once (an archive replay) push and
    pop on each other's stack, and one dies with IndexError before it starts. Each
    preprocessor now has a stack of its own."""
    init = original(Preprocessor, "__init__")

    def own_scopes(self: Preprocessor, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._query_language_per_scope = []

    _replace(Preprocessor, "__init__", own_scopes)


# --- IAM: every request is authorized as AWS would (local/aws/access.py) ----------------------


def _service_error(
    error: access.AccessDenied | access.UnrecognizedClient, service: str
) -> RestError:
    """The error each protocol's clients parse: JSON `__type`, or the query protocol's XML."""
    if isinstance(error, access.UnrecognizedClient):
        code, message, json_protocol = (
            "UnrecognizedClientException",
            str(error),
            error.json_protocol,
        )
        if not json_protocol:
            code = "InvalidClientTokenId"
    else:
        code, message, json_protocol = error.code, error.message, error.json_protocol
    failure = JsonRESTError(code, message) if json_protocol else RestError(code, message)
    failure.code = 400 if json_protocol and service != "lambda" else 403  # Lambda is REST: 403
    return failure


def _authorize_request(response: Any, service: str, action: str, params: dict[str, Any]) -> None:
    try:
        caller = access.caller_of(
            response.headers, service, response.current_account, response.region
        )
        access.authorize(service, action, params, caller)
    except (access.AccessDenied, access.UnrecognizedClient) as error:
        raise _service_error(error, service) from None


def _authorize_action(self: Any, resource: str = "*") -> None:
    service, action = self.service_name, self._get_action()
    params = access.request_params(getattr(self, "raw_body", self.body), self.querystring)
    if service == "awslambda":  # REST: the function is in the path, Invoke is InvokeFunction
        service, action = "lambda", _LAMBDA_ACTIONS.get(action, action)
        params = {"FunctionArn": _function_arn(self)}
    _authorize_request(self, service, action, params)


_LAMBDA_ACTIONS = {"Invoke": "InvokeFunction", "InvokeAsync": "InvokeFunction"}


def _function_arn(response: Any) -> str:
    from urllib.parse import unquote

    match = re.search(r"/functions/([^/]+)", response.path)
    if match is None:
        return "*"
    name = unquote(match.group(1))
    if name.startswith("arn:"):
        return name
    return f"arn:aws:lambda:{response.region}:{response.current_account}:function:{name}"


def _authorize_s3_action(
    self: Any, bucket_name: str | None = None, key_name: str | None = None
) -> None:
    """S3 is authorized on the bucket's or the object's ARN (moto names the action)."""
    path = f"{bucket_name or '*'}/{key_name}" if key_name else (bucket_name or "*")
    params = {"Resource": f"arn:aws:s3:::{path}"}
    action = str(self.data.get("Action", "*"))
    try:
        request = None if self.headers.get("Authorization") else _link_request(self)
        link = presigned.signed_link(request.query) if request else None
        if request is None or link is None:
            _authorize_request(self, "s3", action, params)
            return
        caller = access.caller_of_link(link, request, self.current_account, self.region)
        access.authorize("s3", action, params, caller)
    except RestError as refused:  # S3 answers in its own XML, which its clients parse
        raise _s3_denial(refused.error_type, refused.message) from None
    except (access.AccessDenied, access.UnrecognizedClient, presigned.LinkRefused) as refused:
        code = getattr(refused, "code", "InvalidAccessKeyId")
        raise _s3_denial(code, str(refused)) from None


def _link_request(response: Any) -> presigned.LinkRequest:
    """An S3 request as its link signed it: the method, the URL and query as sent (moto adds
    its own entries to `querystring`)."""
    from urllib.parse import parse_qs, urlsplit

    sent = urlsplit(response.uri)
    return presigned.LinkRequest(
        response.method,
        f"{sent.scheme}://{sent.netloc}{sent.path}",
        parse_qs(sent.query, keep_blank_values=True),
        datetime.datetime.now(datetime.UTC),
    )


def _s3_denial(code: str, message: str) -> Exception:
    from moto.s3.exceptions import S3ClientError

    denial = S3ClientError(code, message)
    denial.http_status_code = 403  # type: ignore[attr-defined]
    return denial


def _execution_role(env: Any) -> str | None:
    return env.states.context_object.context_object_data["Execution"].get("RoleArn")  # type: ignore[no-any-return]


def _state_machine_acts_as_its_role(integration: Callable[..., Any]) -> Callable[..., Any]:
    """A task's calls are made as the execution's role ($$.Execution.RoleArn)."""

    def execute(env: Any, parameters: dict[str, Any], region: str, state_credentials: Any) -> Any:
        with access.acting(_execution_role(env)):
            return integration(env, parameters, region, state_credentials)

    return execute


def _item_reader_acts_as_its_role(read: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """A Distributed Map reads its items (s3:GetObject) as the execution's role too."""

    def eval_resource(self: Any, env: Any) -> None:
        with access.acting(_execution_role(env)):
            read(self, env)

    return eval_resource


def _patch_access_control() -> None:
    _replace(
        ActionAuthenticatorMixin, "_authenticate_and_authorize_normal_action", _authorize_action
    )
    _replace(
        lambda_eval_utils,
        "execute_lambda_function_integration",
        _state_machine_acts_as_its_role(
            original(lambda_eval_utils, "execute_lambda_function_integration")
        ),
    )
    _replace(
        ActionAuthenticatorMixin, "_authenticate_and_authorize_s3_action", _authorize_s3_action
    )
    reader = resource_eval_s3.ResourceEvalS3
    _replace(
        reader, "eval_resource", _item_reader_acts_as_its_role(original(reader, "eval_resource"))
    )


# --- Step Functions: a Distributed Map run fails past its tolerated failures -------------------

EXCEEDED = "States.ExceedToleratedFailureThreshold"


def _failures_exceeded(eval_input: Any) -> str | None:
    """Why the map run fails, as AWS says it, or None. AWS fails the run once its failed (or
    timed out) child executions exceed ToleratedFailureCount or ToleratedFailurePercentage
    (both 0 by default: any failure). moto counts them and succeeds anyway."""
    items = eval_input.map_run_record.item_counter
    failed = items.failed.get() + items.timed_out.get()
    total = max(items.total.get(), failed, 1)
    count = eval_input.tolerated_failure_count or 0
    percentage = eval_input.tolerated_failure_percentage or 0
    if failed <= count or failed * 100 <= percentage * total:
        return None
    return f"The specified tolerated failure threshold was exceeded: {failed} of {total} failed"


def _map_run_fails_past_tolerance(run: Callable[..., None]) -> Callable[..., None]:
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        run(self, env, eval_input)
        cause = _failures_exceeded(eval_input)
        if cause is None:
            return
        details = MapRunFailedEventDetails(error=EXCEEDED, cause=cause)
        raise FailureEventException(
            FailureEvent(
                env=env,
                error_name=StatesErrorName(
                    StatesErrorNameType.StatesExceedToleratedFailureThreshold
                ),
                event_type=HistoryEventType.MapRunFailed,
                event_details=EventDetails(mapRunFailedEventDetails=details),  # type: ignore[typeddict-item]
            )
        )

    return map_run


def _patch_map_run_failures() -> None:
    component = DistributedIterationComponent
    _replace(component, "_map_run", _map_run_fails_past_tolerance(original(component, "_map_run")))
