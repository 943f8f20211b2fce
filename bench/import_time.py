"""Cold-start proxy: how long each Lambda handler module takes to import on this machine.

The handlers are read from the CDK-synthesized local template (every AWS::Lambda::Function's
Handler, "package.module.function"). Each distinct module is imported in a fresh interpreter with
`python -X importtime -c "import <module>"`, in the environment its function is deployed with
(references to other resources become dummy names; region and credentials are fake, so an import
that reached for the network would fail rather than be measured).

A module's time is the cumulative time of its own importtime line plus its parent packages' lines.
The baseline, measured the same way in the same run, is `import json`: all of its import lines
(site, encodings, json), with the wall time of that whole process beside it; neither is part of
the module times. Runs are interleaved so that load from other processes spreads over all modules
alike; the median is reported.

Goal (issue 9): under 300 ms per module, by importing heavy modules only where they are used.
A benchmark reports and never fails: the exit code is 0, modules over the goal are marked.

Usage: .venv/bin/python bench/import_time.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

GOAL_MS = 300.0
BASELINE = "json"
OWN_PACKAGES = frozenset({"lambdas", "domain"})  # the project's code, not an "imported package"
REGION = "eu-west-1"


@dataclass
class Node:
    name: str
    self_us: int
    cumulative_us: int
    children: list[Node] = field(default_factory=list)


@dataclass
class Sample:
    us: int  # the module's import time (for the baseline: all the interpreter's imports)
    wall_us: float  # the whole process, interpreter start-up included
    roots: list[Node]


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


def module_time_us(roots: list[Node], module: str) -> int:
    wanted = _lines_of(module)
    return sum(node.cumulative_us for node in roots if node.name in wanted)


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


def lambda_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """Roughly what the Lambda runtime gives a function: its variables, region, credentials."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",  # fake: an import must not call AWS
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "import-time-bench",
        **variables,
    }


def import_once(module: str, environment: Mapping[str, str]) -> tuple[list[Node], float]:
    """The import tree of a fresh interpreter importing `module`, and the process's wall time."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=PROJECT_ROOT,
        env=dict(environment),
        capture_output=True,
        text=True,
        check=False,
    )
    wall_us = (time.perf_counter() - started) * 1e6
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"import {module} failed: {tail[0]}")
    return parse_importtime(result.stderr), wall_us


def measure(modules: Mapping[str, Mapping[str, str]], runs: int) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    targets = {BASELINE: lambda_environment({})}
    targets.update({module: lambda_environment(v) for module, v in modules.items()})
    failed: dict[str, str] = {}
    for module, environment in list(targets.items()):  # warm-up: bytecode caches, page cache
        try:
            import_once(module, environment)
        except RuntimeError as error:  # reported in the table; a benchmark does not stop
            failed[module] = str(error)
            del targets[module]
    samples: dict[str, list[Sample]] = {module: [] for module in targets}
    for _ in range(runs):  # interleaved, so background load touches every module alike
        for module, environment in targets.items():
            roots, wall_us = import_once(module, environment)
            if module == BASELINE:
                us = sum(node.cumulative_us for node in roots)
            else:
                us = module_time_us(roots, module)
            samples[module].append(Sample(us, wall_us, roots))

    def summary(module: str) -> dict[str, Any]:
        ordered = sorted(samples[module], key=lambda sample: sample.us)
        middle = ordered[len(ordered) // 2]
        return {
            "median_ms": round(statistics.median(s.us for s in ordered) / 1000, 1),
            "min_ms": round(ordered[0].us / 1000, 1),
            "max_ms": round(ordered[-1].us / 1000, 1),
            "process_wall_ms": round(statistics.median(s.wall_us for s in ordered) / 1000, 1),
            "heaviest": [
                {"package": name, "ms": round(us / 1000, 1)}
                for name, us in heaviest_packages(middle.roots, module)
            ],
        }

    results: list[dict[str, Any]] = []
    for module in modules:
        if module in failed:
            results.append({"module": module, "error": failed[module], "over_goal": True})
            continue
        row = {"module": module, **summary(module)}
        row["goal_ratio"] = round(row["median_ms"] / GOAL_MS, 2)
        row["over_goal"] = row["median_ms"] > GOAL_MS
        results.append(row)
    baseline = summary(BASELINE)  # `import json` cannot fail
    del baseline["heaviest"]
    return {
        "goal_ms": GOAL_MS,
        "runs": runs,
        "python": sys.version.split()[0],
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before, after
        "baseline": {"command": f"import {BASELINE}", **baseline},
        "modules": results,
    }


def print_table(report: Mapping[str, Any]) -> None:
    baseline = report["baseline"]
    print(
        f"Handler module import time, median of {report['runs']} fresh interpreters "
        f"(python {report['python']}, -X importtime); goal < {report['goal_ms']:.0f} ms each"
    )
    load = report["load_average"]
    print(f"load average {load[0]:.2f} before, {load[1]:.2f} after: compare against the baseline")
    print(
        f"baseline `{baseline['command']}`: imports {baseline['median_ms']:.1f} ms, whole process "
        f"{baseline['process_wall_ms']:.0f} ms (neither is part of the module times)\n"
    )
    width = max(len(row["module"]) for row in report["modules"])
    print(
        f"{'module':<{width}}  {'median':>8}  {'range':>11}  {'/goal':>5}  {'process':>7}  "
        "heaviest imported packages (cumulative ms)"
    )
    for row in report["modules"]:
        if "error" in row:
            print(f"{row['module']:<{width}}  {row['error']}")
            continue
        spread = f"{row['min_ms']:.0f}-{row['max_ms']:.0f}ms"
        heaviest = ", ".join(f"{h['package']} {h['ms']:.0f}" for h in row["heaviest"])
        mark = "  OVER GOAL" if row["over_goal"] else ""
        print(
            f"{row['module']:<{width}}  {row['median_ms']:>6.1f}ms  {spread:>11}  "
            f"{row['goal_ratio']:>5.2f}  {row['process_wall_ms']:>5.0f}ms  {heaviest}{mark}"
        )
    over = sum(1 for row in report["modules"] if row["over_goal"])
    total = len(report["modules"])
    print(f"\n{over} of {total} modules over the goal" if over else "\nall modules under the goal")


def main() -> int:
    parser = argparse.ArgumentParser(description="Import time of each Lambda handler module.")
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per module")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()

    from local.aws.deployer import synthesize  # after sys.path has the project

    report = measure(handler_modules(synthesize("local")), max(1, args.runs))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
