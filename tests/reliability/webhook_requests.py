"""Generated webhook requests in Drexfy's own format (bodies, headers, signatures) for each door
that takes it (payments, KYC/AML, the servicer's collections), sent to the handlers in this
process or over HTTP through the local gateway, and judged: no 5xx, each one kept with its
outcome and reason, each refusal explained, and nothing accepted that should not be."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from domain.purchase import MAX_PURCHASE_AMOUNT
from domain.webhooks import (
    COLLECTION_EVENTS,
    FRESHNESS_SECONDS,
    KEPT_PREFIX_BYTES,
    KYC_EVENTS,
    MAX_BODY_BYTES,
    PAYMENT_EVENTS,
    sign,
)
from tests.reliability.http_client import send
from tests.reliability.tally import Tally

FORMAT = "drexfy"  # lambdas/ingress/formats.py's DREXFY
# The doors that take it (/webhooks/<door>), and the provider events each takes.
EVENTS = {"payments": PAYMENT_EVENTS, "kyc": KYC_EVENTS, "collections": COLLECTION_EVENTS}
PROVIDERS = tuple(EVENTS)
DYNAMODB_ITEM_LIMIT = 400 * 1024
REFUSED_ITEM_LIMIT = 16 * 1024  # a refused request's record: its first 2 KiB, never all of it
CATALOGUE = ("SME-2027-A", "SME-2028-B")  # catalogue/instruments.json, bootstrapped
PROBLEMS = ("server_errors", "lost", "unexplained", "misjudged")

IDENTIFIER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
IDENTIFIER = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}\Z")
NOT_IDENTIFIER = st.one_of(
    st.sampled_from(["", " ", "-leading", "a b", "a/b", "é", "a" * 65, "inv\u0000", "_x"]),
    st.text(max_size=80).filter(lambda s: IDENTIFIER_RE.fullmatch(s) is None),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
NOT_A_STRING = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.lists(st.none()))


# --- bodies ------------------------------------------------------------------------------------


def _amounts() -> st.SearchStrategy[str]:
    """Mostly within the per-purchase maximum; over it sometimes (refused at the door)."""
    most = int(MAX_PURCHASE_AMOUNT * 100)
    within = st.integers(1, most).map(lambda c: f"{c // 100}.{c % 100:02d}")
    over = st.integers(most + 1, 10**12).map(lambda c: f"{c // 100}.{c % 100:02d}")
    return st.one_of(within, within, st.integers(1, int(MAX_PURCHASE_AMOUNT)).map(str), over)


def _valid_payment() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "event": st.just("payment.succeeded"),
            "payment_id": IDENTIFIER,
            "investor_id": IDENTIFIER,
            "instrument_id": st.one_of(
                st.sampled_from(CATALOGUE), st.sampled_from(CATALOGUE), IDENTIFIER
            ),  # unknown ones are refused at the door
            "units": st.integers(1, 10**9 - 1),
            "amount": _amounts(),
            "currency": st.just("EUR"),
        }
    )


def _moments() -> st.SearchStrategy[str]:
    zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
    latest = datetime.now() - timedelta(days=1)
    when = st.datetimes(min_value=_naive(2000), max_value=latest, timezones=zones)
    return when.map(lambda d: d.isoformat()) | st.just("2026-11-26T10:00:00Z")


def _valid_answer(event: str) -> st.SearchStrategy[dict[str, Any]]:
    """The provider's word on a payout or a refund: well-formed, about an id nobody asked it
    to pay (the door refuses it: unknown_payout, unknown_refund)."""
    payout = event.startswith("payout.")
    ids = ("payout_id", "withdrawal_id") if payout else ("refund_id", "purchase_id")
    return st.fixed_dictionaries(
        {
            "event": st.just(event),
            ids[0]: IDENTIFIER,
            ids[1]: IDENTIFIER,
            "amount": _amounts(),
            "currency": st.just("EUR"),
            "occurred_at": _moments(),
        },
        optional={"reason": st.text(max_size=500)},
    )


PAYOUT_ACCOUNTS = st.fixed_dictionaries(
    {
        "iban": st.sampled_from(["DE89 3704 0044 0532 0130 00", "FR1420041010050500013M02606"]),
        "holder_name": st.text(min_size=1, max_size=140),
    }
)


def _valid_kyc(event: str) -> st.SearchStrategy[dict[str, Any]]:
    # A decision is dated at most a few minutes ahead of us (domain.compliance): up to a day ago.
    return st.fixed_dictionaries(
        {
            "event": st.just(event),
            "investor_id": IDENTIFIER,
            "case_id": IDENTIFIER,
            "occurred_at": _moments(),
        },
        optional={"reason": st.text(max_size=500), "payout_account": PAYOUT_ACCOUNTS},
    )


def _valid_collection(event: str) -> st.SearchStrategy[dict[str, Any]]:
    """The servicer's word on cash collected from an SME pool: any positive amount."""
    return st.fixed_dictionaries(
        {
            "event": st.just(event),
            "collection_id": IDENTIFIER,
            "sme_pool": IDENTIFIER,
            "amount": _amounts(),
            "currency": st.just("EUR"),
            "collected_at": _moments(),
        }
    )


def _naive(year: int) -> datetime:
    return datetime(year, 1, 1)


BODIES_OF_KIND = {  # by the event's first word
    "payment": lambda _: _valid_payment(), "payout": _valid_answer, "refund": _valid_answer,
    "kyc": _valid_kyc, "aml": _valid_kyc, "collection": _valid_collection,
}  # fmt: skip


@functools.cache
def valid(event: str) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies of the event its door accepts as valid."""
    build = BODIES_OF_KIND.get(event.split(".")[0])
    if build is None:  # a new kind of provider event: the harness must learn its bodies
        raise KeyError(f"no valid body for {event}: add its kind to BODIES_OF_KIND")
    return build(event)


def valid_at(provider: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies of any of the door's events."""
    return st.sampled_from(sorted(EVENTS[provider])).flatmap(valid)


KNOWN_EVENTS = PAYMENT_EVENTS | KYC_EVENTS | COLLECTION_EVENTS
MOMENTS_NEVER = (
    NOT_A_STRING.filter(lambda v: not isinstance(v, (int, float)))
    | st.sampled_from(["yesterday", "2026-13-01T00:00:00Z", "2026-11-26T10:00:00", ""])
    | st.sampled_from(["2999-01-01T00:00:00Z", "2100-06-01T12:00:00+02:00"])  # the future
)
# Values each field can never take (so a body carrying one is invalid, whatever else it holds).
NEVER = {
    "event": NOT_A_STRING | st.text(max_size=30).filter(lambda e: e not in KNOWN_EVENTS),
    "payment_id": NOT_A_STRING | NOT_IDENTIFIER,
    "investor_id": NOT_A_STRING | NOT_IDENTIFIER,
    "instrument_id": NOT_A_STRING | NOT_IDENTIFIER,
    "case_id": NOT_A_STRING | NOT_IDENTIFIER,
    "payout_id": NOT_A_STRING | NOT_IDENTIFIER,
    "withdrawal_id": NOT_A_STRING | NOT_IDENTIFIER,
    "refund_id": NOT_A_STRING | NOT_IDENTIFIER,
    "purchase_id": NOT_A_STRING | NOT_IDENTIFIER,
    "collection_id": NOT_A_STRING | NOT_IDENTIFIER,
    "sme_pool": NOT_A_STRING | NOT_IDENTIFIER,
    "units": st.one_of(
        st.none(), st.booleans(), st.floats(), st.text(max_size=5), st.integers(max_value=0),
        st.integers(min_value=10**9), st.just([1]),
    ),
    "amount": st.one_of(
        st.floats(), st.integers(), st.none(),
        st.sampled_from(["0", "-1", "0.00", "1.001", "abc", "NaN", "Infinity", "-Infinity",
                         "1e30", "1E+5000000000", "", "1,00", "9" * 40, "0x10"]),
    ),
    "currency": NOT_A_STRING | st.sampled_from(["USD", "eur", "", "EURO", "€"]),
    "occurred_at": MOMENTS_NEVER,
    "collected_at": MOMENTS_NEVER,
    "reason": st.text(min_size=501, max_size=600) | st.integers() | st.lists(st.none()),
    # null is no account, as for any optional field: never a wrong value
    "payout_account": NOT_A_STRING.filter(lambda v: v is not None) | st.sampled_from([
        {"iban": "DE89370400440532013001", "holder_name": "A"},  # a wrong check digit
        {"iban": "DE89 3704", "holder_name": "A"}, {"iban": "GB82WEST12345698765432"},
        {"iban": "GB82WEST12345698765432", "holder_name": ""}, {"holder_name": "A"},
    ]),
}  # fmt: skip
REQUIRED = {
    "payment": ["event", "payment_id", "investor_id", "instrument_id", "units", "amount",
                "currency"],
    "payout": ["event", "payout_id", "withdrawal_id", "amount", "currency", "occurred_at"],
    "refund": ["event", "refund_id", "purchase_id", "amount", "currency", "occurred_at"],
    "kyc": ["event", "investor_id", "case_id", "occurred_at"],
    "collection": ["event", "collection_id", "sme_pool", "amount", "currency", "collected_at"],
}  # fmt: skip
OPTIONAL = {"kyc": ["reason", "payout_account"], "payout": ["reason"], "refund": ["reason"]}


def kind_of(body: dict[str, Any]) -> str:
    """Which of REQUIRED's shapes a valid body has, by its event."""
    kind = str(body.get("event")).split(".")[0]
    return kind if kind in REQUIRED else "kyc"  # kyc.* and aml.*


def _mutated(valid_bodies: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid body with one thing wrong: a required field gone, a field with a value it can
    never take, or a field the provider never sends."""

    def fields(body: dict[str, Any]) -> list[str]:
        kind = kind_of(body)
        return REQUIRED[kind] + OPTIONAL.get(kind, [])

    def wrong_value(body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        return st.sampled_from(fields(body)).flatmap(
            lambda name: NEVER[name].map(lambda value: {**body, name: value})
        )

    def dropped(body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        return st.sampled_from(REQUIRED[kind_of(body)]).map(
            lambda name: {k: v for k, v in body.items() if k != name}
        )

    def unknown(body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        names = st.text(max_size=12).filter(lambda n: n not in fields(body))
        return st.tuples(names, JSON_VALUES).map(lambda kv: {**body, kv[0]: kv[1]})

    return valid_bodies.flatmap(
        lambda body: st.one_of(wrong_value(body), dropped(body), unknown(body))
    )


def _huge(valid_bodies: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    """Near and over the 256 KB limit, up to a few MB: padded, binary, deeply nested JSON, and
    a huge value the refusal would quote."""
    sizes = st.sampled_from([50_000, MAX_BODY_BYTES - 64, MAX_BODY_BYTES + 1, 1_000_000, 4_000_000])

    def build(kind: str, size: int, body: dict[str, Any]) -> bytes:
        if kind == "padded":
            return json.dumps({**body, "padding": "x" * size}).encode()
        if kind == "binary":
            return b"\xff" * size  # 3 bytes each once decoded with replacement characters
        if kind == "nested":
            return b'{"a": ' + b"[" * size + b"]" * size + b"}"
        return json.dumps({**body, "event": "e" * size}).encode()  # "quoted"

    kinds = st.sampled_from(["padded", "binary", "nested", "quoted"])
    return st.builds(build, kinds, sizes, valid_bodies)


@dataclass(frozen=True)
class Body:
    raw: bytes
    valid: bool  # the provider's model accepts it


def bodies(provider: str, event: str) -> st.SearchStrategy[Body]:
    """Bodies sent to a door: of one of its events (valid, or with one thing wrong), another
    door's, and no body of any event at all."""
    others = st.sampled_from([p for p in PROVIDERS if p != provider])
    kinds: dict[str, tuple[int, st.SearchStrategy[bytes]]] = {
        "valid": (6, valid(event).map(_encoded)),
        "mutated": (5, _mutated(valid(event)).map(_encoded)),
        "other provider": (1, others.flatmap(valid_at).map(_encoded)),
        "any JSON": (2, JSON_VALUES.map(_encoded)),
        "text": (1, st.text(max_size=200).map(str.encode)),
        "binary": (1, st.binary(max_size=200)),
        "truncated": (1, valid(event).map(_encoded).flatmap(_a_prefix)),
        "empty": (1, st.just(b"")),
        "huge": (1, _huge(valid(event))),
    }
    labels = [label for label, (weight, _) in kinds.items() for _ in range(weight)]
    return st.sampled_from(labels).flatmap(
        lambda label: kinds[label][1].map(lambda raw: Body(raw, label == "valid"))
    )


def _encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


def _a_prefix(raw: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(0, len(raw) - 1).map(lambda n: raw[:n])


# --- headers and signatures ---------------------------------------------------------------------

SIGNINGS = {  # how the request is signed, and how often (weights)
    "good": 8, "unsigned": 1, "no timestamp": 1, "no signature": 1, "wrong key": 1,
    "other provider's key": 1, "stale": 1, "future": 1, "odd timestamp": 1, "other body": 1,
    "garbled": 1, "doubled": 1,
}  # fmt: skip
HEADER_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs")), max_size=40
)  # what a header can carry (no control characters)
ODD_TIMESTAMPS = st.sampled_from(
    ["", " ", "-1", "0", "1e9", "\u00b2", "\u0661\u0667\u0660\u0660", "9" * 20, "1700000000.5",
     " 1700000000", "0x10", "+1700000000", "NaN"]
) | HEADER_TEXT  # fmt: skip
CONTENT_TYPES = st.sampled_from(
    ["application/json"] * 4
    + [None, "application/json; charset=utf-8", "text/plain", "application/octet-stream",
       "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
       "application/vnd.api+json", "image/png"]
)  # fmt: skip


@dataclass(frozen=True)
class WebhookCase:
    provider: str
    body: Body
    signing: str
    skew: int  # seconds beyond the freshness window, for stale and future timestamps
    odd: str  # an odd timestamp, or garbled signature text
    content_type: str | None
    header_case: str
    extra_headers: tuple[tuple[str, str], ...]
    replayed: bool  # sent twice with the same signature

    @property
    def path(self) -> str:
        return f"/webhooks/{self.provider}"

    def expected(self) -> int | None:
        """The status the request must get; None for a signed invalid body (400 or 422)."""
        if len(self.body.raw) > MAX_BODY_BYTES:
            return 413
        if self.signing != "good":
            return 401
        if self.body.valid and self.provider == "payments" and not _sold_here(self.body.raw):
            return 422  # unknown_instrument, over_purchase_maximum, or nothing asked of it
        return 202 if self.body.valid else None

    def describe(self) -> str:
        size = len(self.body.raw)
        return (f"{self.provider} {self.signing} valid={self.body.valid} "
                f"type={self.content_type} body={self.body.raw[:80]!r}…({size} B)")  # fmt: skip


def _sold_here(raw: bytes) -> bool:
    """A valid payment the platform may take: an instrument of the catalogue, and an amount
    within the per-purchase maximum. An answer about a payout or refund is never taken here:
    nobody asked the provider to pay those ids."""
    payment = json.loads(raw)
    if kind_of(payment) != "payment":
        return False
    return payment["instrument_id"] in CATALOGUE and Decimal(payment["amount"]) <= (
        MAX_PURCHASE_AMOUNT
    )


def announced_payment(case: WebhookCase) -> tuple[Any, ...] | None:
    """(payment id, investor, instrument, units, amount, currency) of a valid payment, as its
    announcement compares them; None for any other request."""
    if case.provider != "payments" or not case.body.valid:
        return None
    payment = json.loads(case.body.raw)
    if kind_of(payment) != "payment":
        return None
    fields = ("payment_id", "investor_id", "instrument_id", "units", "amount", "currency")
    values = [payment[name] for name in fields]
    values[4] = Decimal(values[4])
    return tuple(values)


def webhook_cases(provider: str, event: str) -> st.SearchStrategy[WebhookCase]:
    """Requests to one door, its valid bodies all of one event."""
    signings = [name for name, weight in SIGNINGS.items() for _ in range(weight)]
    header_names = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-"), min_size=1, max_size=15)
    return st.builds(
        WebhookCase,
        provider=st.just(provider),
        body=bodies(provider, event),
        signing=st.sampled_from(signings),
        skew=st.integers(60, 10**6),  # beyond what the clock moves while a case runs
        odd=ODD_TIMESTAMPS,
        content_type=CONTENT_TYPES,
        header_case=st.sampled_from(["canonical", "lower", "upper"]),
        extra_headers=st.lists(st.tuples(header_names, HEADER_TEXT), max_size=2).map(tuple),
        replayed=st.integers(0, 9).map(lambda n: n == 0),
    )


def families() -> dict[str, st.SearchStrategy[WebhookCase]]:
    """One family of requests per door and event: a run gives each an equal share, so every
    event of every door is sent at any scale."""
    return {
        f"{provider} {event}": webhook_cases(provider, event)
        for provider, events in EVENTS.items()
        for event in sorted(events)
    }


def headers_for(case: WebhookCase, keys: dict[str, bytes], now: int) -> list[tuple[str, str]]:
    key, body = keys[case.provider], case.body.raw
    other = keys[PROVIDERS[(PROVIDERS.index(case.provider) + 1) % len(PROVIDERS)]]
    at = {
        "stale": now - FRESHNESS_SECONDS - case.skew,
        "future": now + FRESHNESS_SECONDS + case.skew,
    }
    sent_at = at.get(case.signing, now)
    timestamp, signature = str(sent_at), sign(key, sent_at, body)
    if case.signing == "wrong key":
        signature = sign(b"not-the-secret", sent_at, body)
    elif case.signing == "other provider's key":
        signature = sign(other, sent_at, body)
    elif case.signing == "other body":
        signature = sign(key, sent_at, body + b" ")
    elif case.signing == "garbled":
        signature = case.odd
    elif case.signing == "odd timestamp":
        timestamp = case.odd
        digest = hmac.new(key, f"{case.odd}.".encode() + body, hashlib.sha256).hexdigest()
        signature = f"v1={digest}"
    pairs = [("X-Drexfy-Timestamp", timestamp), ("X-Drexfy-Signature", signature)]
    if case.signing == "doubled":
        pairs.append(("X-Drexfy-Signature", signature))
    dropped = {"unsigned": 2, "no timestamp": 1, "no signature": 1}
    if case.signing in dropped:
        pairs = [p for p in pairs if not _dropped(case.signing, p[0])]
    headers = [(_cased(name, case.header_case), value) for name, value in pairs]
    if case.content_type is not None:
        headers.append(("Content-Type", case.content_type))
    return headers + [(f"x-extra-{name}", value) for name, value in case.extra_headers]


def _dropped(signing: str, name: str) -> bool:
    return signing == "unsigned" or (signing == "no timestamp") == name.endswith("Timestamp")


def _cased(name: str, style: str) -> str:
    return {"lower": name.lower(), "upper": name.upper()}.get(style, name)


# --- sending -----------------------------------------------------------------------------------


def call_handler(
    provider: str, headers: list[tuple[str, str]], body: bytes, request_id: str
) -> tuple[int, Any]:
    """The door's handler, as cdk/api.py deploys it, with the event the gateway builds for this
    request; an exception is the 500 API Gateway would answer."""
    from local.api import proxy
    from local.aws.lambda_runtime import InvocationContext
    from tests.reliability.bad_input_routes import handler_of

    request = proxy.HttpRequest("POST", f"/webhooks/{provider}", "", headers, body)
    route = f"POST /webhooks/{provider}"
    event = proxy.build_event(request, route_key=route, path_parameters={}, request_id=request_id)
    handler = handler_of(provider)
    arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{provider}"
    context = InvocationContext(provider, arn, 256, 30)
    try:
        response = handler(event, context)
    except Exception as error:  # noqa: BLE001 - a Lambda that raises is a 500 at the gateway
        return 500, {"exception": repr(error)[:300]}
    return int(response["statusCode"]), json.loads(response["body"])


def post_over_http(
    api_url: str, path: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[int, Any, str]:
    status, answer, response_headers = send(api_url, "POST", path, headers, body)
    return status, answer, response_headers.get("apigw-requestid", "")


# --- judging -----------------------------------------------------------------------------------


def judge(
    tally: Tally, case: WebhookCase, status: int, answer: Any, request_id: str, expected: int | None
) -> None:
    tally.sent()
    what = f"{status} {str(answer)[:200]} for {case.describe()}"
    if status >= 500:
        tally.problem("server_errors", what)
    elif status == 202:
        tally.count("accepted")
        if not (isinstance(answer, dict) and answer.get("event_id") and answer.get("detail_type")):
            tally.problem("unexplained", what)
    elif not _explained(answer):
        tally.problem("unexplained", what)
    if status != expected and not (expected is None and status in (400, 422)):
        tally.problem("misjudged", f"expected {expected}: {what}")
    elif expected == 422:
        tally.count("refused_at_the_door")  # a valid payment for what is not sold here
    problem = kept_problem(request_id, status, answer, case.body.raw)
    if problem is not None:
        tally.problem("lost", f"{problem}: {what}")


def _explained(answer: Any) -> bool:
    return (
        isinstance(answer, dict)
        and set(answer) == {"error", "reason"}
        and all(isinstance(v, str) and v.strip() for v in answer.values())
    )


def kept_problem(request_id: str, status: int, answer: Any, body: bytes) -> str | None:
    """What is wrong with the request's record (None if it is kept as it should be)."""
    from lambdas.records.tables import WebhookRecord

    try:
        kept = WebhookRecord.get(request_id, consistent_read=True)
    except WebhookRecord.DoesNotExist:
        return "not kept"
    outcome = "ACCEPTED" if status < 300 else "REJECTED"
    if (kept.status_code, kept.outcome) != (status, outcome):
        return f"kept as {kept.status_code} {kept.outcome}"
    said = answer.get("event_id") if status < 300 else answer.get("reason")
    if (kept.event_id if status < 300 else kept.reason) != said:
        return "kept without the event id or reason it was answered"
    size = item_size(kept.serialize())
    if size > DYNAMODB_ITEM_LIMIT:
        return f"a {size}-byte item: over DynamoDB's 400 KB limit, AWS would refuse to keep it"
    if status >= 300 and size > REFUSED_ITEM_LIMIT:
        return f"a refused request kept in a {size}-byte item: not a bounded record"
    if (kept.body_sha256, kept.body_size) != (hashlib.sha256(body).hexdigest(), len(body)):
        return "kept without the body's hash and size"
    # All of an accepted body; the first bytes of any other.
    received = body if status < 300 else body[:KEPT_PREFIX_BYTES]
    if kept.body != received.decode("utf-8", errors="replace"):
        return "kept with another body"
    return None


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """An item's size as DynamoDB counts it (names plus values), near enough for its limit."""
    total = 0
    for name, typed in item.items():
        ((kind, value),) = typed.items()
        if kind == "S":
            total += len(value.encode())
        elif kind == "B":
            total += len(value)
        else:
            total += len(str(value))
        total += len(name.encode())
    return total


def now() -> int:
    return int(time.time())
