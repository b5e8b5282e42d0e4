"""The timetable selectors: whose courses, replacements, rooms, free rooms, query counts (core)."""

import datetime

import pytest

from preau.directory.models import GroupMembership, TeachingGroup
from preau.directory.testing import make_pupil
from preau.timetable import occurrences as occ
from preau.timetable import selectors
from preau.timetable.models import Course, CourseChange

from .fixtures_core import D, T, change, make_calendar, make_course, make_room

pytestmark = pytest.mark.django_db

MONDAY, FRIDAY = D(2026, 9, 14), D(2026, 9, 18)


@pytest.fixture
def timetable(world):
    s = world.one
    make_calendar(s)
    room = make_room(s, "101")
    maths_a = make_course(s, weekday=0, room=room)
    maths_b = make_course(s, weekday=0, start=T(9), end=T(10), teachers=[s.teacher_b], classes=[s.class_b],
                          room=room)
    latin = make_course(s, weekday=1, teachers=[s.group_teacher], classes=[], groups=[s.group],
                        subject=None, label="Latin")
    return {"room": room, "maths_a": maths_a, "maths_b": maths_b, "latin": latin}


def courses(found):
    return [o.course for o in found]


def test_pupil_gets_class_and_own_group_courses(world, timetable):
    assert courses(selectors.occurrences_for_pupil(world.one.pupil_a, MONDAY, FRIDAY)) == [
        timetable["maths_a"], timetable["latin"]]
    # pupil_b is in 5e B, not in the Latin group.
    assert courses(selectors.occurrences_for_pupil(world.one.pupil_b, MONDAY, FRIDAY)) == [timetable["maths_b"]]


def test_class_view_includes_its_groups_courses(world, timetable):
    assert courses(selectors.occurrences_for_class(world.one.class_b, MONDAY, FRIDAY)) == [
        timetable["maths_b"], timetable["latin"]]
    assert courses(selectors.occurrences_for_group(world.one.group, MONDAY, FRIDAY)) == [timetable["latin"]]


def test_teacher_view_with_replacements(world, timetable):
    s = world.one
    change(timetable["maths_a"], MONDAY, CourseChange.Status.MODIFIED, replacement_teacher=s.teacher_b)
    found_b = selectors.occurrences_for_teacher(s.teacher_b, MONDAY, D(2026, 9, 21))
    assert [(o.course, o.date) for o in found_b] == [
        (timetable["maths_a"], MONDAY), (timetable["maths_b"], MONDAY), (timetable["maths_b"], D(2026, 9, 21))]
    found_a = selectors.occurrences_for_teacher(s.teacher_a, MONDAY, D(2026, 9, 21))
    assert [(o.course, o.date) for o in found_a] == [(timetable["maths_a"], D(2026, 9, 21))]


def test_room_view_follows_room_changes(world, timetable):
    s = world.one
    other = make_room(s, "202")
    change(timetable["maths_a"], MONDAY, CourseChange.Status.MODIFIED, new_room=other)
    assert courses(selectors.occurrences_for_room(timetable["room"], MONDAY, FRIDAY)) == [timetable["maths_b"]]
    assert courses(selectors.occurrences_for_room(other, MONDAY, FRIDAY)) == [timetable["maths_a"]]


def test_establishment_day_and_other_establishment(world, timetable):
    make_calendar(world.two)
    make_course(world.two, weekday=0)
    day = selectors.occurrences_for_establishment(world.one.establishment, MONDAY)
    assert courses(day) == [timetable["maths_a"], timetable["maths_b"]]
    moved = change(timetable["latin"], D(2026, 9, 15), CourseChange.Status.MOVED, new_date=MONDAY,
                   new_start_time=T(14), new_end_time=T(15))
    day = selectors.occurrences_for_establishment(world.one.establishment, MONDAY)
    assert courses(day) == [timetable["maths_a"], timetable["maths_b"], timetable["latin"]]
    assert day[2].change == moved
    assert selectors.occurrences_for_establishment(world.one.establishment, D(2026, 9, 15)) == []


def test_one_occurrence(world, timetable):
    o = selectors.occurrence(timetable["maths_a"].id, MONDAY)
    assert o is not None and o.day == MONDAY and o.status == "normal"
    assert selectors.occurrence(timetable["maths_a"].id, D(2026, 9, 15)) is None
    assert selectors.occurrence(999999, MONDAY) is None
    assert selectors.occurrence("abc", MONDAY) is None
    change(timetable["maths_a"], MONDAY, CourseChange.Status.MOVED, new_date=D(2026, 10, 1))
    o = selectors.occurrence(timetable["maths_a"].id, MONDAY)
    assert o.day == D(2026, 10, 1) and o.date == MONDAY and o.status == "moved"


def test_pupils_of_occurrence(world, timetable):
    s = world.one
    o = selectors.occurrence(timetable["latin"].id, D(2026, 9, 15))
    assert list(selectors.pupils_of_occurrence(o)) == [s.pupil_a]
    extra = make_pupil(s.class_b, last_name="Aaron", first_name="Zoé")
    GroupMembership.objects.create(pupil=extra, group=s.group)
    s.pupil_a.is_active = False
    s.pupil_a.save()
    assert list(selectors.pupils_of_occurrence(o)) == [extra]
    o = selectors.occurrence(timetable["maths_b"].id, MONDAY)
    expected = sorted([s.pupil_b, s.pupil_b2, extra], key=lambda p: (p.last_name, p.first_name, p.pk))
    assert list(selectors.pupils_of_occurrence(o)) == expected


def test_free_rooms(world, timetable):
    s = world.one
    other = make_room(s, "202")
    make_room(s, "303", is_active=False)
    at = datetime.datetime(2026, 9, 14, 8, 30, tzinfo=occ.PARIS)
    assert selectors.free_rooms(s.establishment, at, at + datetime.timedelta(minutes=30)) == [other]
    at10 = datetime.datetime(2026, 9, 14, 10, tzinfo=occ.PARIS)
    assert selectors.free_rooms(s.establishment, at10, at10 + datetime.timedelta(hours=1)) == [timetable["room"],
                                                                                                 other]
    change(timetable["maths_a"], MONDAY, CourseChange.Status.CANCELLED)
    assert selectors.free_rooms(s.establishment, at, at + datetime.timedelta(minutes=30)) == [timetable["room"],
                                                                                               other]


def test_current_and_next(world, timetable):
    found = selectors.occurrences_for_class(world.one.class_b, MONDAY, FRIDAY)
    now = datetime.datetime(2026, 9, 14, 9, 15, tzinfo=occ.PARIS)
    current, upcoming = selectors.current_and_next(found, now)
    assert current.course == timetable["maths_b"] and upcoming.course == timetable["latin"]
    current, upcoming = selectors.current_and_next(found, datetime.datetime(2026, 9, 14, 7, tzinfo=occ.PARIS))
    assert current is None and upcoming.course == timetable["maths_b"]
    change(timetable["latin"], D(2026, 9, 15), CourseChange.Status.CANCELLED)
    found = selectors.occurrences_for_class(world.one.class_b, MONDAY, FRIDAY)
    assert selectors.current_and_next(found, now) == (found[0], None)


def test_calendar_for_creates_defaults_once(world):
    calendar = selectors.calendar_for(world.one.year)
    assert calendar.school_days == [0, 1, 2, 3, 4] and calendar.week_mode == "every"
    # Real times, not the model's string defaults (also in the cached copy).
    assert calendar.day_start == datetime.time(8) and calendar.half_day_split == datetime.time(12, 30)
    cached = selectors.calendars_for_years([world.one.year.pk])[world.one.year.pk]
    assert cached.day_end == datetime.time(18)
    assert selectors.calendar_for(world.one.year).pk == calendar.pk


def test_cached_calendar_follows_changes(world, timetable):
    assert len(selectors.occurrences_for_class(world.one.class_a, MONDAY, FRIDAY)) == 2
    make_calendar(world.one, closed=[(MONDAY, MONDAY)])
    assert courses(selectors.occurrences_for_class(world.one.class_a, MONDAY, FRIDAY)) == [timetable["latin"]]


def _big_school(s, classes=6):
    from preau.directory.testing import SchoolClassFactory

    for n in range(classes):
        cls = SchoolClassFactory(school_year=s.year, code=f"X{n}", label=f"4e {n}")
        group = TeachingGroup.objects.create(school_year=s.year, establishment=s.establishment, code=f"G{n}",
                                             label=f"G{n}")
        group.classes.set([cls, s.class_a])
        for _ in range(3):
            pupil = make_pupil(cls)
            GroupMembership.objects.create(pupil=pupil, group=group)
        for day in range(5):
            make_course(s, weekday=day, classes=[cls, s.class_a], teachers=[s.teacher_a, s.teacher_b])
            make_course(s, weekday=day, start=T(10), end=T(11), classes=[], groups=[group],
                        teachers=[s.teacher_a])
            c = make_course(s, kind=Course.Kind.EXTRA, date=MONDAY + datetime.timedelta(days=day), classes=[cls])
            change(c, c.date, CourseChange.Status.MODIFIED, replacement_teacher=s.teacher_a)


@pytest.mark.parametrize("who", ["pupil", "teacher", "class"])
def test_week_is_a_constant_handful_of_queries(world, timetable, who, django_assert_max_num_queries):
    s = world.one
    calls = {"pupil": lambda: selectors.occurrences_for_pupil(s.pupil_a, MONDAY, FRIDAY),
             "teacher": lambda: selectors.occurrences_for_teacher(s.teacher_a, MONDAY, FRIDAY),
             "class": lambda: selectors.occurrences_for_class(s.class_a, MONDAY, FRIDAY)}
    calls[who]()  # warms the calendar cache
    with django_assert_max_num_queries(5):
        small = calls[who]()
    _big_school(s)
    with django_assert_max_num_queries(5):
        big = calls[who]()
    assert len(big) > len(small)
    # Cold calendar cache: two more queries.
    from django.core.cache import cache
    cache.clear()
    with django_assert_max_num_queries(7):
        calls[who]()
