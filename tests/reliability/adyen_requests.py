"""Generated Adyen notifications (batches of items, signed, unsigned, tampered, malformed), sent
over HTTP to the Adyen door and judged: no 5xx, each kept with its outcome and reason, each
refusal explained, and only what must be taken taken: items Drexfy has no use for are
acknowledged, answers about payouts or refunds nobody asked for and payments not attributed to
an instrument sold here are refused (the workflows are paused: nothing moves)."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from domain import adyen
from domain.webhooks import MAX_BODY_BYTES
from tests.reliability.http_client import send
from tests.reliability.tally import Tally
from tests.reliability.webhook_requests import CATALOGUE, IDENTIFIER, JSON_VALUES, kept_problem

PROBLEMS = ("server_errors", "lost", "unexplained", "misjudged")
FORMAT = DOOR = "adyen"  # lambdas/ingress/formats.py's ADYEN, at /webhooks/adyen
_PSP_REFERENCES = itertools.count(int(time.time() * 1000))
IGNORED = ("REPORT_AVAILABLE", "CAPTURE", "CANCELLATION", "PENDING", "CHARGEBACK")
# What became of a payout or a refund: every code domain/adyen.py maps, so none is left out.
ANSWERS = tuple(sorted({code for code, _ in adyen._OUTCOMES}))
SIGNINGS = {"good": 6, "unsigned": 1, "wrong key": 1, "tampered": 1}  # weights


@dataclass(frozen=True)
class AdyenCase:
    items: tuple[dict[str, Any], ...]
    signing: str
    form: str  # "batch", "not json", "empty", "huge", "any json"
    raw_json: Any

    def body(self, key: str) -> bytes:
        if self.form == "not json":
            return b"notificationItems=" + json.dumps(self.items).encode()
        if self.form == "any json":
            return json.dumps(self.raw_json).encode()
        if self.form == "empty":
            return json.dumps({"live": "false", "notificationItems": []}).encode()
        items = [
            self._signed(key, dict(i, additionalData=dict(i["additionalData"]))) for i in self.items
        ]
        document: dict[str, Any] = {
            "live": "false",
            "notificationItems": [{"NotificationRequestItem": i} for i in items],
        }
        if self.form == "huge":
            document["padding"] = "x" * (MAX_BODY_BYTES + 1)
        return json.dumps(document).encode()

    def _signed(self, key: str, item: dict[str, Any]) -> dict[str, Any]:
        if self.signing == "unsigned":
            return item
        signing_key = "00" * 32 if self.signing == "wrong key" else key
        item["additionalData"]["hmacSignature"] = adyen.hmac_signature(signing_key, item)
        if self.signing == "tampered":
            item["amount"] = {**item["amount"], "value": item["amount"]["value"] + 1}
        return item

    def expected(self) -> int | None:
        """The status it must get; None where 400 or 422 are both right."""
        if self.form == "huge":
            return 413
        if self.form in ("not json", "any json"):
            return None
        if self.form == "empty":
            return 422
        if self.signing != "good":
            return 401
        if any(i["eventCode"] in ANSWERS for i in self.items):
            return 422  # an answer about a payout or refund nobody asked for
        payments = [i for i in self.items if i["eventCode"] == "AUTHORISATION"]
        if any(i["success"] == "true" and not _sold_here(i) for i in payments):
            return 422
        return 202

    def describe(self) -> str:
        codes = [i["eventCode"] for i in self.items]
        return f"adyen {self.form} {self.signing} {codes}"


def taken_by_the_provider(case: AdyenCase) -> list[tuple[str, Decimal, str]]:
    """(payment id, amount, currency) of each payment Adyen took in a batch the platform is to
    accept: its successful authorisations (EUR: two decimals of minor units)."""
    if case.expected() != 202:
        return []
    return [
        (str(i["pspReference"]), Decimal(i["amount"]["value"]).scaleb(-2), i["amount"]["currency"])
        for i in case.items
        if i["eventCode"] == "AUTHORISATION" and i["success"] == "true"
    ]


def _copy(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "additionalData": dict(item["additionalData"])}


def _sold_here(item: dict[str, Any]) -> bool:
    parts = str(item["merchantReference"]).split("/")
    if len(parts) != 3 or parts[1] not in CATALOGUE or not parts[2].isdigit():
        return False
    units = int(parts[2])
    return 0 < units < 10**9 and 0 < item["amount"]["value"] <= 10_000_000  # within the maximum


def _item(code: str, reference: str, value: int, success: str) -> dict[str, Any]:
    return {
        "eventCode": code, "success": success,
        "pspReference": f"PSP{next(_PSP_REFERENCES)}",  # one per item: no payment conflicts
        "merchantAccountCode": "DrexfyEU", "merchantReference": reference,
        "amount": {"value": value, "currency": "EUR"}, "eventDate": "2026-12-01T10:00:00+01:00",
        "additionalData": {},
    }  # fmt: skip


def _items(codes: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    attributed = st.builds(
        lambda i, c, u: f"{i}/{c}/{u}", IDENTIFIER, st.sampled_from(CATALOGUE), st.integers(1, 50)
    )
    references = st.one_of(attributed, IDENTIFIER, st.text(min_size=1, max_size=30))
    return st.builds(
        _item, codes, references, st.integers(0, 10**7), st.sampled_from(["true", "false"])
    )


def adyen_cases(first: st.SearchStrategy[str]) -> st.SearchStrategy[AdyenCase]:
    """Batches whose first item's code is one of `first`; up to two more of any code."""
    signings = [name for name, weight in SIGNINGS.items() for _ in range(weight)]
    forms = st.sampled_from(["batch"] * 8 + ["not json", "empty", "huge", "any json"])
    more = _items(st.sampled_from(["AUTHORISATION", *IGNORED, *ANSWERS]))
    return st.builds(
        AdyenCase,
        items=st.tuples(_items(first), st.lists(more, max_size=2)).map(lambda t: (t[0], *t[1])),
        signing=st.sampled_from(signings),
        form=forms,
        raw_json=JSON_VALUES,
    )


def families() -> dict[str, st.SearchStrategy[AdyenCase]]:
    """One family per code Drexfy acts on, and one of codes it only acknowledges: a run gives
    each an equal share, so every one is sent at any scale."""
    acted_on = {code: adyen_cases(st.just(code)) for code in ("AUTHORISATION", *ANSWERS)}
    return {**acted_on, "acknowledged only": adyen_cases(st.sampled_from(IGNORED))}


def post(api_url: str, body: bytes) -> tuple[int, Any, str]:
    headers = [("Content-Type", "application/json")]
    status, answer, received = send(api_url, "POST", f"/webhooks/{DOOR}", headers, body)
    return status, answer, received.get("apigw-requestid", "")


def judge(tally: Tally, case: AdyenCase, body: bytes, answered: tuple[int, Any, str]) -> None:
    status, answer, request_id = answered
    tally.sent()
    what = f"{status} {str(answer)[:200]} for {case.describe()}"
    expected = case.expected()
    if status >= 500:
        tally.problem("server_errors", what)
    elif status == 202:
        tally.count("accepted")
        if answer != adyen.ADYEN_ACCEPTED:
            tally.problem("unexplained", what)
    elif not (isinstance(answer, dict) and set(answer) == {"error", "reason"}):
        tally.problem("unexplained", what)
    if status != expected and not (expected is None and status in (400, 422)):
        tally.problem("misjudged", f"expected {expected}: {what}")
    if status != 413 or request_id:  # the gateway refuses the largest before any function
        problem = kept_problem(request_id, status, _as_kept(answer, status), body)
        if problem is not None and not problem.startswith("kept without the event id"):
            tally.problem("lost", f"{problem}: {what}")


def _as_kept(answer: Any, status: int) -> Any:
    """The answer as the record compares it: Adyen's is text, not {"event_id"}."""
    return answer if status >= 300 else {"event_id": None}
