"""xrpl.js, an independent client, checks blobs our code signed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("xrpljs_check.mjs")


def check_blobs(blobs: list[str]) -> list[dict[str, Any]]:
    """For each blob: xrpl.js's hash, whether its signature verifies, and the decoded fields."""
    result = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps(blobs),
        capture_output=True,
        text=True,
        check=True,
        cwd=SCRIPT.parents[2],
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]
