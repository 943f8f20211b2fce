"""The payment provider (PSP) as the local platform sees it: it takes the platform's payout and
refund orders and answers later, as a real one does, with signed webhooks.

The orders come through EventBridge API destinations, which deliver at least once: a retry, a
dead-letter redrive or a re-sent event carries the same idempotency key. A provider that acted
on every copy would pay an investor twice, so this one acts at most once per key (across a
restart too, with a log file) and answers a copy with the first answer's reference. Tests script
what follows (`plan`, `hold`, delays), make requests fail (`fail_next`) and check that each
order was acted on exactly once (`requests`, `actions`, `webhooks`).

It also takes the investors' payments (`capture`, what the gateway's card or SEPA capture is in
production) and reports what it settled, in and out, as a provider's settlement report does:
`GET /settlements?until=ISO`, with the API key. The daily reconciliation reads that report.

    python -m local.payment_provider [--port 8791] [--log-file F] --webhook-url URL \\
        --webhook-secret-file F --api-key-file F
"""

from __future__ import annotations

import argparse
import hmac
import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from domain.webhooks import sign
from local.loopback import JsonHandler, LoopbackServer
from local.processes import wait_for_stop_signal

AUDIT_PATHS = ("/requests", "/actions", "/webhooks")
PLANS_PATH = "/plans"  # scripting over HTTP, for a provider in another process
CAPTURES_PATH = "/payments"  # an investor's payment taken, for a provider in another process
SETTLEMENTS_PATH = "/settlements"
# What each webhook outcome settles: money that left or came back (a failure moved nothing).
SETTLING_OUTCOMES = frozenset({"paid", "returned", "succeeded"})
WEBHOOK_TIMEOUT_SECONDS = 5.0
_AMOUNT = re.compile(r"\d{1,15}(\.\d{1,2})?")


@dataclass(frozen=True)
class Kind:
    """What the provider is asked to do at one path, and the words of its answers."""

    name: str
    path: str
    business_field: str  # the platform's own reference, which plans and holds are keyed by
    reference_field: str  # where a webhook carries the provider's reference
    required: tuple[str, ...]  # non-empty strings; "a.b" is field b of object a
    outcomes: tuple[str, ...]
    success: str
    reasons: Mapping[str, str]  # the default reason of each outcome that carries one


PAYOUT = Kind(
    name="payout",
    path="/payouts",
    business_field="withdrawal_id",
    reference_field="payout_id",
    required=(
        "idempotency_key", "withdrawal_id", "investor_id", "currency",
        "beneficiary.iban", "beneficiary.name",
    ),
    outcomes=("paid", "failed", "returned"),
    success="paid",
    reasons={"failed": "account closed", "returned": "beneficiary bank rejected the transfer"},
)  # fmt: skip
REFUND = Kind(
    name="refund",
    path="/refunds",
    business_field="purchase_id",
    reference_field="refund_id",
    required=("idempotency_key", "purchase_id", "payment_id", "currency"),
    outcomes=("succeeded", "failed"),
    success="succeeded",
    reasons={"failed": "the card issuer declined the refund"},
)
KINDS = {kind.name: kind for kind in (PAYOUT, REFUND)}
OUTCOMES = frozenset(outcome for kind in KINDS.values() for outcome in kind.outcomes)


@dataclass(frozen=True)
class Received:
    """A POST as it arrived, and the status it was answered with."""

    path: str
    headers: dict[str, str]  # names lowercased
    body: Any  # the JSON document, or the text when the body is not JSON
    status: int
    time: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Action:
    """One order acted on: one per idempotency key, whatever the number of copies."""

    kind: str  # "payout" | "refund"
    key: str  # the idempotency key
    reference: str  # the provider's, e.g. payout_1a2b3c4d5e6f
    business_reference: str  # the withdrawal's or the purchase's id
    amount: Decimal
    currency: str
    outcomes: list[str]
    order: dict[str, Any]  # the body as first received: a copy must carry the same one
    time: float
    webhooks: list[dict[str, Any]] = field(default_factory=list)  # the bodies sent, in order

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "amount": str(self.amount)}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Action:
        return cls(**{**document, "amount": Decimal(document["amount"])})


@dataclass(frozen=True)
class Capture:
    """An investor's payment the provider took: money in, settled at `time`."""

    payment_id: str
    amount: Decimal
    currency: str
    time: float

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "amount": str(self.amount)}

    def settlement(self) -> dict[str, str]:
        return _settlement("payment", "captured", self.payment_id, self.amount, self.currency,
                           datetime.fromtimestamp(self.time, UTC).isoformat())  # fmt: skip


@dataclass(frozen=True)
class WebhookAttempt:
    body: dict[str, Any]
    status: int | None  # None when the platform never answered
    error: str | None
    time: float
    attempt: int  # 1 for the first try of a body
    key: str | None  # the action's idempotency key; None for `send_webhook`

    @property
    def delivered(self) -> bool:
        # 409 is the platform refusing a signature it already accepted: this very webhook.
        return self.status is not None and (200 <= self.status < 300 or self.status == 409)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "delivered": self.delivered}


@dataclass(frozen=True)
class Plan:
    outcomes: tuple[str, ...]
    delay: float = 0.0
    reason: str | None = None


class PaymentProvider:
    """Serves /payouts and /refunds on 127.0.0.1:`port` (0 picks a free port) and sends the
    webhooks that follow to `webhook_url` (settable later: the platform starts after)."""

    # A real provider retries a webhook for days (Adyen, Stripe); this one for about two minutes
    # (doubling waits up to 5 s, 30 attempts), so a platform that throttles or is briefly down
    # still gets its answers, and a test still ends.
    first_retry_wait = 0.05  # seconds, doubled after each failed attempt
    max_retry_wait = 5.0
    max_attempts = 30

    def __init__(
        self,
        api_key: str,
        webhook_secret: bytes,
        webhook_url: str | None = None,
        *,
        port: int = 0,
        log_file: Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.log_file = log_file
        # What an earlier run received and did is still done (make down / up): keep deduplicating.
        self._requests, actions, self._webhooks, captures = _read_log(log_file)
        self._actions = {action.key: action for action in actions}
        self._captures = {capture.payment_id: capture for capture in captures}
        self._failures: list[int] = []
        self._plans: dict[str, Plan] = {}
        self._held: set[str] = set()
        self._senders: list[threading.Thread] = []
        self._unsent: dict[str, str] = {}  # orders acted on, answers still to send: key -> ref
        self._stopped = threading.Event()
        self._lock = threading.Condition()
        self._http = LoopbackServer(_handler_class(self), port, host, "payment-provider")
        self.base_url = self._http.base_url

    @property
    def port(self) -> int:
        return self._http.port

    def start(self) -> PaymentProvider:
        self._http.start()
        return self

    def stop(self) -> None:
        """Stop serving; webhooks still waiting (held, delayed, retried) are not sent."""
        self._stopped.set()
        with self._lock:
            self._lock.notify_all()  # wakes the senders waiting for a release
            senders = list(self._senders)
        self._http.stop()
        deadline = time.monotonic() + WEBHOOK_TIMEOUT_SECONDS  # one wait for all, not one each
        for sender in senders:
            sender.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> PaymentProvider:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- scripting ---------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next `count` POSTs with `status` before acting (they are recorded)."""
        with self._lock:
            self._failures += [status] * count

    def plan(
        self, reference: str, *outcomes: str, delay: float = 0.0, reason: str | None = None
    ) -> None:
        """The webhooks for the next order about `reference` (a withdrawal_id or purchase_id),
        in order, `delay` seconds before each; `reason` replaces the default of a failure or a
        return. Used once: a later order about the same reference gets the default again."""
        unknown = [outcome for outcome in outcomes if outcome not in OUTCOMES]
        if not outcomes or unknown:
            raise ValueError(f"outcomes {unknown or '()'} are not among {sorted(OUTCOMES)}")
        with self._lock:
            self._plans[reference] = Plan(tuple(outcomes), delay, reason)

    def hold(self, reference: str) -> None:
        """Keep the webhooks about `reference` until `release(reference)`."""
        with self._lock:
            self._held.add(reference)

    def release(self, reference: str) -> None:
        with self._lock:
            self._held.discard(reference)
            self._lock.notify_all()

    def capture(self, payment_id: str, amount: Decimal | str, currency: str = "EUR") -> Capture:
        """Take an investor's payment (once per payment id: a retry is the same capture; a
        different amount under the same id is refused)."""
        taken = Capture(payment_id, Decimal(str(amount)), currency, time.time())
        with self._lock:
            known = self._captures.get(payment_id)
            if known is not None:
                if (known.amount, known.currency) != (taken.amount, taken.currency):
                    raise ValueError(f"payment {payment_id} was captured as {known.amount}")
                return known
            self._captures[payment_id] = taken
            self._log("capture", taken.to_json())
        return taken

    def settlements(self, until: datetime | None = None) -> list[dict[str, str]]:
        """What the provider settled by `until` (default: now), oldest first: each payment
        captured, each payout paid or returned, each refund made."""
        with self._lock:
            lines = [c.settlement() for c in self._captures.values()]
            for action in self._actions.values():
                lines += [_settled(action, body) for body in action.webhooks]
        kept = [line for line in lines if line]
        if until is not None:
            kept = [line for line in kept if datetime.fromisoformat(line["settled_at"]) <= until]
        return sorted(kept, key=lambda line: line["settled_at"])

    def send_webhook(self, document: dict[str, Any]) -> int | None:
        """Sign and send `document` as any webhook is (retries included); the final status."""
        return self._deliver(document, key=None)

    # --- audit ---------------------------------------------------------------------------------

    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def actions(self) -> list[Action]:
        with self._lock:
            return [replace(a, webhooks=list(a.webhooks)) for a in self._actions.values()]

    def webhooks(self) -> list[WebhookAttempt]:
        with self._lock:
            return list(self._webhooks)

    def sending(self) -> int:
        """Orders whose webhooks are still to be sent, delayed or being retried; not those a
        test holds, which wait for it."""
        with self._lock:
            return sum(ref not in self._held for ref in self._unsent.values())

    def wait_for_webhooks(
        self, predicate: Callable[[WebhookAttempt], bool], count: int = 1, timeout: float = 10.0
    ) -> list[WebhookAttempt]:
        """The delivered webhooks matching `predicate`, once there are `count` of them (else
        TimeoutError)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                matching = [w for w in self._webhooks if w.delivered and predicate(w)]
                remaining = deadline - time.monotonic()
                if len(matching) >= count or remaining <= 0:
                    break
                self._lock.wait(remaining)
        if len(matching) < count:
            raise TimeoutError(f"{len(matching)} of {count} expected webhooks within {timeout}s")
        return matching

    # --- orders --------------------------------------------------------------------------------

    def receive(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, Callable[[], None] | None]:
        """The status and document to answer a POST with, and what to do once answered."""
        body = _decoded(raw)
        with self._lock:  # one key's copies arriving together must still be acted on once
            status, document, follow_up = self._answer(path, headers, body)
            self._keep_request(Received(path, headers, body, status, time.time()))
        return status, document, follow_up

    def _answer(
        self, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any, Callable[[], None] | None]:
        if self._failures:
            return self._failures.pop(0), _error("unavailable", "arranged by fail_next"), None
        kind = next((k for k in KINDS.values() if k.path == path.split("?")[0].rstrip("/")), None)
        if kind is None:
            return 404, _error("not_found", f"no POST {path}"), None
        if not self._authorized(headers.get("authorization", "")):
            return 401, _error("unauthorized", "Authorization: Bearer <api key> is required"), None
        problem = _problem(kind, body)
        if problem is not None:
            return 422, _error("invalid_request", problem), None
        known = self._actions.get(body["idempotency_key"])
        if known is None:
            action, plan = self._act(kind, body)
            return 202, _accepted(action), lambda: self._send_later(action, plan)
        if known.kind != kind.name or _comparable(known.order) != _comparable(body):
            reason = f"key already used for another {known.kind} ({known.reference})"
            return 409, _error("idempotency_conflict", reason), None
        return 200, _accepted(known), None

    def _authorized(self, authorization: str) -> bool:
        expected = f"Bearer {self.api_key}".encode()
        return hmac.compare_digest(authorization.encode("utf-8", "surrogatepass"), expected)

    def _act(self, kind: Kind, body: dict[str, Any]) -> tuple[Action, Plan]:
        business_reference = body[kind.business_field]
        plan = self._plans.pop(business_reference, None) or Plan((kind.success,))
        action = Action(
            kind=kind.name,
            key=body["idempotency_key"],
            reference=f"{kind.name}_{uuid.uuid4().hex[:12]}",
            business_reference=business_reference,
            amount=Decimal(body["amount"]),
            currency=body["currency"],
            outcomes=list(plan.outcomes),
            order=body,
            time=time.time(),
        )
        self._actions[action.key] = action
        self._unsent[action.key] = business_reference  # counted before the order is answered
        self._log("action", action.to_json())
        return action, plan

    def _keep_request(self, entry: Received) -> None:
        self._requests.append(entry)
        self._log("request", entry.to_json())
        self._lock.notify_all()

    # --- webhooks ------------------------------------------------------------------------------

    def _send_later(self, action: Action, plan: Plan) -> None:
        sender = threading.Thread(
            target=self._send_all, args=(action, plan), name=f"webhooks-{action.reference}"
        )
        sender.daemon = True
        with self._lock:
            self._senders = [s for s in self._senders if s.is_alive()] + [sender]
        sender.start()

    def _send_all(self, action: Action, plan: Plan) -> None:
        try:
            kind = KINDS[action.kind]
            for outcome in plan.outcomes:
                if self._stopped.wait(plan.delay) or not self._released(action.business_reference):
                    return
                self._deliver(_webhook_body(kind, action, outcome, plan.reason), action.key)
        finally:
            with self._lock:
                self._unsent.pop(action.key, None)

    def _released(self, reference: str) -> bool:
        """Wait while `reference` is held; False if the provider stopped meanwhile."""
        with self._lock:
            self._lock.wait_for(lambda: reference not in self._held or self._stopped.is_set())
        return not self._stopped.is_set()

    def _deliver(self, document: dict[str, Any], key: str | None) -> int | None:
        raw = json.dumps(document).encode()
        timestamp = int(time.time())
        # Every attempt carries the same signature: when an attempt was accepted but its answer
        # lost, the platform recognises the next one as a replay (409) instead of taking it twice.
        headers = {
            "Content-Type": "application/json",
            "X-Drexfy-Timestamp": str(timestamp),
            "X-Drexfy-Signature": sign(self.webhook_secret, timestamp, raw),
        }
        wait, status = self.first_retry_wait, None
        for attempt in range(1, self.max_attempts + 1):
            status, error = self._post_webhook(raw, headers)
            self._keep_webhook(WebhookAttempt(document, status, error, time.time(), attempt, key))
            if not _worth_retrying(status) or attempt == self.max_attempts:
                break
            if self._stopped.wait(wait):
                break
            wait = min(wait * 2, self.max_retry_wait)
        return status

    def _post_webhook(self, raw: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        url = self.webhook_url
        if url is None:
            return None, "no webhook url yet"
        request = urllib.request.Request(url, data=raw, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
                return int(response.status), None
        except urllib.error.HTTPError as error:
            return int(error.code), None
        except (OSError, http.client.HTTPException) as error:
            return None, f"{type(error).__name__}: {error}"

    def _keep_webhook(self, attempt: WebhookAttempt) -> None:
        with self._lock:
            self._webhooks.append(attempt)
            if attempt.attempt == 1 and attempt.key in self._actions:
                self._actions[attempt.key].webhooks.append(attempt.body)
            self._log("webhook", attempt.to_json())
            self._lock.notify_all()

    def _log(self, record: str, document: dict[str, Any]) -> None:
        if self.log_file is None:
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("a") as log:
            log.write(json.dumps({"record": record, **document}) + "\n")


def _decoded(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _problem(kind: Kind, body: Any) -> str | None:
    """Why `body` is not an order of `kind`; None when it is one."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    for name in kind.required:
        value = _field(body, name)
        if not isinstance(value, str) or not value.strip():
            return f"{name} is required, as a non-empty string"
    if "reason" in body and not isinstance(body["reason"], str):
        return "reason must be a string"
    return _amount_problem(body.get("amount"))


def _field(body: dict[str, Any], name: str) -> Any:
    value: Any = body
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _amount_problem(amount: Any) -> str | None:
    # A string only: a JSON number is a float to most clients, and money must not have been one.
    if not isinstance(amount, str) or not _AMOUNT.fullmatch(amount):
        return f'amount must be a decimal string with at most 2 decimals, e.g. "12.34": {amount!r}'
    if Decimal(amount) <= 0:
        return f"amount must be positive: {amount!r}"
    return None


def _comparable(order: dict[str, Any]) -> dict[str, Any]:
    # "12.3" and "12.30" are the same order: EventBridge re-sends, it does not reformat.
    return {**order, "amount": Decimal(order["amount"])}


def _accepted(action: Action) -> dict[str, str]:
    return {"reference": action.reference, "status": "received"}


def _error(code: str, reason: str) -> dict[str, str]:
    return {"error": code, "reason": reason}


def _webhook_body(kind: Kind, action: Action, outcome: str, reason: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": f"{kind.name}.{outcome}",
        kind.reference_field: action.reference,
        kind.business_field: action.business_reference,
        "amount": str(action.amount.quantize(Decimal("0.01"))),
        "currency": action.currency,
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if outcome in kind.reasons:
        body["reason"] = reason or kind.reasons[outcome]
    return body


def _settlement(
    kind: str, outcome: str, reference: str, amount: Decimal, currency: str, at: str
) -> dict[str, str]:
    return {"kind": kind, "outcome": outcome, "reference": reference,
            "amount": str(amount.quantize(Decimal("0.01"))), "currency": currency,
            "settled_at": at}  # fmt: skip


def _settled(action: Action, body: dict[str, Any]) -> dict[str, str]:
    """The settlement a sent webhook announced; {} for an outcome that moved no money."""
    outcome = str(body.get("event", "")).rpartition(".")[2]
    if outcome not in SETTLING_OUTCOMES:
        return {}
    at = datetime.fromisoformat(str(body["occurred_at"])).isoformat()
    return _settlement(
        action.kind, outcome, action.business_reference, action.amount, action.currency, at
    )


def _worth_retrying(status: int | None) -> bool:
    # A 4xx other than 429 says the webhook itself is wrong: sending it again changes nothing.
    return status is None or status >= 500 or status == 429


def _planned(provider: PaymentProvider, raw: bytes) -> tuple[int, Any]:
    """`POST /plans` {"reference", "outcomes": [...], "reason"?, "delay"?}: `plan` for a
    process that runs the provider in another (the demo scripting the embedded platform's)."""
    try:
        asked = json.loads(raw)
        provider.plan(
            str(asked["reference"]),
            *[str(o) for o in asked["outcomes"]],
            delay=float(asked.get("delay", 0.0)),
            reason=asked.get("reason"),
        )
    except (ValueError, KeyError, TypeError) as error:
        return 422, _error("invalid_plan", str(error))
    return 200, {"planned": asked["reference"]}


def _captured(provider: PaymentProvider, raw: bytes) -> tuple[int, Any]:
    """`POST /payments` {"payment_id", "amount", "currency"?}: `capture`, for a process that
    runs the provider in another (the demo paying as an investor)."""
    try:
        asked = json.loads(raw)
        taken = provider.capture(
            str(asked["payment_id"]), Decimal(str(asked["amount"])), asked.get("currency", "EUR")
        )
    except (ValueError, KeyError, TypeError, ArithmeticError) as error:
        return 422, _error("invalid_capture", str(error))
    return 200, taken.settlement()


def _settlement_report(provider: PaymentProvider, query: str) -> tuple[int, Any]:
    asked = urllib.parse.parse_qs(query)
    try:
        until = datetime.fromisoformat(asked["until"][0]) if "until" in asked else None
    except ValueError as error:
        return 422, _error("invalid_until", str(error))
    if until is not None and until.tzinfo is None:
        return 422, _error("invalid_until", "until needs a time zone")
    return 200, {"settlements": provider.settlements(until)}


def _handler_class(provider: PaymentProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            scripted = {PLANS_PATH: _planned, CAPTURES_PATH: _captured}
            script = scripted.get(self.path.split("?", 1)[0].rstrip("/"))
            if script is not None:
                self.reply(*script(provider, raw))
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, document, follow_up = provider.receive(self.path, headers, raw)
            try:
                self.reply(status, document)
            finally:  # acted on: its webhooks go out even if the caller hung up
                if follow_up is not None:
                    follow_up()

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            path = path.rstrip("/")
            if path == SETTLEMENTS_PATH:
                if not provider._authorized(self.headers.get("Authorization", "")):
                    self.reply(401, _error("unauthorized", "Authorization: Bearer <api key>"))
                    return
                self.reply(*_settlement_report(provider, query))
                return
            listings: dict[str, Callable[[], list[Any]]] = {
                "/requests": provider.requests,
                "/actions": provider.actions,
                "/webhooks": provider.webhooks,
            }
            if path not in listings:
                self.reply(404, _error("not_found", f"no GET {self.path}"))
                return
            self.reply(200, [entry.to_json() for entry in listings[path]()])

    return Handler


def _read_log(
    log_file: Path | None,
) -> tuple[list[Received], list[Action], list[WebhookAttempt], list[Capture]]:
    requests: list[Received] = []
    actions: list[Action] = []
    webhooks: list[WebhookAttempt] = []
    captures: list[Capture] = []
    if log_file is None or not log_file.exists():
        return requests, actions, webhooks, captures
    for line in log_file.read_text().splitlines():
        if not line.strip():
            continue
        document = json.loads(line)
        record = document.pop("record")
        if record == "request":
            requests.append(Received(**document))
        elif record == "action":
            actions.append(Action.from_json(document))
        elif record == "webhook":
            document.pop("delivered", None)
            webhooks.append(WebhookAttempt(**document))
        elif record == "capture":
            captures.append(Capture(**{**document, "amount": Decimal(document["amount"])}))
    by_key = {action.key: action for action in actions}
    for attempt in webhooks:  # an action's webhooks are logged after it, as they were sent
        if attempt.attempt == 1 and attempt.key in by_key:
            by_key[attempt.key].webhooks.append(attempt.body)
    return requests, actions, webhooks, captures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8791, help="0 picks a free port")
    parser.add_argument("--log-file", type=Path, default=None, help="append JSON lines here")
    parser.add_argument("--webhook-url", required=True, help="the platform's /webhooks/payments")
    parser.add_argument("--webhook-secret-file", type=Path, required=True)
    parser.add_argument("--api-key-file", type=Path, required=True)
    args = parser.parse_args()
    provider = PaymentProvider(
        # An editor's trailing newline is no part of a key.
        api_key=args.api_key_file.read_text().strip(),
        webhook_secret=args.webhook_secret_file.read_bytes().strip(),
        webhook_url=args.webhook_url,
        port=args.port,
        log_file=args.log_file,
    ).start()
    print(f"payment provider ready url={provider.base_url}", flush=True)
    wait_for_stop_signal()
    provider.stop()


if __name__ == "__main__":
    main()
