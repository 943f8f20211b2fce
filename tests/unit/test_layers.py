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


def imported_modules(path: Path) -> set[str]:
    """The full names of the modules a file imports (`from a.b import c` counts a.b and a.b.c)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_only_the_records_know_the_tables_are_pynamodb_models() -> None:
    """Handlers, services, operators' tools and the demo talk to lambdas/records/, never to a
    pynamodb model: a table's shape can change behind its records module alone."""
    offenders = {}
    for folder in ("lambdas", "ops", "local", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.is_relative_to(ROOT / "lambdas" / "records"):
                continue
            touching = {
                m
                for m in imported_modules(path)
                if m.split(".")[0] == "pynamodb" or m.startswith("lambdas.records.tables")
            }
            if touching:
                offenders[str(path.relative_to(ROOT))] = sorted(touching)
    assert offenders == {}


def test_no_module_of_the_lambdas_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "lambdas").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def _is_handler(function: ast.FunctionDef) -> bool:
    """A Lambda entry point (Powertools' inject_lambda_context) or an HTTP route (app.get...)."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and (
            target.attr == "inject_lambda_context"
            or (isinstance(target.value, ast.Name) and target.value.id == "app")
        ):
            return True
    return False


def test_no_handler_is_over_40_lines() -> None:
    """Handlers stay thin: parse, call the records and services, answer."""
    handlers = {}
    for path in (ROOT / "lambdas").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and _is_handler(node):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                handlers[f"{path.relative_to(ROOT)}:{node.name}"] = length
    assert len(handlers) > 30, "the handlers were found"
    assert {name: n for name, n in handlers.items() if n > 40} == {}
