"""At the full scale (`make reliability`), each test process's platform ends with the three-way
reconciliation: after every fault, duplicate, replay, load and bad input the harness sent, the
ledger, the records and the payment provider must agree. Its outcome is a case of the table."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.reliability.faults_matrix_support import HandlerFaults
from tests.reliability.report import FULL, record


@pytest.fixture(scope="session", autouse=True)
def books_reconciled_after_the_harness(request: pytest.FixtureRequest) -> Iterator[None]:
    if not FULL:
        yield
        return
    aws = request.getfixturevalue("aws")  # the process's platform: torn down after this
    yield
    from tests.support.reconciliation import quiet, reconcile

    quiet(aws)
    execution, report = reconcile(aws)
    print(json.dumps(report, default=str, sort_keys=True))  # kept in the run's output
    record(
        "reconciliation", "the books after the harness (one test process's platform)",
        bool(report["clean"]), differences=int(report["differences"]),
        ledger_index=int(report["ledger_index"]),
    )  # fmt: skip
    if not report["clean"]:  # every difference in full: pytest would cut a long assertion
        shown = [json.dumps(d, sort_keys=True) for d in report["first_differences"]]
        pytest.fail("\n".join([str(execution.get("cause")), *shown]), pytrace=False)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> HandlerFaults:
    """Faults injected into the task handlers of this test (the fault matrix files)."""
    return HandlerFaults(monkeypatch)
