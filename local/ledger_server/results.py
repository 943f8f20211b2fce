"""Transaction result codes (TER) with rippled's numbers and messages."""

from __future__ import annotations

from local.ledger_server.codec import TX_RESULTS

_BY_CODE = {v: k for k, v in TX_RESULTS.items()}

MESSAGES: dict[str, str] = {
    "tesSUCCESS": "The transaction was applied. Only final in a validated ledger.",
    "tecCLAIM": "Fee claimed. Sequence used. No action.",
    "tecPATH_PARTIAL": "Path could not send full amount.",
    "tecPATH_DRY": "Path could not send partial amount.",
    "tecUNFUNDED_PAYMENT": "Insufficient XRP balance to send.",
    "tecNO_DST": "Destination does not exist. Send XRP to create it.",
    "tecNO_DST_INSUF_XRP": "Destination does not exist. Too little XRP sent to create it.",
    "tecNO_LINE_INSUF_RESERVE": "No such line. Too little reserve to create it.",
    "tecNO_LINE_REDUNDANT": "Can't set non-existent line to default.",
    "tecINSUF_RESERVE_LINE": "Insufficient reserve to add trust line.",
    "tecINSUFFICIENT_RESERVE": "Insufficient reserve to complete requested operation.",
    "tecOWNERS": "Non-zero owner count.",
    "tecNO_PERMISSION": "No permission to perform requested operation.",
    "tecNO_LINE": "No such line.",
    "tecINSUFFICIENT_FUNDS": "Not enough funds available to complete requested transaction.",
    "tecDUPLICATE": "Ledger object already exists.",
    "tecNO_AUTH": "Not authorized to hold asset.",
    "tecOBJECT_NOT_FOUND": "A requested object could not be located.",
    "tecHAS_OBLIGATIONS": "The account cannot be deleted since it has obligations.",
    "tecLOCKED": "Fund is locked.",
    "tecDIR_FULL": "Can not add entry to full directory.",
    "tecDST_TAG_NEEDED": "A destination tag is required.",
    "tecNO_ISSUER": "Issuer account does not exist.",
    "tecFROZEN": "Asset is frozen.",
    "tecINSUFF_FEE": "Insufficient balance to pay fee.",
    "tecNO_TARGET": "Target account does not exist.",
    "tecINTERNAL": "An internal error has occurred during processing.",
    "tefPAST_SEQ": "This sequence number has already passed.",
    "tefALREADY": "The exact transaction was already in this ledger.",
    "tefMAX_LEDGER": "Ledger sequence too high.",
    "tefNO_TICKET": "Ticket is not in ledger.",
    "tefNO_AUTH_REQUIRED": "Auth is not required.",
    "tefBAD_AUTH": "Transaction's public key is not authorized.",
    "tefBAD_AUTH_MASTER": "Auth for unclaimed account needs correct master key.",
    "tefMASTER_DISABLED": "Master key is disabled.",
    "tefNOT_MULTI_SIGNING": "Account has no appropriate list of multi-signers.",
    "tefINTERNAL": "Internal error.",
    "tefBAD_LEDGER": "Ledger in unexpected state.",
    "terPRE_SEQ": "Missing/inapplicable prior transaction.",
    "terNO_ACCOUNT": "The source account does not exist.",
    "terPRE_TICKET": "Ticket is not yet in ledger.",
    "terINSUF_FEE_B": "Account balance can't pay fee.",
    "terQUEUED": "Held until escalated fee drops.",
    "telINSUF_FEE_P": "Fee insufficient.",
    "telCAN_NOT_QUEUE": "Can not queue at this time.",
    "telCAN_NOT_QUEUE_FULL": (
        "Can not queue at this time: queue is full, and fee not high enough"
        " to kick out another transaction."
    ),
    "temMALFORMED": "Malformed transaction.",
    "temBAD_AMOUNT": "Malformed: Bad amount.",
    "temBAD_FEE": "Invalid fee, negative or not XRP.",
    "temBAD_SIGNATURE": "Malformed: Bad signature.",
    "temBAD_SRC_ACCOUNT": "Malformed: Bad source account.",
    "temDST_IS_SRC": "Destination may not be source.",
    "temDST_NEEDED": "Destination not specified.",
    "temINVALID_FLAG": "The transaction has an invalid flag.",
    "temINVALID": "The transaction is ill-formed.",
    "temBAD_CURRENCY": "Malformed: Bad currency.",
    "temBAD_LIMIT": "Limits must be non-negative.",
    "temREDUNDANT": "The transaction is redundant.",
    "temBAD_SEND_XRP_MAX": "Malformed: Send max is not allowed for XRP to XRP.",
    "temBAD_SEND_XRP_PATHS": "Malformed: Paths are not allowed for XRP to XRP.",
    "temBAD_SEND_XRP_PARTIAL": "Malformed: Partial payment is not allowed for XRP to XRP.",
    "temBAD_SEND_XRP_LIMIT": "Malformed: Limit quality is not allowed for XRP to XRP.",
    "temBAD_SEND_XRP_NO_DIRECT": "Malformed: No Ripple direct is not allowed for XRP to XRP.",
    "temBAD_TRANSFER_RATE": "Malformed: Transfer rate must be >= 1.0 and <= 2.0",
    "temBAD_TRANSFER_FEE": "Malformed: Transfer fee is outside valid range.",
    "temBAD_TICK_SIZE": "Malformed: Tick size out of range.",
    "temINVALID_COUNT": "Malformed: Count field outside valid range.",
    "temSEQ_AND_TICKET": "Transaction contains a TicketSequence and a non-zero Sequence.",
    "temDISABLED": "The transaction requires logic that is currently disabled.",
    "temUNKNOWN": "The transaction requires logic that is not implemented yet.",
    "temBAD_PATH": "Malformed: Bad path.",
    "temBAD_SEQUENCE": "Malformed: Sequence is not in the past.",
    "temBAD_REGKEY": "Malformed: Regular key cannot be same as master key.",
}


def code(name: str) -> int:
    return TX_RESULTS[name]


def code_name(number: int) -> str:
    return _BY_CODE.get(number, str(number))


def message(name: str) -> str:
    return MESSAGES.get(name, name)


def is_tes(name: str) -> bool:
    return name == "tesSUCCESS"


def is_tec(name: str) -> bool:
    return name.startswith("tec")


def is_ter(name: str) -> bool:
    return name.startswith("ter")


def is_hard_fail(name: str) -> bool:
    """tef, tem and tel results never enter a ledger and are never retried."""
    return name[:3] in ("tef", "tem", "tel")
