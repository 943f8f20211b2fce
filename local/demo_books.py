"""The demo's last part: the books. The three-way reconciliation of the ledger, the records and
the payment provider's settlements must be clean after everything the demo did; each
instrument's holder register must read back what the ledger shows: each holder's units are
the sum of their changes, and each change is a validated transaction of the company; and each
holder's statement for the month must tie, its closing holdings what the ledger holds.

It reads the platform as an operator does, through `drexfy-ops`: `where` is `--state-file FILE`
for the embedded platform or `--stack NAME …` for a deployed one. There only the run's own
investors get statements (a real stack has many more holders), and there is no reconciliation:
the run's payments never reached the real provider."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from local.processes import PROJECT_ROOT
from ops.books import register_shown, statement_shown

if TYPE_CHECKING:
    from local.demo import Demo

INSTRUMENTS = ("SME-2027-A", "SME-2028-B")
# Bob's SME-2028-B may have been undone before or after its delivery (the AML flag races it),
# so its register may have no change at all; every other instrument's was delivered to Ada.
MAY_HAVE_NO_CHANGE = {"SME-2028-B"}


def run(demo: Demo, where: Sequence[str], instruments: Sequence[str] = INSTRUMENTS) -> None:
    from local.demo import run_module

    if demo.deployed:
        # The run's payments were webhooks it signed with the provider's secret: the provider
        # never took that money, so a three-way reconciliation must name each of them.
        print("\n== The books: the ledger and the records (the provider never saw this run)")
    else:
        print("\n== The books: the ledger, the records and the provider's settlements")
        clean = run_module("ops.cli", *where, "reconcile")
        demo.expect("the three-way reconciliation is clean", clean)
    registers: list[dict[str, Any]] = []
    for instrument in instruments:
        print(f"\n== drexfy-ops register {instrument}")
        register = ops_json(where, register_shown, "register", instrument)
        read = (
            register is not None
            and reads_back(demo, register)
            and (bool(register["changes"]) or instrument in MAY_HAVE_NO_CHANGE)
        )
        demo.expect(f"{instrument}'s register reads back the ledger", read)
        if register is not None:
            registers.append(register)
    # Everyone the registers name: holders now, and those whose units changed during the demo.
    holders = {h["investor_id"]: h["address"] for r in registers for h in r["holders"]}
    holders |= {c["investor_id"]: c["holder"] for r in registers for c in r["changes"]}
    holders.pop(None, None)  # outside the records: the reconciliation names them
    if demo.deployed:  # this run's investors only
        holders = {i: a for i, a in holders.items() if i.startswith(demo.ids)}
    month = datetime.now(UTC).strftime("%Y-%m")
    for investor_id, address in sorted(holders.items()):
        print(f"\n== drexfy-ops statement {investor_id} --period {month}")
        made = ops_json(where, statement_shown, "statement", investor_id, "--period", month)
        issuances = {r["instrument_id"]: r["issuance_id"] for r in registers}
        demo.expect(
            f"{investor_id}'s statement ties and closes on what the ledger holds",
            made is not None and closes_on_the_ledger(demo, made, address, issuances),
        )


def closes_on_the_ledger(
    demo: Demo, made: dict[str, Any], address: str, issuances: dict[str, str]
) -> bool:
    """The statement ties, and its closing stablecoin and units are the wallet's in the
    statement's closing ledger."""
    closing = made["closing"]
    index = int(closing["ledger_index"])
    lines = demo.ledger.account_lines(address, ledger=index).get("lines", [])  # the issuer's
    eur = sum((Decimal(x["balance"]) for x in lines if x["currency"] == "EUR"), Decimal(0))
    units = {
        instrument: int(demo.ledger.mptoken(issuance, address, index).get("node", {}).get(
            "MPTAmount", 0))
        for instrument, issuance in issuances.items()
    }  # fmt: skip
    held = {i: n for i, n in units.items() if n}
    return (
        bool(made["ties_to_the_ledger"])
        and Decimal(closing["stablecoin"]) == eur
        and (closing["units"] == held)
    )


def ops_json(
    where: Sequence[str], shown: Callable[[dict[str, Any]], str], *command: str
) -> dict[str, Any] | None:
    """One `drexfy-ops --json` command's document, printed as the command prints it for people;
    None (and what it said) when it gave no document."""
    result = subprocess.run(
        [sys.executable, "-m", "ops.cli", *where, "--json", *command],
        capture_output=True, text=True, cwd=PROJECT_ROOT,
    )  # fmt: skip
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict) or "error" in document:
        said = result.stderr + (str(document["error"]) if isinstance(document, dict) else "")
        print(textwrap.indent(said or result.stdout, "    "))
        return None
    print(textwrap.indent(shown(document), "    "))
    return document


def reads_back(demo: Demo, register: dict[str, Any]) -> bool:
    """Every holder's units on the ledger are the sum of their changes, and every change is a
    successful transaction in a validated ledger no later than the register's."""
    index, issuance = register["ledger_index"], register["issuance_id"]
    holders = {c["holder"] for c in register["changes"]} | {
        h["address"] for h in register["holders"]
    }
    for address in holders:
        token = demo.ledger.mptoken(issuance, address, index).get("node", {})
        changed = sum(c["units"] for c in register["changes"] if c["holder"] == address)
        if int(token.get("MPTAmount", 0)) != changed:
            return False
    for change in register["changes"]:
        found = demo.ledger.find_transaction(change["tx_hash"], max(1, index - 999), index)
        if found.get("meta", {}).get("TransactionResult") != "tesSUCCESS":
            return False
    return True
