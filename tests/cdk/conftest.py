"""The synthesized templates: `python app.py` for an environment, at most once per test session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.aws.deployer import PROJECT_ROOT

ENVIRONMENTS = ("dev", "test", "prod", "local")
ACKNOWLEDGED = "aws:cdk:acknowledged-rules"


@dataclass(frozen=True)
class Synthesis:
    """One `python app.py`, exactly as an engineer runs it: CDK's own validation and cdk-nag on."""

    env: str
    outdir: Path
    returncode: int
    output: str
    seconds: float

    @property
    def stack_name(self) -> str:
        return f"Drexfy-{self.env}"

    def template(self) -> dict[str, Any]:
        path = self.outdir / f"{self.stack_name}.template.json"
        assert self.returncode == 0 and path.exists(), f"synth of {self.env} failed:\n{self.output}"
        return json.loads(path.read_text())  # type: ignore[no-any-return]

    def validation_report(self) -> dict[str, Any]:
        path = self.outdir / "validation-report.json"
        assert path.exists(), f"synth of {self.env} wrote no validation report:\n{self.output}"
        return json.loads(path.read_text())  # type: ignore[no-any-return]

    def construct_metadata(self) -> dict[str, list[dict[str, Any]]]:
        """Construct path -> its metadata entries (logical ids, acknowledgments, ...)."""
        path = self.outdir / f"{self.stack_name}.metadata.json"
        return json.loads(path.read_text())  # type: ignore[no-any-return]

    def acknowledgments(self) -> dict[str, dict[str, str]]:
        """Construct path -> {acknowledged finding id: reason}."""
        found: dict[str, dict[str, str]] = {}
        for path, entries in self.construct_metadata().items():
            for entry in entries:
                if entry["type"] == ACKNOWLEDGED:
                    for rule, reason in entry["data"].items():
                        found.setdefault(path, {})[rule.removeprefix("Annotation::")] = reason
        return found


def synthesize(env: str, outdir: Path) -> Synthesis:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env=dict(
            os.environ,
            CDK_OUTDIR=str(outdir),
            CDK_CONTEXT_JSON=json.dumps({"env": env}),
            JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        ),
    )
    return Synthesis(
        env, outdir, result.returncode, result.stdout + result.stderr, time.monotonic() - started
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Synthesis]:
    """env -> its synthesis, run on first use and kept for the session."""
    done: dict[str, Synthesis] = {}

    def synthesis(env: str) -> Synthesis:
        if env not in done:
            done[env] = synthesize(env, tmp_path_factory.mktemp(f"cdk.out-{env}"))
        return done[env]

    return synthesis


@pytest.fixture(scope="session")
def prod_template(synthesized: Callable[[str], Synthesis]) -> dict[str, Any]:
    return synthesized("prod").template()


def resources_of(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]
