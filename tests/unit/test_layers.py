"""Who may import whom: the business rules import no AWS or network code; the product imports
no tests; benchmarks and tests share code through the product (local/), never each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_packages(folder: str) -> dict[str, set[str]]:
    """Each module under `folder` -> the top-level packages it imports, wherever it does."""
    found = {}
    for path in (ROOT / folder).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("domain", {"boto3", "botocore", "pynamodb", "httpx", "xrpl", "lambdas", "local", "tests"}),
        ("lambdas", {"tests", "bench", "local", "ops"}),
        ("local", {"tests", "bench"}),
        ("ops", {"tests", "bench"}),
        ("bench", {"tests"}),
        ("tests", {"bench"}),
    ],
)
def test_a_layer_imports_nothing_it_must_not(folder: str, forbidden: set[str]) -> None:
    offenders = {
        module: sorted(names & forbidden)
        for module, names in imported_packages(folder).items()
        if names & forbidden
    }
    assert offenders == {}
