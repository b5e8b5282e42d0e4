"""Half-day counts (attcore): the official measure — school days only, the morning/afternoon split, justified only
when every overlapping absence is, lateness apart; class rates and their denominator; one query for a class."""

import datetime

import pytest

from preau.attendance import halfdays, selectors
from preau.attendance.models import AttendanceRecord
from preau.directory.testing import make_pupil
from preau.timetable.models import ClosedPeriod
from preau.timetable.selectors import calendar_for, forget_calendar

from .fixtures_attcore import D, at, close

pytestmark = pytest.mark.django_db


def absence(school, pupil, start, end, state="unjustified", kind="absence", **kwargs):
    return AttendanceRecord.objects.create(establishment=school.establishment, pupil=pupil, kind=kind,
                                           starts_at=start, ends_at=end, state=state, source="vie_scolaire",
                                           **kwargs)


def counts(pupil, first, last):
    return halfdays.half_day_counts([pupil], first, last)[pupil.pk]


def test_multi_day_absence_over_a_weekend_and_the_holidays(world):
    one = world.one
    close(one, D(2026, 10, 17), D(2026, 11, 1), "Vacances de la Toussaint")
    # Thursday 15 October 10:00 -> Tuesday 3 November 12:00.
    absence(one, one.pupil_b, at(D(2026, 10, 15), 10), at(D(2026, 11, 3), 12))
    c = counts(one.pupil_b, D(2026, 9, 1), D(2026, 11, 30))
    # Thu (2) + Fri (2) + holidays (0) + Mon 2 Nov (2) + Tue morning (1)
    assert c["absent"] == 7 and c["unjustified"] == 7 and c["justified"] == 0
    # The window cuts it: only what falls inside counts.
    assert counts(one.pupil_b, D(2026, 10, 16), D(2026, 11, 2))["absent"] == 4


def test_public_holiday_and_weekend_never_count(world):
    one = world.one
    close(one, D(2026, 11, 11), D(2026, 11, 11), "Armistice", kind=ClosedPeriod.Kind.PUBLIC_HOLIDAY)
    absence(one, one.pupil_b, at(D(2026, 11, 10), 8), at(D(2026, 11, 12), 18))  # Tue -> Thu
    assert counts(one.pupil_b, D(2026, 11, 1), D(2026, 11, 30))["absent"] == 4
    absence(one, one.pupil_b2, at(D(2026, 11, 14), 8), at(D(2026, 11, 15), 18))  # Saturday and Sunday
    assert counts(one.pupil_b2, D(2026, 11, 1), D(2026, 11, 30))["absent"] == 0


def test_half_day_split(world):
    one = world.one
    day = D(2026, 10, 6)
    absence(one, one.pupil_b, at(day, 11), at(day, 12, 30))  # ends at the split: morning only
    absence(one, one.pupil_b2, at(day, 12, 30), at(day, 13, 30))  # starts at the split: afternoon only
    absence(one, one.pupil_a, at(day, 12), at(day, 13))  # across it: both
    got = halfdays.half_day_counts([one.pupil_b, one.pupil_b2, one.pupil_a], day, day)
    assert [got[p.pk]["absent"] for p in (one.pupil_b, one.pupil_b2, one.pupil_a)] == [1, 1, 2]
    calendar = calendar_for(one.year)
    calendar.half_day_split = datetime.time(12, 0)
    calendar.save()
    forget_calendar(one.year.pk)
    got = halfdays.half_day_counts([one.pupil_b, one.pupil_a], day, day)
    assert got[one.pupil_b.pk]["absent"] == 2  # 11:00-12:30 now crosses the 12:00 split
    assert got[one.pupil_a.pk]["absent"] == 1  # 12:00-13:00 now starts at the split: afternoon only


def test_justified_only_if_every_overlapping_absence_is(world):
    one = world.one
    day = D(2026, 10, 6)
    absence(one, one.pupil_b, at(day, 8), at(day, 9), state="justified")
    absence(one, one.pupil_b, at(day, 10), at(day, 11), state="unjustified")  # same morning
    absence(one, one.pupil_b, at(day, 14), at(day, 15), state="justified")  # afternoon, alone
    absence(one, one.pupil_b, at(day + datetime.timedelta(days=1), 8), at(day + datetime.timedelta(days=1), 9),
            state="pending")
    c = counts(one.pupil_b, day, day + datetime.timedelta(days=1))
    assert (c["absent"], c["justified"], c["unjustified"], c["pending"]) == (3, 1, 2, 1)


def test_lateness_is_not_an_absence(world):
    one = world.one
    day = D(2026, 10, 6)
    absence(one, one.pupil_b, at(day, 8), at(day, 8, 10), kind="late", late_minutes=10)
    absence(one, one.pupil_b, at(day, 14), at(day, 14, 5), kind="late", late_minutes=5)
    absence(one, one.pupil_b, at(day, 15), at(day, 16), kind="early_leave")
    absence(one, one.pupil_b, at(day, 10), at(day, 11), kind="exclusion")
    c = counts(one.pupil_b, day, day)
    assert c["absent"] == 0 and c["late"] == 2 and c["late_minutes"] == 15
    assert c["early_leave"] == 1 and c["exclusion"] == 1


def test_every_pupil_asked_is_in_the_result_and_other_pupils_do_not_leak(world):
    one = world.one
    day = D(2026, 10, 6)
    absence(one, one.pupil_a, at(day, 8), at(day, 9))
    got = halfdays.half_day_counts([one.pupil_b.pk], day, day)
    assert got == {one.pupil_b.pk: halfdays.empty_counts()}


def test_class_rates_and_denominator(world):
    one = world.one
    # October 2026: 22 school days (Mon-Fri) -> 44 half-days; class 5e B has 2 pupils.
    absence(one, one.pupil_b, at(D(2026, 10, 5), 8), at(D(2026, 10, 6), 18))  # 4 half-days
    absence(one, one.pupil_b2, at(D(2026, 10, 7), 8), at(D(2026, 10, 7), 11), state="justified")  # 1
    rows, rate = selectors.class_rates(one.class_b, D(2026, 10, 1), D(2026, 10, 31))
    assert rate["school_half_days"] == 44 and rate["pupils"] == 2 and rate["denominator"] == 88
    assert rate["missed"] == 5 and rate["justified"] == 1 and rate["unjustified"] == 4
    assert rate["rate"] == round(100 * 5 / 88, 2)
    by_pupil = {row["pupil"].pk: row for row in rows}
    assert by_pupil[one.pupil_b.pk]["absent"] == 4 and by_pupil[one.pupil_b2.pk]["absent"] == 1
    # Holidays shrink the denominator.
    close(one, D(2026, 10, 19), D(2026, 10, 30))
    _rows, rate = selectors.class_rates(one.class_b, D(2026, 10, 1), D(2026, 10, 31))
    assert rate["school_half_days"] == 24


def test_counts_by_period(world):
    one = world.one
    absence(one, one.pupil_b, at(D(2026, 10, 5), 8), at(D(2026, 10, 5), 11))
    absence(one, one.pupil_b, at(D(2027, 1, 5), 8), at(D(2027, 1, 5), 18))
    got = selectors.counts_by_period([one.pupil_b], one.year)
    assert [got[p.pk][one.pupil_b.pk]["absent"] for p in selectors.periods_of(one.year)] == [1, 2, 0]


def test_one_query_for_the_records_of_a_whole_class(world, django_assert_max_num_queries):
    one = world.one
    pupils = [make_pupil(one.class_b) for _ in range(30)]
    for pupil in pupils:
        absence(one, pupil, at(D(2026, 10, 5), 8), at(D(2026, 10, 9), 18))
    halfdays.half_day_counts(pupils[:1], D(2026, 10, 1), D(2026, 10, 31))  # calendars cached
    with django_assert_max_num_queries(2):
        got = halfdays.half_day_counts(pupils, D(2026, 10, 1), D(2026, 10, 31))
    assert all(got[p.pk]["absent"] == 10 for p in pupils)


def test_across_the_autumn_clock_change(world):
    """Sunday 25 October 2026 03:00 CEST -> 02:00 CET: wall-clock half-days on both sides."""
    one = world.one
    absence(one, one.pupil_b, at(D(2026, 10, 23), 8), at(D(2026, 10, 26), 12))  # Friday -> Monday morning
    c = counts(one.pupil_b, D(2026, 10, 19), D(2026, 10, 30))
    assert c["absent"] == 3  # Friday (2) + Monday morning (1)
    # 12:15 on Monday after the change is still the morning (a UTC split would have moved by an hour).
    absence(one, one.pupil_b2, at(D(2026, 10, 26), 12, 15), at(D(2026, 10, 26), 12, 29))
    assert counts(one.pupil_b2, D(2026, 10, 26), D(2026, 10, 26))["absent"] == 1
