"""The fast tier: pure tests of domain/ and other pure modules. No ledger, no AWS, no network;
`make unit` runs it alone in seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

PLATFORM_FIXTURES = frozenset({"aws", "ledger", "platform"})


@pytest.fixture(autouse=True)
def nothing_but_the_code(request: pytest.FixtureRequest) -> Iterator[None]:
    """A unit test that asks for the platform belongs to another tier."""
    asked = PLATFORM_FIXTURES & set(request.fixturenames)
    assert not asked, f"a unit test may not use {sorted(asked)}: move it out of tests/unit"
    yield
