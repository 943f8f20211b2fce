"""Shared fixtures: the embedded AWS platform, deployed once per test process, and the local
ledger. Both start only for tests that ask for them (tests/unit asks for neither), and the
platform's modules are imported only then: the fast tier pays for neither."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.reliability import report

if TYPE_CHECKING:
    from local.aws.platform import LocalAws
    from local.ledger_server import LocalLedger


def pytest_sessionstart(session: pytest.Session) -> None:
    """A run's reliability table holds this run's cases only (xdist workers share the folder)."""
    if not hasattr(session.config, "workerinput") and not report.APPEND:
        for stale in report.RESULTS_DIR.glob("*.jsonl"):
            stale.unlink()
        from tests.support import grants

        grants.clear()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    cases = report.load()
    if cases:
        terminalreporter.write_sep("=", "reliability")
        terminalreporter.write_line(report.table(cases))
    from tests.support import grants

    unused = grants.report()
    if unused:
        terminalreporter.write_sep("=", "grants no call of this run exercised")
        for line in unused:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def ledger() -> Iterator[LocalLedger]:
    """The project's local XRPL ledger, standalone: ledgers close when a test says so. It serves
    the chain on two JSON-RPC ports, as two servers of one network."""
    from local.ledger_server import LocalLedger

    with LocalLedger(close_interval_ms=0) as running:
        yield running


@pytest.fixture(scope="session")
def aws(ledger: LocalLedger) -> Iterator[LocalAws]:
    """moto in-process with the CDK-synthesized platform deployed; Retry/Wait made instant.

    The Lambdas' XRPL_URLS are both ports of the session's local ledger: every decision needs
    the two to agree."""
    from local.aws.platform import in_process
    from tests.support import grants

    with in_process({"XRPL_URLS": ",".join(ledger.rpc_urls)}, instant_workflows=True) as platform:
        yield platform
        grants.write(platform.stack)


def _uses_the_platform(request: pytest.FixtureRequest) -> bool:
    return "aws" in request.fixturenames or "ledger" in request.fixturenames


@pytest.fixture(autouse=True)
def handler_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each function in its own process, unless the test patches handler code in this one."""
    if not _uses_the_platform(request):
        yield
        return
    from local.aws import lambda_runtime

    in_process = request.node.get_closest_marker("handlers_in_test_process") is not None
    lambda_runtime.Isolation.enabled = not in_process
    yield
    lambda_runtime.Isolation.enabled = True


@pytest.fixture(autouse=True)
def ledger_closes_on_waits(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each Wait state of a workflow closes one ledger, as the network would have meanwhile."""
    if not _uses_the_platform(request):
        yield
        return
    from local.aws import patches

    ledger = request.getfixturevalue("ledger")
    patches.WorkflowClock.on_wait = lambda: ledger.close_ledger() and None
    yield
    patches.WorkflowClock.on_wait = None


@pytest.fixture(scope="session")
def platform(aws: LocalAws, ledger: LocalLedger) -> dict[str, Any]:
    """The ledger bootstrapped for the platform (accounts, issuer flags, catalogue, tickets),
    run twice so tests can check the second run changed nothing."""
    from domain.instruments import load_catalogue
    from lambdas.custody import signers
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.ledger_adapter.client import LedgerClient
    from lambdas.ledger_adapter.submission import LedgerSubmitter
    from local.aws.deployer import PROJECT_ROOT
    from local.ledger_server.genesis import accept, fund
    from ops.platform_bootstrap import PlatformBootstrap

    catalogue = load_catalogue((PROJECT_ROOT / "catalogue/instruments.json").read_text())
    accounts = platform_accounts()
    fund(ledger.rpc_url, accounts.funding, 1_000)
    client = LedgerClient(ledger.rpc_url)
    submitter = LedgerSubmitter.for_ledger(client.url)
    signing = {role: signers.platform_signer(role) for role in ("issuer", "company", "funding")}

    def bootstrap() -> list[str]:
        return PlatformBootstrap(submitter, accounts, signing, lambda: accept(ledger.rpc_url)).run(
            catalogue
        )

    def transaction_count() -> int:
        return sum(int(client.account_root(a)["Sequence"]) for a in accounts.roles().values())

    first = bootstrap()
    after_first = transaction_count()
    second = bootstrap()
    return {
        "accounts": accounts,
        "client": client,
        "catalogue": catalogue,
        "first": first,
        "second": second,
        "tx_counts": (after_first, transaction_count()),
        "tickets": submitter.tickets,
    }
