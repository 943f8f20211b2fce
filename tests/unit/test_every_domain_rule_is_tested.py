"""Every rule in domain/ (each public function) is exercised by a test of this tier, named in
it: `make unit` alone checks the business rules, without the platform."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def domain_rules() -> dict[str, str]:
    """Public top-level function -> its module, for every module of domain/."""
    rules = {}
    for module in sorted((ROOT / "domain").glob("*.py")):
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                rules[node.name] = module.name
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
