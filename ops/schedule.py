"""Print an instrument's coupon and principal schedule as JSON, from its terms.

    python -m ops.schedule --instrument-json FILE [--instrument ID]

FILE holds one instrument's terms (instrument_id, unit_price, coupon_rate, day_count,
payments_per_year, issue_date, maturity, first_coupon_date, business_day_convention,
amortization) or a catalogue ({"instruments": [...]}, as catalogue/instruments.json): then
--instrument picks one, else every instrument's schedule is printed, as a list. Terms that are
not valid exit 2 with the field named.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from domain.cash_flows import TermsError, schedule_json, terms_from


def schedules(document: Any, instrument_id: str | None) -> dict[str, Any] | list[dict[str, Any]]:
    """The schedule of the instrument the document describes, or of each in its catalogue."""
    if isinstance(document, dict) and isinstance(document.get("instruments"), list):
        entries = document["instruments"]
        if instrument_id is not None:
            chosen = [
                e
                for e in entries
                if isinstance(e, dict) and e.get("instrument_id") == instrument_id
            ]
            if not chosen:
                raise TermsError("instrument_id", f"{instrument_id!r} is not in the file")
            return schedule_json(terms_from(chosen[0]))
        return [schedule_json(terms_from(entry)) for entry in entries]
    return schedule_json(terms_from(document))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.schedule", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--instrument-json", type=Path, required=True, metavar="FILE")
    parser.add_argument("--instrument", metavar="ID", help="one instrument of a catalogue file")
    args = parser.parse_args(argv)
    try:
        document = json.loads(args.instrument_json.read_text())
    except (OSError, ValueError) as error:
        print(f"error: {args.instrument_json}: {error}", file=sys.stderr)
        return 2
    try:
        result = schedules(document, args.instrument)
    except TermsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
