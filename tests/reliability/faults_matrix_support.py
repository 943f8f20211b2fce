"""Faults for the fault matrix: the tasks read from the ASL, and injections into the handlers
and adapters they run in this process (the ledger, KMS and DynamoDB stay real).

A Lambda timeout is reported by the runtime with errorType `Sandbox.Timedout` (the payload
`{"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: ... Task timed out after 30.00
seconds"}`); the lambda:invoke integration turns errorType into the error name Retry/Catch see.
The in-process runtime names the error after the exception's class, so a class of that name
gives what AWS gives. `Lambda.Unknown`, which the ASL retries, is what Step Functions reports
for a payload without errorType (older runtimes' timeouts), not what a timeout gives today.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from domain.errors import TransientFault
from local.aws import lambda_runtime
from local.aws.deployer import PROJECT_ROOT
from local.aws.platform import LocalAws
from tests.workflows.faults import InjectedFailure

WORKFLOWS = ("purchase", "onboarding", "compliance")
KINDS = ("before", "after", "timeout")

SandboxTimedout: type[Exception] = type("Sandbox.Timedout", (Exception,), {})


def asl(workflow: str) -> dict[str, Any]:
    return json.loads((PROJECT_ROOT / f"statemachines/{workflow}.asl.json").read_text())  # type: ignore[no-any-return]


def task_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Task state, including those inside Parallel branches and Map processors."""
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from task_states(branch["States"])
        if "ItemProcessor" in state:
            yield from task_states(state["ItemProcessor"]["States"])


def tasks(workflow: str) -> list[str]:
    return [name for name, _ in task_states(asl(workflow)["States"])]


@dataclass(frozen=True)
class TaskTarget:
    """Which handler a task runs, and (for a shared handler) which of its events are the task's."""

    workflow: str
    task: str
    handler: str
    notification: str | None

    def matches(self, event: Any) -> bool:
        if self.notification is None:
            return True
        return isinstance(event, dict) and event.get("notification") == self.notification


def task_target(aws: LocalAws, workflow: str, task: str) -> TaskTarget:
    """From the deployed state machine: the task's function, then that function's Handler."""
    sfn, functions = aws.client("stepfunctions"), aws.client("lambda")
    arn = aws.stack.output(f"{workflow.capitalize()}StateMachineArn")
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    state = dict(task_states(definition["States"]))[task]
    function = state["Arguments"]["FunctionName"]
    handler = functions.get_function_configuration(FunctionName=function)["Handler"]
    found = re.search(r"'notification': '(\w+)'", str(state["Arguments"]["Payload"]))
    return TaskTarget(workflow, task, str(handler), found.group(1) if found else None)


def _error_for(kind: str, target: TaskTarget) -> Exception:
    where = f"{target.workflow}/{target.task}"
    if kind == "before":
        return InjectedFailure(f"injected failure before {where}")
    if kind == "after":
        return TransientFault(f"injected crash after {where} had its effect")
    return SandboxTimedout("RequestId: injected Error: Task timed out after 30.00 seconds")


def _finished(result: Any) -> bool:
    """A ledger loop's call has its effect once the validated ledger decided (not PENDING)."""
    return not (isinstance(result, dict) and result.get("state") == "PENDING")


@dataclass
class HandlerFaults:
    """Faults in task handlers, each firing once: `before` raises instead of running the
    handler; `after` and `timeout` run it to its effect, then report the error instead."""

    monkeypatch: pytest.MonkeyPatch
    armed: list[tuple[TaskTarget, str]] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)

    def inject(self, target: TaskTarget, kind: str) -> None:
        if not self.armed:
            self._install()
        self.armed.append((target, kind))

    def _install(self) -> None:
        real = lambda_runtime.resolve_handler

        def resolve(handler_path: str) -> lambda_runtime.HandlerFunc:
            handler = real(handler_path)
            return lambda event, context: self._call(handler_path, handler, event, context)

        self.monkeypatch.setattr(lambda_runtime, "resolve_handler", resolve)

    def _call(self, path: str, handler: Any, event: Any, context: Any) -> Any:
        armed = next(
            ((t, k) for t, k in self.armed if t.handler == path and t.matches(event)), None
        )
        if armed is None:
            return handler(event, context)
        target, kind = armed
        if kind == "before":
            return self._fire(target, kind)
        try:
            result = handler(event, context)
        except Exception:
            if target.task != "Park for operator":  # parking raises once it has parked
                raise
            result = None
        return self._fire(target, kind) if _finished(result) else result

    def _fire(self, target: TaskTarget, kind: str) -> Any:
        self.armed.remove((target, kind))
        self.fired.append(f"{target.task} {kind}")
        raise _error_for(kind, target)


# --- infrastructure faults -------------------------------------------------------------------


@dataclass
class Countdown:
    """Fail the next `left` calls that match, then recover."""

    left: int
    fired: int = 0

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        self.fired += 1
        return True


class _Refusing:
    """A JSON-RPC client whose server does not answer."""

    def request(self, _: Any) -> Any:
        import httpx

        raise httpx.ConnectError("[Errno 111] Connection refused")


def ledger_unreachable(monkeypatch: pytest.MonkeyPatch, calls: int) -> Countdown:
    """The next `calls` JSON-RPC requests of the Lambdas' ledger client fail to connect."""
    from lambdas.ledger_adapter.client import LedgerClient

    outage = Countdown(calls)
    real = LedgerClient.request

    def request(client: LedgerClient, *args: Any, **kwargs: Any) -> Any:
        if outage.take():
            refused = copy.copy(client)
            refused._client = _Refusing()  # type: ignore[assignment]
            return real(refused, *args, **kwargs)
        return real(client, *args, **kwargs)

    monkeypatch.setattr(LedgerClient, "request", request)
    return outage


def dropped_submissions(
    monkeypatch: pytest.MonkeyPatch, chosen: Callable[[dict[str, Any]], bool]
) -> list[str]:
    """The first blob `chosen` picks (decoded) never reaches the ledger, however often it is
    submitted: the server says `tesSUCCESS` (it had it in its queue) and then loses it."""
    from xrpl.core.binarycodec import decode

    from lambdas.ledger_adapter.client import LedgerClient

    dropped: list[str] = []
    real = LedgerClient.submit_blob

    def submit_blob(client: LedgerClient, tx_blob: str) -> str:
        if tx_blob in dropped or (not dropped and chosen(decode(tx_blob))):
            if tx_blob not in dropped:
                dropped.append(tx_blob)
            return "tesSUCCESS"
        return real(client, tx_blob)

    monkeypatch.setattr(LedgerClient, "submit_blob", submit_blob)
    return dropped


def kms_throttled(monkeypatch: pytest.MonkeyPatch, operation: str, calls: int) -> Countdown:
    """KMS answers ThrottlingException to the next `calls` Sign or Decrypt requests: botocore
    retries some itself, the rest reach the handler as a ClientError."""
    from moto.core.exceptions import JsonRESTError
    from moto.kms.models import KmsBackend

    throttle = Countdown(calls)
    real = getattr(KmsBackend, operation)

    def throttled(backend: KmsBackend, *args: Any, **kwargs: Any) -> Any:
        if throttle.take():
            raise JsonRESTError("ThrottlingException", "Rate exceeded")
        return real(backend, *args, **kwargs)

    monkeypatch.setattr(KmsBackend, operation, throttled)
    return throttle


def ticket_taken_concurrently(monkeypatch: pytest.MonkeyPatch, account: str) -> list[int]:
    """Another writer claims the Ticket a reservation for `account` picked, just before its
    conditional transaction: the condition fails and the reservation must pick another. The
    ticket is handed back afterwards, as that writer's cancelled run would."""
    from lambdas.records import reservations as reservation
    from lambdas.records.sequences import AVAILABLE, CLAIMED
    from lambdas.records.tables import TicketRecord

    taken: list[int] = []
    real = reservation._write_with

    def racing(item: Any, actions: Any, condition: Any, record: Any) -> bool:
        if not taken and isinstance(item, TicketRecord) and item.account == account:
            taken.append(int(item.ticket_sequence))
            item.update(actions=[TicketRecord.status.set(CLAIMED)])
            try:
                return real(item, actions, condition, record)  # type: ignore[no-any-return]
            finally:
                item.update(actions=[TicketRecord.status.set(AVAILABLE)])
        return real(item, actions, condition, record)  # type: ignore[no-any-return]

    monkeypatch.setattr(reservation, "_write_with", racing)
    return taken
