"""The one place a Lambda reads its configuration: the function's environment, read once."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass


class MissingConfiguration(RuntimeError):
    """A variable the deployment must set is absent: a deployment bug, not a runtime fault."""


@dataclass(frozen=True)
class Settings:
    region: str
    purchases_table: str


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingConfiguration(f"environment variable {name} is not set")
    return value


@functools.cache
def settings() -> Settings:
    return Settings(
        region=_required("AWS_REGION"),
        purchases_table=_required("PURCHASES_TABLE"),
    )
