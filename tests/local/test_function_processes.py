"""Each function runs as in its own container: its variables only, its own module state, its
role's credentials. What AWS would not let a function do, its local process cannot do either."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.aws import access, lambda_runtime
from local.aws.deployer import DeployedStack
from local.aws.platform import LocalAws
from tests.local.templates import deploy, function, role

HANDLERS = "tests.local.container_handlers"
ROOT = Path(__file__).resolve().parents[2]


def with_environment(resource: dict[str, Any], **variables: str) -> dict[str, Any]:
    resource["Properties"]["Environment"] = {"Variables": variables}
    return resource


def allow(role_id: str, action: str) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": f"{role_id}-{action.replace(':', '-')}",
            "Roles": [{"Ref": role_id}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
            },
        },
    }


@pytest.fixture(scope="module")
def containers(aws: LocalAws) -> Iterator[DeployedStack]:
    yield deploy(
        "Containers",
        {
            "RoleA": role(),
            "RoleB": role(),
            "Lister": role(),
            "ListerGrant": allow("Lister", "dynamodb:ListTables"),
            "A": with_environment(function(f"{HANDLERS}.describe", "RoleA"), ONLY_A="a"),
            "B": with_environment(function(f"{HANDLERS}.describe", "RoleB"), ONLY_B="b"),
            "Denied": function(f"{HANDLERS}.list_tables", "RoleA"),
            "Allowed": function(f"{HANDLERS}.list_tables", "Lister"),
            "Crashing": function(f"{HANDLERS}.crash", "RoleA"),
            "Slow": function(f"{HANDLERS}.sleep_past_timeout", "RoleA"),  # Timeout: 3 s
            "Sleeper": function(f"{HANDLERS}.sleep", "RoleA"),  # Timeout: 3 s
            "Allocating": function(f"{HANDLERS}.allocate", "RoleA"),  # MemorySize: 128 MB
        },
    )


def invoke(aws: LocalAws, stack: DeployedStack, function_id: str) -> dict[str, Any]:
    answer = aws.client("lambda").invoke(FunctionName=stack.resources[function_id].ref)
    return json.loads(answer["Payload"].read())  # type: ignore[no-any-return]


def test_each_function_has_its_own_process_variables_and_module_state(
    aws: LocalAws, containers: DeployedStack
) -> None:
    assert lambda_runtime.Isolation.enabled, "isolation is the default"
    first, second = invoke(aws, containers, "A"), invoke(aws, containers, "A")
    other = invoke(aws, containers, "B")

    assert first["pid"] == second["pid"] != other["pid"]
    assert os.getpid() not in (first["pid"], other["pid"])
    assert (first["invocations"], second["invocations"], other["invocations"]) == (1, 2, 1)
    assert "ONLY_A" in first["variables"] and "ONLY_B" not in first["variables"]
    assert "ONLY_B" in other["variables"] and "ONLY_A" not in other["variables"]
    assert not {"PURCHASES_TABLE", "XRPL_URLS"} & set(first["variables"]), "not the platform's"
    assert 0 < first["remaining_ms"] <= 3000


CALLER = """
import json, sys
import moto  # what the caller imports is not the function's
from local.aws.lambda_runtime import FunctionProcess, FunctionSpec, InvocationContext

if __name__ == "__main__":
    process = FunctionProcess(FunctionSpec("tests.local.container_handlers.describe", {}))
    context = InvocationContext("Describe", "arn:aws:lambda:::function:Describe", 128, 10)
    print(process.invoke({}, context).payload)
    process.stop()
"""


def test_a_functions_process_does_not_import_its_callers_main_module(tmp_path: Path) -> None:
    """multiprocessing imports the caller's `__main__` into each child it starts; a container
    starts with the function's own code only, whichever script started the platform."""
    script = tmp_path / "caller.py"
    script.write_text(CALLER)
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, env=environment,
        timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    described = json.loads(ran.stdout.strip().splitlines()[-1])
    assert described["invocations"] == 1
    assert described["main_module_file"] is None and not described["moto_imported"]


def test_a_function_holds_its_own_roles_credentials(
    aws: LocalAws, containers: DeployedStack
) -> None:
    a, b = invoke(aws, containers, "A"), invoke(aws, containers, "B")
    assert a["access_key"] != b["access_key"]
    assert a["access_key"] not in access.ADMINISTRATOR_ACCESS_KEYS


def test_a_call_its_role_does_not_allow_is_denied_in_its_process(
    aws: LocalAws, containers: DeployedStack
) -> None:
    assert invoke(aws, containers, "Denied") == {"error": "AccessDeniedException"}
    assert invoke(aws, containers, "Allowed") == {"error": None}


def test_a_crashed_process_is_an_exit_error_and_the_next_invocation_starts_afresh(
    aws: LocalAws, containers: DeployedStack
) -> None:
    answer = aws.client("lambda").invoke(FunctionName=containers.resources["Crashing"].ref)
    assert answer.get("FunctionError")
    assert json.loads(answer["Payload"].read())["errorType"] == "Runtime.ExitError"
    again = aws.client("lambda").invoke(FunctionName=containers.resources["Crashing"].ref)
    assert json.loads(again["Payload"].read())["errorType"] == "Runtime.ExitError"


def test_an_invocation_past_the_functions_timeout_is_ended_as_lambda_ends_it(
    aws: LocalAws, containers: DeployedStack
) -> None:
    answer = aws.client("lambda").invoke(FunctionName=containers.resources["Slow"].ref)
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].startswith("Task timed out after")


def test_a_timed_out_invocation_ends_only_its_own_environment(
    aws: LocalAws, containers: DeployedStack
) -> None:
    """In Lambda each concurrent invocation has an environment of its own: one timing out ends
    that one alone. Here they share a process, which must outlive the timeout until the others
    finish; the next invocation starts a new one."""
    from concurrent.futures import ThreadPoolExecutor

    name = containers.resources["Sleeper"].ref

    def sleeping(seconds: float) -> dict[str, Any]:
        answer = aws.client("lambda").invoke(
            FunctionName=name, Payload=json.dumps({"seconds": seconds})
        )
        return json.loads(answer["Payload"].read())  # type: ignore[no-any-return]

    with ThreadPoolExecutor(2) as pool:
        timed_out = pool.submit(sleeping, 30)
        time.sleep(2.5)  # the second still runs when the first times out (3 s + the grace)
        beside = pool.submit(sleeping, 2)
        assert timed_out.result()["errorType"] == "Sandbox.Timedout"
        assert beside.result() == {"slept": 2}, "ended with the timed-out one"
    assert sleeping(0) == {"slept": 0}, "the next invocation starts a new environment"


def test_an_invocation_past_the_functions_memory_is_ended_as_lambda_ends_it(
    aws: LocalAws, containers: DeployedStack
) -> None:
    """Lambda kills an environment that passes its MemorySize; here too, and the next
    invocation starts a new one."""
    name = containers.resources["Allocating"].ref

    def allocating(mb: int) -> tuple[bool, dict[str, Any]]:
        answer = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps({"mb": mb}))
        return bool(answer.get("FunctionError")), json.loads(answer["Payload"].read())

    within = allocating(8)
    assert within[0] is False and within[1]["allocated_mb"] == 8
    failed, error = allocating(160)
    assert failed and error["errorType"] == "Runtime.OutOfMemory"
    assert "128 MB allowed" in error["errorMessage"]
    again = allocating(8)
    assert again[0] is False and again[1]["pid"] != within[1]["pid"], "a new environment"
