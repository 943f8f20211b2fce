"""Least privilege, read from the synthesized production template: each function may touch
only what its TaskFunction declares; only the Signer decrypts seeds, and only seeds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cdk.api import API_FUNCTIONS
from cdk.keys import KEY_ADMINISTRATION
from cdk.servicing import START_DUE_DISTRIBUTIONS
from cdk.signing import SIGNERS
from cdk.workflows import WORKFLOWS
from tests.cdk.conftest import resources_of

TASKS = (
    {t.handler: t for spec in WORKFLOWS for t in spec.tasks}
    | {t.handler: t for t in API_FUNCTIONS}
    | {t.handler: t for t in SIGNERS}
    | {START_DUE_DISTRIBUTIONS.handler: START_DUE_DISTRIBUTIONS}
)


def statements_by_role(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for policy in resources_of(template, "AWS::IAM::Policy"):
        for role in policy["Properties"].get("Roles", []):
            found.setdefault(role["Ref"], []).extend(
                policy["Properties"]["PolicyDocument"]["Statement"]
            )
    return found


def logical_id(template: dict[str, Any], prefix: str, kind: str) -> list[str]:
    return [
        k for k, r in template["Resources"].items() if r["Type"] == kind and k.startswith(prefix)
    ]


def allows(
    statements: list[dict[str, Any]], action: str, resource_ref: str
) -> list[dict[str, Any]]:
    def actions(s: dict[str, Any]) -> list[str]:
        a = s["Action"]
        return a if isinstance(a, list) else [a]

    return [
        s
        for s in statements
        if s.get("Effect", "Allow") == "Allow"
        and action in actions(s)
        and resource_ref in json.dumps(s["Resource"])
    ]


@pytest.fixture(scope="module")
def functions(prod_template: dict[str, Any]) -> dict[str, tuple[Any, list[dict[str, Any]]]]:
    """Handler -> (its TaskFunction, the statements of its role)."""
    by_role = statements_by_role(prod_template)
    result = {}
    for function in resources_of(prod_template, "AWS::Lambda::Function"):
        handler = function["Properties"]["Handler"]
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        result[handler] = (TASKS[handler], by_role.get(role, []))
    return result


def test_every_function_is_declared(functions: dict[str, Any]) -> None:
    assert set(functions) == set(TASKS)


def test_only_the_signer_decrypts_seeds_and_only_seeds(
    prod_template: dict[str, Any], functions: dict[str, Any]
) -> None:
    (seed_key,) = logical_id(prod_template, "KeysInvestorSeeds", "AWS::KMS::Key")
    for handler, (task, statements) in functions.items():
        for action, declared in (
            ("kms:Decrypt", task.decrypts_seeds),
            ("kms:Encrypt", task.encrypts_seeds),
        ):
            granted = allows(statements, action, seed_key)
            assert bool(granted) == declared, f"{handler}: {action}"
            for statement in granted:
                assert statement["Condition"] == {
                    "StringEquals": {"kms:EncryptionContext:purpose": "drexfy-investor-seed"}
                }
    decrypting = {t.name for t, _ in functions.values() if t.decrypts_seeds}
    assert decrypting == {"InvestorSigner"}
    assert {t.name for t, _ in functions.values() if t.encrypts_seeds} == {"CreateWallet"}


def test_only_the_signers_sign_each_only_as_its_own_account(
    prod_template: dict[str, Any], functions: dict[str, Any]
) -> None:
    keys = {
        role: logical_id(prod_template, f"Keys{role.capitalize()}Account", "AWS::KMS::Key")[0]
        for role in ("issuer", "company", "funding")
    }
    for handler, (task, statements) in functions.items():
        for role, key in keys.items():
            assert bool(allows(statements, "kms:Sign", key)) == (role == task.holds_key_of), handler
    signing = {t.name: t.holds_key_of for t, _ in functions.values() if t.holds_key_of}
    assert signing == {"IssuerSigner": "issuer", "CompanySigner": "company",
                       "FundingSigner": "funding"}  # fmt: skip


def test_the_signers_reach_no_ledger_and_the_ledger_steps_hold_no_key(
    functions: dict[str, Any],
) -> None:
    """A signer asks no one to sign; whoever talks to a ledger asks a signer."""
    for handler, (task, statements) in functions.items():
        is_signer = task.holds_key_of is not None or task.decrypts_seeds
        invoked = {
            ref.rstrip("0123456789ABCDEF").removeprefix("Signing")
            for s in statements
            if "lambda:InvokeFunction" in json.dumps(s["Action"])
            for ref in json.dumps(s["Resource"]).split('"')
            if ref.startswith("Signing")
        }
        assert invoked == {f"{role.capitalize()}Signer" for role in task.signs_as}, handler
        assert not (is_signer and task.signs_as), handler


def _key_statements(template: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    (key,) = logical_id(template, prefix, "AWS::KMS::Key")
    return list(template["Resources"][key]["Properties"]["KeyPolicy"]["Statement"])


@pytest.mark.parametrize(
    ("key", "user", "use"),
    [
        ("KeysInvestorSeeds", "SigningInvestorSigner", "kms:Decrypt"),
        ("KeysIssuerAccount", "SigningIssuerSigner", "kms:Sign"),
        ("KeysCompanyAccount", "SigningCompanySigner", "kms:Sign"),
        ("KeysFundingAccount", "SigningFundingSigner", "kms:Sign"),
    ],
)
def test_key_policies_let_the_account_administer_keys_and_only_the_signer_use_them(
    prod_template: dict[str, Any], key: str, user: str, use: str
) -> None:
    """The account root (and so every administrator IAM allows) may manage the key, never
    decrypt a seed or sign; the key policy names the one role that may."""
    account, *users = _key_statements(prod_template, key)
    assert account["Principal"]["AWS"]["Fn::Join"][1][-1] == ":root"
    assert set(account["Action"]) - set(KEY_ADMINISTRATION) <= {"kms:Encrypt", "kms:GetPublicKey"}
    for forbidden in ("kms:Decrypt", "kms:Sign", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:*"):
        assert forbidden not in account["Action"]
    assert [u["Action"] for u in users] == [use]
    assert users[0]["Principal"]["AWS"]["Fn::GetAtt"][0].startswith(f"{user}ServiceRole")


def _tables(template: dict[str, Any]) -> dict[str, str]:
    return {
        k.removeprefix("Tables").rstrip("0123456789ABCDEF").lower(): k
        for k in logical_id(template, "Tables", "AWS::DynamoDB::GlobalTable")
    }


def test_each_function_reads_writes_and_deletes_only_as_declared(
    prod_template: dict[str, Any], functions: dict[str, Any]
) -> None:
    """Reads apart from writes: FrontendApi once could set a unit price to 0.01 or mark a
    blocked investor ACTIVE. Deletes only where declared, and BatchWriteItem (which deletes
    under its own action) nowhere."""
    for handler, (task, statements) in functions.items():
        for name, table in _tables(prod_template).items():
            may = {
                action: bool(allows(statements, f"dynamodb:{action}", table))
                for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
            }
            changes = (*task.writes, *task.deletes)
            assert may == {
                "GetItem": name in (*task.reads, *changes),
                "PutItem": name in (*changes, *task.appends),
                "UpdateItem": name in changes,
                "DeleteItem": name in task.deletes,
                "BatchWriteItem": False,
            }, f"{handler} and table {name}"


def test_the_frontend_api_changes_no_table_but_the_withdrawals_it_is_asked_for(
    functions: dict[str, Any],
) -> None:
    (task, _) = functions["lambdas.frontend.api.handler"]
    assert (task.writes, task.appends, task.deletes) == (("withdrawals",), (), ())
    deleting = {t.name: t.deletes for t, _ in functions.values() if t.deletes}
    webhooks = ("PaymentWebhook", "KycWebhook", "CollectionWebhook", "AdyenWebhook")
    assert deleting == dict.fromkeys(webhooks, ("signatures",)), "replay protection only"


def test_no_principal_deletes_wallets_or_changes_audit_records_or_announced_payments(
    prod_template: dict[str, Any],
) -> None:
    """The tables' own policies deny it to every principal (the operators and the account root
    included), whatever a grant says."""
    tables = _tables(prod_template)
    denied = {
        "wallets": {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem"},
        "audit": {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"},
        "payments": {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"},
    }
    for name, actions in denied.items():
        (replica,) = prod_template["Resources"][tables[name]]["Properties"]["Replicas"]
        (statement,) = replica["ResourcePolicy"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny" and statement["Principal"] == {"AWS": "*"}
        assert set(statement["Action"]) == actions, name


def test_each_state_machine_invokes_only_its_functions(prod_template: dict[str, Any]) -> None:
    by_role = statements_by_role(prod_template)
    for spec in WORKFLOWS:
        (machine,) = logical_id(
            prod_template, f"{spec.name}Workflow", "AWS::StepFunctions::StateMachine"
        )
        role = prod_template["Resources"][machine]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        invoked = {
            ref
            for s in by_role[role]
            if "lambda:InvokeFunction" in json.dumps(s["Action"])
            for ref in json.dumps(s["Resource"]).split('"')
            if ref.startswith(f"{spec.name}Workflow")
        }
        declared = {t.name for t in spec.tasks}
        assert {
            r.removeprefix(f"{spec.name}Workflow").rstrip("0123456789ABCDEF") for r in invoked
        } == declared


def test_operators_may_redrive_but_never_decrypt(prod_template: dict[str, Any]) -> None:
    by_role = statements_by_role(prod_template)
    (role,) = logical_id(prod_template, "OperatorsRole", "AWS::IAM::Role")
    statements = by_role[role]
    text = json.dumps(statements)
    assert "states:RedriveExecution" in text and "states:GetExecutionHistory" in text
    denied = [s for s in statements if s.get("Effect") == "Deny"]
    assert denied and "kms:Decrypt" in json.dumps(denied)
    assert not any(
        "kms:Decrypt" in json.dumps(s["Action"])
        for s in statements
        if s.get("Effect", "Allow") == "Allow"
    )


CONFIGURATION = {
    "XRPL_URLS", "EXPLORER_URL", "ACTIVATION_XRP", "LEDGER_CLOSE_SECONDS", "POWERTOOLS_LOG_LEVEL"
}  # fmt: skip


def test_each_function_is_given_only_the_names_of_what_it_may_touch(
    prod_template: dict[str, Any], functions: dict[str, Any]
) -> None:
    """The local platform runs each function with exactly these variables, so a function that
    reads one it was not given fails in the tests, as it would in AWS."""
    for function in resources_of(prod_template, "AWS::Lambda::Function"):
        handler = function["Properties"]["Handler"]
        task = functions[handler][0]
        expected = set(CONFIGURATION)
        expected |= {f"{name.upper()}_TABLE" for name in task.tables}
        if task.decrypts_seeds or task.encrypts_seeds:
            expected.add("INVESTOR_SEED_KEY_ID")
        if task.signs_as or task.knows_addresses_of or task.holds_key_of:
            expected |= {"ISSUER_KEY_ID", "COMPANY_KEY_ID", "FUNDING_KEY_ID"}
        expected |= {f"{role.upper()}_SIGNER_FUNCTION" for role in task.signs_as}
        if task.publishes:
            expected.add("EVENT_BUS_NAME")
        expected |= {f"{s.upper().replace('-', '_')}_SECRET" for s in task.secrets}
        if task.servicing_objects or task.statement_objects:
            expected.add("SERVICING_BUCKET")
        if task is START_DUE_DISTRIBUTIONS:
            expected.add("DISTRIBUTION_WORKFLOW")  # the one machine it starts
        if handler == "lambdas.frontend.api.handler":
            expected.add("STATEMENTS_WORKFLOW")  # it starts one for an investor's documents
        if task.name == "ReconcileBooks":
            expected.add("PAYMENT_PROVIDER_ENDPOINT")  # the settlement report it reads
        variables = set(function["Properties"]["Environment"]["Variables"])
        assert variables == expected, handler
    frontend = next(
        f for f in resources_of(prod_template, "AWS::Lambda::Function")
        if f["Properties"]["Handler"] == "lambdas.frontend.api.handler"
    )  # fmt: skip
    assert "INVESTOR_SEED_KEY_ID" not in frontend["Properties"]["Environment"]["Variables"]
    assert "PAYMENTS_WEBHOOK_SECRET" not in frontend["Properties"]["Environment"]["Variables"]


def test_each_role_may_put_only_the_events_it_publishes(functions: dict[str, Any]) -> None:
    """events:source and events:detail-type conditions, one statement per publication, and no
    PutEvents without them (a forged PaymentReceived would mint with no money received)."""
    for handler, (task, statements) in functions.items():
        putting = [s for s in statements if "events:PutEvents" in json.dumps(s["Action"])]
        conditions = [s.get("Condition") for s in putting]
        expected = [
            {
                "StringEquals": {
                    "events:source": p.source,
                    "events:detail-type": list(p.detail_types),
                }
            }
            for p in task.publishes
        ]
        assert sorted(map(json.dumps, conditions)) == sorted(map(json.dumps, expected)), handler


def test_only_the_payment_providers_doors_announce_payments(
    prod_template: dict[str, Any], functions: dict[str, Any]
) -> None:
    """Record deposit takes a payment only as announced: no other role may write one (the
    gateway's door in Drexfy's format, or Adyen's)."""
    payments = _tables(prod_template)["payments"]
    writers = {
        task.name
        for task, statements in functions.values()
        if any(allows(statements, f"dynamodb:{a}", payments) for a in ("PutItem", "UpdateItem"))
    }
    readers = {
        task.name
        for task, statements in functions.values()
        if allows(statements, "dynamodb:GetItem", payments)
    }
    assert writers == {"PaymentWebhook", "AdyenWebhook"}
    # and the reconciliation, which compares them with the provider's settlement report
    assert readers == {"PaymentWebhook", "AdyenWebhook", "RecordDeposit", "ReconcileBooks"}
