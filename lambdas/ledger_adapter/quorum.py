"""The ledger as at least two of its servers state it: what the platform's money decisions read.

One public node could lie, or serve a fork, about whether a payment validated, whether a
transaction provably expired (and may be signed again), or what an account holds. So every
read a decision rests on asks every configured server and is answered only when at least two
agree:

- a transaction's outcome (`transaction_outcome`): finalised when two servers state the same
  hash, ledger index, result and the effects the platform reads; proven expired when two
  servers each prove it (validated past LastLedgerSequence, range held whole, not in it);
- accounts, trust lines and objects of a validated ledger: compared for one and the same
  ledger index (a server that validated a newer one is asked about the older one);
- the validated ledger index a transaction is signed against: the lowest of the servers in
  step, so its search range never starts after the ledger it lands in.

Servers stating different facts about the same ledger or transaction decide nothing and raise
the LedgerServersContradict metric (an alarm: a lying or forked node). A server that does not
answer raises LedgerServerUnanswered (an alarm when it lasts); fewer than two answers decide
nothing either. "Nothing decided" is a wait: a transaction stays pending (the workflow's Wait
loop checks again); a read raises TransientFault (the workflow's Retry asks again). Reads that
decide nothing (fees, the age of the last validated ledger, the open ledger's next Sequence)
take the first server that answers, and a signed blob is submitted to the first server that
answers: submitting decides nothing, the validated outcome does.

With a single server configured (an operator's test setup) its word alone decides, as before
there were several; the environments that hold money configure two or more
(cdk/environments.py).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from xrpl.models.requests import AccountObjectType

from domain.compliance import LSF_MPT_LOCKED
from domain.errors import TransientFault
from lambdas.config import url_list
from lambdas.ledger_adapter.client import (
    LedgerClient,
    LedgerFees,
    LedgerIndex,
    LedgerRequestFailed,
    Sighting,
    line_in,
)

logger = Logger(service="ledger")

T = TypeVar("T")
QUORUM = 2  # servers that must agree before money moves
MAX_SKEW_LEDGERS = 4  # a server further behind the most advanced one is not in step
METRICS_NAMESPACE = "Drexfy"
CONTRADICTION_METRIC = "LedgerServersContradict"
UNANSWERED_METRIC = "LedgerServerUnanswered"
# The effects of a transaction the platform acts on, beside its result (ops/platform_bootstrap
# reads the issuance a MPTokenIssuanceCreate made).
_EFFECTS = ("delivered_amount", "mpt_issuance_id")


@dataclass(frozen=True)
class TransactionOutcome:
    """What the servers decided about a transaction: validated (with the agreed `tx` answer),
    proven expired, or nothing yet; `resend` when a server has not seen it and it can still
    apply there."""

    validated: dict[str, Any] | None = None
    expired: bool = False
    resend: bool = False


UNDECIDED = TransactionOutcome()


class LedgerQuorum:
    def __init__(self, urls: str | Sequence[str]) -> None:
        """`urls`: the servers, as a list or comma-separated as XRPL_URLS holds them."""
        self.urls = url_list(urls) if isinstance(urls, str) else url_list(",".join(urls))
        if not self.urls:
            raise ValueError("no ledger server configured")
        self.servers = tuple(LedgerClient(url) for url in self.urls)
        self.quorum = min(QUORUM, len(self.servers))
        # The servers are asked at once, so a decision costs one round trip, not one per server.
        self._pool = (
            ThreadPoolExecutor(len(self.servers), thread_name_prefix="ledger")
            if len(self.servers) > 1
            else None
        )
        if len(self.servers) == 1:
            _note_single_server(self.urls[0])

    @property
    def url(self) -> str:
        """The servers as XRPL_URLS writes them."""
        return ",".join(self.urls)

    # --- decisions -------------------------------------------------------------------------

    def transaction_outcome(self, tx_hash: str, first: int, last: int) -> TransactionOutcome:
        """The outcome of a transaction signed at ledger `first` with LastLedgerSequence `last`,
        once two servers agree on it."""
        question = f"transaction {tx_hash}"
        answers = self._ask_all(lambda server: server.sighting(tx_hash, first, last))
        sightings = self._answered(question, answers)
        validated = [s for s in sightings if s.validated]
        absent = [s for s in sightings if s.proves_absent]
        if len({_facts(s) for s in validated}) > 1 or (validated and absent):
            self._contradiction(question, {s.server: _summary(s) for s in sightings})
            return UNDECIDED
        if len(validated) >= self.quorum:
            return TransactionOutcome(validated=validated[0].found)
        if len(absent) >= self.quorum:
            return TransactionOutcome(expired=True)
        # Fewer than two agree yet (one server is a ledger behind, say): ask again later.
        resend = not validated and any(s.unseen and s.validated_index < last for s in sightings)
        return TransactionOutcome(resend=resend)

    def validated_ledger_index(self) -> int:
        """The lowest validated ledger of the servers in step: a transaction signed against it
        can only land after it, so its search range (from this ledger on) always holds it."""
        return min(self._validated_indexes().values())

    def account_root(self, address: str) -> dict[str, Any] | None:
        """The validated AccountRoot as two servers state it, or None if the account does not
        exist."""
        answer = self._agreed(
            f"account {address}",
            lambda server, ledger: server.account_info(address, ledger),
            "account_data",
        )
        return answer.get("account_data")

    def trust_lines(
        self, address: str, peer: str | None = None, ledger: str = "validated"
    ) -> list[dict[str, Any]]:
        """The lines (balances) as two servers state them. ledger="current" reads the open
        ledgers, which honest servers may hold differently for a moment: a difference there
        waits but raises no alarm."""
        question = f"trust lines of {address}"

        def read(server: LedgerClient, index: LedgerIndex) -> dict[str, Any]:
            return server.account_lines(address, peer, index)

        if ledger == "current":
            answers = self._ask_all(lambda server: read(server, "current"))
            answer = self._one_answer(question, answers, "lines", alarming=False)
        else:
            answer = self._agreed(question, read, "lines")
        return list(answer.get("lines", []))

    def trust_line(
        self, address: str, issuer: str, currency: str, ledger: str = "validated"
    ) -> dict[str, Any] | None:
        """The address's line to issuer in currency, as account_lines shows it; None if none."""
        return line_in(self.trust_lines(address, issuer, ledger), currency)

    def objects(self, address: str, kind: AccountObjectType) -> list[dict[str, Any]]:
        answer = self._agreed(
            f"{kind.value} objects of {address}",
            lambda server, ledger: server.account_objects(address, kind, ledger),
            "account_objects",
        )
        return list(answer.get("account_objects", []))

    def mpt_outstanding_at(self, issuance_id: str, ledger_index: int) -> int:
        """The issuance's OutstandingAmount (every holder's units) in one validated ledger, as
        two servers state it. A distribution reads all its figures from one ledger."""
        question = f"issuance {issuance_id} in ledger {ledger_index}"
        answers = self._ask_all(lambda s: s.mpt_issuance(issuance_id, ledger_index))
        answer = self._one_answer(question, answers, "node", alarming=True)
        if "node" not in answer:
            raise LedgerRequestFailed(f"no issuance {issuance_id} in ledger {ledger_index}")
        return int(answer["node"].get("OutstandingAmount", 0))

    def mpt_holding_at(self, issuance_id: str, holder: str, ledger_index: int) -> tuple[int, bool]:
        """The holder's units of the issuance in one validated ledger (0 if it holds none) and
        whether they are locked (an AML block), as two servers state them."""
        question = f"{holder}'s units of {issuance_id} in ledger {ledger_index}"
        answers = self._ask_all(lambda s: s.mptoken(issuance_id, holder, ledger_index))
        token = self._one_answer(question, answers, "node", alarming=True).get("node", {})
        return int(token.get("MPTAmount", 0)), bool(int(token.get("Flags", 0)) & LSF_MPT_LOCKED)

    def every_line_at(self, address: str, ledger_index: int) -> list[dict[str, Any]]:
        """Every trust line of the address in one validated ledger, as two servers state it."""
        question = f"every trust line of {address} in ledger {ledger_index}"
        answers = self._ask_all(lambda s: {"lines": s.every_line(address, ledger_index)})
        return list(self._one_answer(question, answers, "lines", alarming=True)["lines"])

    def transactions_up_to(self, address: str, ledger_index: int) -> list[dict[str, Any]]:
        """Every validated transaction of the address up to that ledger, as two servers state
        them: an auditor's reading of history, not a decision."""
        question = f"transactions of {address} up to ledger {ledger_index}"
        answers = self._ask_all(
            lambda s: {"transactions": s.transactions_up_to(address, ledger_index)}
        )
        answer = self._one_answer(question, answers, "transactions", alarming=True)
        return list(answer["transactions"])

    def close_time(self, ledger_index: int) -> int:
        """Seconds since the XRPL epoch when the validated ledger closed, as two servers say."""
        question = f"close time of ledger {ledger_index}"
        answers = self._ask_all(lambda s: {"close_time": s.close_time(ledger_index)})
        return int(self._one_answer(question, answers, "close_time", alarming=True)["close_time"])

    # --- what decides nothing: the first server that answers --------------------------------

    def fees(self) -> LedgerFees:
        return self._first_answer(lambda server: server.fees())

    def validated_age(self) -> int | None:
        return self._first_answer(lambda server: server.validated_age())

    def current_sequence(self, address: str) -> int | None:
        return self._first_answer(lambda server: server.current_sequence(address))

    def submit_blob(self, tx_blob: str) -> str:
        return self._first_answer(lambda server: server.submit_blob(tx_blob))

    # --- asking ----------------------------------------------------------------------------

    def _ask_all(
        self, question: Callable[[LedgerClient], T], servers: Sequence[LedgerClient] = ()
    ) -> dict[str, T | Exception]:
        """Each server's answer, or what it failed with, in the configured order."""
        asked = servers or self.servers
        answers: dict[str, T | Exception] = {}
        if self._pool is None or len(asked) == 1:
            for server in asked:
                try:
                    answers[server.url] = question(server)
                except (TransientFault, LedgerRequestFailed) as failure:
                    answers[server.url] = failure
            return answers
        pending = {server.url: self._pool.submit(question, server) for server in asked}
        for url, future in pending.items():
            try:
                answers[url] = future.result()
            except (TransientFault, LedgerRequestFailed) as failure:
                answers[url] = failure
        return answers

    def _first_answer(self, question: Callable[[LedgerClient], T]) -> T:
        failure: TransientFault | None = None
        for server in self.servers:
            try:
                return question(server)
            except TransientFault as fault:
                failure = fault
        assert failure is not None
        raise failure

    def _answered(self, question: str, answers: Mapping[str, T | Exception]) -> list[T]:
        """The answers; no answer at all fails as the first server did (unreachable, say)."""
        failures = {url: a for url, a in answers.items() if isinstance(a, Exception)}
        if len(failures) == len(answers):
            raise next(iter(failures.values()))
        if failures:
            self._unanswered(question, {url: str(f) for url, f in failures.items()})
        return [a for a in answers.values() if not isinstance(a, Exception)]

    def _validated_indexes(self) -> dict[str, int]:
        """The validated ledger index of each server in step with the most advanced one."""
        answers = self._ask_all(lambda server: server.validated_ledger_index())
        self._answered("validated ledger", answers)
        indexes = {url: a for url, a in answers.items() if isinstance(a, int)}
        top = max(indexes.values())
        behind = {url: i for url, i in indexes.items() if top - i > MAX_SKEW_LEDGERS}
        if behind:
            self._unanswered(
                "validated ledger", {url: f"{top - i} ledgers behind" for url, i in behind.items()}
            )
        in_step = {url: i for url, i in indexes.items() if url not in behind}
        if len(in_step) < self.quorum:
            raise TransientFault(
                f"{len(in_step)} of {len(self.servers)} ledger servers in step; "
                f"{self.quorum} must agree"
            )
        return in_step

    def _agreed(
        self,
        question: str,
        read: Callable[[LedgerClient, LedgerIndex], dict[str, Any]],
        payload: str,
    ) -> dict[str, Any]:
        """A validated-ledger read two servers answer alike for the same ledger."""
        answers: dict[str, dict[str, Any] | Exception] = self._ask_all(
            lambda server: read(server, "validated")
        )
        indexes = {a.get("ledger_index") for a in answers.values() if isinstance(a, dict)}
        if len(indexes) > 1 or None in indexes:
            # Some server validated a newer ledger than another (or did not say which it read):
            # ask every one about the same ledger, the lowest the servers in step share.
            common = self.validated_ledger_index()
            answers = self._ask_all(lambda server: read(server, common))
        return self._one_answer(question, answers, payload, alarming=True)

    def _one_answer(
        self,
        question: str,
        answers: Mapping[str, dict[str, Any] | Exception],
        payload: str,
        *,
        alarming: bool,
    ) -> dict[str, Any]:
        """The answer every answering server gave, if at least a quorum answered."""
        self._answered(question, answers)
        answered = {url: a for url, a in answers.items() if isinstance(a, dict)}
        stated = {url: _stated(a, payload) for url, a in answered.items()}
        if len(set(stated.values())) > 1:
            if alarming:
                self._contradiction(question, stated)
            raise TransientFault(f"ledger servers disagree on {question}: nothing decided")
        if len(answered) < self.quorum:
            raise TransientFault(
                f"{len(answered)} of {len(self.servers)} ledger servers answered {question}; "
                f"{self.quorum} must agree"
            )
        return next(iter(answered.values()))

    # --- signals ---------------------------------------------------------------------------

    def _contradiction(self, question: str, answers: Mapping[str, Any]) -> None:
        _count(CONTRADICTION_METRIC)
        logger.error(
            "ledger servers contradict each other: nothing decided",
            extra={"question": question, "answers": dict(answers)},
        )

    def _unanswered(self, question: str, failures: Mapping[str, str]) -> None:
        _count(UNANSWERED_METRIC)
        logger.warning(
            "ledger server did not answer in step",
            extra={"question": question, "servers": dict(failures)},
        )


def _facts(sighting: Sighting) -> tuple[str, ...]:
    """What two servers must both state to finalise a transaction."""
    meta = sighting.found.get("meta") or {}
    effects = tuple(json.dumps(meta.get(name), sort_keys=True) for name in _EFFECTS)
    return (*map(str, sighting.facts()), *effects)


def _summary(sighting: Sighting) -> dict[str, Any]:
    hash_, index, result = sighting.facts()
    if sighting.validated:
        return {"validated": True, "hash": hash_, "ledger_index": index, "result": result}
    return {"validated": False, "proves_absent": sighting.proves_absent}


def _stated(answer: dict[str, Any], payload: str) -> str:
    """What a read states, comparable between servers: its error or its payload."""
    return json.dumps([answer.get("error"), answer.get(payload)], sort_keys=True, default=str)


@functools.cache
def _note_single_server(url: str) -> None:
    """Once per process, on stderr for a command line (stdout is its answer)."""
    logging.getLogger(__name__).warning(
        "one ledger server configured (%s): its word alone decides", url
    )


def _count(metric: str) -> None:
    with single_metric(
        name=metric, unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE
    ) as signal:
        signal.add_dimension(name="service", value="ledger")
