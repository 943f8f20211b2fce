"""Failures injected into the purchase saga's steps, before or after their side effect.

The saga's Lambdas run in this process, so a fault is a wrapper around the adapter method a
step's handler calls; what happens on the ledger and in DynamoDB stays real.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from domain.errors import BusinessRuleViolation


class InjectedFailure(BusinessRuleViolation):
    """A business failure a test put there."""


@dataclass
class Faults:
    monkeypatch: pytest.MonkeyPatch
    fired: list[str] = field(default_factory=list)

    def ledger_step(
        self, step: str, when: str, error: Callable[[str], Exception] | None = None
    ) -> None:
        """Fail a ledger step (holdings, mint, transfer, deliver, or a compensation) before it
        submits anything, or after its transaction validated."""
        from lambdas.purchase.settlement import DONE, PurchaseLedger

        make_error = error or (lambda message: InjectedFailure(message))
        method = "ready_holdings" if step == "holdings" else _method_for(step)
        real = getattr(PurchaseLedger, method)
        faults = self

        def failing(ledger: Any, purchase_id: str, *args: Any) -> Any:
            if _step_of(step, args):
                if when == "before":
                    faults.fired.append(f"{step} before")
                    raise make_error(f"injected failure before {step}")
                progress = real(ledger, purchase_id, *args)
                if progress.state == DONE:
                    faults.fired.append(f"{step} after")
                    raise make_error(f"injected failure after {step} validated")
                return progress
            return real(ledger, purchase_id, *args)

        self.monkeypatch.setattr(PurchaseLedger, method, failing)

    def completion(self) -> None:
        from lambdas import purchase_records

        def failing(purchase_id: str) -> Any:
            self.fired.append("complete")
            raise InjectedFailure("injected failure before completing the purchase")

        self.monkeypatch.setattr(purchase_records, "complete_delivery", failing)

    def after_step(self, step: str, action: Callable[[str], None]) -> None:
        """Run action(purchase_id) once the step has validated (e.g. an AML flag arriving)."""
        from lambdas.purchase.settlement import DONE, PurchaseLedger

        real = PurchaseLedger.advance

        def watching(ledger: Any, purchase_id: str, the_step: Any, checks: int) -> Any:
            progress = real(ledger, purchase_id, the_step, checks)
            if the_step.value == step and progress.state == DONE:
                action(purchase_id)
            return progress

        self.monkeypatch.setattr(PurchaseLedger, "advance", watching)


def _method_for(step: str) -> str:
    from domain.settlement import FORWARD_STEPS, Step

    return "advance" if Step(step) in FORWARD_STEPS else "reverse"


def _step_of(step: str, args: tuple[Any, ...]) -> bool:
    if step == "holdings":
        return True
    return bool(args) and getattr(args[0], "value", None) == step
