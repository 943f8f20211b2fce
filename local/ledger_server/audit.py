"""Auditing purchases from the validated ledger (account_tx), not from our records.

A purchase leaves three Payments on the ledger: the mint (issuer -> investor, EUR), the transfer
(investor -> company, EUR) and the delivery (company -> investor, instrument units). They carry
no purchase id (no memo: the signing policy allows none on investor transactions), so a flow is
keyed by (kind, investor address, amount): the harnesses give each of an investor's payments a
different number of units, which makes that key name exactly one payment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from xrpl.models.requests import AccountTx, SubmitOnly, Tx

from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts
from lambdas.ledger_adapter.client import LedgerClient

MINT, TRANSFER, DELIVERY = "mint", "transfer", "delivery"
STEP_KINDS = {"mint": MINT, "transfer": TRANSFER, "deliver": DELIVERY}  # record step -> flow
FlowKey = tuple[str, str, Decimal]  # (kind, investor address, EUR amount or units)
Submission = tuple[str, str, str]  # (hash, account, preliminary result)

# Preliminary results about the Sequence or Ticket, or expiry (LastLedgerSequence passed).
ORDER_RESULTS = frozenset({"terPRE_SEQ", "terPRE_TICKET", "tefMAX_LEDGER"})
SPENT_RESULTS = frozenset({"tefPAST_SEQ", "tefNO_TICKET"})


@dataclass(frozen=True)
class Flow:
    key: FlowKey
    tx_hash: str


@dataclass(frozen=True)
class Purchase:
    """What a purchase record says went to the ledger."""

    purchase_id: str
    address: str
    units: int
    amount: Decimal
    hashes: dict[str, str]  # flow kind -> transaction hash

    def keys(self) -> dict[str, FlowKey]:
        return {
            MINT: (MINT, self.address, self.amount),
            TRANSFER: (TRANSFER, self.address, self.amount),
            DELIVERY: (DELIVERY, self.address, Decimal(self.units)),
        }


def account_transactions(
    client: LedgerClient, address: str, since_ledger: int
) -> Iterator[dict[str, Any]]:
    """Validated transactions touching the address from that ledger on (account_tx, paged:
    the platform accounts' whole history is too much for one answer within the timeout)."""
    marker: Any = None
    while True:
        result = client.request(
            AccountTx(
                account=address,
                ledger_index_min=since_ledger,
                ledger_index_max=-1,
                forward=True,
                limit=100,
                marker=marker,
            )
        )
        yield from (t for t in result["transactions"] if t.get("validated"))
        marker = result.get("marker")
        if not marker:
            return


def flow_of(
    entry: dict[str, Any], accounts: PlatformAccounts, investors: set[str], issuance: str
) -> Flow | None:
    """The purchase flow a validated, successful transaction is, if it is one."""
    tx, meta = entry["tx_json"], entry["meta"]
    if tx["TransactionType"] != "Payment" or meta["TransactionResult"] != "tesSUCCESS":
        return None
    source, destination, amount = tx["Account"], tx["Destination"], meta["delivered_amount"]
    if not isinstance(amount, dict):
        return None  # XRP: not a purchase
    if amount.get("mpt_issuance_id") == issuance and source == accounts.company:
        kind, investor = DELIVERY, destination
    elif amount.get("currency") != STABLECOIN_CURRENCY or amount.get("issuer") != accounts.issuer:
        return None
    elif source == accounts.issuer:
        kind, investor = MINT, destination
    elif destination == accounts.company:
        kind, investor = TRANSFER, source
    else:
        return None
    if investor not in investors:
        return None
    return Flow((kind, investor, Decimal(amount["value"])), str(entry["hash"]))


def ledger_flows(
    client: LedgerClient,
    accounts: PlatformAccounts,
    investors: set[str],
    issuance: str,
    since_ledger: int,
) -> dict[str, Flow]:
    """Purchase flows of these investors by hash since that ledger, read from the issuer's, the
    company's and each investor's transactions (one seen from several accounts counts once)."""
    seen: dict[str, Flow] = {}
    for address in [accounts.issuer, accounts.company, *sorted(investors)]:
        for entry in account_transactions(client, address, since_ledger):
            flow = flow_of(entry, accounts, investors, issuance)
            if flow is not None:
                seen[flow.tx_hash] = flow
    return seen


def counted(flows: Iterable[Flow]) -> Counter[FlowKey]:
    return Counter(flow.key for flow in flows)


def expected(purchases: Iterable[Purchase]) -> Counter[FlowKey]:
    """One mint, one transfer and one delivery per purchase."""
    wanted: Counter[FlowKey] = Counter()
    for purchase in purchases:
        wanted.update(purchase.keys().values())
    return wanted


def surplus(found: Counter[FlowKey], wanted: Counter[FlowKey]) -> int:
    """Flows on the ledger beyond those wanted: a second mint, transfer or delivery."""
    return sum((found - wanted).values())


def per_investor(flows: Counter[FlowKey]) -> dict[tuple[str, str], Decimal]:
    """(kind, investor) -> total EUR minted or transferred, or units delivered."""
    totals: dict[tuple[str, str], Decimal] = {}
    for (kind, investor, amount), times in flows.items():
        totals[(kind, investor)] = totals.get((kind, investor), Decimal(0)) + amount * times
    return totals


def hash_mismatches(purchases: Iterable[Purchase], by_hash: dict[str, Flow]) -> list[str]:
    """Each recorded mint, transfer and delivery hash must be that flow, validated, on ledger."""
    wrong = []
    for purchase in purchases:
        for kind, key in purchase.keys().items():
            tx_hash = purchase.hashes.get(kind, "")
            flow = by_hash.get(tx_hash)
            if flow is None or flow.key != key:
                wrong.append(f"{purchase.purchase_id} {kind} {tx_hash or '-'}: ledger has {flow}")
    return wrong


def validated(client: LedgerClient, tx_hash: str) -> bool:
    """Whether the transaction is in a validated ledger (tx by hash, any ledger)."""
    found = client.request(Tx(transaction=tx_hash), frozenset({"txnNotFound"}))
    return bool(found.get("validated"))


@dataclass
class SubmitLog:
    """Every submit made while installed, as rippled answered it: (hash, account, result)."""

    results: list[Submission] = field(default_factory=list)

    def wrap(self, request: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        def logged(client: LedgerClient, req: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
            result = request(client, req, *args, **kwargs)
            if isinstance(req, SubmitOnly) and "engine_result" in result:
                tx = result.get("tx_json", {})
                entry = (str(tx.get("hash", "")), str(tx.get("Account", "")))
                self.results.append((*entry, str(result["engine_result"])))
            return result

        return logged

    def sequence_errors(self, client: LedgerClient) -> tuple[list[Submission], list[Submission]]:
        return sequence_errors(self.results, lambda tx_hash: validated(client, tx_hash))


def sequence_errors(
    submissions: Iterable[Submission], blob_validated: Callable[[str], bool]
) -> tuple[list[Submission], list[Submission]]:
    """(errors, re-sends). A blob sent before its predecessor (terPRE_*) or too late
    (tefMAX_LEDGER) is an error. tefPAST_SEQ / tefNO_TICKET is an error unless that very
    blob validated: then it had spent the Sequence or Ticket itself and this submit was a
    re-send (rippled checks the sequence before tefALREADY)."""
    errors, resends = [], []
    for entry in submissions:
        code = entry[2]
        if code in ORDER_RESULTS or (code in SPENT_RESULTS and not blob_validated(entry[0])):
            errors.append(entry)
        elif code in SPENT_RESULTS:
            resends.append(entry)
    return errors, resends


class SubmissionTally:
    """Engine results of every submission, per account, as the ledger itself answered them.

    Sequence errors follow `sequence_errors` above: a tefPAST_SEQ for a blob that itself
    validated is a harmless re-send, not a collision."""

    def __init__(self, chain: Any) -> None:
        self.submissions: list[tuple[str, str, str]] = []  # (hash, account, result)
        real_submit = chain.submit

        from xrpl.core.addresscodec import encode_classic_address

        def submit(tx: Any, fail_hard: bool = False) -> Any:
            outcome = real_submit(tx, fail_hard)
            account = encode_classic_address(tx.account)
            self.submissions.append((tx.hash.hex().upper(), account, outcome.result))
            return outcome

        chain.submit = submit

    def unsuccessful(self, accounts: set[str]) -> dict[str, int]:
        """Every preliminary result other than tesSUCCESS, for the report."""
        theirs = (r for _, account, r in self.submissions if account in accounts)
        return dict(Counter(r for r in theirs if r != "tesSUCCESS"))

    def sequence_errors(self, accounts: set[str], rpc_url: str) -> tuple[int, int]:
        """(collisions and order errors, re-sends of a blob that validated)."""
        errors, resends = self.sequence_error_list(accounts, rpc_url)
        return len(errors), len(resends)

    def sequence_error_list(
        self, accounts: set[str], rpc_url: str
    ) -> tuple[list[Submission], list[Submission]]:
        """The submissions `sequence_errors` counts, each (hash, account, result)."""
        client = LedgerClient(rpc_url)
        theirs = [s for s in self.submissions if s[1] in accounts]
        return sequence_errors(theirs, lambda tx_hash: validated(client, tx_hash))
