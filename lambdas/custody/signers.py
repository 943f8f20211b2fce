"""Asking the signing service for a signature: the ledger steps' side of cdk/signing.py.

A signer is a Lambda of its own, the only one holding its key; what it answers is a
SignedTransaction (blob and hash, never a key) or the refusal it raised, raised here again under
its own name, so the workflows' Retry and Catch see what the signer saw.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from domain.errors import TransientFault
from domain.platform import PLATFORM_ROLES, SignerRole
from domain.signing_policy import SigningRefused
from lambdas.aws_clients import AwsRefused, lambda_functions, transient_faults
from lambdas.config import settings
from lambdas.custody.signed_transaction import MalformedTransaction, SignedTransaction

Signer = Callable[[Mapping[str, Any]], SignedTransaction]


class NoWallet(SigningRefused):
    """The investor has no custodial wallet yet."""


class CustodyIntegrityError(RuntimeError):
    """A decrypted seed does not give the stored address: never sign, page a human."""


class SignerFailed(RuntimeError):
    """The signer failed in a way it does not name: a bug or a deployment fault."""


# What a signer may raise, by the errorType Lambda reports; anything else is SignerFailed.
_REFUSALS: dict[str, type[Exception]] = {
    error.__name__: error
    for error in (
        SigningRefused,
        NoWallet,
        MalformedTransaction,
        CustodyIntegrityError,
        TransientFault,
        AwsRefused,
    )
}
# The Lambda service's own failures of an invocation: the same request may well succeed later.
_RUNTIME_FAULTS = frozenset({"Sandbox.Timedout", "Runtime.ExitError", "Runtime.Unknown"})


def platform_signer(role: SignerRole | str) -> Signer:
    """Signatures as the platform account `role` (issuer, company or funding). The signer is
    looked up when a signature is asked for: a check that finds nothing to sign needs none."""
    account = SignerRole(role)
    if account not in PLATFORM_ROLES:
        raise ValueError(f"{account} is not a platform account")
    return lambda tx: _signed(
        getattr(settings(), f"{account.value}_signer_function"), {"transaction": dict(tx)}
    )


def company_signer_paying(distribution_id: str, investor_id: str) -> Signer:
    """The company's signatures for one holder's entitlement: the signer reads it and signs no
    stablecoin payment beyond it (domain.signing_policy.HolderPaymentLimit)."""
    entitlement = {"distribution_id": distribution_id, "investor_id": investor_id}
    return lambda tx: _signed(
        settings().company_signer_function, {"entitlement": entitlement, "transaction": dict(tx)}
    )


def investor_signer(
    investor_id: str, purchase_id: str | None = None, *, withdrawal: str | None = None
) -> Signer:
    """Signatures as the investor's custodial wallet; a payment needs the purchase it serves,
    or the withdrawal it redeems (the signer reads either from the records)."""
    request: dict[str, Any] = {"investor_id": investor_id, "purchase_id": purchase_id}
    if withdrawal is not None:
        request["withdrawal_id"] = withdrawal
    return lambda tx: _signed(
        settings().investor_signer_function, {**request, "transaction": dict(tx)}
    )


def _signed(function: str, request: dict[str, Any]) -> SignedTransaction:
    answer = _invoke(function, request)
    if "errorType" in answer:
        raise _refusal(str(answer["errorType"]), str(answer.get("errorMessage", "")))
    return SignedTransaction(**answer["signed"])


def _invoke(function: str, request: dict[str, Any]) -> dict[str, Any]:
    with transient_faults(f"signer {function}"):
        response = lambda_functions().invoke(
            FunctionName=function, Payload=json.dumps(request).encode()
        )
    answer: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
    return answer


def _refusal(error_type: str, message: str) -> Exception:
    if error_type in _RUNTIME_FAULTS:
        return TransientFault(f"signer: {error_type}: {message}")
    return _REFUSALS.get(error_type, SignerFailed)(message)


def signed_as_answer(signed: SignedTransaction) -> dict[str, Any]:
    """What a signer answers (and `_signed` reads back)."""
    return {"signed": dataclasses.asdict(signed)}
