"""Collection period arithmetic (Art. 22(1): within 12 months)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sigsvc.registry import add_months, last_allowed_day


def test_examples():
    assert last_allowed_day(date(2026, 3, 1), 12) == date(2027, 2, 28)
    assert last_allowed_day(date(2026, 1, 15), 12) == date(2027, 1, 14)
    assert last_allowed_day(date(2027, 3, 1), 12) == date(2028, 2, 29)  # leap year
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_twelve_months_is_at_most_a_year_and_never_reaches_the_anniversary(start):
    last = last_allowed_day(start, 12)
    assert last - start < timedelta(days=366)
    assert last - start >= timedelta(days=364)
    assert last < add_months(start, 12)
