"""`python -m ops.smoke --stack Drexfy-<env>` (`make smoke STACK=...`): does the deployed platform
work? The checks a deploy pipeline runs after `cdk deploy`, through the same public doors the
providers and the frontend use, with the providers' secrets read from Secrets Manager:

1. the webhook door refuses a bad signature;
2. the frontend API answers with its token (and refuses without it);
3. a test investor (`smoke-…`, an id no real investor has) passes KYC and gets a wallet;
4. one purchase is delivered, 5. one is refunded (paid for less than it costs);
6. every alarm of the stack is OK; 7. no notification waits in the dead-letter queue;
8. the test investor ends BLOCKED, with a reason that says it was the smoke run's, so nothing a
   run leaves behind can buy again.

Each step prints its name and what it found; the run exits 1 naming each step that failed (a step
whose precondition failed is skipped, and says why), 2 when the stack cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.purchase import purchase_id_for
from domain.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

SETTLED = ("DELIVERED", "REFUNDED", "NEEDS_OPERATOR")


class StepFailed(Exception):
    """What a step found instead of what it expected."""


@dataclass
class Answer:
    status: int
    body: Any


@dataclass
class Smoke:
    outputs: dict[str, str]
    secret: Callable[[str], str]  # a secret's value by its output's name
    client: Callable[[str], Any]  # an AWS client by service name
    stack: str
    timeout: float = 300.0
    investor_id: str = field(default_factory=lambda: f"smoke-{uuid.uuid4().hex[:12]}")
    instrument: dict[str, Any] = field(default_factory=dict)

    # --- the doors ---------------------------------------------------------------------------

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        raw = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.outputs["ApiUrl"].rstrip("/") + path, data=raw, method=method,
            headers={"content-type": "application/json", **(headers or {})},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return Answer(error.code, json.loads(text))
            except ValueError:
                return Answer(error.code, text.decode(errors="replace"))

    def webhook(self, door: str, body: dict[str, Any], key: bytes | None = None) -> Answer:
        """Signed as the provider signs: its secret over the timestamp and the body."""
        output = f"{door.title()}WebhookSecretArn"
        secret = key if key is not None else self.secret(output).encode()
        now = int(time.time())
        raw = json.dumps(body).encode()
        headers = {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign(secret, now, raw)}
        return self.call("POST", f"/webhooks/{door}", json.loads(raw), headers)

    def frontend(self, path: str) -> Answer:
        token = self.secret("FrontendApiSecretArn")
        return self.call("GET", path, headers={"authorization": f"Bearer {token}"})

    def until(self, what: str, read: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            found = read()
            if found:
                return found
            time.sleep(2)
        raise StepFailed(f"{what}: not within {self.timeout:.0f} s")

    # --- the steps ---------------------------------------------------------------------------

    def bad_signature_refused(self) -> str:
        body = self.payment(f"smoke-forged-{uuid.uuid4().hex[:8]}", 1, "100.00")
        answer = self.webhook("payments", body, key=b"not the provider's secret")
        if answer.status != 401:
            raise StepFailed(f"a forged payment was answered {answer.status} {answer.body}")
        return f"401 {answer.body.get('reason') if isinstance(answer.body, dict) else ''}"

    def frontend_answers(self) -> str:
        unauthenticated = self.call("GET", "/instruments")
        if unauthenticated.status != 401:
            raise StepFailed(f"without the token: {unauthenticated.status}, not 401")
        answer = self.frontend("/instruments")
        instruments = answer.body.get("instruments") if isinstance(answer.body, dict) else None
        if answer.status != 200 or not instruments:
            raise StepFailed(f"with the token: {answer.status} {answer.body}")
        self.instrument = next(
            (i for i in instruments if int(i.get("units_available", 0)) > 0), instruments[0]
        )
        return f"200, {len(instruments)} instruments"

    def investor_onboarded(self) -> str:
        decision = {
            "event": "kyc.approved", "investor_id": self.investor_id,
            "case_id": f"smoke-case-{uuid.uuid4().hex[:8]}",
            "occurred_at": datetime.now(UTC).isoformat(),
        }  # fmt: skip
        sent = self.webhook("kyc", decision)
        if sent.status != 202:
            raise StepFailed(f"KYC approval answered {sent.status} {sent.body}")

        def active() -> Any:
            found = self.frontend(f"/investors/{self.investor_id}")
            ready = found.status == 200 and found.body.get("status") == "ACTIVE"
            return found.body if ready and found.body.get("wallet_address") else None

        investor = self.until(f"{self.investor_id} ACTIVE with a wallet", active)
        return f"{self.investor_id} ACTIVE, wallet {investor['wallet_address']}"

    def purchase(self, units: int, amount: str, expected: str) -> str:
        payment_id = f"smoke-pay-{uuid.uuid4().hex[:12]}"
        sent = self.webhook("payments", self.payment(payment_id, units, amount))
        if sent.status != 202:
            raise StepFailed(f"the payment was answered {sent.status} {sent.body}")
        purchase_id = purchase_id_for(payment_id)

        def settled() -> Any:
            found = self.frontend(f"/purchases/{purchase_id}")
            return found.body if found.status == 200 and found.body["status"] in SETTLED else None

        ended = self.until(f"purchase {purchase_id} settled", settled)
        if ended["status"] != expected:
            raise StepFailed(f"{purchase_id} {ended['status']}: {ended.get('reason')}")
        return f"{purchase_id} {ended['status']} {ended.get('reason') or ''}".rstrip()

    def delivered(self) -> str:
        return self.purchase(1, str(self.unit_price()), "DELIVERED")

    def refunded(self) -> str:
        short = self.unit_price() * 2 - Decimal("0.01")  # two units, paid a cent short
        return self.purchase(2, str(short), "REFUNDED")

    def alarms_ok(self) -> str:
        cloudwatch = self.client("cloudwatch")
        pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=self.stack)
        alarms = [a for page in pages for a in page["MetricAlarms"]]
        if not alarms:
            raise StepFailed(f"no alarm named {self.stack}-…: cannot tell the platform is healthy")
        raised = [f"{a['AlarmName']} {a['StateValue']}" for a in alarms if a["StateValue"] != "OK"]
        if raised:
            raise StepFailed("; ".join(raised))
        return f"{len(alarms)} alarms OK"

    def no_dead_letters(self) -> str:
        url = self.outputs["NotificationDeadLetterQueueUrl"]
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        waiting = int(attributes["ApproximateNumberOfMessages"])
        if waiting:
            raise StepFailed(f"{waiting} notifications wait in {url}")
        return "0 waiting"

    def investor_blocked(self) -> str:
        from ops.decisions import put_aml_decision

        reason = f"the test investor of a smoke run ({datetime.now(UTC):%Y-%m-%dT%H:%M}Z)"
        put_aml_decision(
            self.client("events"), self.outputs["EventBusName"], self.investor_id, block=True,
            reason=reason, operator="make smoke",
        )  # fmt: skip

        def blocked() -> Any:
            found = self.frontend(f"/investors/{self.investor_id}")
            return found.status == 200 and found.body.get("status") == "BLOCKED"

        self.until(f"{self.investor_id} BLOCKED", blocked)
        return f"{self.investor_id} BLOCKED: {reason}"

    # --- helpers ------------------------------------------------------------------------------

    def payment(self, payment_id: str, units: int, amount: str) -> dict[str, Any]:
        return {
            "event": "payment.succeeded", "payment_id": payment_id,
            "investor_id": self.investor_id,
            "instrument_id": self.instrument.get("instrument_id", "SME-2027-A"),
            "units": units, "amount": amount, "currency": "EUR",
        }  # fmt: skip

    def unit_price(self) -> Decimal:
        return Decimal(str(self.instrument["unit_price"]))

    def steps(self) -> list[tuple[str, Callable[[], str], str | None]]:
        """Each step, its check, and the step it needs to have passed."""
        return [
            ("the webhook door refuses a bad signature", self.bad_signature_refused, None),
            ("the frontend API answers with its token", self.frontend_answers, None),
            ("a test investor is onboarded", self.investor_onboarded, None),
            ("one purchase is delivered", self.delivered, "a test investor is onboarded"),
            ("one purchase is refunded", self.refunded, "a test investor is onboarded"),
            ("every alarm is OK", self.alarms_ok, None),
            ("no notification waits in the dead-letter queue", self.no_dead_letters, None),
            ("the test investor is blocked", self.investor_blocked, "a test investor is onboarded"),
        ]

    def run(self, out: Any = sys.stdout) -> list[str]:
        """Every step, in order; the names of those that failed."""
        failed: list[str] = []
        for name, check, needs in self.steps():
            if needs in failed or (needs and not self.instrument):
                print(f"SKIPPED {name}: {needs or 'the frontend API'} failed", file=out)
                failed.append(name)
                continue
            try:
                print(f"OK      {name}: {check()}", file=out, flush=True)
            except (StepFailed, OSError, KeyError, ValueError) as error:
                print(f"FAILED  {name}: {error}", file=out, flush=True)
                failed.append(name)
        return failed


def main(argv: list[str] | None = None) -> int:
    """`python -m ops.smoke --stack Drexfy-<env>`: the deployed platform's smoke checks."""
    parser = argparse.ArgumentParser(prog="python -m ops.smoke", description=main.__doc__)
    from ops.stack import ConfigurationError, add_stack_arguments, deployed_platform

    add_stack_arguments(parser, "the deployed stack (Drexfy-<env>)", required=True)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a step may wait")
    args = parser.parse_args(argv)
    try:
        operator, outputs = deployed_platform(args.stack, args.profile, args.region)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    session = operator.session
    secrets = session.client("secretsmanager")

    def secret(output: str) -> str:
        return str(secrets.get_secret_value(SecretId=outputs[output])["SecretString"])

    smoke = Smoke(outputs, secret, session.client, args.stack, args.timeout)
    print(f"smoke checks of {args.stack} ({outputs.get('ApiUrl')}) as {smoke.investor_id}")
    failed = smoke.run()
    if failed:
        print(f"{len(failed)} of {len(smoke.steps())} failed: {'; '.join(failed)}", file=sys.stderr)
        return 1
    print(f"all {len(smoke.steps())} checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
