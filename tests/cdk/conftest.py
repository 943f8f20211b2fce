"""The production template, synthesized once per test session by `python app.py`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from local.aws.deployer import PROJECT_ROOT


@pytest.fixture(scope="session")
def prod_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`python app.py` exactly as an engineer runs it, with CDK's own validation on."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    subprocess.run(
        [sys.executable, "app.py"],
        cwd=PROJECT_ROOT,
        check=True,
        env=dict(
            os.environ,
            CDK_OUTDIR=str(outdir),
            CDK_CONTEXT_JSON=json.dumps({"env": "prod"}),
            JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        ),
    )
    return json.loads((outdir / "Drexfy-prod.template.json").read_text())  # type: ignore[no-any-return]


def resources_of(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]
