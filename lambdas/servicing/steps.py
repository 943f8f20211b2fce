"""The distribution workflow's tasks, and the daily start that finds each payment date due.

Each handler parses its input, calls the distribution service (lambdas/servicing/
distributions.py) or the records, and answers what the next state reads: summaries and counts,
never a key, a token in an output, or a list of every holder (the Distributed Map reads those
from the servicing bucket).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.cash_flows import WriteDown
from domain.distribution import distribution_id, due_periods, holder_notifications
from domain.errors import MalformedTaskInput
from domain.money import parse_amount
from lambdas import platform_events
from lambdas.config import settings
from lambdas.records import distributions, instruments, notifications, withdrawals
from lambdas.servicing import schedule
from lambdas.tasks import (
    CollectionStep,
    DistributionStart,
    DistributionStep,
    HolderStep,
    WriteDownRequest,
    parse,
)

if TYPE_CHECKING:
    from lambdas.ledger_services.runner import StepCheck
    from lambdas.servicing.distributions import NotNow

logger = Logger(service="servicing")


def _service() -> Any:
    # xrpl-py, ~200 ms: loaded on first use, not at import
    from lambdas.servicing.distributions import distribution_service

    return distribution_service()


def _step_output(answer: StepCheck | NotNow, **keys: Any) -> dict[str, Any]:
    return {**keys, **answer.as_output()}


@logger.inject_lambda_context(clear_state=True)
def take_distribution(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(DistributionStart, event)
    try:
        payment_date = date.fromisoformat(task.payment_date)
    except ValueError:
        raise MalformedTaskInput(f"payment_date {task.payment_date!r} is not ISO") from None
    logger.append_keys(distribution_id=distribution_id(task.instrument_id, payment_date))
    from lambdas.servicing.distributions import ledger_quorum, take

    state = take(task.instrument_id, payment_date, ledger_quorum())
    logger.info("distribution taken", extra={"status": state.status, "holders": state.holders})
    items = {"bucket": settings().servicing_bucket, "key": state.items_key}
    return {**state.summary(), "items": items}


@logger.inject_lambda_context(clear_state=True)
def check_funds(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(DistributionStep, event)
    logger.append_keys(distribution_id=task.distribution_id)
    funds = _service().check_funds(task.distribution_id)
    logger.info("funds checked", extra=funds.as_output())
    return {"distribution_id": task.distribution_id, "checks": task.checks, **funds.as_output()}


@logger.inject_lambda_context(clear_state=True)
def request_approval(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Keeps the workflow's task token for `drexfy-ops distributions approve`."""
    task = parse(DistributionStep, event)
    if not task.token:
        raise MalformedTaskInput("DistributionStep: token is missing")
    state = distributions.await_approval(task.distribution_id, task.token)
    logger.info("approval requested", extra={"distribution_id": task.distribution_id})
    return {"distribution_id": state.distribution_id, "status": state.status.value}


@logger.inject_lambda_context(clear_state=True)
def record_approval(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(DistributionStep, event)
    state = distributions.approve(task.distribution_id, task.approved_by or "unknown operator")
    logger.info("approved", extra={"distribution_id": task.distribution_id})
    return state.summary()


def _holder_step(how: str, event: dict[str, Any]) -> dict[str, Any]:
    """Call the distribution service's method `how` (pay, take_back) for one holder."""
    task = parse(HolderStep, event)
    logger.append_keys(distribution_id=task.distribution_id, investor_id=task.investor_id)
    answer = getattr(_service(), how)(task.distribution_id, task.investor_id, task.checks)
    keys = {"distribution_id": task.distribution_id, "investor_id": task.investor_id}
    return _step_output(answer, **keys)


@logger.inject_lambda_context(clear_state=True)
def pay_holder(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _holder_step("pay", event)


@logger.inject_lambda_context(clear_state=True)
def notify_holder(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """CouponPaid and PrincipalRepaid for the frontend, once each, for a holder paid."""
    task = parse(HolderStep, event)
    payment = distributions.entitlement(task.distribution_id, task.investor_id)
    due = []
    if payment is not None:
        choice = withdrawals.income_payout_of(task.investor_id)  # the rule filters on it
        due = holder_notifications(task.distribution_id, payment, choice)
    sent = []
    for kind, notification_id, payload in due:
        if not notifications.already_sent(notification_id):
            event_id = platform_events.publish(
                kind, payload, source=platform_events.INVESTORS_SOURCE
            )
            notifications.record_sent(notification_id, kind, task.investor_id, event_id)
            sent.append(kind)
    return {"distribution_id": task.distribution_id, "investor_id": task.investor_id, "sent": sent}


@logger.inject_lambda_context(clear_state=True)
def take_back_units(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _holder_step("take_back", event)


@logger.inject_lambda_context(clear_state=True)
def report_distribution(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(DistributionStep, event)
    from lambdas.servicing.distributions import report as report_of

    report = report_of(task.distribution_id)
    logger.info("distribution reported", extra={"status": report["status"]})
    return report


@logger.inject_lambda_context(clear_state=True)
def retire_issuance(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(DistributionStep, event)
    answer = _service().retire(task.distribution_id, task.checks)
    return _step_output(answer, distribution_id=task.distribution_id)


@logger.inject_lambda_context(clear_state=True)
def mint_collection(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(CollectionStep, event)
    try:
        amount = parse_amount(task.amount)
    except ValueError as error:
        raise MalformedTaskInput(f"CollectionStep: {error}") from None
    logger.append_keys(collection_id=task.collection_id)
    answer = _service().mint_collection(task.collection_id, amount, task.checks)
    return _step_output(answer, collection_id=task.collection_id)


@logger.inject_lambda_context(clear_state=True)
def record_write_down(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """An operator's write-down on the instrument's record; refused with the reason."""
    request = parse(WriteDownRequest, event).write_down
    try:
        write_down = WriteDown(
            str(request["write_down_id"]),
            date.fromisoformat(str(request["on"])),
            Decimal(str(request["per_unit"])),
            str(request.get("reason") or ""),
        )
        instrument_id = str(request["instrument_id"])
    except (KeyError, ValueError, ArithmeticError) as error:
        raise MalformedTaskInput(f"WriteDownRequest: {error!r}") from None
    listed = instruments.record_write_down(instrument_id, write_down, datetime.now(UTC).date())
    logger.info("write-down recorded", extra={"instrument_id": instrument_id})
    return {
        "instrument_id": instrument_id,
        "write_downs": [w.as_json() for w in listed.write_downs],
    }


@logger.inject_lambda_context(clear_state=True)
def start_due_distributions(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The daily schedule: each instrument's payment dates due by the event's day, started
    once each (the execution is named by instrument and date)."""
    when = datetime.fromisoformat(str(event.get("time", "")).replace("Z", "+00:00"))
    started = []
    for listed in instruments.catalogue():
        for period in due_periods(listed.terms, when.date()) if listed.terms else []:
            if schedule.start(listed.instrument_id, period.payment_date):
                started.append(distribution_id(listed.instrument_id, period.payment_date))
    logger.info("due distributions started", extra={"started": started})
    return {"day": when.date().isoformat(), "started": started}
