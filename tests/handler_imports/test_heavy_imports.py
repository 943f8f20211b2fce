"""Handler modules leave heavy libraries to the handlers that use them (issue 9: cold start).

Structural, not timed: a fresh interpreter imports each handler module of the synthesized
template and must not have loaded a library its module has no use for at import time. The
times themselves are measured by bench/import_time.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from local.aws.deployer import PROJECT_ROOT, synthesize

# library -> the handler modules that need it at import time
HEAVY = {
    # ~200 ms: the handlers that reach the ledger load it when they do; a signer signs XRPL
    # transactions at every invocation, so its module may as well.
    "xrpl": frozenset({"lambdas.custody.investor_signer", "lambdas.custody.platform_signer"}),
    "pydantic": frozenset({"lambdas.frontend.api", "lambdas.ingress.webhooks"}),  # validation
}
# Run by a fresh interpreter: import the module, print which of the named libraries got loaded.
_LOADED = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[2:]))))
"""


def handler_modules() -> dict[str, dict[str, str]]:
    """Each handler module with its function's variables (references become dummy names)."""
    modules: dict[str, dict[str, str]] = {}
    for resource in synthesize("local")["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            properties = resource["Properties"]
            variables = properties.get("Environment", {}).get("Variables", {})
            modules[properties["Handler"].rsplit(".", 1)[0]] = {
                name: value if isinstance(value, str) else f"dummy-{name.lower()}"
                for name, value in variables.items()
            }
    return modules


def test_no_handler_module_imports_a_heavy_library_it_does_not_need() -> None:
    modules = handler_modules()
    assert "lambdas.purchase.ledger_steps" in modules and "lambdas.frontend.api" in modules
    unneeded = {}
    for module, variables in sorted(modules.items()):
        environment = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "eu-west-1", **variables}
        loaded = subprocess.run(
            [sys.executable, "-c", _LOADED, module, *HEAVY],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        extra = [lib for lib in json.loads(loaded.stdout) if module not in HEAVY[lib]]
        if extra:
            unneeded[module] = extra
    assert unneeded == {}, (
        f"imported at module level, move into the handlers that use them: {unneeded}"
    )
