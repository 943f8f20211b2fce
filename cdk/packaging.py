"""Lambda code packaging without Docker: the project's own packages, staged as one asset."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CODE_PACKAGES = ("domain", "lambdas")


def stage_lambda_code() -> Path:
    """Copy the packages the handlers import into a fresh folder that becomes the code asset.

    CDK hashes the asset by content and copies it into cdk.out at synth, so the folder is
    temporary and each synth (parallel test workers too) gets its own.
    """
    build_dir = Path(tempfile.mkdtemp(prefix="drexfy-lambda-code-"))
    atexit.register(shutil.rmtree, build_dir, ignore_errors=True)
    for package in CODE_PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / package,
            build_dir / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    return build_dir
