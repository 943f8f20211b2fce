"""Transaction engine: one handler per supported transaction type."""

from __future__ import annotations

from local.ledger_server.engine import accounts, mptokens, payment, trust
from local.ledger_server.engine.core import Outcome, TxHandler, apply_transaction

HANDLERS: dict[str, TxHandler] = {
    "Payment": payment.HANDLER,
    "AccountSet": accounts.ACCOUNT_SET,
    "TicketCreate": accounts.TICKET_CREATE,
    "TrustSet": trust.TRUST_SET,
    "Clawback": trust.CLAWBACK,
    "MPTokenIssuanceCreate": mptokens.CREATE,
    "MPTokenIssuanceSet": mptokens.SET,
    "MPTokenIssuanceDestroy": mptokens.DESTROY,
    "MPTokenAuthorize": mptokens.AUTHORIZE,
}

__all__ = ["HANDLERS", "Outcome", "TxHandler", "apply_transaction"]
