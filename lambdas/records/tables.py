"""DynamoDB tables as pynamodb models, known only to lambdas/records/. Table names and the region
come from configuration, read on first use: importing a model needs no configuration."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection, TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import MetaProtocol, Model
from pynamodb.transactions import TransactWrite

from lambdas.config import MissingConfiguration, settings


class _ConfiguredMeta(type):
    """A pynamodb Meta whose table name and region are read from configuration when a model
    first talks to DynamoDB, not at import: a function is given only its own tables' names."""

    setting: str

    @property
    def table_name(cls) -> str:
        return str(getattr(settings(), cls.setting))

    @property
    def region(cls) -> str | None:
        # pynamodb asks while a model is being defined, at import, where no function needs a
        # region yet; one that talks to DynamoDB without it fails then (botocore NoRegionError).
        try:
            return settings().region
        except MissingConfiguration:
            return None


def table_meta(setting: str) -> MetaProtocol:
    """pynamodb's per-model Meta for the table named by the `setting` of configuration."""
    meta: MetaProtocol = _ConfiguredMeta("Meta", (), {"setting": setting})  # type: ignore[assignment]
    return meta


_client_made = threading.Lock()
_client: Any = None


def process_client() -> Any:
    """The process's one botocore DynamoDB client, for every table and transaction. A client
    of its own loads botocore's endpoint data again (~12 MB, ~0.1 s of a cold start) for each
    table and, while it is first made, for each racing thread."""
    global _client
    client = _client
    if client is None:  # every request asks: the lock is taken only while none is made
        with _client_made:
            if _client is None:
                _client = Connection(region=settings().region).client
            client = _client
    return client


def forget_process_client() -> None:
    """For a caller that moves the process to another region or endpoint (the operator tools'
    tests): the next request makes a new client."""
    global _client
    with _client_made:
        _client = None


class ProcessClientConnection(Connection):
    """A pynamodb connection on the process's client. Each model keeps one of its own: it holds
    the model's key schema and indexes, and models sharing a table differ in those."""

    @property
    def client(self) -> Any:
        return process_client()


class RecordModel(Model):
    """A records table: its requests go through the process's one client."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        table = super()._get_connection()
        if not isinstance(table.connection, ProcessClientConnection):
            own = ProcessClientConnection(region=settings().region)
            own.add_meta_table(table.connection.get_meta_table(table.table_name))
            table.connection = own
        return table


def transaction() -> TransactWrite:
    """A DynamoDB transaction across the tables, on the process's one client."""
    return TransactWrite(connection=ProcessClientConnection(region=settings().region))


def utc_now() -> datetime:
    return datetime.now(UTC)


class PurchasesByInvestor(GlobalSecondaryIndex["PurchaseRecord"]):
    """An investor's purchases, in id order."""

    class Meta:
        index_name = "by-investor"
        projection = AllProjection()

    investor_id = UnicodeAttribute(hash_key=True)
    purchase_id = UnicodeAttribute(range_key=True)


class PurchaseRecord(RecordModel):
    """One purchase, keyed by the id derived from the gateway's payment id."""

    Meta = table_meta("purchases_table")

    purchase_id = UnicodeAttribute(hash_key=True)
    payment_id = UnicodeAttribute()
    investor_id = UnicodeAttribute()
    by_investor = PurchasesByInvestor()
    instrument_id = UnicodeAttribute()
    units = NumberAttribute()
    amount = UnicodeAttribute()  # a Decimal as text: DynamoDB numbers would come back as floats
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    issuance_id = UnicodeAttribute(null=True)
    investor_address = UnicodeAttribute(null=True)
    execution_arn = UnicodeAttribute(null=True)  # the execution settling it: found at once
    units_held = BooleanAttribute(default=False)  # units reserved on the instrument for it
    compensating = BooleanAttribute(default=False)  # once set, no step goes forward again
    refund_requested = BooleanAttribute(default=False)
    refund_outcome = UnicodeAttribute(null=True)  # the provider's word: SUCCEEDED or FAILED
    refund_reference = UnicodeAttribute(null=True)  # the provider's id of the refund
    refunded_at = UTCDateTimeAttribute(null=True)  # the provider's time of a SUCCEEDED refund
    compensation_round = NumberAttribute(default=0)  # +1 per operator redrive of the undoing
    parked_reason = UnicodeAttribute(null=True)  # why undoing stopped, for the operator
    parked_at_redrive = NumberAttribute(default=0)  # the execution's RedriveCount when parked
    # step -> {"hash", "ledger_index", "result"}, for operators and the frontend
    transactions: MapAttribute[str, Any] = MapAttribute(default=dict)
    created_at = UTCDateTimeAttribute(default_for_new=utc_now)
    updated_at = UTCDateTimeAttribute(default=utc_now)


class InvestorRecord(RecordModel):
    """An investor's standing with the platform: KYC/AML status and why it last changed."""

    Meta = table_meta("investors_table")

    investor_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    kyc_case_id = UnicodeAttribute(null=True)  # the KYC decision on record
    kyc_decided_at = UTCDateTimeAttribute(null=True)  # its time: older decisions never apply
    kyc_approved = BooleanAttribute(null=True)
    aml_case_id = UnicodeAttribute(null=True)  # the latest AML decision, anyone's
    aml_decided_at = UTCDateTimeAttribute(null=True)  # its time: older decisions never apply
    aml_flagged = BooleanAttribute(null=True)
    aml_by_operator = BooleanAttribute(null=True)
    operator_case_id = UnicodeAttribute(null=True)  # an operator's latest: only they lift a block
    operator_decided_at = UTCDateTimeAttribute(null=True)
    operator_flagged = BooleanAttribute(null=True)
    # The bank account KYC verified: withdrawals are paid out to it, never to one asked for.
    payout_iban = UnicodeAttribute(null=True)
    payout_holder_name = UnicodeAttribute(null=True)
    # Bumped by every change of standing: a write conditional on it loses to any write since
    # its read (records/investors.py), so a concurrent decision never overwrites a newer one.
    version = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute(default_for_new=utc_now)
    updated_at = UTCDateTimeAttribute(default=utc_now)


class AuditRecord(RecordModel):
    """One change of an investor's standing: who, when, why, and which ledger transactions."""

    Meta = table_meta("audit_table")

    investor_id = UnicodeAttribute(hash_key=True)
    audit_id = UnicodeAttribute(range_key=True)  # ISO time#case: sorted by time
    action = UnicodeAttribute()
    actor = UnicodeAttribute()
    reason = UnicodeAttribute()
    case_id = UnicodeAttribute(null=True)
    transactions: MapAttribute[str, Any] = MapAttribute(default=dict)
    at = UTCDateTimeAttribute(default_for_new=utc_now)


class WebhookRecord(RecordModel):
    """Every webhook request, accepted or rejected: nothing is lost. An accepted one is kept as
    it arrived; of a refused one a bounded trace (hash, size, first bytes, headers that matter)."""

    Meta = table_meta("webhooks_table")

    request_id = UnicodeAttribute(hash_key=True)
    provider = UnicodeAttribute()
    outcome = UnicodeAttribute()  # ACCEPTED or REJECTED
    status_code = NumberAttribute()
    reason = UnicodeAttribute(null=True)
    detail_type = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    body = UnicodeAttribute()  # all of an accepted one; the first 2 KiB of any other
    body_sha256 = UnicodeAttribute(null=True)  # of the whole body as received
    body_size = NumberAttribute(null=True)  # bytes received
    content_type = UnicodeAttribute(null=True)
    timestamp_header = UnicodeAttribute(null=True)  # as sent (cut to 100 characters)
    signature_present = BooleanAttribute(null=True)
    signature = UnicodeAttribute(null=True)
    received_at = UTCDateTimeAttribute(default_for_new=utc_now)
    expires_at = TTLAttribute(null=True)  # DynamoDB deletes it after (lambdas/records/webhooks.py)


class PaymentAnnouncementRecord(RecordModel):
    """A payment as the gateway's authenticated webhook announced it: written only by the
    payments webhook, before its event reaches the bus; Record deposit takes nothing else."""

    Meta = table_meta("payments_table")

    payment_id = UnicodeAttribute(hash_key=True)
    investor_id = UnicodeAttribute()
    instrument_id = UnicodeAttribute()
    units = NumberAttribute()
    amount = UnicodeAttribute()  # a decimal string, as announced
    currency = UnicodeAttribute()
    request_id = UnicodeAttribute()  # the webhook request that first announced it
    announced_at = UTCDateTimeAttribute(default_for_new=utc_now)


class SignatureRecord(RecordModel):
    """A webhook signature already used; kept past the freshness window, then expired by TTL."""

    Meta = table_meta("signatures_table")

    signature = UnicodeAttribute(hash_key=True)
    provider = UnicodeAttribute()
    request_id = UnicodeAttribute()
    expires_at = TTLAttribute()


class NotificationRecord(RecordModel):
    """A notification put on the bus for the frontend: each is sent once, replays included."""

    Meta = table_meta("notifications_table")

    notification_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    investor_id = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(default_for_new=utc_now)


class WalletRecord(RecordModel):
    """An investor's custodial wallet: the address, and the seed only as KMS ciphertext."""

    Meta = table_meta("wallets_table")

    investor_id = UnicodeAttribute(hash_key=True)
    address = UnicodeAttribute()
    encrypted_seed = BinaryAttribute(legacy_encoding=False)
    key_id = UnicodeAttribute()
    key_algorithm = UnicodeAttribute()
    created_at = UTCDateTimeAttribute(default_for_new=utc_now)
    updated_at = UTCDateTimeAttribute(default=utc_now)


class SubmissionsBySubject(GlobalSecondaryIndex["SubmissionRecord"]):
    """Submissions by whom they are about (an investor's AML case, a purchase), in key order."""

    class Meta:
        index_name = "by-subject"
        projection = AllProjection()

    subject = UnicodeAttribute(hash_key=True)
    business_key = UnicodeAttribute(range_key=True)


class SubmissionRecord(RecordModel):
    """A signed ledger transaction, persisted before its first submit, keyed by what it is for.

    The business key (e.g. `purchase-…#mint`) makes every ledger effect happen at most once.
    """

    Meta = table_meta("submissions_table")

    business_key = UnicodeAttribute(hash_key=True)
    subject = UnicodeAttribute(null=True)  # domain.business_keys.subject_of: the index's key
    by_subject = SubmissionsBySubject()
    account = UnicodeAttribute()
    transaction_type = UnicodeAttribute()
    unsigned_json = UnicodeAttribute()  # with Sequence/TicketSequence: re-signing keeps them
    sequence = NumberAttribute()
    ticket_sequence = NumberAttribute(null=True)
    tx_blob = UnicodeAttribute(null=True)  # null only while PREPARING
    tx_hash = UnicodeAttribute(null=True)
    last_ledger_sequence = NumberAttribute()
    prepared_at_ledger = NumberAttribute()  # lookups by hash start here
    status = UnicodeAttribute()
    preliminary_result = UnicodeAttribute(null=True)
    result = UnicodeAttribute(null=True)
    ledger_index = NumberAttribute(null=True)
    meta_json = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=1)
    expired_hashes = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UTCDateTimeAttribute(default_for_new=utc_now)
    updated_at = UTCDateTimeAttribute(default=utc_now)


class TicketsAvailable(GlobalSecondaryIndex["TicketRecord"]):
    """The Tickets of an account not claimed yet, and only those: a ticket leaves the index
    when claimed (its `available_in` is removed) and comes back if given back. Read on every
    claim, so its cost must follow the pool, not every Ticket the account ever used."""

    class Meta:
        index_name = "available"
        projection = KeysOnlyProjection()

    available_in = UnicodeAttribute(hash_key=True)
    ticket_sequence = NumberAttribute(range_key=True)


class TicketRecord(RecordModel):
    """One XRPL Ticket of a hot platform account: AVAILABLE until a business key claims it."""

    Meta = table_meta("tickets_table")

    account = UnicodeAttribute(hash_key=True)
    ticket_sequence = NumberAttribute(range_key=True)
    status = UnicodeAttribute()
    available_in = UnicodeAttribute(null=True)  # the account while AVAILABLE: the index's key
    available = TicketsAvailable()
    claimed_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(default=utc_now)


class AccountSequenceRecord(RecordModel):
    """The next Sequence to use for an account that signs without tickets, and its pool state."""

    Meta = table_meta("sequences_table")

    account = UnicodeAttribute(hash_key=True)
    next_sequence = NumberAttribute()
    # Sequences handed back by transactions cancelled unsigned or proven expired while their
    # step was undone: the account's next transactions take them first, so no gap stalls it.
    released = NumberSetAttribute(null=True)
    pending_refill = UnicodeAttribute(null=True)  # business key of a TicketCreate in flight
    updated_at = UTCDateTimeAttribute(default=utc_now)


class InstrumentRecord(RecordModel):
    """An instrument of the catalogue as issued on the ledger, with its units counted."""

    Meta = table_meta("instruments_table")

    instrument_id = UnicodeAttribute(hash_key=True)
    issuance_id = UnicodeAttribute()
    name = UnicodeAttribute()
    unit_price = UnicodeAttribute()  # a Decimal as text
    currency = UnicodeAttribute()
    tranche_units = NumberAttribute()
    units_reserved = NumberAttribute(default=0)
    units_sold = NumberAttribute(default=0)
    units_available = NumberAttribute()  # tranche less reserved and sold: the atomic guard
    units_redeemed = NumberAttribute(default=0)  # sold units taken back at maturity, repaid
    status = UnicodeAttribute(default="OPEN")
    terms = UnicodeAttribute(null=True)  # JSON: domain.cash_flows.terms_entry
    write_downs = UnicodeAttribute(null=True)  # JSON list: domain.cash_flows.WriteDown
    pays_automatically = BooleanAttribute(default=False)
    updated_at = UTCDateTimeAttribute(default=utc_now)


class ReconciliationRecord(RecordModel):
    """One run of the three-way reconciliation: its report, as it was made."""

    Meta = table_meta("reconciliations_table")

    reconciliation_id = UnicodeAttribute(hash_key=True)  # the execution's name
    cut_off = UTCDateTimeAttribute()
    ledger_index = NumberAttribute()
    clean = BooleanAttribute()
    differences = NumberAttribute()
    report = UnicodeAttribute()  # JSON: totals and the differences, each with its transactions
    made_at = UTCDateTimeAttribute(default_for_new=utc_now)
