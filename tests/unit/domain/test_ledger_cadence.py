"""When to look at the ledger again: just after the next close is due, in whole seconds."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ledger_cadence import MAX_WAIT_SECONDS, MIN_WAIT_SECONDS, seconds_until_next_check


def test_a_ledger_that_just_closed_means_a_full_interval() -> None:
    assert seconds_until_next_check(0, 4) == 4


def test_part_of_the_interval_gone_means_the_rest_of_it() -> None:
    assert seconds_until_next_check(3, 4) == 1
    assert seconds_until_next_check(1, 4) == 3


def test_an_overdue_close_is_looked_for_every_second() -> None:
    assert seconds_until_next_check(9, 4) == MIN_WAIT_SECONDS


def test_an_unknown_age_means_a_full_interval_and_a_slow_network_is_capped() -> None:
    assert seconds_until_next_check(None, 4) == 4
    assert seconds_until_next_check(0, 60) == MAX_WAIT_SECONDS


def test_an_interval_under_a_second_is_refused() -> None:
    with pytest.raises(ValueError, match="close interval"):
        seconds_until_next_check(0, 0)


@given(st.integers(-5, 100) | st.none(), st.integers(1, 30), st.integers(0, 30))
def test_the_wait_is_bounded_and_shrinks_as_the_ledger_ages(
    age: int | None, interval: int, more: int
) -> None:
    wait = seconds_until_next_check(age, interval)
    assert MIN_WAIT_SECONDS <= wait <= MAX_WAIT_SECONDS
    if age is not None:
        assert seconds_until_next_check(age + more, interval) <= wait
