"""Step Functions matches a Lambda error by its exception class name, never by its base class:
a Retry that lists TransientFault must list each subclass the handlers raise, or those faults
(an empty Ticket pool, an account not yet on the ledger) skip the retry and undo the step."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _transient_faults() -> set[str]:
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


def _retriers(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield from node.get("Retry", [])
        for value in node.values():
            yield from _retriers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _retriers(value)


def test_every_transient_retry_names_the_subclasses_too() -> None:
    subclasses = _transient_faults()
    assert {"PoolEmpty", "AccountMissing"} <= subclasses

    checked = 0
    for path in (ROOT / "statemachines").glob("*.asl.json"):
        for retrier in _retriers(json.loads(path.read_text())):
            if "TransientFault" in retrier["ErrorEquals"]:
                assert subclasses <= set(retrier["ErrorEquals"]), (path.name, retrier)
                checked += 1
    assert checked > 20
