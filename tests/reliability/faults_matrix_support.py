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
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from domain.errors import TransientFault
from local.aws import lambda_runtime
from local.aws.deployer import PROJECT_ROOT
from local.aws.platform import LocalAws
from tests.workflows.faults import InjectedFailure

WORKFLOWS = tuple(
    sorted(
        p.name.removesuffix(".asl.json")
        for p in (PROJECT_ROOT / "statemachines").glob("*.asl.json")
    )
)
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
    # For tasks whose handler and payload are another task's too (each withdrawal status is
    # told by one function): what tells this task's call from theirs.
    when: Callable[[Any], bool] | None = field(default=None, compare=False)

    def matches(self, event: Any) -> bool:
        if self.when is not None and not self.when(event):
            return False
        if self.notification is None:
            return True
        return isinstance(event, dict) and event.get("notification") == self.notification


def task_target(
    aws: LocalAws, workflow: str, task: str, when: Callable[[Any], bool] | None = None
) -> TaskTarget:
    """From the deployed state machine: the task's function, then that function's Handler."""
    sfn, functions = aws.client("stepfunctions"), aws.client("lambda")
    machine = "".join(part.capitalize() for part in workflow.split("_"))
    arn = aws.stack.output(f"{machine}StateMachineArn")
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    state = dict(task_states(definition["States"]))[task]
    function = state["Arguments"]["FunctionName"]
    handler = functions.get_function_configuration(FunctionName=function)["Handler"]
    found = re.search(r"'notification': '(\w+)'", str(state["Arguments"]["Payload"]))
    return TaskTarget(workflow, task, str(handler), found.group(1) if found else None, when)


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
    first: list[tuple[TaskTarget, Callable[[], None]]] = field(default_factory=list)
    installed: bool = False

    def inject(self, target: TaskTarget, kind: str) -> None:
        self._install()
        self.armed.append((target, kind))

    def before_task(self, target: TaskTarget, happening: Callable[[], None]) -> None:
        """Something the world does just before the task's next call (once): an AML flag
        landing between two steps, say. Not a fault: not counted as fired."""
        self._install()
        self.first.append((target, happening))

    def _install(self) -> None:
        if self.installed:
            return
        self.installed = True
        real = lambda_runtime.resolve_handler

        def resolve(handler_path: str) -> lambda_runtime.HandlerFunc:
            handler = real(handler_path)
            return lambda event, context: self._call(handler_path, handler, event, context)

        self.monkeypatch.setattr(lambda_runtime, "resolve_handler", resolve)

    def _call(self, path: str, handler: Any, event: Any, context: Any) -> Any:
        happening = next(
            ((t, h) for t, h in self.first if t.handler == path and t.matches(event)), None
        )
        if happening is not None:
            self.first.remove(happening)
            happening[1]()
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


# --- the operator's remedy, and waiting for it ---------------------------------------------


def ended(aws: LocalAws, execution_arn: str, timeout: float = 180) -> dict[str, Any]:
    """The execution once it is no longer RUNNING."""
    from tests.support.waiting import wait_for

    sfn = aws.client("stepfunctions")

    def done() -> dict[str, Any] | None:
        found: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        return None if found["status"] == "RUNNING" else found

    return wait_for(done, timeout)  # type: ignore[no-any-return]


def rerun(aws: LocalAws, stopped: dict[str, Any]) -> dict[str, Any]:
    """What RedriveExecution does for these workflows, where moto has none: the same input run
    again (every step is idempotent under its business key), to its end."""
    sfn = aws.client("stepfunctions")
    name = f"{stopped['name'][:60]}-rerun-{uuid.uuid4().hex[:8]}"
    started = sfn.start_execution(
        stateMachineArn=stopped["stateMachineArn"], name=name, input=stopped["input"]
    )
    return ended(aws, started["executionArn"])


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


def fault_count(fault: Any) -> int:
    """How often an infrastructure fault struck (refused requests, dropped blobs, tickets)."""
    return fault.fired if isinstance(fault, Countdown) else len(fault)


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
            claimed = [TicketRecord.status.set(CLAIMED), TicketRecord.available_in.remove()]
            item.update(actions=claimed)
            try:
                return real(item, actions, condition, record)  # type: ignore[no-any-return]
            finally:
                free = [TicketRecord.status.set(AVAILABLE), TicketRecord.available_in.set(account)]
                item.update(actions=free)
        return real(item, actions, condition, record)  # type: ignore[no-any-return]

    monkeypatch.setattr(reservation, "_write_with", racing)
    return taken


# --- runs to their end, with the operator's remedy, and the case's verdict ------------------------

# What a first execution may end with besides SUCCEEDED: the stop its workflow names for an
# operator (its Fail state), or a step's own failure where the workflow has no Catch (an
# operator then runs it again, docs/operations.md). Anything else is a failure of the case.
OPERATOR_STOPS = {
    "Withdrawal": {"NeedsOperator"},
    "Settlement": {"NeedsOperator"},
    "Reconciliation": {"BooksNotRead", "BooksDiffer"},
    "Collection": {"CollectionNotMinted"},
    "WriteDown": {"WriteDownRefused"},
    "Statements": {"StatementsNotMade", "StatementsRequestRefused"},
    "Distribution": {"PaymentsFailed", "InjectedFailure", "TransientFault"},
}


@dataclass
class Runs:
    """A workflow's executions for one business object: each first run, and what the
    operator's remedy (the same input run again) ended with."""

    workflow: str
    first: list[dict[str, Any]] = field(default_factory=list)
    finished: list[dict[str, Any]] = field(default_factory=list)
    ends: frozenset[str] = frozenset({"SUCCEEDED"})  # what the remedy must end with

    def take(
        self, aws: LocalAws, ended: list[dict[str, Any]], fix: Callable[[], None] | None = None
    ) -> Runs:
        """The runs as they ended; a failed one run again once the operator's `fix` (the
        fault undone: the service back) is in."""
        for run in ended:
            self.first.append(run)
            if run["status"] == "FAILED" and fix is not None:
                fix()
            self.finished.append(rerun(aws, run) if run["status"] == "FAILED" else run)
        return self

    @property
    def acceptable(self) -> bool:
        stops = OPERATOR_STOPS[self.workflow]
        return all(r["status"] == "SUCCEEDED" or r.get("error") in stops for r in self.first)

    @property
    def succeeded(self) -> bool:
        return bool(self.finished) and all(verdict(r) in self.ends for r in self.finished)

    @property
    def redriven(self) -> int:
        return sum(r["status"] != "SUCCEEDED" for r in self.first)


def verdict(execution: dict[str, Any]) -> str:
    """SUCCEEDED, or the error a failed execution names."""
    return "SUCCEEDED" if execution["status"] == "SUCCEEDED" else str(execution.get("error"))


def runs_of(
    aws: LocalAws, workflow: str, key: str, field_name: str, value: str,
    fix: Callable[[], None] | None = None,
) -> Runs:  # fmt: skip
    """Every execution of the workflow whose input's `key` has field = value, each to its end
    (a FAILED one run again), once at least one has started and none is running."""
    from tests.support.waiting import wait_for
    from tests.withdrawals.conftest import executions

    def ours(given: dict[str, Any]) -> bool:
        return bool(given.get(key, {}).get(field_name) == value)

    def settled() -> list[dict[str, Any]] | None:
        found = executions(aws, workflow, ours)
        return found if found and all(e["status"] != "RUNNING" for e in found) else None

    return Runs(workflow).take(aws, wait_for(settled, timeout=180), fix)


def check_case(
    category: str, case: str, runs: list[Runs], faults: HandlerFaults | int, problems: list[str],
    wanted: int = 1,
) -> None:  # fmt: skip
    """Record the case, then assert it: the faults fired (handler faults, or how many times an
    infrastructure fault struck), every first run ended SUCCEEDED or stopped as its workflow
    says, the remedy succeeded, and nothing is out of place."""
    from tests.reliability.report import record

    runs = [r for r in runs if r.first]
    acceptable = all(r.acceptable for r in runs)
    succeeded = bool(runs) and all(r.succeeded for r in runs)
    fired = faults if isinstance(faults, int) else len(faults.fired)
    record(
        category, case, acceptable and succeeded and not problems and fired == wanted,
        redriven=sum(r.redriven for r in runs), faults_fired=fired,
    )  # fmt: skip
    assert fired == wanted, f"{fired} faults fired, not {wanted}"
    firsts = [(r["status"], r.get("error"), r.get("cause")) for run in runs for r in run.first]
    assert acceptable, f"a first run ended {firsts}"
    lasts = [(r["status"], r.get("error"), r.get("cause")) for run in runs for r in run.finished]
    assert succeeded, f"after the remedy: {lasts}"
    assert not problems, problems
