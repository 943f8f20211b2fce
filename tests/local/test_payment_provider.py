"""The local stand-in for the payment provider: orders acted on once per idempotency key, and
the signed webhooks that follow, as the platform's webhook door verifies them."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from domain.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookRejected, verify
from local.payment_provider import PaymentProvider, WebhookAttempt
from tests.support.waiting import wait_for

SECRET = b"payments-webhook-secret"
API_KEY = "psp-api-key"
NOTHING_MORE_WITHIN = 0.2  # how long a test watches for a webhook that must not come
REPO = Path(__file__).resolve().parents[2]


class Platform:
    """The platform's POST /webhooks/payments as the provider meets it: each signature is
    verified and used once (a replay is 409); a test can arrange the next answers."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.refused: list[tuple[int, str]] = []
        self._arranged: list[tuple[int, bool]] = []
        self._signatures: set[str] = set()
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _platform_handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/payments"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Platform:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer_next(self, status: int, *, accept: bool = False) -> None:
        """Answer the next webhook `status`; `accept` keeps it all the same (a lost answer)."""
        with self._lock:
            self._arranged.append((status, accept))

    def receive(self, headers: dict[str, str], raw: bytes) -> int:
        with self._lock:
            status, accept = self._arranged.pop(0) if self._arranged else (202, True)
            if not accept:
                return status
            try:
                signed = verify(
                    SECRET, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), raw,
                    time.time(),
                )  # fmt: skip
            except WebhookRejected as rejected:
                self.refused.append((rejected.status, rejected.code))
                return rejected.status
            if signed.signature in self._signatures:
                return 409
            self._signatures.add(signed.signature)
            self.accepted.append(json.loads(raw))
            self._lock.notify_all()
            return status


def _platform_handler(platform: Platform) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            self.send_response(platform.receive(headers, raw))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def platform() -> Iterator[Platform]:
    with Platform() as running:
        yield running


def quick(provider: PaymentProvider) -> PaymentProvider:
    provider.first_retry_wait = 0.01
    provider.max_retry_wait = 0.04
    provider.max_attempts = 6
    return provider


@pytest.fixture
def provider(platform: Platform) -> Iterator[PaymentProvider]:
    with quick(PaymentProvider(API_KEY, SECRET, platform.url)) as running:
        yield running


def post(url: str, body: Any, api_key: str | None = API_KEY) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def payout_order(**changes: Any) -> dict[str, Any]:
    order = {
        "idempotency_key": "payout-wd-1",
        "withdrawal_id": "wd-1",
        "investor_id": "inv-1",
        "amount": "12.30",
        "currency": "EUR",
        "beneficiary": {"iban": "DE89370400440532013000", "name": "Ada Investor"},
    }
    return {**order, **changes}


def refund_order(**changes: Any) -> dict[str, Any]:
    order = {
        "idempotency_key": "refund-pu-1",
        "purchase_id": "pu-1",
        "payment_id": "pay-1",
        "amount": "250.00",
        "currency": "EUR",
        "reason": "purchase cancelled",
    }
    return {**order, **changes}


def delivered(provider: PaymentProvider, count: int = 1) -> list[dict[str, Any]]:
    return [w.body for w in provider.wait_for_webhooks(lambda w: True, count=count, timeout=5)]


def assert_nothing_more(provider: PaymentProvider, count: int) -> None:
    with pytest.raises(TimeoutError):
        provider.wait_for_webhooks(lambda w: True, count=count + 1, timeout=NOTHING_MORE_WITHIN)


def test_requests_without_the_api_key_are_refused(provider: PaymentProvider) -> None:
    for api_key in (None, "wrong", "Bearer " + API_KEY, ""):
        status, answer = post(provider.base_url + "/payouts", payout_order(), api_key)
        assert (status, answer["error"]) == (401, "unauthorized")
    assert [r.status for r in provider.requests()] == [401] * 4
    assert provider.actions() == []
    assert provider.webhooks() == []


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("/payouts", b"{not json", "JSON object"),
        ("/payouts", [payout_order()], "JSON object"),
        ("/payouts", payout_order(idempotency_key=None), "idempotency_key"),
        ("/payouts", payout_order(withdrawal_id=""), "withdrawal_id"),
        ("/payouts", payout_order(beneficiary={"iban": "DE89370400440532013000"}), "name"),
        ("/payouts", payout_order(amount="0.00"), "positive"),
        ("/payouts", payout_order(amount="-5"), "amount"),
        ("/payouts", payout_order(amount="1.234"), "amount"),
        ("/payouts", payout_order(amount="12,30"), "amount"),
        ("/payouts", payout_order(amount="NaN"), "amount"),
        ("/payouts", payout_order(amount=12.3), "amount"),
        ("/refunds", refund_order(payment_id=" "), "payment_id"),
        ("/refunds", refund_order(currency=None), "currency"),
        ("/refunds", refund_order(reason=7), "reason"),
    ],
)
def test_malformed_orders_are_refused(
    provider: PaymentProvider, path: str, body: Any, problem: str
) -> None:
    status, answer = post(provider.base_url + path, body)
    assert (status, answer["error"]) == (422, "invalid_request")
    assert problem in answer["reason"]
    assert [r.status for r in provider.requests()] == [422]
    assert provider.actions() == []


def test_a_payout_is_acted_on_once_and_answered_by_a_signed_webhook(
    provider: PaymentProvider, platform: Platform
) -> None:
    status, answer = post(provider.base_url + "/payouts", payout_order())
    assert status == 202
    assert answer["status"] == "received"
    assert re.fullmatch(r"payout_[0-9a-f]{12}", answer["reference"])

    [webhook] = delivered(provider)
    assert platform.accepted == [webhook]  # verified: signed with the secret, fresh
    assert platform.refused == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", webhook.pop("occurred_at"))
    assert webhook == {
        "event": "payout.paid",
        "payout_id": answer["reference"],
        "withdrawal_id": "wd-1",
        "amount": "12.30",
        "currency": "EUR",
    }
    [action] = provider.actions()
    assert (action.kind, action.key, action.business_reference) == ("payout", "payout-wd-1", "wd-1")
    assert action.reference == answer["reference"]
    assert (action.amount, action.currency) == (Decimal("12.30"), "EUR")
    assert action.outcomes == ["paid"]
    assert [w["event"] for w in action.webhooks] == ["payout.paid"]
    [request] = provider.requests()
    assert (request.path, request.status) == ("/payouts", 202)
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


def test_a_refund_is_acted_on_once_and_answered_by_a_signed_webhook(
    provider: PaymentProvider, platform: Platform
) -> None:
    status, answer = post(provider.base_url + "/refunds", refund_order())
    assert status == 202
    assert answer["reference"].startswith("refund_")
    [webhook] = delivered(provider)
    assert platform.accepted == [webhook]
    del webhook["occurred_at"]
    assert webhook == {
        "event": "refund.succeeded",
        "refund_id": answer["reference"],
        "purchase_id": "pu-1",
        "amount": "250.00",
        "currency": "EUR",
    }
    [action] = provider.actions()
    assert (action.kind, action.business_reference) == ("refund", "pu-1")
    assert action.outcomes == ["succeeded"]


def test_a_repeated_key_gets_the_same_reference_and_no_second_action(
    provider: PaymentProvider, platform: Platform
) -> None:
    answers = [post(provider.base_url + "/payouts", payout_order()) for _ in range(3)]
    assert [status for status, _ in answers] == [202, 200, 200]
    assert len({answer["reference"] for _, answer in answers}) == 1
    delivered(provider)
    assert_nothing_more(provider, count=1)
    assert len(provider.actions()) == 1
    assert len(platform.accepted) == 1
    # The same order spelt "12.3" is the same order, not a conflict.
    assert post(provider.base_url + "/payouts", payout_order(amount="12.3"))[0] == 200


def test_copies_arriving_together_are_acted_on_once(provider: PaymentProvider) -> None:
    statuses: list[int] = []
    senders = [
        threading.Thread(
            target=lambda: statuses.append(post(provider.base_url + "/refunds", refund_order())[0])
        )
        for _ in range(8)
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert sorted(statuses) == [200] * 7 + [202]
    delivered(provider)
    assert_nothing_more(provider, count=1)
    assert len(provider.actions()) == 1


def test_a_repeated_key_with_another_order_is_a_conflict(provider: PaymentProvider) -> None:
    assert post(provider.base_url + "/payouts", payout_order())[0] == 202
    for path, body in (
        ("/payouts", payout_order(amount="99.00")),
        ("/payouts", payout_order(withdrawal_id="wd-2")),
        ("/refunds", refund_order(idempotency_key="payout-wd-1")),
    ):
        status, answer = post(provider.base_url + path, body)
        assert (status, answer["error"]) == (409, "idempotency_conflict")
    delivered(provider)
    assert_nothing_more(provider, count=1)
    assert len(provider.actions()) == 1
    assert [r.status for r in provider.requests()] == [202, 409, 409, 409]


def test_arranged_failures_come_before_anything_is_done(provider: PaymentProvider) -> None:
    provider.fail_next(2, status=503)
    statuses = [post(provider.base_url + "/payouts", payout_order())[0] for _ in range(4)]
    assert statuses == [503, 503, 202, 200]
    delivered(provider)
    assert len(provider.actions()) == 1
    assert [r.status for r in provider.requests()] == statuses


def test_a_plan_sends_its_webhooks_in_order(provider: PaymentProvider) -> None:
    provider.plan("wd-1", "paid", "returned")
    _, answer = post(provider.base_url + "/payouts", payout_order())
    paid, returned = delivered(provider, count=2)
    assert (paid["event"], returned["event"]) == ("payout.paid", "payout.returned")
    assert paid["payout_id"] == returned["payout_id"] == answer["reference"]
    assert "reason" not in paid
    assert returned["reason"] == "beneficiary bank rejected the transfer"
    assert provider.actions()[0].outcomes == ["paid", "returned"]


def test_failures_carry_a_reason_and_a_plan_is_used_once(provider: PaymentProvider) -> None:
    provider.plan("wd-1", "failed", reason="account closed by the investor")
    provider.plan("pu-1", "failed")
    post(provider.base_url + "/payouts", payout_order())
    post(provider.base_url + "/refunds", refund_order())
    failures = {w["event"]: w for w in delivered(provider, count=2)}
    assert failures["payout.failed"]["reason"] == "account closed by the investor"
    assert failures["refund.failed"]["reason"] == "the card issuer declined the refund"

    post(provider.base_url + "/payouts", payout_order(idempotency_key="payout-wd-1-again"))
    [again] = provider.wait_for_webhooks(lambda w: w.body["event"] == "payout.paid", timeout=5)
    assert again.body["withdrawal_id"] == "wd-1"
    with pytest.raises(ValueError):
        provider.plan("wd-3", "bounced")


def test_held_webhooks_wait_for_their_release(provider: PaymentProvider) -> None:
    provider.hold("wd-1")
    assert post(provider.base_url + "/payouts", payout_order())[0] == 202
    assert_nothing_more(provider, count=0)
    assert provider.sending() == 0  # held: nothing to wait for until it is released
    provider.release("wd-1")
    assert [w["event"] for w in delivered(provider)] == ["payout.paid"]
    wait_for(lambda: provider.sending() == 0, timeout=5)


def test_a_delay_makes_a_late_answer(provider: PaymentProvider) -> None:
    provider.plan("pu-1", "succeeded", delay=0.3)
    started = time.monotonic()
    assert post(provider.base_url + "/refunds", refund_order())[0] == 202
    assert provider.sending() == 1  # a test waiting for the provider to be done waits for it
    assert time.monotonic() - started < 0.3  # the order is answered, its webhook comes later
    [webhook] = provider.wait_for_webhooks(lambda w: True, timeout=5)
    assert webhook.time - provider.requests()[0].time >= 0.3


def test_a_webhook_the_platform_could_not_take_is_retried(
    provider: PaymentProvider, platform: Platform
) -> None:
    platform.answer_next(503)
    post(provider.base_url + "/payouts", payout_order())
    delivered(provider)
    assert [(w.status, w.attempt) for w in provider.webhooks()] == [(503, 1), (202, 2)]
    attempts = provider.webhooks()
    assert attempts[0].body == attempts[1].body
    assert len(platform.accepted) == 1
    assert len(provider.actions()[0].webhooks) == 1


def test_a_platform_throttling_for_longer_than_a_burst_of_retries_still_gets_the_webhook(
    platform: Platform,
) -> None:
    """A provider retries for days; the stand-in's default schedule outlasts a throttled webhook
    door (the mixed load's), as six quick attempts did not."""
    schedule = PaymentProvider(API_KEY, SECRET, platform.url)
    schedule.first_retry_wait = schedule.max_retry_wait = 0.01  # its attempts, not its waits
    for _ in range(12):
        platform.answer_next(500)
    with schedule:
        assert schedule.send_webhook({"event": "payout.paid", "payout_id": "payout_1"}) == 202
    assert [w.attempt for w in schedule.webhooks()][-1] == 13
    assert len(platform.accepted) == 1


def test_an_accepted_webhook_whose_answer_was_lost_is_a_replay_not_a_second_one(
    provider: PaymentProvider, platform: Platform
) -> None:
    platform.answer_next(503, accept=True)
    assert provider.send_webhook({"event": "payout.paid", "payout_id": "payout_1"}) == 409
    assert [w.status for w in provider.webhooks()] == [503, 409]
    assert [w.delivered for w in provider.webhooks()] == [False, True]
    assert len(platform.accepted) == 1


@pytest.mark.parametrize(("answer", "attempts"), [(409, [409]), (400, [400]), (429, [429, 202])])
def test_what_the_platform_answers_decides_a_retry(
    provider: PaymentProvider, platform: Platform, answer: int, attempts: list[int]
) -> None:
    platform.answer_next(answer)
    assert provider.send_webhook({"event": "refund.succeeded"}) == attempts[-1]
    assert [w.status for w in provider.webhooks()] == attempts


def test_an_unreachable_platform_is_tried_a_bounded_number_of_times(
    provider: PaymentProvider, platform: Platform
) -> None:
    provider.webhook_url = None  # not known yet: the platform starts after the provider
    assert provider.send_webhook({"event": "payout.paid"}) is None
    attempts = provider.webhooks()
    assert [w.attempt for w in attempts] == [1, 2, 3, 4, 5, 6]
    assert all(w.status is None and w.error for w in attempts)
    gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(attempts)]
    waits = [0.01, 0.02, 0.04, 0.04, 0.04]  # doubling from quick()'s first wait, capped
    assert all(gap >= wait - 0.002 for gap, wait in zip(gaps, waits, strict=True))

    provider.webhook_url = platform.url
    assert provider.send_webhook({"event": "payout.paid"}) == 202


def test_a_restart_with_the_log_keeps_every_key_acted_on(
    tmp_path: Path, platform: Platform
) -> None:
    log = tmp_path / "logs" / "payment-provider.jsonl"
    with quick(PaymentProvider(API_KEY, SECRET, platform.url, log_file=log)) as first:
        _, answer = post(first.base_url + "/payouts", payout_order())
        delivered(first)

    with quick(PaymentProvider(API_KEY, SECRET, platform.url, log_file=log)) as second:
        assert [r.status for r in second.requests()] == [202]
        status, again = post(second.base_url + "/payouts", payout_order())
        assert (status, again["reference"]) == (200, answer["reference"])
        assert post(second.base_url + "/payouts", payout_order(amount="1.00"))[0] == 409
        assert_nothing_more(second, count=1)  # the one delivered before the restart
        [action] = second.actions()
        assert action.amount == Decimal("12.30")
        assert [w["event"] for w in action.webhooks] == ["payout.paid"]
        assert [r.status for r in second.requests()] == [202, 200, 409]
    assert len(platform.accepted) == 1


def test_the_records_are_served_as_json(provider: PaymentProvider) -> None:
    post(provider.base_url + "/payouts", payout_order())
    delivered(provider)
    [request] = get(provider.base_url + "/requests")
    [action] = get(provider.base_url + "/actions")
    [webhook] = get(provider.base_url + "/webhooks")
    assert (request["path"], request["status"]) == ("/payouts", 202)
    assert request["body"] == payout_order()
    assert (action["key"], action["amount"]) == ("payout-wd-1", "12.30")
    assert action["outcomes"] == ["paid"]
    assert (webhook["status"], webhook["delivered"]) == (202, True)
    assert webhook["body"]["event"] == "payout.paid"
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(provider.base_url + "/elsewhere")
    assert missing.value.code == 404
    assert post(provider.base_url + "/elsewhere", {})[0] == 404


def test_it_runs_as_a_process(tmp_path: Path, platform: Platform) -> None:
    (tmp_path / "secret").write_bytes(SECRET + b"\n")
    (tmp_path / "key").write_text(API_KEY + "\n")
    command = [
        sys.executable, "-m", "local.payment_provider", "--port", "0",
        "--log-file", str(tmp_path / "log.jsonl"), "--webhook-url", platform.url,
        "--webhook-secret-file", str(tmp_path / "secret"), "--api-key-file", str(tmp_path / "key"),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        base_url = re.fullmatch(r"payment provider ready url=(\S+)\n", ready)
        assert base_url is not None, ready
        assert post(base_url[1] + "/refunds", refund_order())[0] == 202
        webhooks: list[dict[str, Any]] = []
        deadline = time.monotonic() + 5
        while not webhooks and time.monotonic() < deadline:
            webhooks = [w for w in get(base_url[1] + "/webhooks") if w["delivered"]]
            time.sleep(0.02)
        assert [w["body"]["event"] for w in webhooks] == ["refund.succeeded"]
        assert platform.accepted == [w["body"] for w in webhooks]
    finally:
        process.terminate()
        process.wait(5)
        assert process.stdout is not None
        process.stdout.close()


def test_delivered_means_accepted_or_already_accepted() -> None:
    def attempt(status: int | None) -> WebhookAttempt:
        return WebhookAttempt({}, status, None, 0.0, 1, None)

    assert [attempt(s).delivered for s in (200, 202, 409, 400, 429, 503, None)] == [
        True, True, True, False, False, False, False,
    ]  # fmt: skip


def test_a_plan_can_be_set_over_http_by_another_process() -> None:
    with PaymentProvider("key", b"secret") as provider:
        planned = _post_json(
            provider.base_url + "/plans",
            {"reference": "wd-http", "outcomes": ["paid", "returned"], "reason": "account closed"},
        )
        refused = _post_json(provider.base_url + "/plans", {"reference": "x", "outcomes": ["lost"]})

        order = {
            "idempotency_key": "payout-wd-http", "withdrawal_id": "wd-http",
            "investor_id": "inv-1", "amount": "5.00", "currency": "EUR",
            "beneficiary": {"iban": "DE89370400440532013000", "name": "Ada"},
        }  # fmt: skip
        status, _, _ = provider.receive(
            "/payouts", {"authorization": "Bearer key"}, json.dumps(order).encode()
        )

        assert planned == (200, {"planned": "wd-http"})
        assert refused[0] == 422 and "lost" in str(refused[1]["reason"])
        assert status == 202
        assert [a.outcomes for a in provider.actions()] == [["paid", "returned"]]


def _post_json(url: str, document: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, data=json.dumps(document).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def settlement_report(
    provider: PaymentProvider, until: str | None = None, api_key: str | None = API_KEY
) -> tuple[int, Any]:
    query = "" if until is None else "?" + urllib.parse.urlencode({"until": until})
    headers = {} if api_key is None else {"Authorization": f"Bearer {api_key}"}
    request = urllib.request.Request(provider.base_url + "/settlements" + query, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def test_the_settlement_report_lists_money_in_and_out_once_settled(
    provider: PaymentProvider,
) -> None:
    provider.capture("pay-1", "250.00")
    provider.plan("wd-1", "paid", "returned")
    post(provider.base_url + "/payouts", payout_order())
    provider.plan("wd-2", "failed")  # never reached a bank: nothing settled
    post(provider.base_url + "/payouts", payout_order(idempotency_key="p-2", withdrawal_id="wd-2"))
    post(provider.base_url + "/refunds", refund_order())
    delivered(provider, count=4)
    status, report = settlement_report(provider)
    assert status == 200
    lines = sorted(
        (line["kind"], line["outcome"], line["reference"], line["amount"])
        for line in report["settlements"]
    )
    assert lines == [
        ("payment", "captured", "pay-1", "250.00"),
        ("payout", "paid", "wd-1", "12.30"),
        ("payout", "returned", "wd-1", "12.30"),
        ("refund", "succeeded", "pu-1", "250.00"),
    ]
    times = [datetime.fromisoformat(line["settled_at"]) for line in report["settlements"]]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)


def test_the_report_stops_at_until_and_needs_the_api_key(provider: PaymentProvider) -> None:
    provider.capture("pay-1", "10.00")
    before = datetime.now(UTC) - timedelta(hours=1)
    assert settlement_report(provider, before.isoformat()) == (200, {"settlements": []})
    assert len(settlement_report(provider, datetime.now(UTC).isoformat())[1]["settlements"]) == 1
    for api_key in (None, "wrong"):
        assert settlement_report(provider, api_key=api_key)[0] == 401
    assert settlement_report(provider, "yesterday")[0] == 422
    assert settlement_report(provider, "2026-12-05T00:00:00")[0] == 422  # no time zone


def test_a_capture_is_taken_once_and_a_different_amount_is_refused(
    provider: PaymentProvider,
) -> None:
    first = provider.capture("pay-1", "99.99")
    assert provider.capture("pay-1", Decimal("99.99")) == first
    with pytest.raises(ValueError, match=r"captured as 99\.99"):
        provider.capture("pay-1", "100.00")
    status, answer = post(provider.base_url + "/payments", {"payment_id": "pay-2", "amount": "5"})
    assert (status, answer["reference"], answer["amount"]) == (200, "pay-2", "5.00")
    assert post(provider.base_url + "/payments", {"payment_id": "pay-2", "amount": "6"})[0] == 422
    assert post(provider.base_url + "/payments", {"amount": "6"})[0] == 422
    assert len(settlement_report(provider)[1]["settlements"]) == 2


def test_captures_and_settlements_survive_a_restart(tmp_path: Path, platform: Platform) -> None:
    log = tmp_path / "payment-provider.jsonl"
    with quick(PaymentProvider(API_KEY, SECRET, platform.url, log_file=log)) as first:
        first.capture("pay-1", "40.00")
        post(first.base_url + "/payouts", payout_order())
        delivered(first)
        report = settlement_report(first)[1]
    with quick(PaymentProvider(API_KEY, SECRET, platform.url, log_file=log)) as second:
        assert settlement_report(second)[1] == report
        with pytest.raises(ValueError):
            second.capture("pay-1", "41.00")
