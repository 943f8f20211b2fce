"""The reliability figures: every harness test records its cases here, and
`python -m tests.reliability.report` prints the table `make reliability` ends with.

`make test` runs the same harness at a small scale; `make reliability` sets
DREXFY_RELIABILITY=full for the sizes the figures promise (see docs/reliability.md). Each
test process appends JSON lines to its own file under RESULTS_DIR, so pytest-xdist workers
never write the same file.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_DIR = Path(os.environ.get("DREXFY_RELIABILITY_RESULTS", ".local/reliability"))
FULL = os.environ.get("DREXFY_RELIABILITY") == "full"
# A later pytest run of the same harness run (make reliability's mixed load, alone): it adds its
# cases to the table instead of starting a new one.
APPEND = os.environ.get("DREXFY_RELIABILITY_APPEND") == "1"


def scale(fast: int, full: int) -> int:
    """A size for this run: `full` under `make reliability`, `fast` under `make test`."""
    return full if FULL else fast


@dataclass(frozen=True)
class Case:
    category: str  # e.g. "fault matrix", "duplicates and replay", "load", "bad input", "secrets"
    case: str  # what was tried, in words
    passed: bool
    figures: dict[str, object]  # what was measured (counts), shown in the table's detail column


def record(category: str, case: str, passed: bool, **figures: object) -> None:
    """Keep one case's outcome; call it before asserting, so failures are counted too."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    line = json.dumps(asdict(Case(category, case, bool(passed), figures)), default=str)
    with (RESULTS_DIR / f"{os.getpid()}.jsonl").open("a") as results:
        results.write(line + "\n")


def keep_detail(name: str, detail: dict[str, object]) -> Path:
    """What a case found, in full, for reading after a failed run (`<name>.json`)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(detail, indent=1, default=str, sort_keys=True))
    return path


def load(directory: Path = RESULTS_DIR) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            cases.append(Case(**json.loads(line)))
    return cases


def table(cases: list[Case]) -> str:
    by_category: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_category[case.category].append(case)
    rows = [("category", "cases passed / cases", "figures")]
    for category, members in by_category.items():
        passed = sum(case.passed for case in members)
        rows.append((category, f"{passed} / {len(members)}", _figures(members)))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]}" for r in rows]
    failed = [case for case in cases if not case.passed]
    lines += ["", f"scale: {'full' if FULL else 'fast'}; {len(cases) - len(failed)} / {len(cases)}"
              " cases passed"]  # fmt: skip
    lines += [f"FAILED {case.category}: {case.case} {case.figures}" for case in failed]
    return "\n".join(lines)


def _figures(members: list[Case]) -> str:
    """Numeric figures summed over a category's cases (e.g. webhooks sent, 5xx answers)."""
    totals: dict[str, int] = defaultdict(int)
    for case in members:
        for name, value in case.figures.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[name] += value
    return ", ".join(f"{name} {value}" for name, value in totals.items())


def main() -> int:
    cases = load()
    if not cases:
        print(f"no reliability results in {RESULTS_DIR}: run the harness first")
        return 1
    print(table(cases))
    return 0 if all(case.passed for case in cases) else 1


if __name__ == "__main__":
    sys.exit(main())
