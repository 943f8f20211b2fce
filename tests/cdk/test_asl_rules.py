"""The project's rules for workflow definitions, read from statemachines/*.asl.json.

1. Every Task names its function by a placeholder the workflow substitutes (`${<Task>Arn}`).
2. No error is swallowed: from every Catch's target, each path (Next, Default, Choices) meets a
   compensating Task or a Fail state before it can end; none ends in success without one.
3. A Retry that lists TransientFault lists each of its subclasses too: Step Functions matches a
   Lambda error by its class name, never its base class, so an empty Ticket pool or an account
   not yet on the ledger would otherwise skip the retry and undo the step.
4. Every Lambda task rides out Lambda's throttling (`Lambda.TooManyRequestsException`: its
   function or the account has no concurrency left, as in a flood of webhooks) for minutes, not
   seconds: the first retrier that matches it waits at least THROTTLING_MINUTES in all.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cdk.workflows import PLACEHOLDER, STATEMACHINES_DIR, WORKFLOWS

ROOT = STATEMACHINES_DIR.parent
ASL_FILES = sorted(STATEMACHINES_DIR.glob("*.asl.json"))
SPECS = {spec.definition_file: spec for spec in WORKFLOWS}
# The functions that undo or hand over to an operator: reaching one is handling the error.
COMPENSATING = {"BeginCompensationArn", "ReleaseUnitsArn", "RefundPaymentArn", "ParkPurchaseArn"}
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
THROTTLED = "Lambda.TooManyRequestsException"
THROTTLING_MINUTES = 5  # a flood is throttled at the API (cdk/api.py) within seconds


@dataclass(frozen=True)
class Scope:
    """One `States` map: the machine's, or a Parallel branch's / Map processor's."""

    where: str
    states: dict[str, Any]
    # A Map's item processor whose items' results are judged after the Map, on a path that
    # can reach a Fail: an item may end with its error kept in its result.
    judged_after: bool = False


def scopes(
    definition: dict[str, Any], where: str = "", judged_after: bool = False
) -> Iterator[Scope]:
    yield Scope(where or "top level", definition["States"], judged_after)
    for name, state in definition["States"].items():
        for index, branch in enumerate(state.get("Branches", [])):
            yield from scopes(branch, f"{where}{name}[branch {index}]/")
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                judged = reaches_a_fail(definition["States"], state.get("Next"))
                yield from scopes(state[key], f"{where}{name}/", judged)


def reaches_a_fail(states: dict[str, Any], start: str | None) -> bool:
    seen: set[str] = set()
    waiting = [start] if start else []
    while waiting:
        name = waiting.pop()
        if name in seen:
            continue
        seen.add(name)
        if states[name]["Type"] == "Fail":
            return True
        waiting += successors(states[name])
    return False


def keeps_the_error(catch: dict[str, Any]) -> bool:
    """The caught error goes on in the item's result (JSONata Output, or a JSONPath ResultPath)."""
    return "$states.errorOutput" in str(catch.get("Output", "")) or "ResultPath" in catch


def function_placeholder(state: dict[str, Any]) -> str | None:
    """The `${...}` a Task names its function by (FunctionName, or the Resource itself)."""
    resource = state["Resource"]
    if resource.startswith(LAMBDA_INVOKE):
        arguments = state.get("Arguments", state.get("Parameters", {}))
        named = arguments.get("FunctionName", "")
    else:
        named = resource
    match = PLACEHOLDER.fullmatch(named)
    return match.group(1) if match else None


def successors(state: dict[str, Any]) -> list[str]:
    found = [choice["Next"] for choice in state.get("Choices", [])]
    found += [state[key] for key in ("Next", "Default") if key in state]
    return found


def handles_errors(state: dict[str, Any]) -> bool:
    return state["Type"] == "Fail" or (
        state["Type"] == "Task" and function_placeholder(state) in COMPENSATING
    )


def unhandled_paths(scope: Scope, target: str) -> list[str]:
    """Paths from a Catch target that end (Succeed, End) without a compensating Task or a Fail.

    Paths stop at the first state that handles the error; loops (wait and retry) are followed
    once. A target from which no handling state is reachable at all is reported too."""
    seen: set[str] = set()
    stack = [[target]]
    escapes: list[str] = []
    handled = False
    while stack:
        path = stack.pop()
        name = path[-1]
        if name in seen:
            continue
        seen.add(name)
        state = scope.states[name]
        if handles_errors(state):
            handled = True
            continue
        following = successors(state)
        if state["Type"] == "Succeed" or state.get("End") or not following:
            escapes.append(" -> ".join(path))
        stack.extend([*path, successor] for successor in following)
    return escapes if handled else [*escapes, f"{target}: reaches no compensation and no Fail"]


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_every_task_names_a_function_the_workflow_substitutes(path: Path) -> None:
    spec = SPECS[path.name]
    substituted = {task.placeholder for task in spec.tasks}
    for scope in scopes(json.loads(path.read_text())):
        for name, state in scope.states.items():
            if state["Type"] == "Task":
                placeholder = function_placeholder(state)
                assert placeholder in substituted, f"{path.name} {scope.where}: {name!r}"


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_every_catch_reaches_compensation_or_a_fail_state(path: Path) -> None:
    catches = 0
    for scope in scopes(json.loads(path.read_text())):
        for name, state in scope.states.items():
            for catch in state.get("Catch", []):
                catches += 1
                if scope.judged_after and keeps_the_error(catch):
                    continue
                unhandled = unhandled_paths(scope, catch["Next"])
                assert unhandled == [], f"{path.name}: {name!r} catches into {unhandled}"
    assert catches > 0


def transient_faults() -> set[str]:
    """Every class in domain/ and lambdas/ derived from TransientFault, read from the source."""
    bases: dict[str, set[str]] = {}
    for path in [*ROOT.glob("domain/**/*.py"), *ROOT.glob("lambdas/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {b.id for b in node.bases if isinstance(b, ast.Name)}
    found = {"TransientFault"}
    while grown := {name for name, of in bases.items() if of & found} - found:
        found |= grown
    return found - {"TransientFault"}


def test_every_transient_retry_names_the_subclasses_too() -> None:
    subclasses = transient_faults()
    assert {"PoolEmpty", "AccountMissing"} <= subclasses
    checked = 0
    for path in ASL_FILES:
        for scope in scopes(json.loads(path.read_text())):
            for name, state in scope.states.items():
                for retrier in state.get("Retry", []):
                    if "TransientFault" in retrier["ErrorEquals"]:
                        assert subclasses <= set(retrier["ErrorEquals"]), (path.name, name)
                        checked += 1
    assert checked > 20


def retry_seconds(retrier: dict[str, Any]) -> float:
    """The most a retrier waits in all before it gives up: each interval is IntervalSeconds x
    BackoffRate^n, capped at MaxDelaySeconds (Step Functions' defaults: 1 s, 2.0, 3 attempts).
    With JitterStrategy FULL each wait is drawn between 0 and that, so half of it on average."""
    interval = float(retrier.get("IntervalSeconds", 1))
    rate = float(retrier.get("BackoffRate", 2.0))
    cap = float(retrier.get("MaxDelaySeconds", float("inf")))
    return sum(min(interval * rate**n, cap) for n in range(int(retrier.get("MaxAttempts", 3))))


def test_every_lambda_task_rides_out_throttling_for_minutes() -> None:
    checked = 0
    for path in ASL_FILES:
        for scope in scopes(json.loads(path.read_text())):
            for name, state in scope.states.items():
                if state["Type"] != "Task" or not state["Resource"].startswith(LAMBDA_INVOKE):
                    continue
                where = f"{path.name} {scope.where}: {name!r}"
                # Step Functions takes the first retrier that names the error (or States.ALL).
                matching = [
                    r
                    for r in state.get("Retry", [])
                    if THROTTLED in r["ErrorEquals"] or "States.ALL" in r["ErrorEquals"]
                ]
                assert matching, f"{where} does not retry {THROTTLED}"
                assert matching[0]["ErrorEquals"] == [THROTTLED], f"{where}: not its own retrier"
                waits = retry_seconds(matching[0])
                assert waits >= THROTTLING_MINUTES * 60, f"{where} retries for {waits:.0f} s"
                checked += 1
    assert checked > 20


def test_the_retry_arithmetic() -> None:
    assert retry_seconds({"ErrorEquals": ["x"]}) == 1 + 2 + 4
    throttling = {"IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 12, "MaxDelaySeconds": 60}
    assert retry_seconds(throttling) == 2 + 4 + 8 + 16 + 32 + 7 * 60  # 482 s, 8 minutes


def test_the_rules_cover_every_workflow() -> None:
    assert (
        {p.name for p in ASL_FILES}
        == set(SPECS)
        == {
            "purchase.asl.json",
            "onboarding.asl.json",
            "compliance.asl.json",
            "distribution.asl.json",
            "collection.asl.json",
            "write_down.asl.json",
            "withdrawal.asl.json",
            "settlement.asl.json",
            "reconciliation.asl.json",
            "statements.asl.json",
        }
    )


def test_a_catch_that_ends_in_success_is_caught_by_the_rule() -> None:
    scope = Scope(
        "top level",
        {
            "Step": {"Type": "Task", "Resource": "${StepArn}", "Next": "Done", "Catch": []},
            "Log and carry on": {"Type": "Pass", "Next": "Retry later?"},
            "Retry later?": {
                "Type": "Choice",
                "Choices": [{"Next": "Give up", "Variable": "$.x", "IsPresent": True}],
                "Default": "Done",
            },
            "Give up": {"Type": "Fail"},
            "Done": {"Type": "Succeed"},
        },
    )
    assert unhandled_paths(scope, "Log and carry on") == [
        "Log and carry on -> Retry later? -> Done"
    ]
    assert unhandled_paths(scope, "Give up") == []
    assert unhandled_paths(scope, "Done") == ["Done", "Done: reaches no compensation and no Fail"]


def test_an_items_error_kept_in_its_result_passes_only_if_a_fail_follows_the_map() -> None:
    item = {
        "StartAt": "Make",
        "States": {
            "Make": {"Type": "Task", "Resource": "${MakeArn}", "End": True, "Catch": [
                {"ErrorEquals": ["States.ALL"], "Next": "Not made",
                 "Output": "{% $states.errorOutput %}"}]},
            "Not made": {"Type": "Pass", "End": True},
        },
    }  # fmt: skip
    judged = {"Type": "Map", "ItemProcessor": item, "Next": "Any not made?"}
    checked = {"Any not made?": {"Type": "Choice", "Choices": [{"Next": "Failed"}],
                                 "Default": "Done"},
               "Failed": {"Type": "Fail"}, "Done": {"Type": "Succeed"}}  # fmt: skip
    (_, inner) = scopes({"States": {"Each": judged, **checked}})
    assert inner.judged_after and keeps_the_error(item["States"]["Make"]["Catch"][0])
    unjudged = {"States": {"Each": {**judged, "Next": "Done"}, "Done": {"Type": "Succeed"}}}
    (_, inner) = scopes(unjudged)
    assert not inner.judged_after
    assert not keeps_the_error({"ErrorEquals": ["States.ALL"], "Next": "Not made"})
