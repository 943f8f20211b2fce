"""Cold start as Lambda pays it: how long each Lambda handler module takes to import from the
assets CDK deploys, in a fresh interpreter, with only the bytecode those assets ship.

The handlers are read from the CDK-synthesized local template (every AWS::Lambda::Function's
Handler, "package.module.function"); each module is imported in the environment its function is
deployed with (references to other resources become dummy names; region and credentials are fake,
so an import that reached for the network would fail rather than be measured).

The assets are the folders cdk/packaging.py builds: the dependencies layer (the lock's wheels) and
the code asset (domain/, lambdas/), each with its bytecode. Each bench run copies them into a fresh
folder, as Lambda unpacks their zips, and puts them on sys.path as Lambda does: the task root
(also the working directory), then /opt/python. PYTHONDONTWRITEBYTECODE=1, so nothing an import
compiles is kept for the next one. (PYTHONPYCACHEPREFIX is not used: it moves where Python reads
bytecode too, so it would hide the bytecode the assets ship, and the standard library's.)
The interpreter is the venv's base Python with -S: neither the venv's packages nor this machine's
site-packages (and its .pth hooks) are on the path, only the standard library and the two assets.

The Lambda build is for aarch64 and CPython 3.13. On another machine its binary wheels
(pydantic-core, cryptography, ...) cannot load and its 3.13 bytecode is not this interpreter's:
the bench then measures a host copy, built by cdk/packaging.py from the same lock and sources and
compiled the same way (compileall, unchecked-hash) by this interpreter, and says so.

Each module is measured with the bytecode the assets ship ("shipped") and from the same assets
without their __pycache__ folders ("source", what every cold start paid before the assets
shipped bytecode). The baseline, measured the same way in the same run, is `python -c pass`: the
interpreter's own start, which the import times do not include; compare it between machines.
Runs are interleaved so that load from other processes spreads over all modules alike; the
median (p50) is reported, with the range and one `-X importtime` run's heaviest packages.

Goal (issues 9 and 16): under 300 ms per module. A benchmark reports and never fails: the exit
code is 0, modules over the goal are marked.

Usage: .venv/bin/python bench/import_time.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from cdk import packaging  # noqa: E402  (after sys.path has the project)

GOAL_MS = 300.0
BASELINE = "python -c pass"
MODES = ("shipped", "source")  # with the assets' bytecode; without it
OWN_PACKAGES = frozenset({"lambdas", "domain"})  # the project's code, not an "imported package"
REGION = "eu-west-1"
# The base interpreter: the venv's would put the venv's site-packages on the path.
PYTHON = getattr(sys, "_base_executable", None) or sys.executable
FLAGS = ("-S",)  # no site: only the standard library, the task root and the layer

# Run by each fresh interpreter: import the module, then report (after the clock stopped) how
# long it took, and where the modules it loaded came from.
_IMPORT = """
import sys, time
started = time.perf_counter()
import importlib
importlib.import_module(sys.argv[1])
elapsed = time.perf_counter() - started
import json, os, sysconfig
roots = tuple(os.path.join(root, "") for root in sys.argv[2:])
stdlib = tuple(os.path.join(sysconfig.get_path(name), "") for name in ("stdlib", "platstdlib"))
ours = outside = compiled = 0
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None) or ""
    if path.startswith(roots) and path.endswith(".py"):  # extension modules have no bytecode
        ours += 1
        cached = getattr(module, "__cached__", None)
        compiled += bool(cached and os.path.exists(cached))
    elif path.startswith(roots):
        pass
    elif path and not path.startswith(stdlib):
        outside += 1
print(json.dumps({"us": elapsed * 1e6, "modules": ours, "compiled": compiled, "outside": outside}))
"""


@dataclass
class Node:
    name: str
    self_us: int
    cumulative_us: int
    children: list[Node] = field(default_factory=list)


@dataclass
class Sample:
    us: float  # the module's import time, in the process (0 for the baseline)
    wall_us: float  # the whole process, interpreter start-up included
    modules: int = 0  # Python modules loaded from the assets
    compiled: int = 0  # of which had their bytecode beside them
    outside: int = 0  # modules loaded from neither the assets nor the standard library


@dataclass(frozen=True)
class Assets:
    """A fresh copy of the layer and the code asset, as Lambda unpacks them."""

    task_root: Path
    layer_python: Path

    @property
    def roots(self) -> list[str]:
        return [str(self.task_root), str(self.layer_python)]


def parse_importtime(stderr: str) -> list[Node]:
    """The import tree from `-X importtime` output; its lines come children first (post-order)."""
    stack: list[tuple[int, Node]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name_part = line[len("import time:") :].split("|", 2)
        name = name_part.lstrip(" ")
        depth = (len(name_part) - len(name) - 1) // 2
        node = Node(name.strip(), int(self_us), int(cumulative_us))
        while stack and stack[-1][0] > depth:
            node.children.insert(0, stack.pop()[1])
        stack.append((depth, node))
    return [node for _, node in stack]


def _lines_of(module: str) -> set[str]:
    """The importtime lines `import module` adds: the module's and its parent packages'."""
    parts = module.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


def heaviest_packages(roots: list[Node], module: str, count: int = 3) -> list[tuple[str, int]]:
    """Top-level packages a module pulls in, by the cumulative time of their first imports
    (a package imported by another counts in both, as both would be gone without it)."""
    wanted = _lines_of(module)
    totals: dict[str, int] = {}

    def walk(node: Node, parent_package: str) -> None:
        package = node.name.split(".")[0]
        if package != parent_package and package not in OWN_PACKAGES:
            totals[package] = totals.get(package, 0) + node.cumulative_us
        for child in node.children:
            walk(child, package)

    for root in roots:
        if root.name in wanted:
            walk(root, root.name.split(".")[0])
    return sorted(totals.items(), key=lambda item: -item[1])[:count]


def handler_modules(template: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Each distinct handler module with the environment its function is deployed with."""
    modules: dict[str, dict[str, str]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource["Properties"]
        module = properties["Handler"].rsplit(".", 1)[0]
        variables = properties.get("Environment", {}).get("Variables", {})
        modules.setdefault(module, {k: _dummy(k, v) for k, v in variables.items()})
    return dict(sorted(modules.items()))


def _dummy(name: str, value: Any) -> str:
    """Literal values stay; a reference to another resource becomes a plausible dummy name."""
    return value if isinstance(value, str) else f"dummy-{name.lower().replace('_', '-')}"


def lambda_environment(variables: Mapping[str, str], assets: Assets) -> dict[str, str]:
    """Roughly what the Lambda runtime gives a function: its variables, region, credentials,
    and the task root and layer on the path."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(assets.roots),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(assets.task_root),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",  # fake: an import must not call AWS
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "import-time-bench",
        **variables,
    }


def run_once(module: str | None, environment: Mapping[str, str], assets: Assets) -> Sample:
    """A fresh interpreter importing `module` (None: the baseline, `python -c pass`)."""
    code = "pass" if module is None else _IMPORT
    arguments = [] if module is None else [module, *assets.roots]
    started = time.perf_counter()
    result = subprocess.run(
        [PYTHON, *FLAGS, "-c", code, *arguments],
        cwd=assets.task_root,
        env=dict(environment),
        capture_output=True,
        text=True,
        check=False,
    )
    wall_us = (time.perf_counter() - started) * 1e6
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"import {module} failed: {tail[0]}")
    if module is None:
        return Sample(0.0, wall_us)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return Sample(report["us"], wall_us, report["modules"], report["compiled"], report["outside"])


def import_tree(module: str, environment: Mapping[str, str], assets: Assets) -> list[Node]:
    result = subprocess.run(
        [PYTHON, *FLAGS, "-X", "importtime", "-c", f"import {module}"],
        cwd=assets.task_root,
        env=dict(environment),
        capture_output=True,
        text=True,
        check=False,
    )
    return parse_importtime(result.stderr)


# --- the assets ---------------------------------------------------------------------------------


def runs_lambda_build_here() -> bool:
    machine = platform.machine().lower()
    return (
        sys.platform == "linux"
        and machine in {"aarch64", "arm64"}
        and sys.version_info[:2] == (3, 13)
    )


def bytecode_coverage(folder: Path, target: packaging.Target) -> tuple[int, int]:
    """(.py files, of which with an unchecked-hash .pyc for the target)."""
    sources = sum(1 for _ in folder.rglob("*.py"))
    return sources, sources - len(packaging.missing_bytecode(folder, target))


def prepare_assets(scratch: Path) -> tuple[dict[str, Assets], dict[str, Any]]:
    """The assets to measure, in each mode, as fresh copies; and what was built, for the report."""
    lambda_layer = packaging.stage_lambda_dependencies() / "python"
    lambda_code = packaging.stage_lambda_code()
    layer_py, layer_pyc = bytecode_coverage(lambda_layer, packaging.LAMBDA)
    code_py, code_pyc = bytecode_coverage(lambda_code, packaging.LAMBDA)
    built: dict[str, Any] = {
        "lambda_build": {
            "layer": str(lambda_layer.parent.relative_to(PROJECT_ROOT)),
            "code": str(lambda_code.relative_to(PROJECT_ROOT)),
            "layer_modules": layer_py,
            "layer_bytecode": layer_pyc,
            "code_modules": code_py,
            "code_bytecode": code_pyc,
            "compiled_by": f"CPython {packaging.compiler_python_version()} (Pyodide)",
        },
    }
    if runs_lambda_build_here():
        target = packaging.LAMBDA
        layer, code = lambda_layer, lambda_code
        built["measured"] = "the Lambda build itself (this machine is aarch64, CPython 3.13)"
    else:
        target = packaging.host_target()
        layer = packaging.stage_lambda_dependencies(target) / "python"
        code = packaging.stage_lambda_code(target)
        built["measured"] = (
            f"a host copy ({platform.machine()}, CPython {platform.python_version()}) built from "
            "the same lock and sources and compiled the same way by this interpreter: the Lambda "
            "build's aarch64 wheels (pydantic-core, cryptography, ...) and CPython 3.13 bytecode "
            "cannot load here"
        )
    built["target"] = target.name
    assets: dict[str, Assets] = {}
    for mode in MODES:
        ignore = shutil.ignore_patterns("__pycache__") if mode == "source" else None
        task_root = scratch / mode / "var" / "task"
        layer_python = scratch / mode / "opt" / "python"
        shutil.copytree(code, task_root, ignore=ignore)
        shutil.copytree(layer, layer_python, ignore=ignore, symlinks=True)
        assets[mode] = Assets(task_root, layer_python)
    return assets, built


# --- measuring ----------------------------------------------------------------------------------


def _ms(us: float) -> float:
    return round(us / 1000, 1)


def measure(
    modules: Mapping[str, Mapping[str, str]], assets: Mapping[str, Assets], runs: int
) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    environments = {
        (module, mode): lambda_environment(variables, assets[mode])
        for module, variables in modules.items()
        for mode in MODES
    }
    shipped = assets["shipped"]
    baseline_environment = lambda_environment({}, shipped)
    failed: dict[str, str] = {}
    for (module, mode), environment in environments.items():  # warm-up: the page cache
        try:
            run_once(module, environment, assets[mode])
        except RuntimeError as error:  # reported in the table; a benchmark does not stop
            failed[module] = str(error)
    targets = {key: env for key, env in environments.items() if key[0] not in failed}
    samples: dict[tuple[str, str], list[Sample]] = {key: [] for key in targets}
    baseline: list[Sample] = []
    for _ in range(runs):  # interleaved, so background load touches every module alike
        baseline.append(run_once(None, baseline_environment, shipped))
        for (module, mode), environment in targets.items():
            samples[(module, mode)].append(run_once(module, environment, assets[mode]))

    def summary(rows: list[Sample]) -> dict[str, Any]:
        times = sorted(sample.us for sample in rows)
        last = rows[-1]
        return {
            "p50_ms": _ms(statistics.median(times)),
            "min_ms": _ms(times[0]),
            "max_ms": _ms(times[-1]),
            "process_p50_ms": _ms(statistics.median(sample.wall_us for sample in rows)),
            "modules": last.modules,
            "with_bytecode": last.compiled,
            "outside_assets": last.outside,
        }

    results: list[dict[str, Any]] = []
    for module, variables in modules.items():
        if module in failed:
            results.append({"module": module, "error": failed[module], "over_goal": True})
            continue
        row: dict[str, Any] = {"module": module}
        for mode in MODES:
            row[mode] = summary(samples[(module, mode)])
        environment = lambda_environment(variables, shipped)
        heaviest = heaviest_packages(import_tree(module, environment, shipped), module)
        row["heaviest"] = [{"package": name, "ms": _ms(us)} for name, us in heaviest]
        row["goal_ratio"] = round(row["shipped"]["p50_ms"] / GOAL_MS, 2)
        row["over_goal"] = row["shipped"]["p50_ms"] > GOAL_MS
        results.append(row)
    walls = sorted(sample.wall_us for sample in baseline)
    return {
        "goal_ms": GOAL_MS,
        "runs": runs,
        "interpreter": f"{PYTHON} {' '.join(FLAGS)} (CPython {platform.python_version()})",
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before, after
        "baseline": {
            "command": BASELINE,
            "process_p50_ms": _ms(statistics.median(walls)),
            "min_ms": _ms(walls[0]),
            "max_ms": _ms(walls[-1]),
        },
        "modules": results,
    }


def print_table(report: Mapping[str, Any]) -> None:
    built = report["built"]
    lam = built["lambda_build"]
    print(
        f"Handler module import time from the deployed assets, p50 of {report['runs']} fresh "
        f"interpreters each; goal < {report['goal_ms']:.0f} ms each"
    )
    print(
        f"Lambda build: layer {lam['layer']} ({lam['layer_bytecode']}/{lam['layer_modules']} "
        f"modules with bytecode), code {lam['code']} ({lam['code_bytecode']}/"
        f"{lam['code_modules']}), compiled by {lam['compiled_by']}"
    )
    print(f"measured: {built['measured']}")
    print(f"interpreter: {report['interpreter']}, PYTHONDONTWRITEBYTECODE=1, fresh asset copies")
    load = report["load_average"]
    baseline = report["baseline"]
    print(
        f"load average {load[0]:.2f} before, {load[1]:.2f} after; baseline `{baseline['command']}`"
        f": {baseline['process_p50_ms']:.1f} ms whole process "
        f"({baseline['min_ms']:.0f}-{baseline['max_ms']:.0f}), not part of the import times\n"
    )
    width = max(len(row["module"]) for row in report["modules"])
    print(
        f"{'module':<{width}}  {'shipped':>8}  {'range':>9}  {'/goal':>5}  {'source':>8}  "
        f"{'process':>7}  {'bytecode':>8}  heaviest imported packages (ms, -X importtime)"
    )
    for row in report["modules"]:
        if "error" in row:
            print(f"{row['module']:<{width}}  {row['error']}")
            continue
        shipped, source = row["shipped"], row["source"]
        spread = f"{shipped['min_ms']:.0f}-{shipped['max_ms']:.0f}"
        bytecode = f"{shipped['with_bytecode']}/{shipped['modules']}"
        heaviest = ", ".join(f"{h['package']} {h['ms']:.0f}" for h in row["heaviest"])
        outside = shipped["outside_assets"]
        mark = "  OVER GOAL" if row["over_goal"] else ""
        mark += f"  ({outside} modules from outside the assets)" if outside else ""
        print(
            f"{row['module']:<{width}}  {shipped['p50_ms']:>6.1f}ms  {spread:>9}  "
            f"{row['goal_ratio']:>5.2f}  {source['p50_ms']:>6.1f}ms  "
            f"{shipped['process_p50_ms']:>5.0f}ms  {bytecode:>8}  {heaviest}{mark}"
        )
    over = sum(1 for row in report["modules"] if row["over_goal"])
    total = len(report["modules"])
    print(
        "\nshipped: with the bytecode the assets ship; source: the same assets without it (every "
        "cold start compiles what it imports); process: the whole interpreter, shipped"
    )
    print(f"{over} of {total} modules over the goal" if over else "all modules under the goal")


def main() -> int:
    parser = argparse.ArgumentParser(description="Import time of each Lambda handler module.")
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per module")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()

    from local.aws.deployer import synthesize  # after sys.path has the project

    modules = handler_modules(synthesize("local"))
    with tempfile.TemporaryDirectory(prefix="drexfy-import-time-") as scratch:
        assets, built = prepare_assets(Path(scratch))
        report = {**measure(modules, assets, max(1, args.runs)), "built": built}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
