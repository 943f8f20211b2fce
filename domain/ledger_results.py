"""How the platform reads XRPL result codes: what is final, what to wait for, what to retry.

Only a validated ledger makes an outcome final; a preliminary result from `submit` only says
whether waiting can still help.
"""

from __future__ import annotations

from enum import StrEnum


class Preliminary(StrEnum):
    QUEUED = "QUEUED"  # may apply: wait for validation
    REJECTED = "REJECTED"  # will not apply in this form; final once expiry is proven
    RETRY = "RETRY"  # local or transient: submit the same blob again


class Final(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


# tefPAST_SEQ / tefALREADY: this blob (or one on its sequence) may already be in a ledger;
# only `tx` by hash can tell, so keep waiting. tefMAX_LEDGER: expiry is decided by lookup too.
_WAIT_FOR_LEDGER = frozenset({"tefPAST_SEQ", "tefALREADY", "tefMAX_LEDGER", "tefNO_TICKET"})


def classify_preliminary(engine_result: str) -> Preliminary:
    if engine_result == "tesSUCCESS" or engine_result.startswith("tec"):
        return Preliminary.QUEUED
    if engine_result in _WAIT_FOR_LEDGER:
        return Preliminary.QUEUED
    if engine_result.startswith(("tel", "ter")):  # e.g. terPRE_SEQ: a gap before it, try later
        return Preliminary.RETRY
    return Preliminary.REJECTED


def classify_validated(transaction_result: str) -> Final:
    return Final.SUCCEEDED if transaction_result == "tesSUCCESS" else Final.FAILED
