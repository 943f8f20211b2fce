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
from local.aws import access


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
        from domain.settlement import StepState
        from lambdas.ledger_services.purchases import PurchaseSettlement

        make_error = error or (lambda message: InjectedFailure(message))
        faults = self

        def failing_in(method: str) -> Callable[..., Any]:
            real = getattr(PurchaseSettlement, method)

            def failing(ledger: Any, purchase_id: str, *args: Any) -> Any:
                if not _step_of(step, args):
                    return real(ledger, purchase_id, *args)
                if when == "before":
                    faults.fired.append(f"{step} before")
                    raise make_error(f"injected failure before {step}")
                progress = real(ledger, purchase_id, *args)
                if progress.state == StepState.DONE:
                    faults.fired.append(f"{step} after")
                    raise make_error(f"injected failure after {step} validated")
                return progress

            return failing

        for method in _methods_for(step):
            self.monkeypatch.setattr(PurchaseSettlement, method, failing_in(method))

    def completion(self) -> None:
        from lambdas.records import purchases as purchase_records

        def failing(purchase_id: str) -> Any:
            self.fired.append("complete")
            raise InjectedFailure("injected failure before completing the purchase")

        self.monkeypatch.setattr(purchase_records, "complete_delivery", failing)

    def after_step(self, step: str, action: Callable[[str], None]) -> None:
        """Run action(purchase_id) once, as soon as the step's successors may go: it validated,
        or (the mint) it was accepted into the open ledger. E.g. an AML flag arriving between
        the mint and the transfer."""
        from domain.settlement import StepState
        from lambdas.ledger_services.purchases import PurchaseSettlement

        real = PurchaseSettlement.advance
        done: list[str] = []

        def watching(ledger: Any, purchase_id: str, the_step: Any, checks: int) -> Any:
            progress = real(ledger, purchase_id, the_step, checks)
            followed = progress.state in (StepState.DONE, StepState.ACCEPTED)
            if the_step.value == step and followed and not done:
                done.append(purchase_id)
                with access.acting(None):  # the outside world acts, not the step's role
                    action(purchase_id)
            return progress

        self.monkeypatch.setattr(PurchaseSettlement, "advance", watching)

    def at_boundary(self, boundary: str, action: Callable[[str], None]) -> None:
        """Run action(purchase_id) once at a boundary of the purchase: after the deposit is
        recorded, after the holdings are ready, after a forward step may be followed (mint,
        transfer, deliver), or with the investor's transfer reserved but not yet signed."""
        from domain.settlement import StepState
        from lambdas.ledger_adapter.submission import LedgerSubmitter
        from lambdas.ledger_services.purchases import PurchaseSettlement
        from lambdas.records import purchases as purchase_records

        done: list[str] = []

        def once(purchase_id: str) -> None:
            if not done:
                done.append(purchase_id)
                self.fired.append(boundary)
                with access.acting(None):  # the outside world acts, not the step's role
                    action(purchase_id)

        if boundary in ("mint", "transfer", "deliver"):
            self.after_step(boundary, once)
        elif boundary == "deposit":
            real_open = purchase_records.open_purchase

            def opened(*args: Any, **kwargs: Any) -> Any:
                record, handling = real_open(*args, **kwargs)
                once(record.purchase_id)
                return record, handling

            self.monkeypatch.setattr(purchase_records, "open_purchase", opened)
        elif boundary == "holdings":
            real_holdings = PurchaseSettlement.ready_holdings

            def readied(ledger: Any, purchase_id: str, checks: int) -> Any:
                progress = real_holdings(ledger, purchase_id, checks)
                if progress.state == StepState.DONE:
                    once(purchase_id)
                return progress

            self.monkeypatch.setattr(PurchaseSettlement, "ready_holdings", readied)
        elif boundary == "transfer reserved":
            real_sign = LedgerSubmitter._sign_prepared

            def signing(submitter: Any, record: Any, sign: Any) -> Any:
                if str(record.business_key).endswith("#transfer"):
                    once(str(record.business_key).split("#")[0])
                return real_sign(submitter, record, sign)

            self.monkeypatch.setattr(LedgerSubmitter, "_sign_prepared", signing)
        else:
            raise ValueError(f"no boundary {boundary!r}")


def _methods_for(step: str) -> tuple[str, ...]:
    """The PurchaseSettlement methods that submit or decide the step."""
    from domain.settlement import FORWARD_STEPS, Step

    if step == "holdings":
        return ("ready_holdings",)
    return ("advance", "confirm") if Step(step) in FORWARD_STEPS else ("reverse",)


def _step_of(step: str, args: tuple[Any, ...]) -> bool:
    if step == "holdings":
        return True
    return bool(args) and getattr(args[0], "value", None) == step
