"""Money decisions need two ledger servers to agree: against the local ledger's two ports, one
of them lying or down, and against stand-in servers for what the local ledger cannot play
(a server a ledger behind, three servers)."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from xrpl.clients import JsonRpcClient
from xrpl.core import keypairs
from xrpl.models.amounts import IssuedCurrencyAmount
from xrpl.models.transactions import Payment, TrustSet
from xrpl.transaction import autofill_and_sign, submit
from xrpl.wallet import Wallet

from domain.errors import TransientFault
from lambdas.ledger_adapter.client import LedgerClient, Sighting
from lambdas.ledger_adapter.quorum import (
    CONTRADICTION_METRIC,
    UNANSWERED_METRIC,
    LedgerQuorum,
)
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from local.ledger_server.genesis import accept, fund
from local.ledger_server.lies import EXTRA_BALANCE

Signer = Callable[[dict[str, Any]], Any]


# --- the local ledger's two ports -------------------------------------------------------------


@pytest.fixture
def second(ledger: LocalLedger) -> Iterator[str]:
    """The second port, telling the truth again after each test (the first one too)."""
    yield ledger.second_rpc_url
    for url in ledger.rpc_urls:
        ledger.lie(url, None)


@pytest.fixture(scope="module")
def submitter(aws: LocalAws, ledger: LocalLedger) -> Any:
    from lambdas.ledger_adapter.submission import LedgerSubmitter

    return LedgerSubmitter.for_ledger(",".join(ledger.rpc_urls))


@pytest.fixture(scope="module")
def payer(ledger: LocalLedger) -> tuple[Wallet, Signer]:
    """An account signing with its own key (no KMS): what is under test is the deciding."""
    from lambdas.custody.signed_transaction import sign_with

    wallet = Wallet.create()
    fund(ledger.rpc_url, wallet.address, 10_000)

    def sign(tx: dict[str, Any]) -> Any:
        return sign_with(
            tx, wallet.public_key, lambda data: keypairs.sign(data, wallet.private_key)
        )

    return wallet, sign


def signals(capsys: pytest.CaptureFixture[str]) -> Counter[str]:
    """The ledger metrics emitted since the last look (CloudWatch embedded metric format on
    stdout), by name."""
    emitted: Counter[str] = Counter()
    for line in capsys.readouterr().out.splitlines():
        record = json.loads(line) if line.startswith("{") else {}
        for metric in (CONTRADICTION_METRIC, UNANSWERED_METRIC):
            if record.get(metric) in (1, [1]) and record.get("service") == "ledger":
                emitted[metric] += 1
    return emitted


def pay(submitter: Any, payer: tuple[Wallet, Signer], drops: int) -> tuple[str, str]:
    """A payment to a new account, submitted: (business key, destination)."""
    wallet, sign = payer
    destination = Wallet.create().address
    key = f"quorum#{uuid.uuid4().hex}"
    tx = {
        "TransactionType": "Payment",
        "Account": wallet.address,
        "Destination": destination,
        "Amount": str(drops),
    }
    submitter.submit(key, tx, sign, use_ticket=False)
    return key, destination


def xrp_held(ledger: LocalLedger, address: str) -> int:
    root = LedgerClient(ledger.rpc_url).account_root(address)  # the honest port, read directly
    return int(root["Balance"]) if root else 0


def test_two_servers_that_agree_decide(
    submitter: Any, payer: Any, ledger: LocalLedger, second: str, capsys: Any
) -> None:
    assert submitter.ledger.urls == (ledger.rpc_url, second) and submitter.ledger.quorum == 2
    key, destination = pay(submitter, payer, 30_000_000)
    accept(ledger.rpc_url)
    record = submitter.check(key, payer[1])
    assert (record.status, record.result) == ("SUCCEEDED", "tesSUCCESS")
    assert record.ledger_index is not None
    assert xrp_held(ledger, destination) == 30_000_000
    assert signals(capsys) == {}


@pytest.mark.parametrize("liar", [0, 1], ids=["first port lies", "second port lies"])
@pytest.mark.parametrize("about", ["result", "ledger"])
def test_a_server_lying_about_a_transaction_decides_nothing_until_it_tells_the_truth(
    submitter: Any,
    payer: Any,
    ledger: LocalLedger,
    second: str,
    capsys: Any,
    liar: int,
    about: str,
) -> None:
    key, destination = pay(submitter, payer, 25_000_000)
    ledger.lie(ledger.rpc_urls[liar], about)
    for _ in range(3):  # ledgers close, checks come: the liar is never outvoted, nor believed
        accept(ledger.rpc_url)
        waiting = submitter.check(key, payer[1])
        assert (waiting.status, waiting.result, waiting.ledger_index) == ("SUBMITTED", None, None)
    assert signals(capsys) == {CONTRADICTION_METRIC: 3}, "every undecided check signals it"

    ledger.lie(ledger.rpc_urls[liar], None)
    decided = submitter.check(key, payer[1])
    assert (decided.status, decided.result) == ("SUCCEEDED", "tesSUCCESS")
    assert decided.tx_hash == waiting.tx_hash and decided.attempts == 1
    assert xrp_held(ledger, destination) == 25_000_000, "paid once"
    assert signals(capsys) == {}


def test_a_server_denying_a_validated_payment_cannot_get_it_signed_again(
    submitter: Any, payer: Any, ledger: LocalLedger, second: str, capsys: Any
) -> None:
    """The liar claims proof that the payment expired unvalidated; believed, the payment would
    be re-signed on a new Sequence and paid twice."""
    from lambdas.ledger_adapter.submission import LAST_LEDGER_WINDOW

    key, destination = pay(submitter, payer, 40_000_000)
    ledger.lie(second, "missing")
    accept(ledger.rpc_url, LAST_LEDGER_WINDOW + 2)  # past LastLedgerSequence everywhere
    waiting = submitter.check(key, payer[1])
    assert (waiting.status, waiting.attempts, waiting.expired_hashes) == ("SUBMITTED", 1, ())
    assert signals(capsys) == {CONTRADICTION_METRIC: 1}

    ledger.lie(second, None)
    decided = submitter.check(key, payer[1])
    assert (decided.status, decided.result, decided.attempts) == ("SUCCEEDED", "tesSUCCESS", 1)
    accept(ledger.rpc_url)
    assert xrp_held(ledger, destination) == 40_000_000, "paid once"


def test_an_expiry_is_proven_only_when_two_servers_prove_it(
    submitter: Any, payer: Any, ledger: LocalLedger, second: str, monkeypatch: Any
) -> None:
    from lambdas.ledger_adapter.submission import LAST_LEDGER_WINDOW

    with monkeypatch.context() as patch:  # the blob is lost on its way: it never applies
        patch.setattr(submitter.ledger, "submit_blob", lambda blob: "tesSUCCESS")
        key, destination = pay(submitter, payer, 5_000_000)
    lost = submitter.find(key)
    accept(ledger.rpc_url, LAST_LEDGER_WINDOW + 2)
    ledger.lie(second, "down")
    assert submitter.check(key, payer[1]).tx_hash == lost.tx_hash, "one proof is not enough"
    ledger.lie(second, None)
    resigned = submitter.check(key, payer[1])
    assert resigned.expired_hashes == (lost.tx_hash,) and resigned.attempts == 2
    accept(ledger.rpc_url)
    assert submitter.check(key, payer[1]).status == "SUCCEEDED"
    assert xrp_held(ledger, destination) == 5_000_000


def test_with_one_server_down_nothing_is_decided_and_it_is_signalled(
    submitter: Any, payer: Any, ledger: LocalLedger, second: str, capsys: Any
) -> None:
    key, destination = pay(submitter, payer, 7_000_000)
    ledger.lie(second, "down")
    accept(ledger.rpc_url)
    assert submitter.check(key, payer[1]).status == "SUBMITTED"
    with pytest.raises(TransientFault, match="1 of 2 ledger servers answered"):
        submitter.ledger.account_root(destination)
    with pytest.raises(TransientFault, match="1 of 2 ledger servers in step"):
        submitter.ledger.validated_ledger_index()
    assert signals(capsys) == {UNANSWERED_METRIC: 3}
    assert submitter.ledger.fees().base_fee == 10, "what decides nothing takes the one answer"

    ledger.lie(second, None)
    assert submitter.check(key, payer[1]).status == "SUCCEEDED"
    assert submitter.ledger.account_root(destination)["Balance"] == "7000000"


def test_a_server_nobody_runs_is_down_for_good(ledger: LocalLedger) -> None:
    quorum = LedgerQuorum([ledger.rpc_url, "http://127.0.0.1:9"])
    with pytest.raises(TransientFault, match="1 of 2 ledger servers"):
        quorum.account_root(Wallet.create().address)
    nobody = LedgerQuorum(["http://127.0.0.1:9"])
    with pytest.raises(TransientFault, match="unreachable"):
        nobody.validated_ledger_index()


@pytest.fixture(scope="module")
def stablecoin_holder(ledger: LocalLedger) -> tuple[str, str]:
    """(holder, issuer): a line holding 120 USD."""
    client = JsonRpcClient(ledger.rpc_url)
    issuer, holder = Wallet.create(), Wallet.create()
    for wallet in (issuer, holder):
        fund(ledger.rpc_url, wallet.address, 100)
    usd = IssuedCurrencyAmount(currency="USD", issuer=issuer.address, value="1000")
    for tx, wallet in (
        (TrustSet(account=holder.address, limit_amount=usd), holder),
        (
            Payment(
                account=issuer.address,
                destination=holder.address,
                amount=IssuedCurrencyAmount(currency="USD", issuer=issuer.address, value="120"),
            ),
            issuer,
        ),
    ):
        assert submit(autofill_and_sign(tx, client, wallet), client).result["engine_result"] == (
            "tesSUCCESS"
        )
        accept(ledger.rpc_url)
    return holder.address, issuer.address


@pytest.mark.parametrize("ledger_read", ["validated", "current"])
def test_a_balance_one_server_inflates_is_not_read(
    ledger: LocalLedger, second: str, stablecoin_holder: Any, capsys: Any, ledger_read: str
) -> None:
    """A transfer waits on the investor's stablecoin line (lambdas/ledger_services/purchases.py
    reads the open ledger): a lie there holds it back."""
    holder, issuer = stablecoin_holder
    quorum = LedgerQuorum(ledger.rpc_urls)
    assert quorum.trust_line(holder, issuer, "USD", ledger=ledger_read)["balance"] == "120"
    ledger.lie(second, "balance")
    with pytest.raises(TransientFault, match="disagree on trust lines"):
        quorum.trust_line(holder, issuer, "USD", ledger=ledger_read)
    # Honest open ledgers may differ for a moment: only a validated difference is a lie.
    assert signals(capsys)[CONTRADICTION_METRIC] == (1 if ledger_read == "validated" else 0)
    if ledger_read == "validated":
        with pytest.raises(TransientFault, match="disagree on account"):
            quorum.account_root(holder)
    assert LedgerClient(second).trust_line(holder, issuer, "USD", ledger=ledger_read)[
        "balance"
    ] == str(120 + EXTRA_BALANCE), "the lie is there to be believed"
    ledger.lie(second, None)
    assert quorum.trust_line(holder, issuer, "USD", ledger=ledger_read)["balance"] == "120"


def test_a_single_server_decides_alone_as_before(
    submitter: Any, payer: Any, ledger: LocalLedger, second: str
) -> None:
    from lambdas.ledger_adapter.submission import LedgerSubmitter

    alone = LedgerSubmitter(LedgerQuorum(ledger.rpc_url), submitter.allocator, submitter.tickets)
    assert alone.ledger.quorum == 1
    ledger.lie(second, "result")  # not asked
    key, _ = pay(alone, payer, 1_000_000)
    accept(ledger.rpc_url)
    assert alone.check(key, payer[1]).status == "SUCCEEDED"


# --- stand-in servers ---------------------------------------------------------------------


class StandIn(LedgerClient):
    """A server answering from a script: its validated index, and its word on transactions."""

    def __init__(self, url: str, validated: int, found: dict[str, Any] | None = None) -> None:
        super().__init__(url)
        self.validated = validated
        self.found = found or {"error": "txnNotFound", "searched_all": False}
        self.down = False

    def validated_ledger_index(self) -> int:
        if self.down:
            raise TransientFault(f"ledger at {self.url} unreachable")
        return self.validated

    def sighting(self, tx_hash: str, first: int, last: int) -> Sighting:
        index = self.validated_ledger_index()
        absent = self.found.get("searched_all") is True and index > last
        return Sighting(self.url, index, self.found, absent)

    def account_info(self, address: str, ledger: Any = "validated") -> dict[str, Any]:
        index = self.validated_ledger_index() if ledger == "validated" else int(ledger)
        balance = 1_000 + index  # the account receives a drop each ledger
        return {"ledger_index": index, "account_data": {"Account": address, "Balance": balance}}


def validated_at(index: int, result: str = "tesSUCCESS") -> dict[str, Any]:
    meta = {"TransactionResult": result}
    return {"hash": "AB" * 32, "ledger_index": index, "meta": meta, "validated": True}


def stand_ins(*servers: StandIn) -> LedgerQuorum:
    quorum = LedgerQuorum([s.url for s in servers])
    quorum.servers = servers
    return quorum


def test_a_server_a_ledger_behind_makes_the_decision_wait_without_alarm(capsys: Any) -> None:
    ahead = StandIn("http://a", 12, validated_at(12))
    behind = StandIn("http://b", 11)
    quorum = stand_ins(ahead, behind)
    waiting = quorum.transaction_outcome("AB" * 32, 5, 25)
    assert (waiting.validated, waiting.expired, waiting.resend) == (None, False, False)
    assert signals(capsys) == {}
    behind.validated, behind.found = 12, validated_at(12)
    assert quorum.transaction_outcome("AB" * 32, 5, 25).validated == validated_at(12)


def test_two_of_three_decide_and_the_silent_one_is_signalled(capsys: Any) -> None:
    servers = [StandIn(f"http://{n}", 30, validated_at(20, "tecPATH_DRY")) for n in "abc"]
    servers[2].down = True
    outcome = stand_ins(*servers).transaction_outcome("AB" * 32, 5, 25)
    assert outcome.validated is not None and outcome.validated["meta"] == {
        "TransactionResult": "tecPATH_DRY"
    }
    assert signals(capsys) == {UNANSWERED_METRIC: 1}


def test_a_lie_is_not_outvoted_by_a_majority(capsys: Any) -> None:
    servers = [StandIn(f"http://{n}", 30, validated_at(20)) for n in "abc"]
    servers[1].found = validated_at(20, "tecUNFUNDED_PAYMENT")
    outcome = stand_ins(*servers).transaction_outcome("AB" * 32, 5, 25)
    assert outcome.validated is None and not outcome.expired
    assert signals(capsys) == {CONTRADICTION_METRIC: 1}


def test_a_validated_read_is_compared_at_one_ledger(capsys: Any) -> None:
    """Servers a ledger apart state different balances, each truly: both are asked about the
    older ledger, and agree."""
    quorum = stand_ins(StandIn("http://a", 41), StandIn("http://b", 40))
    assert quorum.account_root("rHolder") == {"Account": "rHolder", "Balance": 1_040}
    assert signals(capsys) == {}


def test_a_transaction_is_signed_against_the_lowest_ledger_of_the_servers_in_step() -> None:
    assert (
        stand_ins(StandIn("http://a", 50), StandIn("http://b", 48)).validated_ledger_index() == 48
    )
    three = stand_ins(StandIn("http://a", 50), StandIn("http://b", 49), StandIn("http://c", 3))
    assert three.validated_ledger_index() == 49, "one far behind (or lying low) does not count"
    with pytest.raises(TransientFault, match="1 of 2 ledger servers in step"):
        stand_ins(StandIn("http://a", 50), StandIn("http://b", 3)).validated_ledger_index()


def test_the_servers_are_read_from_their_configuration() -> None:
    from lambdas.config import url_list

    assert url_list(" http://a:1, http://b:2,,http://a:1 ") == ("http://a:1", "http://b:2")
    assert LedgerQuorum("http://a:1,http://b:2").urls == ("http://a:1", "http://b:2")
    assert LedgerQuorum(["http://a:1", "http://a:1"]).quorum == 1, "one server named twice"
    with pytest.raises(ValueError, match="no ledger server"):
        LedgerQuorum(" , ")


def test_an_alarm_watches_each_metric_the_quorum_counts(aws: LocalAws) -> None:
    alarms = {
        a["MetricName"]: a
        for a in aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
        if a.get("Namespace") == "Drexfy"
    }
    for metric in (CONTRADICTION_METRIC, UNANSWERED_METRIC):
        assert alarms[metric]["Dimensions"] == [{"Name": "service", "Value": "ledger"}]
        assert alarms[metric]["AlarmActions"], "it notifies the operators"
    assert alarms[CONTRADICTION_METRIC]["EvaluationPeriods"] == 1, "a lie alarms at once"
    assert alarms[UNANSWERED_METRIC]["EvaluationPeriods"] == 3, "a silence once it lasts"
