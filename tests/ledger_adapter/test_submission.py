"""Reliable submission against the local ledger: one effect per business key, whatever crashes,
expiries and concurrency happen; outcomes decided from the validated ledger only."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from xrpl.wallet import Wallet

from domain.errors import TransientFault
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from local.ledger_server.genesis import accept, fund


@pytest.fixture(scope="module")
def submitter(aws: LocalAws, ledger: LocalLedger) -> Any:
    from lambdas.ledger_adapter.quorum import LedgerQuorum
    from lambdas.ledger_adapter.sequences import SequenceAllocator, TicketPool
    from lambdas.ledger_adapter.submission import LedgerSubmitter, TicketPolicy

    client = LedgerQuorum(ledger.rpc_urls)  # both ports: every decision needs them to agree
    return LedgerSubmitter(
        client, SequenceAllocator(client), TicketPool(), TicketPolicy(batch_size=60, low_water=10)
    )


@pytest.fixture(scope="module")
def funding(aws: LocalAws, ledger: LocalLedger) -> Any:
    """The funding account, signing through its signer as the ledger steps do."""
    from types import SimpleNamespace

    from lambdas.custody.platform_signer import platform_key
    from lambdas.custody.signers import platform_signer

    address = platform_key("funding").address
    fund(ledger.rpc_url, address, 10_000)
    return SimpleNamespace(address=address, sign=platform_signer("funding"))


def new_key() -> str:
    return f"test#{uuid.uuid4().hex}"


def xrp_payment(source: str, destination: str, drops: int) -> dict[str, Any]:
    return {
        "TransactionType": "Payment",
        "Account": source,
        "Destination": destination,
        "Amount": str(drops),
    }


def balance(submitter: Any, address: str) -> int:
    root = submitter.ledger.account_root(address)
    return int(root["Balance"]) if root else 0


def test_a_submission_validates_once_however_often_it_is_run(
    submitter: Any, funding: Any, ledger: LocalLedger
) -> None:
    destination = Wallet.create().address
    key = new_key()
    tx = xrp_payment(funding.address, destination, 20_000_000)
    first = submitter.submit(key, tx, funding.sign, use_ticket=False)
    again = submitter.submit(key, tx, funding.sign, use_ticket=False)
    assert first.tx_hash == again.tx_hash
    assert submitter.check(key, funding.sign).status == "SUBMITTED", "not final before validation"
    accept(ledger.rpc_url)
    record = submitter.check(key, funding.sign)
    assert (record.status, record.result) == ("SUCCEEDED", "tesSUCCESS")
    assert record.ledger_index is not None
    submitter.submit(key, tx, funding.sign, use_ticket=False)
    accept(ledger.rpc_url)
    assert balance(submitter, destination) == 20_000_000


def test_a_crash_between_persist_and_submit_sends_the_same_blob(
    submitter: Any, funding: Any, ledger: LocalLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = Wallet.create().address
    key = new_key()
    tx = xrp_payment(funding.address, destination, 15_000_000)

    def crash(blob: str) -> str:
        raise TransientFault("process died before submit")

    with monkeypatch.context() as patch:
        patch.setattr(submitter.ledger, "submit_blob", crash)
        with pytest.raises(TransientFault):
            submitter.submit(key, tx, funding.sign, use_ticket=False)
    persisted = submitter.find(key)
    assert persisted is not None and persisted.preliminary_result is None
    rerun = submitter.submit(key, tx, funding.sign, use_ticket=False)
    assert rerun.tx_hash == persisted.tx_hash
    accept(ledger.rpc_url)
    assert submitter.check(key, funding.sign).status == "SUCCEEDED"
    assert balance(submitter, destination) == 15_000_000


def test_a_transaction_that_expired_is_re_signed_on_the_same_sequence(
    submitter: Any, funding: Any, ledger: LocalLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas.ledger_adapter.submission import LAST_LEDGER_WINDOW

    destination = Wallet.create().address
    key = new_key()
    tx = xrp_payment(funding.address, destination, 12_000_000)
    with monkeypatch.context() as patch:
        patch.setattr(submitter.ledger, "submit_blob", lambda blob: "telNETWORK_DOWN")
        lost = submitter.submit(key, tx, funding.sign, use_ticket=False)
        accept(ledger.rpc_url, LAST_LEDGER_WINDOW)
        assert submitter.check(key, funding.sign).tx_hash == lost.tx_hash, "not provably expired"
        accept(ledger.rpc_url)
    resigned = submitter.check(key, funding.sign)
    assert resigned.tx_hash != lost.tx_hash
    assert resigned.expired_hashes == (lost.tx_hash,)
    assert resigned.sequence == lost.sequence and resigned.attempts == 2
    accept(ledger.rpc_url)
    assert submitter.check(key, funding.sign).status == "SUCCEEDED"
    assert balance(submitter, destination) == 12_000_000


def test_a_blob_past_its_last_ledger_is_not_sent_again(
    submitter: Any, funding: Any, ledger: LocalLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the ledger named by LastLedgerSequence validated without it, sending the blob again
    could only earn tefMAX_LEDGER; the check waits for the proof of expiry instead."""
    from lambdas.ledger_adapter.submission import LAST_LEDGER_WINDOW

    key = new_key()
    tx = xrp_payment(funding.address, Wallet.create().address, 12_000_000)
    sent: list[str] = []
    with monkeypatch.context() as patch:
        patch.setattr(
            submitter.ledger, "submit_blob", lambda blob: sent.append(blob) or "telNETWORK_DOWN"
        )
        lost = submitter.submit(key, tx, funding.sign, use_ticket=False)
        accept(ledger.rpc_url, LAST_LEDGER_WINDOW)
        assert submitter.ledger.validated_ledger_index() >= int(lost.last_ledger_sequence)
        sent.clear()
        assert submitter.check(key, funding.sign).tx_hash == lost.tx_hash, "not provably expired"
        assert sent == []
    accept(ledger.rpc_url)
    resigned = submitter.check(key, funding.sign)
    assert resigned.tx_hash != lost.tx_hash
    accept(ledger.rpc_url)
    assert submitter.check(key, funding.sign).status == "SUCCEEDED"


def test_a_tec_result_is_a_final_failure(submitter: Any, funding: Any, ledger: LocalLedger) -> None:
    key = new_key()
    too_little = xrp_payment(funding.address, Wallet.create().address, 10)  # under the base reserve
    submitter.submit(key, too_little, funding.sign, use_ticket=False)
    accept(ledger.rpc_url)
    record = submitter.check(key, funding.sign)
    assert (record.status, record.result) == ("FAILED", "tecNO_DST_INSUF_XRP")


def test_concurrent_flows_of_one_account_get_distinct_sequences_and_all_validate(
    submitter: Any, ledger: LocalLedger
) -> None:
    """As for one investor buying twice at once: no two transactions on one Sequence."""
    from xrpl.core import keypairs

    from lambdas.custody.signed_transaction import sign_with

    wallet = Wallet.create()
    fund(ledger.rpc_url, wallet.address, 100)

    def sign(tx: Any) -> Any:
        return sign_with(
            tx, wallet.public_key, lambda data: keypairs.sign(data, wallet.private_key)
        )

    destination = Wallet.create().address
    fund(ledger.rpc_url, destination, 20)
    keys = [new_key() for _ in range(12)]
    with ThreadPoolExecutor(6) as pool:
        records = list(
            pool.map(
                lambda k: submitter.submit(
                    k, xrp_payment(wallet.address, destination, 1_000), sign, use_ticket=False
                ),
                keys,
            )
        )
    sequences = sorted(int(r.sequence) for r in records)
    assert sequences == list(range(sequences[0], sequences[0] + 12))
    sent = {submitter.find(k).preliminary_result for k in keys}
    assert sent <= {None, "tesSUCCESS"}, "one sent before its predecessor is held, not terPRE_SEQ"
    accept(ledger.rpc_url)
    # Sends those kept back for arriving before their predecessor, in Sequence order: each
    # waits for the one before it (the saga's Wait loops reach the same order).
    for record in sorted(records, key=lambda r: int(r.sequence)):
        submitter.check(str(record.business_key), sign)
    accept(ledger.rpc_url)
    assert [submitter.check(k, sign).status for k in keys] == ["SUCCEEDED"] * 12
    assert balance(submitter, destination) == 20_000_000 + 12_000


def test_a_hundred_concurrent_submissions_from_a_hot_account_all_validate(
    submitter: Any, ledger: LocalLedger
) -> None:
    from types import SimpleNamespace

    from xrpl.core import keypairs

    from lambdas.custody.signed_transaction import sign_with
    from lambdas.ledger_adapter.submission import LedgerSubmitter, TicketPolicy
    from lambdas.records.tables import TicketRecord

    # A hot account of its own (signed here: the submitter is under test, not the policies),
    # so the refills its load leaves pending hold up no other test's account.
    wallet = Wallet.create()
    fund(ledger.rpc_url, wallet.address, 2_000)
    hot = SimpleNamespace(
        address=wallet.address,
        sign=lambda tx: sign_with(
            tx, wallet.public_key, lambda data: keypairs.sign(data, wallet.private_key)
        ),
    )
    stocked = LedgerSubmitter(
        submitter.ledger, submitter.allocator, submitter.tickets, TicketPolicy(110, 105)
    )
    stocked.top_up_tickets(hot.address, hot.sign)
    accept(ledger.rpc_url)
    stocked.top_up_tickets(hot.address, hot.sign)
    assert len(submitter.tickets.available(hot.address)) >= 100
    destination = Wallet.create().address
    fund(ledger.rpc_url, destination, 100)
    keys = [new_key() for _ in range(100)]

    def pay(key: str) -> str:
        record = submitter.submit(
            key, xrp_payment(hot.address, destination, 1_000_000), hot.sign, use_ticket=True
        )
        return str(record.preliminary_result)

    with ThreadPoolExecutor(16) as pool:
        preliminary = list(pool.map(pay, keys))
    assert set(preliminary) == {"tesSUCCESS"}, "no tefPAST_SEQ / terPRE_SEQ with tickets"
    accept(ledger.rpc_url)
    statuses = [submitter.check(key, hot.sign).status for key in keys]
    assert statuses == ["SUCCEEDED"] * 100
    assert balance(submitter, destination) == 200_000_000
    used = {submitter.find(k).ticket_sequence for k in keys}
    assert len(used) == 100
    # A claim reads the free Tickets only, whatever the account used before.
    free = TicketRecord.available.query(hot.address)
    left = {int(t.ticket_sequence) for t in free}
    assert left and not left & used
    assert left == set(submitter.tickets.available(hot.address))
    assert free.page_iter.total_scanned_count == len(left)
    assert TicketRecord.count(hot.address) >= len(left) + 100


def test_free_tickets_kept_before_the_index_are_put_into_it_once(submitter: Any) -> None:
    """A stack deployed before the index kept free Tickets without its key: unseen by claims
    (reserve locked for good) until the bootstrap puts them in; claimed ones stay out."""
    from lambdas.records.sequences import AVAILABLE, CLAIMED, index_free_tickets
    from lambdas.records.tables import TicketRecord

    account = Wallet.create().address  # no ledger needed: records only
    for sequence, status in ((5, AVAILABLE), (6, AVAILABLE), (7, CLAIMED)):
        TicketRecord(account, sequence, status=status).save()  # as kept before the index
    submitter.tickets.add(account, 8, 1)  # as kept since
    assert submitter.tickets.available(account) == [8]

    assert index_free_tickets(account) == 2
    assert submitter.tickets.available(account) == [5, 6, 8]
    assert index_free_tickets(account) == 0
    assert TicketRecord.get(account, 7).available_in is None


def test_a_refill_marked_started_but_not_yet_recorded_is_taken_over_not_a_crash(
    submitter: Any, aws: LocalAws, ledger: LocalLedger
) -> None:
    """Under load, a second run saw the refill slot taken before the first recorded it."""
    from xrpl.wallet import Wallet as XrplWallet

    from lambdas.ledger_adapter.submission import Status

    account = XrplWallet.create()
    fund(ledger.rpc_url, account.address, 200)
    submitter.allocator.state(account.address)  # as the first run did before taking the slot
    key = f"tickets#{account.address}#{submitter.ledger.validated_ledger_index()}"
    assert submitter.allocator.start_refill(account.address, key)
    assert submitter.find(key) is None

    def sign(tx: dict[str, Any]) -> Any:
        from xrpl.core import keypairs

        from lambdas.custody.signed_transaction import sign_with

        return sign_with(
            tx, account.public_key, lambda data: keypairs.sign(data, account.private_key)
        )

    taken_over = submitter.top_up_tickets(account.address, sign)
    assert taken_over is not None and taken_over.business_key == key
    accept(ledger.rpc_url)
    submitter.top_up_tickets(account.address, sign)  # harvests the validated refill
    assert submitter.find(key).status == Status.SUCCEEDED
    assert len(submitter.tickets.available(account.address)) > 0
    assert submitter.allocator.state(account.address).pending_refill is None


def test_a_crash_after_reserving_a_sequence_leaves_no_gap(
    submitter: Any, funding: Any, ledger: LocalLedger
) -> None:
    """The Sequence and the record are written together: a rerun signs that same Sequence."""
    destination = Wallet.create().address
    key = new_key()
    tx = xrp_payment(funding.address, destination, 11_000_000)

    def crash(unsigned: Any) -> Any:
        raise TransientFault("KMS throttled mid-sign")

    with pytest.raises(TransientFault):
        submitter.submit(key, tx, crash, use_ticket=False)
    reserved = submitter.find(key)
    assert reserved.status == "PREPARING" and reserved.tx_blob is None
    later_key = new_key()
    later = submitter.submit(
        later_key, xrp_payment(funding.address, destination, 1), funding.sign, use_ticket=False
    )
    assert later.sequence == reserved.sequence + 1
    assert later.preliminary_result is None, "kept back behind the reserved Sequence"
    assert later.tx_blob is None, "signed when its turn comes"
    rerun = submitter.submit(key, tx, funding.sign, use_ticket=False)
    assert rerun.sequence == reserved.sequence and rerun.status == "SUBMITTED"
    accept(ledger.rpc_url)
    assert submitter.check(key, funding.sign).status == "SUCCEEDED"
    assert submitter.check(later_key, funding.sign).status in ("SUCCEEDED", "SUBMITTED")
    accept(ledger.rpc_url)
    assert submitter.check(later_key, funding.sign).status == "SUCCEEDED"
    assert balance(submitter, destination) == 11_000_001


def test_a_transaction_the_server_saw_but_never_validated_is_re_signed_after_expiry(
    submitter: Any, funding: Any, ledger: LocalLedger
) -> None:
    """No mocks: a transaction held behind a Sequence gap stays in rippled's cache as
    `validated: false`; once its LastLedgerSequence has passed it is provably expired."""
    from lambdas.ledger_adapter.submission import LAST_LEDGER_WINDOW

    def crash(unsigned: Any) -> Any:
        raise TransientFault("KMS throttled mid-sign")

    destination = Wallet.create().address
    gap_key, held_key = new_key(), new_key()
    gap_tx = xrp_payment(funding.address, destination, 30_000_000)
    with pytest.raises(TransientFault):
        submitter.submit(gap_key, gap_tx, crash, use_ticket=False)
    held = submitter.submit(
        held_key, xrp_payment(funding.address, destination, 5), funding.sign, use_ticket=False
    )
    assert held.preliminary_result is None, "not sent before its turn"
    # Signed and seen by the server anyway, as an earlier version signed at reservation and
    # re-sent (or another node relayed it):
    held = submitter._sign_prepared(held, funding.sign)
    assert submitter.ledger.submit_blob(held.tx_blob) == "terPRE_SEQ"
    accept(ledger.rpc_url, LAST_LEDGER_WINDOW + 2)
    resigned = submitter.check(held_key, funding.sign)
    assert resigned.expired_hashes == (held.tx_hash,)
    assert resigned.sequence == held.sequence and resigned.attempts == 2

    submitter.submit(gap_key, gap_tx, funding.sign, use_ticket=False)  # the crashed run resumes
    accept(ledger.rpc_url)
    submitter.check(held_key, funding.sign)
    accept(ledger.rpc_url)
    assert submitter.check(gap_key, funding.sign).status == "SUCCEEDED"
    assert submitter.check(held_key, funding.sign).status == "SUCCEEDED"
    assert balance(submitter, destination) == 30_000_005


def test_a_step_being_undone_cancels_an_unsigned_ticket_transaction(
    submitter: Any, funding: Any, ledger: LocalLedger
) -> None:
    """Compensation settles a forward step before deciding: a Ticket transaction that was never
    signed ends FAILED instead of being sent; one on a Sequence is still sent (no gap)."""
    destination = Wallet.create().address
    fund(ledger.rpc_url, destination, 20)
    submitter.top_up_tickets(funding.address, funding.sign)
    accept(ledger.rpc_url)
    submitter.top_up_tickets(funding.address, funding.sign)

    def crash(unsigned: Any) -> Any:
        raise TransientFault("KMS throttled mid-sign")

    on_ticket, on_sequence = new_key(), new_key()
    for key, use_ticket in ((on_ticket, True), (on_sequence, False)):
        with pytest.raises(TransientFault):
            submitter.submit(
                key, xrp_payment(funding.address, destination, 5), crash, use_ticket=use_ticket
            )
        assert submitter.find(key).status == "PREPARING"

    assert submitter.check(on_ticket, funding.sign, undoing=True).status == "FAILED"
    assert submitter.check(on_sequence, funding.sign, undoing=True).status == "SUBMITTED"
    accept(ledger.rpc_url)
    assert submitter.check(on_sequence, funding.sign, undoing=True).status == "SUCCEEDED"
    assert balance(submitter, destination) == 20_000_005, "only the Sequence one was sent"


def test_a_sequence_transaction_waiting_its_turn_is_signed_when_the_turn_comes(
    submitter: Any, funding: Any, ledger: LocalLedger
) -> None:
    """Its LastLedgerSequence counts from when it can apply: a wait behind a slow predecessor
    longer than the window does not expire it (nor earn tefMAX_LEDGER, nor a re-sign)."""
    from lambdas.ledger_adapter.submission import LAST_LEDGER_WINDOW

    destination = Wallet.create().address
    slow, waiting = new_key(), new_key()

    def crash(unsigned: Any) -> Any:
        raise TransientFault("the predecessor's Lambda died before signing")

    with pytest.raises(TransientFault):
        submitter.submit(slow, xrp_payment(funding.address, destination, 12_000_000), crash,
                         use_ticket=False)  # fmt: skip
    held = submitter.submit(
        waiting, xrp_payment(funding.address, destination, 1), funding.sign, use_ticket=False
    )
    assert held.status == "PREPARING" and held.tx_blob is None
    accept(ledger.rpc_url, LAST_LEDGER_WINDOW + 5)
    assert submitter.check(waiting, funding.sign).status == "PREPARING", "still not its turn"

    submitter.check(slow, funding.sign)
    sent = submitter.check(waiting, funding.sign)
    assert sent.status == "SUBMITTED" and sent.preliminary_result == "tesSUCCESS"
    accept(ledger.rpc_url)
    done = submitter.check(waiting, funding.sign)
    assert done.status == "SUCCEEDED"
    assert not done.expired_hashes and int(done.attempts) == 1
    assert balance(submitter, destination) == 12_000_001


def test_a_sequence_transaction_its_signer_refuses_while_undone_gives_its_sequence_back(
    submitter: Any, ledger: LocalLedger
) -> None:
    """A blocked investor's wallet signs nothing: undoing ends the transaction FAILED and the
    account's next transaction takes the Sequence, so the wallet never stalls on the gap."""
    from xrpl.core import keypairs

    from domain.signing_policy import SigningRefused
    from lambdas.custody.signed_transaction import sign_with
    from lambdas.records.tables import AccountSequenceRecord

    wallet = Wallet.create()
    fund(ledger.rpc_url, wallet.address, 100)
    destination = Wallet.create().address
    fund(ledger.rpc_url, destination, 20)

    def sign(tx: Any) -> Any:
        return sign_with(tx, wallet.public_key, lambda d: keypairs.sign(d, wallet.private_key))

    def refuse(tx: Any) -> Any:
        raise SigningRefused("investor is BLOCKED: their wallet signs nothing")

    def crash(tx: Any) -> Any:
        raise TransientFault("the step's Lambda died before signing")

    refused, later = new_key(), new_key()
    with pytest.raises(TransientFault):
        submitter.submit(refused, xrp_payment(wallet.address, destination, 5), crash,
                         use_ticket=False)  # fmt: skip
    sequence = int(submitter.find(refused).sequence)
    with pytest.raises(SigningRefused):
        submitter.check(refused, refuse)  # going forward, a refusal stays a refusal

    record = submitter.check(refused, refuse, undoing=True)

    assert record.status == "FAILED" and "not signed while undone" in str(record.result)
    assert AccountSequenceRecord.get(wallet.address, consistent_read=True).released == {sequence}
    reused = submitter.submit(later, xrp_payment(wallet.address, destination, 7), sign,
                              use_ticket=False)  # fmt: skip
    assert int(reused.sequence) == sequence
    accept(ledger.rpc_url)
    assert submitter.check(later, sign).status == "SUCCEEDED"
    assert balance(submitter, destination) == 20_000_007
    assert not AccountSequenceRecord.get(wallet.address, consistent_read=True).released
