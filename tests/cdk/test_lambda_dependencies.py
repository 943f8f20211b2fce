"""What the Lambda code imports is what requirements.txt ships to Lambda (nothing from dev)."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions

from cdk.packaging import CODE_PACKAGES, PROJECT_ROOT


def imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for package in CODE_PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules.add(node.module.split(".")[0])
    return modules - set(CODE_PACKAGES) - set(sys.stdlib_module_names) - {"__future__"}


def runtime_requirements() -> set[str]:
    names = set()
    for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)", line.strip())
        if match:
            names.add(match.group(1).lower().replace("_", "-"))
    return names


def test_every_third_party_import_of_the_lambda_code_is_a_runtime_requirement() -> None:
    distributions = packages_distributions()
    # botocore and its kin arrive with boto3; the Lambda runtime also ships them.
    provided_with = {"botocore": "boto3"}
    missing = {}
    for module in imported_top_level_modules():
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        names |= {provided_with[module]} if module in provided_with else set()
        if not names & runtime_requirements():
            missing[module] = sorted(names)
    assert missing == {}, f"add to requirements.txt: {missing}"


def test_the_scan_sees_the_imports_it_must() -> None:
    modules = imported_top_level_modules()
    assert {"xrpl", "pynamodb", "boto3", "cryptography", "aws_lambda_powertools"} <= modules
    assert "moto" not in modules and "pytest" not in modules
