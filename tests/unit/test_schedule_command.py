"""`python -m ops.schedule`: an instrument's schedule as JSON from a file of terms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.schedule import main

ROOT = Path(__file__).resolve().parents[2]


def test_one_instrument_prints_its_schedule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    terms = json.loads((ROOT / "catalogue" / "instruments.json").read_text())["instruments"][1]
    path = tmp_path / "terms.json"
    path.write_text(json.dumps(terms))
    assert main(["--instrument-json", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["instrument_id"] == "SME-2028-B"
    first = printed["periods"][0]
    assert first == {
        "accrual_start": "2026-01-15",
        "accrual_end": "2026-03-31",
        "record_date": "2026-03-30",
        "payment_date": "2026-03-31",
        "accrual_fraction": "0.208333333333",  # 30E/360: 75 days
        "coupon_per_unit": "3.70",  # 250 x 7.10% x 75/360 = 3.6979...
        "principal_per_unit": "0.00",
    }
    assert sum(float(p["principal_per_unit"]) for p in printed["periods"]) == 250.0


def test_a_catalogue_prints_every_instrument_or_the_one_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    catalogue = str(ROOT / "catalogue" / "instruments.json")
    assert main(["--instrument-json", catalogue]) == 0
    assert [s["instrument_id"] for s in json.loads(capsys.readouterr().out)] == [
        "SME-2027-A",
        "SME-2028-B",
    ]
    assert main(["--instrument-json", catalogue, "--instrument", "SME-2027-A"]) == 0
    assert json.loads(capsys.readouterr().out)["instrument_id"] == "SME-2027-A"
    assert main(["--instrument-json", catalogue, "--instrument", "SME-2099-Z"]) == 2
    assert "instrument_id: 'SME-2099-Z' is not in the file" in capsys.readouterr().err


def test_bad_terms_exit_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "terms.json"
    path.write_text(json.dumps({"instrument_id": "SME-1", "issue_date": "2026-01-01"}))
    assert main(["--instrument-json", str(path)]) == 2
    assert capsys.readouterr().err == "error: maturity: is missing\n"
    path.write_text("{not json")
    assert main(["--instrument-json", str(path)]) == 2
    assert "terms.json" in capsys.readouterr().err
