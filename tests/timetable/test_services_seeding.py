"""Demo timetables of `preau seed` (core): calendars, rooms, courses without double bookings, determinism."""

import collections
import datetime

import pytest
from django.core.management import call_command

from preau.directory.models import ClassEnrolment, Establishment, SchoolYear
from preau.directory.seeding import SeedOptions, seed_directory
from preau.timetable import selectors
from preau.timetable.models import ClosedPeriod, Course, Room, SchoolCalendar
from preau.timetable.seeding import seed_timetables

pytestmark = pytest.mark.django_db
MONDAY = datetime.date(2026, 9, 14)


@pytest.fixture
def seeded(db):
    seed_directory(SeedOptions(seed=3, establishments=2, pupils=200))
    return seed_timetables(3)


def test_calendars_rooms_and_courses(seeded):
    assert seeded["establishments"] == 2 and seeded["courses"] > 100 and seeded["unplaced"] == 0
    college = Establishment.objects.get(kind="college")
    calendar = SchoolCalendar.objects.get(establishment=college)
    assert calendar.zone == "A" and calendar.week_mode == "ab"  # Lyon
    assert calendar.week_labels["2026-08-31"] == "A"
    assert ClosedPeriod.objects.filter(calendar=calendar, label="Vacances de la Toussaint").exists()
    ecole = SchoolCalendar.objects.get(establishment__kind="ecole")
    assert ecole.school_days == [0, 1, 3, 4]
    assert Room.objects.filter(establishment=college, code__startswith="LAB").exists()
    assert Course.objects.filter(week_pattern="A").count() == Course.objects.filter(week_pattern="B").count() > 0


def test_no_double_booking_and_a_lunch_break(seeded):
    for establishment in Establishment.objects.all():
        busy = collections.Counter()
        for offset in range(14):
            for o in selectors.occurrences_for_establishment(establishment, MONDAY + datetime.timedelta(days=offset)):
                for teacher in o.teachers:
                    busy[("teacher", teacher.pk, o.start)] += 1
                if o.room is not None:
                    busy[("room", o.room.pk, o.start)] += 1
                local = o.start.time()
                assert not datetime.time(12, 5) <= local < datetime.time(13, 30), o
        assert busy and max(busy.values()) == 1
    assert not Course.objects.filter(start_time__lt=datetime.time(13, 30), end_time__gt=datetime.time(12, 30))


def test_pupils_have_a_full_week_without_overlaps(seeded):
    pupils = [e.pupil for e in ClassEnrolment.objects.filter(school_class__establishment__kind="college")
              .select_related("pupil").order_by("pk")[::9]]
    for pupil in pupils:
        found = selectors.occurrences_for_pupil(pupil, MONDAY, MONDAY + datetime.timedelta(days=13))
        periods = len(found) / 2
        assert 23 <= periods <= 30, (pupil, periods)
        for a, b in zip(found, found[1:], strict=False):
            assert b.start >= a.end, (pupil, a, b)
        # Wednesday afternoon is free.
        assert not [o for o in found if o.day.weekday() == 2 and o.start.hour >= 12]


def test_deterministic_and_idempotent(seeded):
    first = sorted(Course.objects.values_list("external_id", "weekday", "start_time", "room__code"))
    assert seed_timetables(3)["courses"] == 0  # already seeded
    Course.objects.all().delete()
    Room.objects.all().delete()
    seed_timetables(3)
    assert sorted(Course.objects.values_list("external_id", "weekday", "start_time", "room__code")) == first


def test_seed_command_hook(db, capsys):
    call_command("seed", "--seed", "4", "--establishments", "1", "--pupils", "40")
    assert "Emplois du temps" in capsys.readouterr().out
    year = SchoolYear.objects.get()
    assert Course.objects.filter(school_year=year).exists()


def test_placement_repairs_by_moving_one_blocking_course():
    import random

    from preau.timetable.seeding import _Hour, _Plan

    plan = _Plan(slots=[(0, 0), (0, 1)], periods=[], rooms={"spare": [10, 11]})
    rng = random.Random(1)
    x = _Hour(1, (1,), (1,), (1,), (), "spare")  # class 1, teacher 1
    y = _Hour(2, (2,), (2,), (2,), (), "spare")  # class 2, teacher 2
    plan.place(x, (0, 0), 10)
    plan.place(y, (0, 1), 11)
    c = _Hour(3, (2,), (1,), (1,), (), "spare")  # class 1 with teacher 2: no slot is free for both
    assert plan.put(c, rng) and plan.unplaced == 0
    placed = {h.subject_id: slot for h, slot, _room, _pattern in plan.courses}
    assert placed == {1: (0, 1), 2: (0, 1), 3: (0, 0)}
    rooms = [(slot, room) for _h, slot, room, _p in plan.courses]
    assert len(set(rooms)) == 3  # no room twice in a slot
    d = _Hour(4, (3,), (1,), (1,), (), "spare")  # class 1 is now full: nothing to move
    assert not plan.put(d, rng) and plan.unplaced == 1
