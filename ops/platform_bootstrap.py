"""Configure a fresh ledger for the platform, idempotently: running it twice changes nothing.

Order matters on the ledger: the issuer's RequireAuth and AllowTrustLineClawback can only be set
while it owns nothing, so its flags come before any trust line, ticket or issuance.
Every transaction goes through the ledger adapter under a fixed business key, and every step
first reads the validated ledger, so a rerun neither repeats nor duplicates anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from xrpl.models.requests import AccountObjectType
from xrpl.utils import xrp_to_drops

from domain import business_keys
from domain.instruments import Instrument, instrument_id_in_metadata
from domain.platform import PLATFORM_ROLES, STABLECOIN_CURRENCY, PlatformAccounts, SignerRole
from lambdas.ledger_adapter.submission import LedgerSubmitter, Signer, Status, Submission
from lambdas.records import instruments, sequences

LOG = logging.getLogger(__name__)

ASF_REQUIRE_AUTH, ASF_DEFAULT_RIPPLE, ASF_ALLOW_CLAWBACK = 2, 8, 16
LSF_FOR_ASF = {
    ASF_REQUIRE_AUTH: 0x00040000,
    ASF_ALLOW_CLAWBACK: 0x80000000,
    ASF_DEFAULT_RIPPLE: 0x00800000,
}
ISSUER_FLAGS_IN_ORDER = (ASF_REQUIRE_AUTH, ASF_ALLOW_CLAWBACK, ASF_DEFAULT_RIPPLE)
TF_SETF_AUTH = 0x00010000
COMPANY_LINE_LIMIT = "1000000000"


class BootstrapFailed(RuntimeError):
    """A bootstrap transaction failed on the validated ledger."""


@dataclass(frozen=True)
class BootstrapPlan:
    platform_xrp: Decimal = Decimal(100)  # each of issuer and company, from the funding account
    ticket_pools: bool = True


class PlatformBootstrap:
    def __init__(
        self,
        submitter: LedgerSubmitter,
        accounts: PlatformAccounts,
        signers: Mapping[SignerRole, Signer],
        wait_for_next_ledger: Callable[[], None],
    ) -> None:
        self.submitter = submitter
        self.ledger = submitter.ledger
        self.accounts = accounts
        self.signers = signers  # by role: issuer, company, funding
        self.wait = wait_for_next_ledger
        self.steps: list[str] = []  # what this run changed, for the operator

    def run(
        self, catalogue: tuple[Instrument, ...], plan: BootstrapPlan = BootstrapPlan()
    ) -> list[str]:
        self._fund_platform_accounts(plan.platform_xrp)
        self._set_issuer_flags()
        self._company_stablecoin_line()
        for instrument in catalogue:
            self._issue_instrument(instrument)
        if plan.ticket_pools:
            for role in PLATFORM_ROLES:
                self._fill_ticket_pool(role)
        return self.steps

    def _fund_platform_accounts(self, xrp: Decimal) -> None:
        for role in (SignerRole.ISSUER, SignerRole.COMPANY):
            address = self.accounts.roles()[role]
            if self.ledger.account_root(address) is not None:
                continue
            payment = {
                "TransactionType": "Payment",
                "Account": self.accounts.funding,
                "Destination": address,
                "Amount": xrp_to_drops(xrp),
            }
            self._apply(business_keys.bootstrap("fund", role), SignerRole.FUNDING, payment)

    def _set_issuer_flags(self) -> None:
        flags = int(self._root(self.accounts.issuer)["Flags"])
        for asf in ISSUER_FLAGS_IN_ORDER:
            if flags & LSF_FOR_ASF[asf]:
                continue
            tx = {"TransactionType": "AccountSet", "Account": self.accounts.issuer, "SetFlag": asf}
            key = business_keys.bootstrap("issuer", "flag", str(asf))
            self._apply(key, SignerRole.ISSUER, tx)

    def _company_stablecoin_line(self) -> None:
        lines = self.ledger.trust_lines(self.accounts.company, self.accounts.issuer)
        line = next((x for x in lines if x["currency"] == STABLECOIN_CURRENCY), None)
        if line is None:
            self._apply(
                business_keys.bootstrap("company", "line"),
                SignerRole.COMPANY,
                {
                    "TransactionType": "TrustSet",
                    "Account": self.accounts.company,
                    "LimitAmount": self._eur(self.accounts.issuer, COMPANY_LINE_LIMIT),
                },
            )
            line = {"peer_authorized": False}
        if not line.get("peer_authorized"):
            self._apply(
                business_keys.bootstrap("company", "line-auth"),
                SignerRole.ISSUER,
                {
                    "TransactionType": "TrustSet",
                    "Account": self.accounts.issuer,
                    "LimitAmount": self._eur(self.accounts.company, "0"),
                    "Flags": TF_SETF_AUTH,
                },
            )

    def _issue_instrument(self, instrument: Instrument) -> None:
        issuance_id = self._existing_issuance(instrument.instrument_id)
        if issuance_id is None:
            record = self._apply(
                business_keys.bootstrap("instrument", instrument.instrument_id),
                SignerRole.COMPANY,
                instrument.issuance_create(self.accounts.company),
            )
            issuance_id = self._issuance_id_from(record)
        self._record_instrument(instrument, issuance_id)

    def _existing_issuance(self, instrument_id: str) -> str | None:
        for issuance in self.ledger.objects(self.accounts.company, AccountObjectType.MPT_ISSUANCE):
            if instrument_id_in_metadata(issuance.get("MPTokenMetadata")) == instrument_id:
                return str(issuance["mpt_issuance_id"])
        return None

    @staticmethod
    def _issuance_id_from(record: Submission) -> str:
        return str(record.meta["mpt_issuance_id"])

    def _record_instrument(self, instrument: Instrument, issuance_id: str) -> None:
        if instruments.list_once(instrument, issuance_id):
            self.steps.append(f"catalogue: {instrument.instrument_id} -> {issuance_id}")

    def _fill_ticket_pool(self, role: SignerRole) -> None:
        address = self.accounts.roles()[role]
        indexed = sequences.index_free_tickets(address)
        if indexed:
            self.steps.append(f"tickets: {role} {indexed} free tickets kept before the index")
        while True:
            refill = self.submitter.top_up_tickets(address, self.signers[role])
            if refill is None:
                return
            if refill.status == Status.FAILED:
                raise BootstrapFailed(f"{refill.business_key}: {refill.result}")
            if refill.status == Status.SUBMITTED:
                self.steps.append(f"tickets: {role} refill {refill.business_key}")
                self.wait()

    def _apply(self, key: str, role: SignerRole, tx: dict[str, Any]) -> Submission:
        """Submit under a fixed business key and wait until the validated ledger decides."""
        sign = self.signers[role]
        record = self.submitter.submit(key, tx, sign, use_ticket=False)
        while record.status == Status.SUBMITTED:
            self.wait()
            record = self.submitter.check(key, sign)
        if record.status != Status.SUCCEEDED:
            raise BootstrapFailed(f"{key}: {record.result}")
        self.steps.append(f"{key}: {record.tx_hash} in ledger {record.ledger_index}")
        return record

    def _root(self, address: str) -> dict[str, Any]:
        root = self.ledger.account_root(address)
        if root is None:
            raise BootstrapFailed(f"account {address} is not funded")
        return root

    @staticmethod
    def _eur(issuer: str, value: str) -> dict[str, str]:
        return {"currency": STABLECOIN_CURRENCY, "issuer": issuer, "value": value}
