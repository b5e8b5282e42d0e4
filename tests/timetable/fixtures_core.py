"""Helpers of the timetable engine tests (core): courses, rooms and calendars on the persona world."""

import datetime

from preau.timetable.models import ClosedPeriod, Course, CourseChange, Room, SchoolCalendar
from preau.timetable.selectors import calendar_for

D = datetime.date
T = datetime.time
EIGHT, NINE = T(8), T(9)


def make_room(school, code="101", **kwargs):
    label = kwargs.pop("label", f"Salle {code}")
    return Room.objects.create(establishment=school.establishment, code=code, label=label, **kwargs)


def make_course(school, *, weekday=0, start=EIGHT, end=NINE, teachers=None, classes=None, groups=None, room=None,
                subject="default", **kwargs):
    course = Course.objects.create(
        establishment=school.establishment, school_year=school.year, weekday=weekday if "date" not in kwargs else None,
        start_time=start, end_time=end, room=room, subject=school.subject if subject == "default" else subject,
        **kwargs)
    course.teachers.set(teachers if teachers is not None else [school.teacher_a])
    course.classes.set(classes if classes is not None else [school.class_a])
    if groups:
        course.groups.set(groups)
    return course


def make_calendar(school, *, week_mode=SchoolCalendar.WeekMode.EVERY, labels=None, closed=(), school_days=None):
    calendar = calendar_for(school.year)
    calendar.week_mode = week_mode
    calendar.week_labels = labels or {}
    if school_days is not None:
        calendar.school_days = school_days
    calendar.save()
    for first, last, *label in closed:
        ClosedPeriod.objects.create(calendar=calendar, kind=ClosedPeriod.Kind.HOLIDAYS,
                                    label=label[0] if label else "Vacances", first_day=first, last_day=last)
    return calendar


def change(course, day, status, **kwargs):
    return CourseChange.objects.create(course=course, date=day, status=status, **kwargs)
