"""An investor's statement as documents to keep: CSV and PDF, stored once its period has ended
under `statements/<investor>/<period>.<csv|pdf>` in the servicing bucket, handed out as links
that expire.

A statement for an ended period reads validated ledgers only, so making it again makes the
same bytes (the PDF's creation date is the period's end): a retried or repeated run rewrites
nothing that differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.statement import Period, Statement
from lambdas.aws_clients import s3, transient_faults
from lambdas.config import settings

PREFIX = "statements/"  # cdk/functions.py grants this prefix alone
LINK_LIFETIME = timedelta(minutes=15)
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


def key_of(investor_id: str, period: Period, form: str) -> str:
    return f"{PREFIX}{investor_id}/{period.name}.{form}"


def keep(made: Statement) -> dict[str, str]:
    """Store the statement's CSV and PDF (of an ended period: domain.statement.periods_asked);
    their keys, by form."""
    bodies = {"csv": made.csv().encode(), "pdf": pdf(made)}
    keys = {}
    for form, body in bodies.items():
        keys[form] = key_of(made.investor_id, made.period, form)
        with transient_faults(f"S3 PutObject {keys[form]}"):
            s3().put_object(
                Bucket=settings().servicing_bucket,
                Key=keys[form],
                Body=body,
                ContentType=CONTENT_TYPES[form],
                ContentDisposition=f'attachment; filename="{_file_name(made, form)}"',
            )
    return keys


@dataclass(frozen=True)
class Links:
    csv: str
    pdf: str
    expires_at: datetime


def links(investor_id: str, period: Period, now: datetime) -> Links | None:
    """Links to the kept documents; None when they were not made (yet)."""
    client, bucket = s3(), settings().servicing_bucket
    key = key_of(investor_id, period, "pdf")
    with transient_faults(f"S3 HeadObject {key}"):
        try:
            client.head_object(Bucket=bucket, Key=key)
        except client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
    seconds = int(LINK_LIFETIME.total_seconds())
    signed = {
        form: client.generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": key_of(investor_id, period, form)},
            ExpiresIn=seconds,
        )
        for form in ("csv", "pdf")
    }
    return Links(signed["csv"], signed["pdf"], now + LINK_LIFETIME)


def _file_name(made: Statement, form: str) -> str:
    return f"drexfy-statement-{made.investor_id}-{made.period.name}.{form}"


def pdf(made: Statement) -> bytes:
    """The statement as a PDF: its positions, lines and totals, and whether it ties."""
    from fpdf import FPDF  # loads on first use: only this function's callers need it

    document = made.as_json()
    page = FPDF(orientation="landscape", format="A4")
    page.set_creation_date(made.period.ends_at)
    page.set_title(f"Drexfy statement {made.investor_id} {made.period.name}")
    page.set_author("Drexfy")
    page.add_page()
    page.set_font("Helvetica", "B", 14)
    page.cell(0, 8, f"Statement of {made.investor_id}, {made.period.name}", new_x="LMARGIN",
              new_y="NEXT")  # fmt: skip
    page.set_font("Helvetica", size=9)
    tie = "ties to the ledger" if document["ties_to_the_ledger"] else "DOES NOT TIE TO THE LEDGER"
    _text_line(page, f"{document['from']} to {document['to']} (exclusive, UTC): {tie}")
    _text_line(page, "Transactions are shortened here; the CSV statement gives them in full.")
    for problem in document["untied"]:
        _text_line(page, f"untied: {problem}")
    page.ln(2)
    _table(page, _POSITION_COLUMNS, [_position_row(name, document[name])
                                     for name in ("opening", "closing")])  # fmt: skip
    page.ln(2)
    _table(page, _LINE_COLUMNS, [[_shown(line[c]) for c, _ in _LINE_COLUMNS]
                                 for line in document["lines"]])  # fmt: skip
    page.ln(2)
    _table(page, [(name, 30) for name in document["totals"]], [list(document["totals"].values())])
    return bytes(page.output())


_POSITION_COLUMNS = [("position", 20), ("ledger", 18), ("at", 50), ("EUR", 30), ("units", 150)]
_LINE_COLUMNS = [
    ("on", 42), ("kind", 40), ("reference", 55), ("instrument_id", 30), ("units", 14),
    ("amount", 24), ("stablecoin_change", 28), ("tx_hash", 44),
]  # fmt: skip


def _position_row(name: str, position: dict[str, Any]) -> list[str]:
    units = ", ".join(f"{i}: {n}" for i, n in position["units"].items()) or "none"
    return [name, str(position["ledger_index"]), _shown(position["at"]), position["stablecoin"],
            units]  # fmt: skip


def _shown(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return text[:16] + "..." if len(text) > 24 and text.isalnum() else text  # a hash, shortened


def _text_line(page: Any, text: str) -> None:
    page.cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")


def _table(page: Any, columns: list[tuple[str, int]], rows: list[list[str]]) -> None:
    page.set_font("Helvetica", "B", 8)
    for title, width in columns:
        page.cell(width, 5, title, border=1)
    page.ln()
    page.set_font("Helvetica", size=8)
    for row in rows or [["(none)", *[""] * (len(columns) - 1)]]:
        for (_, width), value in zip(columns, row, strict=True):
            page.cell(width, 5, str(value), border=1)
        page.ln()
