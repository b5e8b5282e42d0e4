"""Quiet hours in Paris time: the night across midnight, weekends, no period when start == end."""

import datetime

import pytest

from preau.notifications.quiet import is_quiet, quiet_until

from .conftest import paris

NIGHT = (datetime.time(20, 0), datetime.time(7, 0))


@pytest.mark.parametrize(("moment", "expected"), [
    (paris(2026, 10, 6, 12, 0), paris(2026, 10, 6, 12, 0)),    # Tuesday noon: not quiet
    (paris(2026, 10, 6, 19, 59), paris(2026, 10, 6, 19, 59)),
    (paris(2026, 10, 6, 20, 0), paris(2026, 10, 7, 7, 0)),     # Tuesday 20:00 -> Wednesday 07:00
    (paris(2026, 10, 7, 3, 0), paris(2026, 10, 7, 7, 0)),      # after midnight -> same morning
    (paris(2026, 10, 9, 21, 0), paris(2026, 10, 12, 7, 0)),    # Friday evening -> Monday 07:00
    (paris(2026, 10, 10, 11, 0), paris(2026, 10, 12, 7, 0)),   # Saturday -> Monday 07:00
    (paris(2026, 10, 11, 23, 0), paris(2026, 10, 12, 7, 0)),   # Sunday night -> Monday 07:00
    (paris(2026, 10, 24, 22, 0), paris(2026, 10, 26, 7, 0)),   # across the end of summer time
])
def test_quiet_until_with_weekends(moment, expected):
    assert quiet_until(moment, *NIGHT, True) == expected


def test_without_weekends_saturday_is_a_normal_day():
    assert quiet_until(paris(2026, 10, 10, 11, 0), *NIGHT, False) == paris(2026, 10, 10, 11, 0)
    assert quiet_until(paris(2026, 10, 9, 21, 0), *NIGHT, False) == paris(2026, 10, 10, 7, 0)


def test_a_daytime_period_and_no_period():
    lunch = (datetime.time(12, 0), datetime.time(14, 0))
    assert is_quiet(paris(2026, 10, 6, 13, 0), *lunch, False)
    assert quiet_until(paris(2026, 10, 6, 13, 0), *lunch, False) == paris(2026, 10, 6, 14, 0)
    assert not is_quiet(paris(2026, 10, 6, 3, 0), datetime.time(0), datetime.time(0), False)


def test_utc_input_is_read_in_paris_time():
    # 19:30 UTC on a Tuesday in October is 21:30 in Paris: quiet.
    moment = datetime.datetime(2026, 10, 6, 19, 30, tzinfo=datetime.UTC)
    assert is_quiet(moment, *NIGHT, True)
    assert quiet_until(moment, *NIGHT, True) == paris(2026, 10, 7, 7, 0)
