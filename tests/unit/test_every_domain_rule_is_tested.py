"""Every rule in domain/ (each public function) is exercised by a test of this tier, named in
it: `make unit` alone checks the business rules, without the platform."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def domain_rules() -> dict[str, str]:
    """Each public function and each public method or property of a class -> its module, for
    every module of domain/ (a rule kept on a record, Purchase.check_may_complete say, is one)."""
    rules = {}
    for module in sorted((ROOT / "domain").glob("*.py")):
        for node in ast.parse(module.read_text()).body:
            functions = node.body if isinstance(node, ast.ClassDef) else [node]
            for function in functions:
                if isinstance(function, ast.FunctionDef) and not function.name.startswith("_"):
                    rules[function.name] = module.name
    return rules


def test_every_domain_rule_is_named_by_a_unit_test() -> None:
    tests = "\n".join(p.read_text() for p in (ROOT / "tests" / "unit").rglob("test_*.py"))
    tests = tests.replace(Path(__file__).read_text(), "")  # this file names none
    rules = domain_rules()
    untested = sorted(
        f"{module}: {name}"
        for name, module in rules.items()
        if not re.search(rf"\b{name}\b", tests)
    )
    assert len(rules) > 40, "the rules were found"
    assert untested == [], "domain rules no unit test exercises"
