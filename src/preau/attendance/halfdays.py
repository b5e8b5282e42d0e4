"""Absences counted in half-days (demi-journées), the official measure of school attendance.

Rules (docs/attendance.md, "Half-day counts"):

- A school day is split into a morning and an afternoon at its calendar's `half_day_split` (12:30 by default),
  in Europe/Paris wall-clock time.
- A half-day is **missed** when at least one absence record (kind `absence`) overlaps it (strictly: an absence
  ending at 12:30 does not touch the afternoon) on a **school day** of the record's establishment: a day of the
  school year, a school weekday of its calendar, outside every closed period. Weekends, holidays and public
  holidays never count, however long the absence record.
- A missed half-day is **justified** only if every absence record overlapping it is justified; otherwise it is
  unjustified (a pending justification is still unjustified: it is counted apart as `pending` too).
- Lateness is not absence: late records are counted apart (`late`, `late_minutes`), as are early leavings and
  exclusions from a course. A half-day with only a lateness is not missed.

`half_day_counts` reads the records of all the pupils in one query, whatever their number, and the calendars of
their establishments once (cached by the timetable).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from preau.directory.models import SchoolYear
from preau.timetable import occurrences as occ
from preau.timetable.models import SchoolCalendar

from .models import AttendanceRecord

PARIS = ZoneInfo("Europe/Paris")
MORNING, AFTERNOON = 0, 1
DEFAULT_SPLIT = datetime.time(12, 30)
Kind = AttendanceRecord.Kind
State = AttendanceRecord.State


def empty_counts() -> dict[str, int]:
    return {"absent": 0, "justified": 0, "unjustified": 0, "pending": 0, "late": 0, "late_minutes": 0,
            "early_leave": 0, "exclusion": 0}


def _bounds(first_day: datetime.date, last_day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(first_day, datetime.time.min, tzinfo=PARIS)
    end = datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time.min, tzinfo=PARIS)
    return start, end


@dataclass
class _Calendars:
    """The calendars of some establishments over a window: school days and half-day split per establishment."""

    by_establishment: dict[int, list[SchoolCalendar]]

    @classmethod
    def load(cls, establishment_ids: Iterable[int], first_day: datetime.date,
             last_day: datetime.date) -> _Calendars:
        from preau.timetable.selectors import calendars_for_years

        years = list(SchoolYear.objects.filter(establishment_id__in=sorted(set(establishment_ids)),
                                               start__lte=last_day, end__gte=first_day)
                     .values_list("pk", "establishment_id"))
        calendars = calendars_for_years([pk for pk, _e in years])
        result: dict[int, list[SchoolCalendar]] = {}
        for pk, establishment_id in years:
            if pk in calendars:
                result.setdefault(establishment_id, []).append(calendars[pk])
        return cls(result)

    def calendar(self, establishment_id: int, day: datetime.date) -> SchoolCalendar | None:
        for calendar in self.by_establishment.get(establishment_id, ()):
            if occ.in_school_year(calendar, day):
                return calendar
        return None

    def is_school_day(self, establishment_id: int, day: datetime.date) -> bool:
        calendar = self.calendar(establishment_id, day)
        return calendar is not None and occ.is_school_day(calendar, day)

    def split(self, establishment_id: int, day: datetime.date) -> datetime.time:
        calendar = self.calendar(establishment_id, day)
        split = calendar.half_day_split if calendar is not None else None
        if isinstance(split, str):  # a calendar just created holds the model's default as text
            split = datetime.time.fromisoformat(split)
        return split or DEFAULT_SPLIT

    def school_days(self, establishment_id: int, first_day: datetime.date, last_day: datetime.date) -> int:
        count, day = 0, first_day
        while day <= last_day:
            if self.is_school_day(establishment_id, day):
                count += 1
            day += datetime.timedelta(days=1)
        return count


def _half_days(starts_at: datetime.datetime, ends_at: datetime.datetime, first_day: datetime.date,
               last_day: datetime.date, establishment_id: int, calendars: _Calendars):
    """The (day, half) school half-days of the window that [starts_at, ends_at) overlaps."""
    start, end = starts_at.astimezone(PARIS), ends_at.astimezone(PARIS)
    day = max(start.date(), first_day)
    last = min(end.date(), last_day)
    while day <= last:
        if calendars.is_school_day(establishment_id, day):
            split = datetime.datetime.combine(day, calendars.split(establishment_id, day), tzinfo=PARIS)
            morning_start = datetime.datetime.combine(day, datetime.time.min, tzinfo=PARIS)
            next_day = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=PARIS)
            if start < split and end > morning_start:
                yield day, MORNING
            if start < next_day and end > split:
                yield day, AFTERNOON
        day += datetime.timedelta(days=1)


def half_day_counts(pupils, first_day: datetime.date, last_day: datetime.date, *,
                    establishment_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
    """{pupil id: {"absent", "justified", "unjustified", "pending", "late", "late_minutes", "early_leave",
    "exclusion"}} over [first_day, last_day] (inclusive). `pupils`: users, ids or a queryset of users. Every
    pupil asked for is in the result (zeros when nothing was recorded). `establishment_ids`: count only the
    records of these establishments (what staff read: `policy.attendance_establishment_scope`); None counts them
    all (the pupil and their family)."""
    if hasattr(pupils, "values_list"):
        ids = list(pupils.values_list("pk", flat=True))
    else:
        ids = [int(getattr(p, "pk", p)) for p in pupils]
    result = {pupil_id: empty_counts() for pupil_id in ids}
    if not ids or last_day < first_day:
        return result
    start, end = _bounds(first_day, last_day)
    records = AttendanceRecord.objects.filter(pupil_id__in=sorted(set(ids)), starts_at__lt=end, ends_at__gt=start)
    if establishment_ids is not None:
        records = records.filter(establishment_id__in=sorted(set(establishment_ids)))
    rows = list(records.values_list("pupil_id", "establishment_id", "kind", "state", "starts_at", "ends_at",
                             "late_minutes"))
    calendars = _Calendars.load({row[1] for row in rows}, first_day, last_day) if rows else _Calendars({})
    # (pupil, day, half) -> (all justified so far, any pending)
    missed: dict[tuple[int, datetime.date, int], tuple[bool, bool]] = {}
    for pupil_id, establishment_id, kind, state, starts_at, ends_at, late_minutes in rows:
        counts = result[pupil_id]
        if kind == Kind.ABSENCE:
            for day, half in _half_days(starts_at, ends_at, first_day, last_day, establishment_id, calendars):
                key = (pupil_id, day, half)
                justified, pending = missed.get(key, (True, False))
                missed[key] = (justified and state == State.JUSTIFIED, pending or state == State.PENDING)
        elif first_day <= starts_at.astimezone(PARIS).date() <= last_day:
            if kind == Kind.LATE:
                counts["late"] += 1
                counts["late_minutes"] += late_minutes or 0
            elif kind == Kind.EARLY_LEAVE:
                counts["early_leave"] += 1
            elif kind == Kind.EXCLUSION:
                counts["exclusion"] += 1
    for (pupil_id, _day, _half), (justified, pending) in missed.items():
        counts = result[pupil_id]
        counts["absent"] += 1
        if justified:
            counts["justified"] += 1
        else:
            counts["unjustified"] += 1
            if pending:
                counts["pending"] += 1
    return result


def school_half_days(establishment_id: int, first_day: datetime.date, last_day: datetime.date) -> int:
    """Half-days of school of an establishment over [first_day, last_day]: two per school day (the denominator
    of absenteeism rates)."""
    calendars = _Calendars.load([establishment_id], first_day, last_day)
    return 2 * calendars.school_days(establishment_id, first_day, last_day)
