"""The local IAM evaluator, rule by rule, as AWS documents policy evaluation for one account."""

from __future__ import annotations

from typing import Any

import pytest

from local.aws.iam_policy import Decision, Policy, Request, UnsupportedPolicy, decide

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Signer"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Other"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234"
TABLE = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/Wallets"


def policy(*statements: dict[str, Any]) -> Policy:
    return Policy.parse({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def ask(action: str, resource: str = TABLE, **context: Any) -> Request:
    return Request(ROLE, action, resource, context)


def test_no_policy_is_an_implicit_deny() -> None:
    assert decide(ask("dynamodb:GetItem"), [], ACCOUNT) is Decision.IMPLICIT_DENY


def test_an_allow_for_the_action_and_resource_allows() -> None:
    granted = policy(allow("dynamodb:GetItem", TABLE))
    assert decide(ask("dynamodb:GetItem"), [granted], ACCOUNT) is Decision.ALLOW
    assert decide(ask("dynamodb:PutItem"), [granted], ACCOUNT) is Decision.IMPLICIT_DENY
    other_table = TABLE.replace("Wallets", "Investors")
    assert (
        decide(ask("dynamodb:GetItem", other_table), [granted], ACCOUNT) is Decision.IMPLICIT_DENY
    )


def test_an_explicit_deny_wins_over_any_allow() -> None:
    granted = policy(allow("dynamodb:*", "*"))
    denied = policy(deny("dynamodb:DeleteItem", TABLE))
    assert decide(ask("dynamodb:DeleteItem"), [granted, denied], ACCOUNT) is Decision.EXPLICIT_DENY
    assert decide(ask("dynamodb:GetItem"), [granted, denied], ACCOUNT) is Decision.ALLOW


def test_action_wildcards_and_case() -> None:
    granted = policy(allow(["kms:Get*", "dynamodb:?utItem"]))
    assert decide(ask("kms:GetPublicKey", KEY), [granted], ACCOUNT) is Decision.ALLOW
    assert decide(ask("KMS:getpublickey", KEY), [granted], ACCOUNT) is Decision.ALLOW
    assert decide(ask("dynamodb:PutItem"), [granted], ACCOUNT) is Decision.ALLOW
    assert decide(ask("kms:Sign", KEY), [granted], ACCOUNT) is Decision.IMPLICIT_DENY


def test_resource_wildcards_are_case_sensitive_and_literal_otherwise() -> None:
    granted = policy(allow("dynamodb:Query", f"{TABLE}/index/*"))
    assert decide(ask("dynamodb:Query", f"{TABLE}/index/ByInvestor"), [granted], ACCOUNT) is (
        Decision.ALLOW
    )
    assert decide(ask("dynamodb:Query", TABLE), [granted], ACCOUNT) is Decision.IMPLICIT_DENY
    assert decide(ask("dynamodb:Query", TABLE.lower() + "/index/x"), [granted], ACCOUNT) is (
        Decision.IMPLICIT_DENY
    )
    brackets = policy(allow("dynamodb:Query", "arn:[a]"))  # fnmatch would read a class here
    assert decide(ask("dynamodb:Query", "arn:a"), [brackets], ACCOUNT) is Decision.IMPLICIT_DENY


def test_not_action_and_not_resource() -> None:
    everything_but_sign = policy({"Effect": "Allow", "NotAction": "kms:Sign", "Resource": "*"})
    assert decide(ask("kms:Decrypt", KEY), [everything_but_sign], ACCOUNT) is Decision.ALLOW
    assert decide(ask("kms:Sign", KEY), [everything_but_sign], ACCOUNT) is Decision.IMPLICIT_DENY
    not_here = policy({"Effect": "Deny", "Action": "*", "NotResource": TABLE})
    granted = policy(allow("*"))
    assert decide(ask("dynamodb:GetItem"), [granted, not_here], ACCOUNT) is Decision.ALLOW
    assert decide(ask("kms:Sign", KEY), [granted, not_here], ACCOUNT) is Decision.EXPLICIT_DENY


SEED_CONTEXT = "kms:EncryptionContext:purpose"


@pytest.mark.parametrize(
    ("operator", "expected", "actual", "holds"),
    [
        ("StringEquals", "seed", "seed", True),
        ("StringEquals", "seed", "Seed", False),
        ("StringEquals", "seed", None, False),
        ("StringNotEquals", "seed", "other", True),
        ("StringNotEquals", "seed", "seed", False),
        ("StringNotEquals", "seed", None, True),  # a missing key matches no value
        ("StringEqualsIgnoreCase", "seed", "SEED", True),
        ("StringLike", "drexfy-*", "drexfy-investor-seed", True),
        ("StringLike", "drexfy-?", "drexfy-ab", False),
        ("StringNotLike", "drexfy-*", "other", True),
        ("StringNotLike", "drexfy-*", "drexfy-x", False),
        ("ArnLike", "arn:aws:iam::*:role/Signer", ROLE, True),
        ("ArnEquals", ROLE, OTHER_ROLE, False),
        ("Bool", "true", "true", True),
        ("Bool", "true", "false", False),
        ("StringEqualsIfExists", "seed", None, True),
        ("StringEqualsIfExists", "seed", "other", False),
        ("Null", "true", None, True),
        ("Null", "false", None, False),
        ("Null", "false", "seed", True),
    ],
)
def test_condition_operators(operator: str, expected: str, actual: str | None, holds: bool) -> None:
    granted = policy(allow("kms:Decrypt", KEY, Condition={operator: {SEED_CONTEXT: expected}}))
    context = {} if actual is None else {SEED_CONTEXT: actual}
    decision = decide(ask("kms:Decrypt", KEY, **context), [granted], ACCOUNT)
    assert decision is (Decision.ALLOW if holds else Decision.IMPLICIT_DENY)


def test_condition_keys_are_case_insensitive_values_are_not() -> None:
    granted = policy(allow("kms:Decrypt", KEY, Condition={"StringEquals": {SEED_CONTEXT: "seed"}}))
    request = Request(ROLE, "kms:Decrypt", KEY, {"KMS:encryptioncontext:PURPOSE": "seed"})
    assert decide(request, [granted], ACCOUNT) is Decision.ALLOW


def test_every_condition_block_and_key_must_hold() -> None:
    conditions = {
        "StringEquals": {"events:source": "drexfy.payments"},
        "StringLike": {"events:detail-type": "Payment*"},
    }
    granted = policy(allow("events:PutEvents", "*", Condition=conditions))
    ok = ask(
        "events:PutEvents",
        "*",
        **{"events:source": "drexfy.payments"},
        **{"events:detail-type": "PaymentReceived"},
    )
    wrong_type = ask(
        "events:PutEvents",
        "*",
        **{"events:source": "drexfy.payments"},
        **{"events:detail-type": "KycApproved"},
    )
    assert decide(ok, [granted], ACCOUNT) is Decision.ALLOW
    assert decide(wrong_type, [granted], ACCOUNT) is Decision.IMPLICIT_DENY


def test_set_operators_over_multivalued_keys() -> None:
    keys = "kms:EncryptionContextKeys"
    all_known = policy(
        allow(
            "kms:Decrypt",
            KEY,
            Condition={"ForAllValues:StringEquals": {keys: ["purpose", "investor_id"]}},
        )
    )
    any_purpose = policy(
        allow("kms:Decrypt", KEY, Condition={"ForAnyValue:StringEquals": {keys: "purpose"}})
    )
    known = ask("kms:Decrypt", KEY, **{keys: ["purpose", "investor_id"]})
    extra = ask("kms:Decrypt", KEY, **{keys: ["purpose", "smuggled"]})
    assert decide(known, [all_known], ACCOUNT) is Decision.ALLOW
    assert decide(extra, [all_known], ACCOUNT) is Decision.IMPLICIT_DENY
    assert decide(extra, [any_purpose], ACCOUNT) is Decision.ALLOW


def test_an_unknown_operator_is_refused_not_guessed() -> None:
    granted = policy(allow("kms:Decrypt", KEY, Condition={"NumericLessThan": {"kms:x": "3"}}))
    with pytest.raises(UnsupportedPolicy, match="NumericLessThan"):
        decide(ask("kms:Decrypt", KEY, **{"kms:x": "1"}), [granted], ACCOUNT)


ROOT = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def test_a_key_policy_naming_the_account_hands_the_decision_to_iam() -> None:
    key_policy = policy({"Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"})
    granted = policy(allow("kms:Sign", KEY))
    assert decide(ask("kms:Sign", KEY), [granted], ACCOUNT, key_policy) is Decision.ALLOW
    assert decide(ask("kms:Sign", KEY), [], ACCOUNT, key_policy) is Decision.IMPLICIT_DENY


def test_a_key_policy_naming_the_role_allows_without_iam() -> None:
    key_policy = policy(
        {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Sign", "Resource": "*"}
    )
    assert decide(ask("kms:Sign", KEY), [], ACCOUNT, key_policy) is Decision.ALLOW
    other = Request(OTHER_ROLE, "kms:Sign", KEY, {})
    assert decide(other, [], ACCOUNT, key_policy) is Decision.IMPLICIT_DENY


def test_without_the_key_policys_consent_iam_alone_is_not_enough() -> None:
    key_policy = policy(
        {"Effect": "Allow", "Principal": {"AWS": OTHER_ROLE}, "Action": "kms:*", "Resource": "*"}
    )
    granted = policy(allow("kms:Sign", KEY))
    assert decide(ask("kms:Sign", KEY), [granted], ACCOUNT, key_policy) is Decision.IMPLICIT_DENY


def test_a_key_policy_deny_wins_over_the_roles_allow() -> None:
    key_policy = policy(
        {"Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"},
    )
    granted = policy(allow("kms:*", KEY))
    assert decide(ask("kms:Decrypt", KEY), [granted], ACCOUNT, key_policy) is Decision.EXPLICIT_DENY
    assert decide(ask("kms:Sign", KEY), [granted], ACCOUNT, key_policy) is Decision.ALLOW


def test_an_assumed_role_session_is_evaluated_as_its_role() -> None:
    key_policy = policy(
        {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Sign", "Resource": "*"}
    )
    session = Request(f"arn:aws:sts::{ACCOUNT}:assumed-role/Signer/ops-ada", "kms:Sign", KEY, {})
    assert decide(session, [], ACCOUNT, key_policy) is Decision.ALLOW
