"""Least privilege, the converse: grants in the deployed roles that no call of this run used.

Each test process writes, before its embedded AWS stops, which (role, action, resource) grants
of the platform's roles were exercised by an allowed call (`access.Enforcement.recorded`); the
run's summary lists the grants no process exercised.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from local.aws import access
from local.aws.deployer import ACCOUNT_ID, PROJECT_ROOT, DeployedStack
from local.aws.iam_policy import Policy, _action_matches, _resource_matches

RESULTS_DIR = PROJECT_ROOT / ".local" / "grants"


def platform_grants(stack_name: str) -> list[tuple[str, str, str]]:
    """(role ARN, action pattern, resource pattern) of every Allow in the stack's roles."""
    from moto.iam.models import iam_backends

    found = []
    for role in iam_backends[ACCOUNT_ID]["aws"].roles.values():
        if not role.name.startswith(stack_name):
            continue
        for policy in access.role_policies(role.arn, ACCOUNT_ID):
            found += _allows(role.arn, policy)
    return found


def _allows(role_arn: str, policy: Policy) -> list[tuple[str, str, str]]:
    return [
        (role_arn, action, resource)
        for statement in policy.statements
        if statement.effect == "Allow"
        for action in statement.actions
        for resource in statement.resources
    ]


def exercised(grant: tuple[str, str, str]) -> bool:
    role, action_pattern, resource_pattern = grant
    return any(
        principal == role
        and decision == "Allow"
        and _action_matches(action_pattern, action)
        and _resource_matches(resource_pattern, resource)
        for (principal, action, resource, decision) in access.Enforcement.recorded
    )


def write(stack: DeployedStack) -> None:
    """Named by logical id, so runs whose keys and tables got other ids compare."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    names = {
        str(resource.attributes.get("Arn", resource.ref)): logical_id
        for logical_id, resource in stack.resources.items()
    }
    result = {
        "|".join(names.get(part, part) for part in grant): exercised(grant)
        for grant in platform_grants(stack.name)
    }
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (RESULTS_DIR / f"{worker}.json").write_text(json.dumps(result))


def unexercised() -> list[str]:
    """Grants no process of the run exercised (empty when no process deployed the platform)."""
    runs: list[dict[str, Any]] = [json.loads(p.read_text()) for p in RESULTS_DIR.glob("*.json")]
    if not runs:
        return []
    grants = set().union(*runs)
    return sorted(g for g in grants if not any(run.get(g) for run in runs))


def report(limit: int = 15) -> list[str]:
    """The summary's lines: the count, the first few, and where the whole list is."""
    unused = unexercised()
    if not unused:
        return []
    listing = RESULTS_DIR / "unexercised.txt"
    listing.write_text("\n".join(g.replace("|", "  ") for g in unused) + "\n")
    lines = [g.replace("|", "  ") for g in unused[:limit]]
    return [*lines, f"... all {len(unused)} in {listing.relative_to(PROJECT_ROOT)}"]


def clear() -> None:
    for stale in Path(RESULTS_DIR).glob("*.json"):
        stale.unlink()
