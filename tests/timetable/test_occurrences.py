"""The occurrence rules: school days, holidays, week patterns, validity, one-offs, changes, DST (core)."""

import datetime

import pytest

from preau.timetable import occurrences as occ
from preau.timetable import selectors
from preau.timetable.models import Course, CourseChange, SchoolCalendar

from .fixtures_core import D, T, change, make_calendar, make_course, make_room

pytestmark = pytest.mark.django_db


def dates(occurrences):
    return [o.day for o in occurrences]


def test_weekly_course_on_every_school_day_of_its_weekday(world):
    make_calendar(world.one)
    course = make_course(world.one, weekday=2)  # Wednesday is a school day
    found = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 1), D(2026, 9, 30))
    assert dates(found) == [D(2026, 9, 2), D(2026, 9, 9), D(2026, 9, 16), D(2026, 9, 23), D(2026, 9, 30)]
    assert all(o.course == course and o.status == "normal" and o.change is None for o in found)
    assert found[0].key == f"{course.id}:2026-09-02"
    assert found[0].label == "Mathématiques" and not found[0].is_exam


def test_school_year_bounds_and_school_days(world):
    calendar = make_calendar(world.one, school_days=[0, 1, 2, 3, 4])
    make_course(world.one, weekday=0)
    # The year starts on Tuesday 1 September 2026 and ends on Sunday 4 July 2027.
    assert dates(selectors.occurrences_for_class(world.one.class_a, D(2026, 8, 24), D(2026, 9, 8))) == [D(2026, 9, 7)]
    assert dates(selectors.occurrences_for_class(world.one.class_a, D(2027, 6, 28), D(2027, 7, 12))) == [D(2027, 6, 28)]
    saturday = make_course(world.one, weekday=5)
    assert selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 12), D(2026, 9, 12)) == []
    calendar.school_days = [0, 1, 2, 3, 4, 5]
    calendar.save()
    assert [o.course for o in selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 12), D(2026, 9, 12))] \
        == [saturday]
    assert occ.is_school_day(calendar, D(2026, 9, 12))
    assert not occ.is_school_day(calendar, D(2026, 9, 13))


def test_default_school_days_are_monday_to_friday(world):
    calendar = make_calendar(world.one, school_days=[])
    assert [occ.is_school_day(calendar, D(2026, 9, 7) + datetime.timedelta(days=i)) for i in range(7)] \
        == [True, True, True, True, True, False, False]


def test_closed_periods_are_inclusive(world):
    calendar = make_calendar(world.one, closed=[(D(2026, 10, 17), D(2026, 11, 2), "Toussaint"),
                                                (D(2026, 11, 11), D(2026, 11, 11), "Armistice")])
    make_course(world.one, weekday=0)
    make_course(world.one, weekday=2, start=T(10), end=T(11))
    found = selectors.occurrences_for_class(world.one.class_a, D(2026, 10, 12), D(2026, 11, 13))
    assert dates(found) == [D(2026, 10, 12), D(2026, 10, 14), D(2026, 11, 4), D(2026, 11, 9)]
    assert not occ.is_school_day(calendar, D(2026, 10, 17)) and not occ.is_school_day(calendar, D(2026, 11, 2))
    assert occ.is_school_day(calendar, D(2026, 11, 3))


def test_week_a_and_b(world):
    labels = {"2026-09-07": "A", "2026-09-14": "B", "2026-09-21": "A", "2026-09-28": "B"}
    calendar = make_calendar(world.one, week_mode=SchoolCalendar.WeekMode.ALTERNATING, labels=labels)
    a = make_course(world.one, weekday=1, week_pattern=Course.WeekPattern.WEEK_A)
    b = make_course(world.one, weekday=1, week_pattern=Course.WeekPattern.WEEK_B, start=T(9), end=T(10))
    every = make_course(world.one, weekday=1, start=T(10), end=T(11))
    found = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 7), D(2026, 10, 4))
    assert [(o.day, o.course) for o in found] == [
        (D(2026, 9, 8), a), (D(2026, 9, 8), every), (D(2026, 9, 15), b), (D(2026, 9, 15), every),
        (D(2026, 9, 22), a), (D(2026, 9, 22), every), (D(2026, 9, 29), b), (D(2026, 9, 29), every)]
    assert occ.week_label(calendar, D(2026, 9, 17)) == "B"
    assert occ.week_label(calendar, D(2026, 10, 5)) == ""  # unlabelled week: neither A nor B courses
    assert dates(selectors.occurrences_for_class(world.one.class_a, D(2026, 10, 5), D(2026, 10, 9))) \
        == [D(2026, 10, 6)]


def test_custom_weeks(world):
    make_calendar(world.one, week_mode=SchoolCalendar.WeekMode.CUSTOM)
    make_course(world.one, weekday=3, week_pattern=Course.WeekPattern.CUSTOM,
                custom_weeks=["2026-09-14", "2026-10-05"])
    found = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 1), D(2026, 10, 31))
    assert dates(found) == [D(2026, 9, 17), D(2026, 10, 8)]


def test_valid_from_and_until(world):
    make_calendar(world.one)
    make_course(world.one, weekday=4, valid_from=D(2026, 9, 15), valid_until=D(2026, 10, 2))
    found = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 1), D(2026, 10, 31))
    assert dates(found) == [D(2026, 9, 18), D(2026, 9, 25), D(2026, 10, 2)]


def test_one_off_extra_course_and_exam(world):
    make_calendar(world.one)
    extra = make_course(world.one, kind=Course.Kind.EXTRA, date=D(2026, 9, 16), start=T(14), end=T(16))
    exam = make_course(world.one, kind=Course.Kind.EXAM, date=D(2026, 9, 30), start=T(8), end=T(10))
    found = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 14), D(2026, 9, 30))
    assert [(o.course, o.day) for o in found] == [(extra, D(2026, 9, 16)), (exam, D(2026, 9, 30))]
    assert not found[0].is_exam and found[1].is_exam
    assert selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 17), D(2026, 9, 29)) == []


def test_cancelled_stays_listed(world):
    make_calendar(world.one)
    course = make_course(world.one, weekday=0)
    change(course, D(2026, 9, 14), CourseChange.Status.CANCELLED, reason="Absence du professeur")
    found = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 14), D(2026, 9, 18))
    assert len(found) == 1 and found[0].status == "cancelled" and found[0].is_cancelled
    assert found[0].reason == "Absence du professeur"


def test_moved_occurrence_appears_on_its_new_day_only(world):
    make_calendar(world.one)
    course = make_course(world.one, weekday=0)
    room = make_room(world.one, "B12")
    change(course, D(2026, 9, 14), CourseChange.Status.MOVED, new_date=D(2026, 9, 24), new_start_time=T(15),
           new_end_time=T(16), new_room=room)
    week1 = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 14), D(2026, 9, 18))
    assert dates(week1) == []
    week2 = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 21), D(2026, 9, 25))
    assert [(o.date, o.day, o.status) for o in week2] == [(D(2026, 9, 21), D(2026, 9, 21), "normal"),
                                                         (D(2026, 9, 14), D(2026, 9, 24), "moved")]
    moved = week2[1]
    assert moved.start == datetime.datetime(2026, 9, 24, 15, tzinfo=occ.PARIS)
    assert moved.end.hour == 16 and moved.room == room
    assert moved.key == f"{course.id}:2026-09-14"
    # Moved within the same window: listed once, on its new day.
    two_weeks = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 14), D(2026, 9, 25))
    assert [(o.date, o.day) for o in two_weeks] == [(D(2026, 9, 21), D(2026, 9, 21)),
                                                    (D(2026, 9, 14), D(2026, 9, 24))]


def test_moved_to_other_time_same_day(world):
    make_calendar(world.one)
    course = make_course(world.one, weekday=0)
    change(course, D(2026, 9, 14), CourseChange.Status.MOVED, new_start_time=T(13), new_end_time=T(14))
    [o] = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 14), D(2026, 9, 14))
    assert o.day == D(2026, 9, 14) and o.start.hour == 13 and o.status == "moved"


def test_modified_room_teacher_and_note(world):
    make_calendar(world.one)
    room, other = make_room(world.one, "101"), make_room(world.one, "202")
    course = make_course(world.one, weekday=0, room=room, teachers=[world.one.teacher_a, world.one.teacher_b])
    change(course, D(2026, 9, 14), CourseChange.Status.MODIFIED, new_room=other,
           replacement_teacher=world.one.group_teacher, note="Apporter la calculatrice", is_exam=True)
    found = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 14), D(2026, 9, 21))
    assert found[0].room == other and found[0].teachers == (world.one.group_teacher,)
    assert found[0].note == "Apporter la calculatrice" and found[0].is_exam and found[0].status == "modified"
    assert found[1].room == room and set(found[1].teachers) == {world.one.teacher_a, world.one.teacher_b}


@pytest.mark.parametrize(("before", "after"), [(D(2026, 10, 19), D(2026, 10, 26)), (D(2027, 3, 22), D(2027, 3, 29))])
def test_wall_clock_times_across_dst_changes(world, before, after):
    make_calendar(world.one)
    make_course(world.one, weekday=0)
    found = selectors.occurrences_for_class(world.one.class_a, before, after)
    assert [o.start.astimezone(occ.PARIS).hour for o in found] == [8, 8]
    offsets = [o.start.utcoffset() for o in found]
    assert offsets[0] != offsets[1]
    utc_hours = [o.start.astimezone(datetime.UTC).hour for o in found]
    assert utc_hours == ([6, 7] if before.month == 10 else [7, 6])


def test_sorted_by_start_then_label(world):
    make_calendar(world.one)
    late = make_course(world.one, weekday=0, start=T(10), end=T(11))
    early = make_course(world.one, weekday=0, start=T(8), end=T(9), label="Vie de classe")
    found = selectors.occurrences_for_class(world.one.class_a, D(2026, 9, 14), D(2026, 9, 14))
    assert [o.course for o in found] == [early, late]
    assert found[0].label == "Vie de classe"


def test_course_dates_pure_helper(world):
    calendar = make_calendar(world.one, closed=[(D(2026, 9, 21), D(2026, 9, 21))])
    course = make_course(world.one, weekday=0)
    assert occ.course_dates(course, calendar, D(2026, 9, 1), D(2026, 9, 30)) == [
        D(2026, 9, 7), D(2026, 9, 14), D(2026, 9, 28)]
    assert occ.is_planned_on(course, calendar, D(2026, 9, 14))
    assert not occ.is_planned_on(course, calendar, D(2026, 9, 15))
