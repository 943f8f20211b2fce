"""The local gateway hands the function the path decoded, as HTTP API does; an escaped "/"
stays escaped, so it never makes a new segment (and fails the id rule instead)."""

from __future__ import annotations

import pytest

from local.api.proxy import decoded_path


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("/investors/inv-1", "/investors/inv-1"),
        ("/investors/inv%3A404", "/investors/inv:404"),
        ("/investors/caf%C3%A9", "/investors/café"),
        ("/investors/inv-1%2Fportfolio", "/investors/inv-1%2Fportfolio"),
        ("/investors/a%20b/portfolio", "/investors/a b/portfolio"),
    ],
)
def test_the_path_is_decoded_one_segment_at_a_time(raw: str, decoded: str) -> None:
    assert decoded_path(raw) == decoded
