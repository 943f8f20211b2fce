"""`make demo`: the local platform end to end, as its users would drive it.

Starts the local XRPL ledger (a ledger every second) and the embedded AWS server (with its HTTP
API and a stand-in for the frontend that records notifications), bootstraps the platform on the
ledger, then, through signed webhooks only: registers two investors (KYC), buys instruments,
refunds a bad payment with its reason, ignores a replayed webhook, flags an investor for AML in
the middle of a purchase (undone and refunded; freeze shown on the ledger), refuses the blocked
investor's next payment, and shows a summary read back from the ledger and the records. Then
servicing (local/demo_servicing.py): collections minted to the company, and SME-2027-A's
coupons and its redemption at maturity paid to Ada as the clock moves to each payment date;
money out (local/demo_money_out.py); and the books (local/demo_books.py): the three-way
reconciliation, which must be clean, and each instrument's holder register read back from the
ledger.
Exits 0 only if every outcome is the expected one; leaves no process running.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3

from domain.webhooks import sign
from local import demo_books as books
from local import demo_money_out as money_out
from local import demo_servicing as servicing
from local.aws.access import ADMINISTRATOR_ACCESS_KEY
from local.demo_money_out import PAYOUT_ACCOUNT
from local.ledger_server import GENESIS_SEED
from local.processes import PROJECT_ROOT, start_module


class Demo:
    """The story, told through the platform's public doors. Locally the providers are the
    platform's stand-ins; against a deployed stack (`deployed`) they are the real ones, so the
    stand-ins' parts (the provider capturing a payment, the frontend's received log, a payout
    the bank returns) are left out, and the investors' ids are the run's own (`demo-<run>-…`),
    never a real investor's."""

    def __init__(
        self,
        state: dict[str, Any],
        ledger_url: str,
        session: boto3.Session | None = None,
        ids: str = "",
    ) -> None:
        self.outputs: dict[str, str] = state["stack"]["outputs"]
        self.api_url: str = state["api_url"]
        self.provider_url: str | None = state.get("provider_url")
        self.notifications_url: str | None = state.get("notifications_url")
        self.ids = ids  # what the run's investor and payment ids begin with
        session = (
            session
            or boto3.Session(  # the account's administrator, who hands providers secrets
                aws_access_key_id=ADMINISTRATOR_ACCESS_KEY,
                aws_secret_access_key=ADMINISTRATOR_ACCESS_KEY,
                region_name="eu-west-1",
            )
        )
        endpoint = state.get("endpoint_url")
        self.sfn = session.client("stepfunctions", endpoint_url=endpoint)
        self.lambdas = session.client("lambda", endpoint_url=endpoint)
        self.secrets = session.client("secretsmanager", endpoint_url=endpoint)
        self.events = session.client("events", endpoint_url=endpoint)
        self.keys = {
            path: self.secret(name).encode()
            for path, name in (
                ("/webhooks/payments", "PaymentsWebhookSecretArn"),
                ("/webhooks/kyc", "KycWebhookSecretArn"),
                ("/webhooks/collections", "CollectionsWebhookSecretArn"),
            )
        }
        from lambdas.ledger_adapter.client import LedgerClient

        self.ledger = LedgerClient(ledger_url)
        self.results: list[tuple[str, bool]] = []

    def secret(self, output: str) -> str:
        """A secret the account's administrator hands a provider (or the frontend)."""
        value = self.secrets.get_secret_value(SecretId=self.outputs[output])
        return str(value["SecretString"])

    # --- driving the platform as the providers do ----------------------------------------------

    def webhook(
        self, path: str, body: dict[str, Any], replay_of: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        raw = json.dumps(body).encode()
        now = int(time.time())
        headers = replay_of or {
            "X-Drexfy-Timestamp": str(now),
            "X-Drexfy-Signature": sign(self.keys[path], now, raw),
        }
        request = urllib.request.Request(
            self.api_url + path, data=raw, method="POST",
            headers={"content-type": "application/json", **headers},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read()), headers
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), headers

    def capture(self, payment_id: str, amount: str) -> None:
        """The provider takes the investor's money (its settlement report lists it), then
        tells the platform with its webhook. A deployed stack's provider does it itself."""
        if self.provider_url is None:
            return
        raw = json.dumps({"payment_id": payment_id, "amount": amount}).encode()
        request = urllib.request.Request(
            self.provider_url + "/payments", data=raw, method="POST",
            headers={"content-type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10):
            pass

    def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        """A function invoked as an AWS service would (EventBridge Scheduler, say)."""
        response = self.lambdas.invoke(FunctionName=function_name, Payload=json.dumps(event))
        return json.loads(response["Payload"].read() or b"null")

    def kyc(self, event: str, investor_id: str, **more: Any) -> dict[str, Any]:
        case_id = f"case-{uuid.uuid4().hex[:8]}"
        body = {
            "event": event,
            "investor_id": investor_id,
            "case_id": case_id,
            "occurred_at": datetime.now(UTC).isoformat(),
            **more,
        }
        status, answer, _ = self.webhook("/webhooks/kyc", body)
        print(f"    POST /webhooks/kyc {event} {investor_id} -> {status} {answer}")
        workflow = "Compliance" if event.startswith("aml.") else "Onboarding"
        return self.finished(workflow, lambda i: i["decision"].get("case_id") == case_id)

    def pay(
        self, payment_id: str, investor_id: str, instrument: str, units: int, amount: str
    ) -> dict[str, Any]:
        body = {
            "event": "payment.succeeded", "payment_id": payment_id, "investor_id": investor_id,
            "instrument_id": instrument, "units": units, "amount": amount, "currency": "EUR",
        }  # fmt: skip
        self.capture(payment_id, amount)
        status, _, headers = self.webhook("/webhooks/payments", body)
        print(f"    POST /webhooks/payments {payment_id}: {units} x {instrument}, {amount} EUR")
        print(f"      -> {status}")
        self.last_payment = (body, headers)
        return body

    def finished(
        self, workflow: str, ours: Callable[[dict[str, Any]], bool], timeout: float = 120
    ) -> dict[str, Any]:
        """The newest finished execution of a workflow whose input matches, with live steps."""
        arn = self.outputs[f"{workflow}StateMachineArn"]
        started = time.monotonic()
        deadline, shown = started + timeout, 0
        while time.monotonic() < deadline:
            for summary in self.sfn.list_executions(stateMachineArn=arn)["executions"]:
                execution = self.sfn.describe_execution(executionArn=summary["executionArn"])
                if not ours(json.loads(execution["input"])):
                    continue
                steps = self.steps(execution["executionArn"])
                for step in steps[shown:]:  # the live view: each step as the workflow enters it
                    print(f"      {time.monotonic() - started:5.1f}s  {step}", flush=True)
                shown = max(shown, len(steps))
                if execution["status"] != "RUNNING":
                    return execution  # type: ignore[no-any-return]
                break
            time.sleep(0.5)
        raise TimeoutError(f"no finished {workflow} execution after {timeout}s")

    def purchase(
        self, payment: dict[str, Any], after: Callable[[], object] | None = None
    ) -> dict[str, Any]:
        if after:
            after()
        execution = self.finished(
            "Purchase", lambda i: i["payment"].get("payment_id") == payment["payment_id"]
        )
        output = json.loads(execution.get("output") or "{}")
        print(f"    {output.get('status')}  {output.get('reason') or ''}")
        for step, tx in (output.get("transactions") or {}).items():
            hash_start = str(tx["hash"])[:16]
            print(f"      {step:<22} {hash_start}…  ledger {tx['ledger_index']}  {tx['result']}")
        return output

    def steps(self, execution_arn: str) -> list[str]:
        events = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)[
            "events"
        ]
        names = dict.fromkeys(
            e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
        )
        return [n for n in names if not n.startswith("Wait for") and not n.endswith("?")]

    def expect(self, what: str, passed: bool) -> None:
        print(f"    {'OK' if passed else 'UNEXPECTED'}: {what}")
        self.results.append((what, passed))

    # --- the story ------------------------------------------------------------------------------

    def run(self) -> None:
        from lambdas.records import instruments

        print("\n== Ada and Bob pass KYC: the provider's signed webhooks onboard them")
        wallets = {}
        ada_id, bob_id = self.investor("ada"), self.investor("bob")
        for investor_id in (ada_id, bob_id):
            execution = self.kyc("kyc.approved", investor_id, payout_account=PAYOUT_ACCOUNT)
            output = json.loads(execution.get("output") or "{}")
            wallets[investor_id] = output.get("wallet_address")
            print(f"    {investor_id}: {output.get('status')}, wallet {wallets[investor_id]}")
            self.expect(f"{investor_id} ACTIVE with a wallet", output.get("status") == "ACTIVE")

        print("\n== Ada pays 500.00 EUR for 5 units of SME-2027-A")
        ada = self.purchase(self.pay(self.payment(1), ada_id, "SME-2027-A", 5, "500.00"))
        self.expect("Ada's purchase delivered", ada.get("status") == "DELIVERED")

        print("\n== The gateway's webhook for Ada's payment arrives again (same signature)")
        body, headers = self.last_payment
        status, answer, _ = self.webhook("/webhooks/payments", body, replay_of=headers)
        print(f"    -> {status} {answer}")
        self.expect("the replayed webhook is refused", status == 409)

        print("\n== Bob pays 250.00 EUR for 3 units of SME-2027-A (they cost 300.00)")
        bad = self.purchase(self.pay(self.payment(2), bob_id, "SME-2027-A", 3, "250.00"))
        self.expect(
            "refunded with the reason",
            bad.get("status") == "REFUNDED" and "300.00" in str(bad.get("reason")),
        )

        print("\n== Bob pays 250.00 EUR for 1 unit of SME-2028-B; an AML flag arrives meanwhile")
        payment = self.pay(self.payment(3), bob_id, "SME-2028-B", 1, "250.00")
        flagged = self.purchase(
            payment, after=lambda: self.kyc("aml.flagged", bob_id, reason="sanctions list match")
        )
        self.expect("the purchase is undone and refunded", flagged.get("status") == "REFUNDED")
        self.show_freeze(wallets[bob_id])

        print("\n== Bob pays again while blocked")
        refused = self.purchase(self.pay(self.payment(4), bob_id, "SME-2027-A", 1, "100.00"))
        self.expect(
            "a blocked investor's payment is refunded",
            refused.get("status") == "REFUNDED" and "BLOCKED" in str(refused.get("reason")),
        )

        print("\n== Summary, read back from the ledger and the records")
        units = {i.instrument_id: (i.issuance_id, i.units_sold) for i in instruments.catalogue()}
        for investor_id, address in wallets.items():
            print(f"    {investor_id} {address}: {self.holdings(address, units)}")
        told = self.notified(
            "WalletReady", "PurchaseCompleted", "RefundRequested", "InvestorBlocked"
        )
        self.expect("the frontend was told", told)

    @property
    def deployed(self) -> bool:
        """Told to a deployed stack: only then are the investors' ids the run's own."""
        return bool(self.ids)

    def investor(self, name: str) -> str:
        return f"{self.ids}inv-{name}"

    def payment(self, number: int) -> str:
        return f"{self.ids or 'demo-'}pay-{number:03d}"

    def block_test_investors(self) -> None:
        """A deployed stack keeps what a run made: its investors end blocked, as an operator
        blocks them, with a reason that says they are the demo's."""
        from ops.decisions import put_aml_decision

        for name in ("ada", "bob"):
            detail = put_aml_decision(
                self.events, self.outputs["EventBusName"], self.investor(name), block=True,
                reason=f"a test investor of the demo run {self.ids.rstrip('-')}",
                operator="make demo",
            )  # fmt: skip
            print(f"    {detail['investor_id']} blocked: {detail['reason']}")

    def notified(self, *kinds: str) -> bool:
        if self.notifications_url is None:
            print("    the frontend is the deployed one: its own log shows what it was told")
            return True
        time.sleep(1.5)  # notifications are delivered asynchronously
        with urllib.request.urlopen(self.notifications_url, timeout=10) as response:
            received = json.loads(response.read())
        seen = {n["body"]["type"] for n in received if isinstance(n.get("body"), dict)}
        print(f"    notifications the frontend received: {', '.join(sorted(seen))}")
        return set(kinds) <= seen

    def show_freeze(self, address: str) -> None:
        from xrpl.models.requests import AccountObjectType

        lines = self.ledger.trust_lines(address)
        frozen = [line for line in lines if line.get("freeze_peer")]
        tokens = self.ledger.objects(address, AccountObjectType.MPTOKEN)
        locked = [t for t in tokens if int(t.get("Flags", 0)) & 0x01]
        print(f"    on the ledger: EUR line frozen by the issuer: {bool(frozen)}; "
              f"instruments locked: {len(locked)} of {len(tokens)}")  # fmt: skip
        self.expect("Bob's line is frozen on the ledger", bool(frozen))

    def holdings(self, address: str, units: dict[str, tuple[str, int]]) -> str:
        from xrpl.models.requests import AccountObjectType

        tokens = self.ledger.objects(address, AccountObjectType.MPTOKEN)
        held = {t["MPTokenIssuanceID"]: int(t.get("MPTAmount", 0)) for t in tokens}
        eur = sum(
            (Decimal(line["balance"]) for line in self.ledger.trust_lines(address)), Decimal(0)
        )
        parts = [f"{name} {held.get(issuance, 0)} units" for name, (issuance, _) in units.items()]
        return ", ".join(parts) + f", EUR {eur}"


def run_module(module: str, *args: str) -> bool:
    result = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    for line in (result.stdout + result.stderr).splitlines():
        print("   ", line)
    return result.returncode == 0


def main(argv: list[str] | None = None) -> int:
    from ops.stack import add_stack_arguments

    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__)
    add_stack_arguments(
        parser,
        "tell the story to a deployed stack (Drexfy-<env>) instead: its API, its ledger and "
        "its providers, with the providers' secrets read from Secrets Manager",
    )
    args = parser.parse_args(argv)
    return deployed(args.stack, args.profile, args.region) if args.stack else embedded()


def deployed(stack: str, profile: str | None, region: str | None) -> int:
    """The whole story against a deployed stack, with `demo-<run>-…` investors: purchases,
    refunds and AML; servicing and money out on an instrument of the run's own
    (local/demo_servicing.py); the registers and statements read as an operator reads them; and
    the investors blocked at the end. Never on Mainnet: its payments were never paid in."""
    from ops.stack import ConfigurationError, deployed_platform, stack_arguments

    try:
        operator, outputs = deployed_platform(stack, profile, region)  # the summary reads records
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    refused = refusal(stack, outputs)
    if refused:
        print(refused, file=sys.stderr)
        return 2
    run = f"demo-{datetime.now(UTC):%Y%m%dT%H%M%S}-"
    print(f"The story told to {stack} ({outputs['ApiUrl']}), its investors {run}inv-…")
    state = {"stack": {"outputs": outputs}, "api_url": outputs["ApiUrl"]}
    demo = Demo(state, outputs["XrplUrls"].split(",")[0], operator.session, ids=run)
    where = stack_arguments(stack, profile, region)
    demo.run()
    own = servicing.run_on_a_stack(demo, where)
    if own is not None:
        money_out.run_on_a_stack(demo)
    books.run(demo, where, (*books.INSTRUMENTS, *([own] if own else [])))
    print("\n== The run's investors, blocked and marked as the demo's")
    demo.block_test_investors()
    passed = sum(ok for _, ok in demo.results)
    print(f"\n{passed}/{len(demo.results)} expected outcomes happened")
    return 0 if passed == len(demo.results) else 1


def refusal(stack: str, outputs: dict[str, str]) -> str | None:
    """Why the demo must not run on this stack, if it must not: on Mainnet its payments (signed
    webhooks no one paid) would mint real stablecoin and pay real money out."""
    if outputs.get("XrplNetwork") == "mainnet":
        return (
            f"refused: {stack} settles on Mainnet. The demo's payments are webhooks it signs "
            "itself, paid by no one: run it on a Testnet stack."
        )
    return None


def embedded() -> int:
    with tempfile.TemporaryDirectory(prefix="drexfy-demo-") as folder:
        state_file = Path(folder) / "aws.json"
        print("Starting the local XRPL ledger (a ledger closes every second)…")
        ledger = start_module(
            "local.ledger_server", ["--port", "0", "--ws-port", "0", "--close-interval-ms", "1000"],
            "local ledger ready",
        )  # fmt: skip
        servers = [ledger]
        passed = False
        try:
            print(ledger.ready_line)
            print("Starting the embedded AWS platform (moto) with the CDK-synthesized stack…")
            aws = start_module(
                "local.aws",
                [
                    "--state-file",
                    str(state_file),
                    "--set-env",
                    f"XRPL_URLS={ledger.field('rpcs')}",
                    "--set-env",
                    "LEDGER_CLOSE_SECONDS=1",
                ],
                "local aws ready",
            )
            servers.append(aws)
            print(aws.ready_line)
            print("\n== Bootstrapping the platform on the ledger (python -m ops.bootstrap)")
            ok = run_module("ops.bootstrap", "--state-file", str(state_file), "--ledger-url",
                            ledger.field("rpc"), "--fund-from-seed", GENESIS_SEED)  # fmt: skip
            state = json.loads(state_file.read_text())
            from ops.local_state import use_local_platform

            use_local_platform(state_file, ledger.field("rpc"))
            demo = Demo(state, ledger.field("rpc"))
            if ok:
                demo.run()
                servicing.run(demo, state_file)
                demo.expect("Ada was told", demo.notified("CouponPaid", "PrincipalRepaid"))
                money_out.run(demo, state_file, str(state["provider_url"]))
                told = demo.notified("WithdrawalPaidOut", "WithdrawalReturned")
                demo.expect("Ada was told of her withdrawals", told)
                books.run(demo, ["--state-file", str(state_file)])
            results = [("bootstrap", ok), *demo.results]
            passed = all(ok for _, ok in results)
            print(f"\n{sum(ok for _, ok in results)}/{len(results)} expected outcomes happened")
        finally:
            for server in reversed(servers):
                server.stop()
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
