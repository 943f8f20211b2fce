"""IAM policy evaluation as AWS does it for one account: explicit Deny wins, then an Allow is
needed; a KMS key also needs its key policy's consent.

Pure: documents in, a decision out. `local.aws.access` finds the documents and the request.
Only what the platform's policies use is implemented; an unknown condition operator raises
`UnsupportedPolicy` instead of being read as "no match", so nothing is silently allowed or denied.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

ContextValue = str | Sequence[str]


class UnsupportedPolicy(ValueError):
    """A policy uses something this evaluator does not implement."""


class Decision(Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    """One authorization question: may `principal` do `action` on `resource`?"""

    principal: str  # the role ARN (an assumed-role session is evaluated as its role)
    action: str  # "service:Action"
    resource: str  # the resource's ARN, or "*" for actions with no resource
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]]
    principals: tuple[str, ...] | None  # None: an identity policy (no Principal element)

    def applies_to(self, request: Request, account_id: str) -> bool:
        return (
            self._matches_action(request.action)
            and self._matches_resource(request.resource)
            and self._matches_principal(request.principal, account_id)
            and conditions_hold(self.conditions, request.context)
        )

    def delegates_to_account(self, account_id: str) -> bool:
        """A key policy statement naming the account itself hands the decision to IAM."""
        return self.principals is not None and any(
            p in (account_id, f"arn:aws:iam::{account_id}:root") for p in self.principals
        )

    def _matches_action(self, action: str) -> bool:
        if self.not_actions:
            return not any(_action_matches(p, action) for p in self.not_actions)
        return any(_action_matches(p, action) for p in self.actions)

    def _matches_resource(self, resource: str) -> bool:
        if self.not_resources:
            return not any(_resource_matches(p, resource) for p in self.not_resources)
        return any(_resource_matches(p, resource) for p in self.resources)

    def _matches_principal(self, principal: str, account_id: str) -> bool:
        if self.principals is None:
            return True
        role = _session_of(principal)
        return self.delegates_to_account(account_id) or any(
            p in ("*", principal, role) for p in self.principals
        )


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, document: str | Mapping[str, Any]) -> Policy:
        return _parse(document if isinstance(document, str) else json.dumps(document))


@functools.lru_cache(maxsize=1024)
def _parse(text: str) -> Policy:
    document = json.loads(text)
    raw = document.get("Statement", [])
    return Policy(tuple(_statement(s) for s in ([raw] if isinstance(raw, dict) else raw)))


def _statement(raw: Mapping[str, Any]) -> Statement:
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise UnsupportedPolicy(f"statement effect {effect!r}")
    if "NotPrincipal" in raw:
        raise UnsupportedPolicy("NotPrincipal")
    return Statement(
        effect=effect,
        actions=_strings(raw.get("Action")),
        not_actions=_strings(raw.get("NotAction")),
        resources=_strings(raw.get("Resource", "*" if "Principal" in raw else None)),
        not_resources=_strings(raw.get("NotResource")),
        conditions=raw.get("Condition", {}),
        principals=_principals(raw["Principal"]) if "Principal" in raw else None,
    )


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def _principals(value: Any) -> tuple[str, ...]:
    if value == "*":
        return ("*",)
    if not isinstance(value, Mapping) or set(value) - {"AWS", "Service"}:
        raise UnsupportedPolicy(f"principal {value!r}")
    return _strings(value.get("AWS"))  # service principals never make our requests


def _session_of(principal: str) -> str:
    """arn:aws:sts::1:assumed-role/Name/session is evaluated as arn:aws:iam::1:role/Name."""
    match = re.fullmatch(r"arn:aws:sts::(\d+):assumed-role/([^/]+)/.*", principal)
    return f"arn:aws:iam::{match.group(1)}:role/{match.group(2)}" if match else principal


def _action_matches(pattern: str, action: str) -> bool:
    return _wildcard(pattern.lower()).fullmatch(action.lower()) is not None


def _resource_matches(pattern: str, resource: str) -> bool:
    return _wildcard(pattern).fullmatch(resource) is not None


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str) -> re.Pattern[str]:
    """IAM's `*` and `?`, nothing else special (fnmatch would also read `[`)."""
    return re.compile(".*".join(".".join(map(re.escape, p.split("?"))) for p in pattern.split("*")))


# --- conditions -------------------------------------------------------------------------------


def _string_equals(value: str, pattern: str) -> bool:
    return value == pattern


def _string_like(value: str, pattern: str) -> bool:
    return _wildcard(pattern).fullmatch(value) is not None


def _ignore_case(value: str, pattern: str) -> bool:
    return value.lower() == pattern.lower()


def _bool(value: str, pattern: str) -> bool:
    return value.lower() == pattern.lower()


_POSITIVE = {
    "StringEquals": _string_equals,
    "StringLike": _string_like,
    "StringEqualsIgnoreCase": _ignore_case,
    "ArnEquals": _string_equals,
    "ArnLike": _string_like,
    "Bool": _bool,
}
_NEGATED = {
    "StringNotEquals": _string_equals,
    "StringNotLike": _string_like,
    "StringNotEqualsIgnoreCase": _ignore_case,
    "ArnNotEquals": _string_equals,
    "ArnNotLike": _string_like,
}


def conditions_hold(
    conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, ContextValue]
) -> bool:
    """Every operator block holds, and within one, every key (AWS ANDs both)."""
    lowered = {key.lower(): value for key, value in context.items()}
    return all(
        _condition(operator, key, _strings(expected), lowered.get(key.lower()))
        for operator, block in conditions.items()
        for key, expected in block.items()
    )


def _condition(
    operator: str, key: str, expected: tuple[str, ...], actual: ContextValue | None
) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name == "Null":
        return (actual is None) == (expected[0].lower() == "true")
    if actual is None:
        # A missing key matches nothing: positive operators fail, negated ones hold.
        return if_exists or name in _NEGATED
    values = (actual,) if isinstance(actual, str) else tuple(actual)
    if name in _POSITIVE:
        matches = _POSITIVE[name]
        return _quantified(qualifier, values, lambda v: any(matches(v, e) for e in expected))
    if name in _NEGATED:
        matches = _NEGATED[name]
        return _quantified(qualifier, values, lambda v: not any(matches(v, e) for e in expected))
    raise UnsupportedPolicy(f"condition operator {operator} (key {key})")


def _quantified(qualifier: str, values: Iterable[str], test: Any) -> bool:
    values = list(values)
    if qualifier == "ForAllValues":
        return all(test(v) for v in values)
    if qualifier in ("ForAnyValue", ""):
        return any(test(v) for v in values) if values else False
    raise UnsupportedPolicy(f"condition qualifier {qualifier}")


# --- decisions --------------------------------------------------------------------------------


def decide(
    request: Request,
    identity_policies: Iterable[Policy],
    account_id: str,
    key_policy: Policy | None = None,
    resource_policy: Policy | None = None,
) -> Decision:
    """AWS's evaluation for a principal of the same account.

    Without a key policy the identity policies, or a resource policy naming the principal
    (a DynamoDB table's), decide. With a key policy (KMS), it must allow the principal itself,
    or name the account (delegating to IAM) and the identity policies must allow too. A Deny in
    any of them wins, the account root's requests included."""
    identity = [s for p in identity_policies for s in p.statements]
    key = list(key_policy.statements) if key_policy is not None else []
    resource = list(resource_policy.statements) if resource_policy is not None else []
    applicable = [s for s in identity + key + resource if s.applies_to(request, account_id)]
    if any(s.effect == "Deny" for s in applicable):
        return Decision.EXPLICIT_DENY
    identity_allows = any(s.effect == "Allow" and s.principals is None for s in applicable)
    if key_policy is None:
        resource_allows = any(  # naming the account only hands the decision to IAM
            s.effect == "Allow" and s in resource and not s.delegates_to_account(account_id)
            for s in applicable
        )
        return Decision.ALLOW if identity_allows or resource_allows else Decision.IMPLICIT_DENY
    key_allows_directly = any(
        s.effect == "Allow"
        and s in key
        and s.principals is not None
        and not s.delegates_to_account(account_id)
        for s in applicable
    )
    key_delegates = any(
        s.effect == "Allow" and s in key and s.delegates_to_account(account_id) for s in applicable
    )
    if key_allows_directly or (key_delegates and identity_allows):
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY


__all__ = [
    "Decision",
    "Policy",
    "Request",
    "Statement",
    "UnsupportedPolicy",
    "conditions_hold",
    "decide",
]
