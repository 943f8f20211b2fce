"""The platform bus's events: who publishes which source and detail types.

One catalogue for the publishers' code, their grants (each role may put only its own source and
detail types: `events:source` and `events:detail-type` conditions, cdk/functions.py) and the
rules that start workflows (each takes exactly the source and detail types it means,
cdk/ingress.py), so a role that can reach the bus cannot forge another's events.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.webhooks import COLLECTION_EVENTS, KYC_EVENTS, PAYMENT_EVENTS
from domain.withdrawal import WITHDRAWAL_NOTIFICATIONS, IncomePayout

PAYMENTS_SOURCE = "drexfy.payments"  # the payment gateway's webhook, verified
KYC_SOURCE = "drexfy.kyc"  # the KYC/AML provider's webhook, verified
COLLECTIONS_SOURCE = "drexfy.collections"  # the SME pool servicer's webhook, verified
FRONTEND_SOURCE = "drexfy.frontend"  # the frontend API, for an authenticated investor
OPERATORS_SOURCE = "drexfy.operators"  # an operator's block, unblock or write-down (drexfy-ops)
PURCHASES_SOURCE = "drexfy.purchases"  # the purchase workflow's outcomes
INVESTORS_SOURCE = "drexfy.investors"  # notifications for the frontend
WITHDRAWALS_SOURCE = "drexfy.withdrawals"  # requests to the payment provider to pay out


@dataclass(frozen=True)
class Publication:
    """Events one publisher may put: one source, these detail types."""

    source: str
    detail_types: tuple[str, ...]


PAYMENTS = Publication(PAYMENTS_SOURCE, tuple(PAYMENT_EVENTS.values()))
KYC_DECISIONS = Publication(KYC_SOURCE, tuple(KYC_EVENTS.values()))
COLLECTIONS = Publication(COLLECTIONS_SOURCE, tuple(COLLECTION_EVENTS.values()))
WALLET_REQUESTS = Publication(FRONTEND_SOURCE, ("WalletRequested",))
WITHDRAWAL_REQUESTS = Publication(FRONTEND_SOURCE, ("WithdrawalRequested",))
PAYOUT_REQUESTS = Publication(WITHDRAWALS_SOURCE, ("PayoutRequested",))
OPERATOR_DECISIONS = Publication(OPERATORS_SOURCE, ("AmlFlagged", "AmlCleared"))
OPERATOR_WRITE_DOWNS = Publication(OPERATORS_SOURCE, ("WriteDownRecorded",))
# An operator's re-send of a dead-lettered request to the provider (drexfy-ops provider resend):
# its own detail types, so the frontend is not told again of a refund it already heard of.
OPERATOR_RESENDS = (
    Publication(OPERATORS_SOURCE, ("PayoutResent",)),
    Publication(OPERATORS_SOURCE, ("RefundResent",)),
)
PURCHASE_COMPLETIONS = Publication(PURCHASES_SOURCE, ("PurchaseCompleted",))
REFUND_REQUESTS = Publication(PURCHASES_SOURCE, ("RefundRequested",))
INVESTOR_NOTIFICATIONS = Publication(
    INVESTORS_SOURCE,
    (
        "WalletReady",
        "KycRejected",
        "InvestorBlocked",
        "InvestorCleared",
        "CouponPaid",  # domain.distribution.COUPON_PAID
        "PrincipalRepaid",
        *WITHDRAWAL_NOTIFICATIONS.values(),
    ),
)

# What the frontend is told: the notifications rule delivers exactly these detail types to it.
FOR_THE_FRONTEND = (PURCHASE_COMPLETIONS, REFUND_REQUESTS, INVESTOR_NOTIFICATIONS)

# What the payment provider is asked to do: the rules deliver exactly these to its API.
FOR_THE_PROVIDER = (REFUND_REQUESTS, PAYOUT_REQUESTS)

# What starts each workflow: (source, detail types) pairs, never a source crossed with another's
# detail types (the frontend may ask for a wallet, never approve a KYC case).
PURCHASE_STARTS = (Publication(PAYMENTS_SOURCE, ("PaymentReceived",)),)
ONBOARDING_STARTS = (
    Publication(KYC_SOURCE, ("KycApproved", "KycRejected")),
    WALLET_REQUESTS,
)
COLLECTION_STARTS = (COLLECTIONS,)
WITHDRAWAL_STARTS = (
    WITHDRAWAL_REQUESTS,
    # income just paid, for the investors who chose their bank for it (INCOME_TO_THE_BANK)
    Publication(INVESTORS_SOURCE, ("CouponPaid", "PrincipalRepaid")),
)
# The detail an income notification must carry to start the Withdrawal workflow: income the
# investor keeps in the wallet (the default) costs no execution.
INCOME_TO_THE_BANK: dict[str, list[str]] = {"income_payout": [IncomePayout.BANK.value]}
# The provider's word on a payout or a refund we asked for.
SETTLEMENT_STARTS = (
    Publication(
        PAYMENTS_SOURCE,
        ("PayoutPaid", "PayoutFailed", "PayoutReturned", "RefundSucceeded", "RefundFailed"),
    ),
)
WRITE_DOWN_STARTS = (OPERATOR_WRITE_DOWNS,)
COMPLIANCE_STARTS = (
    Publication(KYC_SOURCE, ("AmlFlagged", "AmlCleared")),
    OPERATOR_DECISIONS,
)
