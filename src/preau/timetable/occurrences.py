"""Occurrences of courses, derived from the recurring courses, the school calendar and the sparse changes.

Pure functions, no database access of their own (except reading relations the caller prefetched) and no access
checks. See docs/timetable.md for the rules:

- a recurring course takes place on its weekday, on every school day of its school year (inside the year, a
  weekday of `calendar.school_days`, outside every closed period), restricted by `valid_from` / `valid_until` and by
  its week pattern (every week, week A, week B, chosen weeks); a one-off course (extra, exam) on its `date`;
- a `CourseChange` keyed by (course, planned date) changes one occurrence: cancelled (still listed, status
  "cancelled"), moved (listed on its new day/times, no longer on its old day), modified (other room, replacement
  teacher, note);
- times are wall-clock times in Europe/Paris, made aware per date (an 08:00 course is at 08:00 local time on both
  sides of a DST change).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .models import Course, CourseChange, Room, SchoolCalendar

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_SCHOOL_DAYS = (0, 1, 2, 3, 4)  # Monday to Friday; Wednesday is a school day (morning courses)

NORMAL = "normal"
CANCELLED = "cancelled"
MOVED = "moved"
MODIFIED = "modified"


@dataclass(frozen=True)
class Occurrence:
    course: Course
    date: datetime.date  # the planned date: with course.id, the occurrence's identity
    day: datetime.date  # where it takes place (== date unless moved)
    start: datetime.datetime  # aware, Europe/Paris
    end: datetime.datetime
    room: Room | None  # after change
    teachers: tuple  # after replacement (a replacement teacher replaces all of the course's teachers)
    change: CourseChange | None
    status: str  # "normal" | "cancelled" | "moved" | "modified"

    @property
    def key(self) -> str:
        return f"{self.course.id}:{self.date.isoformat()}"

    @property
    def is_exam(self) -> bool:
        return self.course.kind == Course.Kind.EXAM or bool(self.change is not None and self.change.is_exam)

    @property
    def label(self) -> str:
        return self.course.display_label

    @property
    def is_cancelled(self) -> bool:
        return self.status == CANCELLED

    @property
    def note(self) -> str:
        return self.change.note if self.change is not None else ""

    @property
    def reason(self) -> str:
        return self.change.reason if self.change is not None else ""

    @property
    def replacement_teacher(self):
        return self.change.replacement_teacher if self.change is not None else None


def aware(day: datetime.date, time: datetime.time) -> datetime.datetime:
    """The aware datetime of a wall-clock time on a day in Europe/Paris (zoneinfo picks the right offset)."""
    return datetime.datetime.combine(day, time, tzinfo=PARIS)


def monday_of(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def school_weekdays(calendar: SchoolCalendar) -> frozenset[int]:
    days = calendar.school_days
    return frozenset(int(d) for d in days) if days else frozenset(DEFAULT_SCHOOL_DAYS)


def closed_ranges(calendar: SchoolCalendar) -> list[tuple[datetime.date, datetime.date]]:
    """(first, last) of the calendar's closed periods, read once per calendar object (prefetch them)."""
    cached = calendar.__dict__.get("_closed_ranges")
    if cached is None:
        periods = calendar.closed_periods.all() if calendar.pk is not None else []
        cached = sorted((p.first_day, p.last_day) for p in periods)
        calendar.__dict__["_closed_ranges"] = cached
    return cached


def is_closed(calendar: SchoolCalendar, day: datetime.date) -> bool:
    return any(first <= day <= last for first, last in closed_ranges(calendar))


def in_school_year(calendar: SchoolCalendar, day: datetime.date) -> bool:
    year = calendar.school_year
    return year.start <= day <= year.end


def is_school_day(calendar: SchoolCalendar, day: datetime.date) -> bool:
    """A day of the school year, a school weekday, outside every closed period."""
    return (in_school_year(calendar, day) and day.weekday() in school_weekdays(calendar)
            and not is_closed(calendar, day))


def week_label(calendar: SchoolCalendar, day: datetime.date) -> str:
    """"A"/"B" (or a custom label) of the week of `day`; "" when weeks are not labelled."""
    if calendar.week_mode == SchoolCalendar.WeekMode.EVERY:
        return ""
    return str((calendar.week_labels or {}).get(monday_of(day).isoformat(), ""))


def _in_week_pattern(course: Course, calendar: SchoolCalendar, day: datetime.date) -> bool:
    pattern = course.week_pattern
    if pattern == Course.WeekPattern.EVERY or not pattern:
        return True
    if pattern == Course.WeekPattern.CUSTOM:
        weeks = course.__dict__.get("_custom_weeks")
        if weeks is None:
            weeks = frozenset(str(w) for w in (course.custom_weeks or []))
            course.__dict__["_custom_weeks"] = weeks
        return monday_of(day).isoformat() in weeks
    return week_label(calendar, day) == pattern


def course_dates(course: Course, calendar: SchoolCalendar, first_day: datetime.date,
                 last_day: datetime.date) -> list[datetime.date]:
    """The dates the course is planned on within [first_day, last_day] (before changes)."""
    if course.kind != Course.Kind.RECURRING:
        return [course.date] if course.date is not None and first_day <= course.date <= last_day else []
    if course.weekday is None:
        return []
    year = calendar.school_year
    low = max(first_day, year.start, course.valid_from or first_day)
    high = min(last_day, year.end, course.valid_until or last_day)
    if low > high:
        return []
    day = low + datetime.timedelta(days=(course.weekday - low.weekday()) % 7)
    dates = []
    while day <= high:
        if is_school_day(calendar, day) and _in_week_pattern(course, calendar, day):
            dates.append(day)
        day += datetime.timedelta(days=7)
    return dates


def is_planned_on(course: Course, calendar: SchoolCalendar, day: datetime.date) -> bool:
    return bool(course_dates(course, calendar, day, day))


def make_occurrence(course: Course, planned: datetime.date, change: CourseChange | None) -> Occurrence:
    """The occurrence of `course` planned on `planned`, with its change applied (no calendar check)."""
    day, start_time, end_time = planned, course.start_time, course.end_time
    room = course.room
    teachers = tuple(course.teachers.all())
    status = NORMAL
    if change is not None:
        status = change.status
        if change.status == CourseChange.Status.MOVED:
            day = change.new_date or planned
            start_time = change.new_start_time or start_time
            end_time = change.new_end_time or end_time
        if change.new_room_id is not None:
            room = change.new_room
        if change.replacement_teacher_id is not None:
            teachers = (change.replacement_teacher,)
    return Occurrence(course=course, date=planned, day=day, start=aware(day, start_time),
                      end=aware(day, end_time), room=room, teachers=teachers, change=change, status=status)


def _sort_key(occurrence: Occurrence):
    return occurrence.start, occurrence.label, occurrence.course.id, occurrence.date


def build_occurrences(courses: Iterable[Course], calendar_by_year_id: Mapping[int, SchoolCalendar],
                      first_day: datetime.date, last_day: datetime.date,
                      changes: Iterable[CourseChange]) -> list[Occurrence]:
    """The occurrences taking place in [first_day, last_day], sorted by (start, label).

    `changes` must hold the changes of these courses planned in the window *and* those moved into it (planned
    outside). Occurrences moved out of the window are left out; those moved into it are included.
    """
    by_key = {(c.course_id, c.date): c for c in changes}
    courses = list(courses)
    by_id = {c.id: c for c in courses}
    result: list[Occurrence] = []
    for course in courses:
        calendar = calendar_by_year_id.get(course.school_year_id)
        if calendar is None:
            continue
        for planned in course_dates(course, calendar, first_day, last_day):
            occurrence = make_occurrence(course, planned, by_key.get((course.id, planned)))
            if first_day <= occurrence.day <= last_day:
                result.append(occurrence)
    for (course_id, planned), change in by_key.items():
        if change.status != CourseChange.Status.MOVED or change.new_date is None:
            continue
        if first_day <= planned <= last_day or not first_day <= change.new_date <= last_day:
            continue  # already handled above, or not moved into the window
        course = by_id.get(course_id)
        calendar = calendar_by_year_id.get(course.school_year_id) if course is not None else None
        if calendar is None or not is_planned_on(course, calendar, planned):
            continue
        result.append(make_occurrence(course, planned, change))
    result.sort(key=_sort_key)
    return result
