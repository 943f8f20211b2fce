"""Lambda packaging without Docker: the project's own packages as the code asset, and its
dependencies, built from wheels for the Lambda platform, as a layer."""

from __future__ import annotations

import atexit
import hashlib
import shutil
import subprocess
import sys
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


# Lambda runs Python 3.13 on ARM (Graviton); wheels for that platform install anywhere.
LAMBDA_PLATFORM = "manylinux2014_aarch64"
LAMBDA_PYTHON = "3.13"
REQUIREMENTS = PROJECT_ROOT / "requirements.txt"
DEPENDENCIES_CACHE = PROJECT_ROOT / ".local" / "lambda-dependencies"


def dependencies_digest() -> str:
    content = REQUIREMENTS.read_bytes() + f"{LAMBDA_PLATFORM}/{LAMBDA_PYTHON}".encode()
    return hashlib.sha256(content).hexdigest()[:16]


def stage_lambda_dependencies() -> Path:
    """requirements.txt installed from wheels for the Lambda platform, as a layer's content.

    No Docker: pip picks manylinux aarch64 wheels for CPython 3.13 (`--only-binary=:all:`
    refuses anything that would need compiling). Built once per requirements change, into a
    temporary folder renamed into place, so parallel synths never see half of it.
    """
    target = DEPENDENCIES_CACHE / dependencies_digest()
    if (target / "python").is_dir():
        return target
    DEPENDENCIES_CACHE.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix="building-", dir=DEPENDENCIES_CACHE))
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-compile", "--target", str(building / "python"),
            "--platform", LAMBDA_PLATFORM, "--implementation", "cp",
            "--python-version", LAMBDA_PYTHON, "--only-binary=:all:",
            "--requirement", str(REQUIREMENTS),
        ],
        check=True,
    )  # fmt: skip
    try:
        building.rename(target)
    except OSError:  # another synth finished first: its copy is the same
        shutil.rmtree(building, ignore_errors=True)
    return target
