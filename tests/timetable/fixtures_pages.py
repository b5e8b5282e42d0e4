"""Helpers of the timetable page tests (ttpages): a full week of courses on the persona world."""

import datetime

from preau.directory.testing import make_pupil

from .fixtures_core import D, T, make_calendar, make_course, make_room

MONDAY = D(2026, 12, 7)  # a school week (week A in the alternating tests)
TUESDAY = D(2026, 12, 8)
HOLIDAY_MONDAY = D(2026, 12, 21)  # Christmas holidays
SLOTS = [(T(8), T(8, 55)), (T(8, 55), T(9, 50)), (T(10, 5), T(11)), (T(11), T(11, 55)),
         (T(13, 30), T(14, 25)), (T(14, 25), T(15, 20))]


def full_week(school, *, extra_pupils=0):
    """Six courses a day, Monday to Friday (Wednesday morning only), for 5e A (its teacher) and the Latin group;
    rooms 101-104; the Christmas holidays closed; `extra_pupils` more pupils in 5e A."""
    calendar = make_calendar(school, closed=[(D(2026, 12, 19), D(2027, 1, 3), "Vacances de Noël")])
    rooms = [make_room(school, str(code)) for code in (101, 102, 103, 104)]
    courses = []
    for weekday in range(5):
        slots = SLOTS[:4] if weekday == 2 else SLOTS
        for index, (start, end) in enumerate(slots):
            courses.append(make_course(school, weekday=weekday, start=start, end=end, room=rooms[index % 4],
                                       teachers=[school.teacher_a], classes=[school.class_a]))
    # The Latin group at the same time as a 5e A course on Tuesday (two lanes in the class grid).
    latin = make_course(school, weekday=1, start=T(8), end=T(8, 55), teachers=[school.group_teacher], classes=[],
                        groups=[school.group], subject=None, label="Latin", room=rooms[3])
    for index in range(extra_pupils):
        make_pupil(school.class_a, username=f"{school.establishment.uai}-extra{index}")
    return {"calendar": calendar, "rooms": rooms, "courses": courses, "latin": latin}


def at(day, hour=10, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=datetime.UTC)
