"""Task inputs are typed at the handler's door: a malformed Step Functions input is a
MalformedTaskInput naming the field, raised before any record or ledger is touched."""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.errors import MalformedTaskInput
from lambdas.tasks import (
    Decision,
    Deposit,
    InvestorStep,
    Notification,
    PurchaseCompensation,
    PurchaseStep,
    parse,
)

ROOT = Path(__file__).resolve().parents[2]


def test_a_well_formed_input_is_parsed_with_its_defaults() -> None:
    assert parse(PurchaseStep, {"purchase_id": "purchase-1", "extra": 1}) == PurchaseStep(
        "purchase-1", 0
    )
    assert parse(PurchaseStep, {"purchase_id": "purchase-1", "checks": "3"}).checks == 3
    step = parse(InvestorStep, {"investor_id": "inv-1", "case_id": "c-1", "decision": None})
    assert step == InvestorStep("inv-1", "c-1", 0, None)
    compensation = parse(PurchaseCompensation, {"payment": {"payment_id": "p"}, "failure": None})
    assert compensation.payment == {"payment_id": "p"} and compensation.failure is None
    assert parse(Deposit, {"payment": {}, "redrive": True}).redrive is True
    assert parse(Decision, {"detail_type": "KycApproved"}).decision == {}
    notification = parse(
        Notification, {"notification": "WalletReady", "investor_id": "i", "case_id": "c"}
    )
    assert notification.detail == {} and notification.occurrence is None


@pytest.mark.parametrize(
    ("model", "event", "says"),
    [
        (PurchaseStep, {}, "PurchaseStep: purchase_id is missing"),
        (PurchaseStep, {"purchase_id": 7}, "PurchaseStep: purchase_id must be str, not int"),
        (PurchaseStep, {"purchase_id": " "}, "PurchaseStep: purchase_id is empty"),
        (PurchaseStep, {"purchase_id": "p", "checks": True}, "checks must be int, not bool"),
        (PurchaseStep, {"purchase_id": "p", "checks": "many"}, "checks must be int, not str"),
        (PurchaseStep, ["purchase_id"], "PurchaseStep: the input is not a JSON object"),
        (Deposit, {"payment": "pay-1"}, "Deposit: payment must be dict, not str"),
        (Deposit, {"payment": {}, "redrive": "yes"}, "Deposit: redrive must be bool, not str"),
        (InvestorStep, {"investor_id": "inv-1"}, "InvestorStep: case_id is missing"),
        (PurchaseCompensation, {"payment": []}, "payment must be dict, not list"),
    ],
)
def test_a_malformed_input_names_the_field(model: type, event: Any, says: str) -> None:
    with pytest.raises(MalformedTaskInput, match=re.escape(says)):
        parse(model, event)


@dataclass
class _Context:
    """What Powertools reads of a Lambda context."""

    function_name: str = "unit"
    function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:unit"
    invoked_function_arn: str = function_arn
    memory_limit_in_mb: int = 128
    aws_request_id: str = "unit-request"
    function_version: str = "$LATEST"


# cdk/workflows.py's helpers that name a handler by its function's name in one module
_HELPERS = {"_ledger_step": "_STEPS", "_holder_ledger_step": "_SERVICING"}


def workflow_task_handlers() -> list[str]:
    """Every task handler the workflows invoke, as cdk/workflows.py names them (read as text:
    the unit tier does not import CDK)."""
    text = (ROOT / "cdk" / "workflows.py").read_text()
    modules = dict(re.findall(r'^(_[A-Z]+) = "(lambdas\.[\w.]+)"', text, re.MULTILINE))
    named = set(re.findall(r'"(lambdas\.[\w.]+)"', text)) - set(modules.values())
    named |= {f"{modules[m]}.{h}" for m, h in re.findall(r'f"\{(_[A-Z]+)\}\.(\w+)"', text)}
    for helper, module in _HELPERS.items():
        calls = re.findall(rf'(?<!\w){helper}\(\s*"\w+",\s*"(\w+)"', text)
        named |= {f"{modules[module]}.{h}" for h in calls}
    return sorted(named)


def test_the_workflows_tasks_were_found() -> None:
    handlers = workflow_task_handlers()
    assert len(handlers) >= 30
    assert "lambdas.purchase.ledger_steps.mint_stablecoin" in handlers
    assert "lambdas.servicing.steps.pay_holder" in handlers
    assert "lambdas.servicing.steps.take_distribution" in handlers


@pytest.mark.parametrize("path", workflow_task_handlers())
def test_every_task_refuses_a_malformed_input_before_touching_anything(path: str) -> None:
    module, name = path.rsplit(".", 1)
    handler = getattr(importlib.import_module(module), name)
    with pytest.raises(MalformedTaskInput):
        handler({"purchase_id": 7, "investor_id": 7, "case_id": 7, "payment": 7}, _Context())


def test_an_answer_is_plain_json_without_the_optional_fields_that_do_not_apply() -> None:
    from domain.investor import InvestorStatus
    from lambdas.tasks import DecisionRecorded, InvestorAnswer, Notified, answer

    assert answer(Notified("WalletReady#inv-1", sent=False)) == {
        "notification_id": "WalletReady#inv-1",
        "sent": False,
    }
    kyc = DecisionRecorded("inv-1", "c-1", "KycApproved", True, InvestorStatus.KYC_APPROVED, None)
    assert answer(kyc) == {
        "investor_id": "inv-1",
        "case_id": "c-1",
        "detail_type": "KycApproved",
        "applies": True,
        "status": "KYC_APPROVED",
        "reason": None,  # required: shown as null
    }
    activated = answer(InvestorAnswer("inv-1", "c-1", InvestorStatus.ACTIVE, "rAddress"))
    assert activated == {
        "investor_id": "inv-1",
        "case_id": "c-1",
        "status": "ACTIVE",
        "wallet_address": "rAddress",
    }
    assert json.loads(json.dumps(activated))["status"] == "ACTIVE"
