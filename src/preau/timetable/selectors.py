"""Reading timetables: the occurrences of a pupil, a teacher, a class, a group, a room, an establishment's day.

No access checks here: callers ask `preau.access.policy` first. A week of anyone is a constant handful of queries
whatever the size of the school: the courses (one query, with subject and room), their teachers, classes and
groups (one prefetch query each), the changes of the window (one query), and the calendars (cached; two queries on
a cache miss).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from preau.accounts.models import User
from preau.directory.models import ClassEnrolment, GroupMembership, Membership, Role, SchoolYear

from . import occurrences as occ
from .models import ClosedPeriod, Course, CourseChange, Room, SchoolCalendar
from .occurrences import Occurrence

CALENDAR_CACHE_SECONDS = 60 * 60
_ClassLink = Course.classes.through
_GroupLink = Course.groups.through
_TeacherLink = Course.teachers.through


# --- Calendars ------------------------------------------------------------------------------------------------

def _calendar_cache_key(school_year_id: int) -> str:
    return f"timetable:calendar:{school_year_id}"


def forget_calendar(school_year_id: int) -> None:
    """Drop a calendar from the cache (services and signals call this on every change, and again on commit)."""
    key = _calendar_cache_key(school_year_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def calendar_for(school_year: SchoolYear) -> SchoolCalendar:
    """The calendar of a school year, created with the defaults (Monday to Friday, no zone) when missing."""
    calendar = SchoolCalendar.objects.select_related("school_year").filter(school_year_id=school_year.pk).first()
    if calendar is not None:
        return calendar
    try:
        with transaction.atomic():
            calendar = SchoolCalendar.objects.create(
                school_year=school_year, establishment_id=school_year.establishment_id,
                school_days=list(occ.DEFAULT_SCHOOL_DAYS))
    except IntegrityError:  # created meanwhile by another request
        pass
    # Read back: a created instance keeps the field defaults as given ("08:00" strings, not times).
    calendar = SchoolCalendar.objects.get(school_year_id=school_year.pk)
    calendar.school_year = school_year
    return calendar


def calendars_for_years(year_ids: Iterable[int]) -> dict[int, SchoolCalendar]:
    """{school year id: calendar (school year and closed periods loaded)}, from the cache when possible."""
    year_ids = sorted(set(year_ids))
    if not year_ids:
        return {}
    keys = {_calendar_cache_key(y): y for y in year_ids}
    found = cache.get_many(list(keys))
    result: dict[int, SchoolCalendar] = {}
    for key, (calendar, ranges) in found.items():
        calendar.__dict__["_closed_ranges"] = ranges
        result[keys[key]] = calendar
    missing = [y for y in year_ids if y not in result]
    if missing:
        loaded = {c.school_year_id: c for c in SchoolCalendar.objects.filter(school_year_id__in=missing)
                  .select_related("school_year").prefetch_related("closed_periods")}
        for year in SchoolYear.objects.filter(pk__in=[y for y in missing if y not in loaded]):
            loaded[year.pk] = calendar_for(year)
        to_cache = {}
        for year_id, calendar in loaded.items():
            ranges = occ.closed_ranges(calendar)
            result[year_id] = calendar
            # Cache a bare copy (no prefetch cache) with its closed ranges.
            calendar_copy = SchoolCalendar(**{f.attname: getattr(calendar, f.attname)
                                              for f in SchoolCalendar._meta.concrete_fields})
            calendar_copy.school_year = calendar.school_year
            to_cache[_calendar_cache_key(year_id)] = (calendar_copy, ranges)
        cache.set_many(to_cache, CALENDAR_CACHE_SECONDS)
    return result


def calendar_with_periods(school_year: SchoolYear) -> SchoolCalendar:
    return calendars_for_years([school_year.pk])[school_year.pk]


# --- Occurrences ----------------------------------------------------------------------------------------------

def _courses() -> QuerySet[Course]:
    return Course.objects.select_related("subject", "room").prefetch_related("teachers", "classes", "groups")


def _window_q(first_day: datetime.date, last_day: datetime.date) -> Q:
    """Courses of a school year overlapping the window: recurring ones, one-offs on a day of it, and courses
    with an occurrence moved into it."""
    moved_in = CourseChange.objects.filter(new_date__range=(first_day, last_day)).values("course_id")
    return (Q(school_year__start__lte=last_day, school_year__end__gte=first_day)
            & (Q(kind=Course.Kind.RECURRING) | Q(date__range=(first_day, last_day)) | Q(pk__in=moved_in)))


def _build(courses: QuerySet[Course], first_day: datetime.date, last_day: datetime.date) -> list[Occurrence]:
    courses = list(courses)
    if not courses:
        return []
    changes = CourseChange.objects.filter(
        Q(date__range=(first_day, last_day)) | Q(new_date__range=(first_day, last_day)),
        course_id__in=[c.id for c in courses],
    ).select_related("new_room", "replacement_teacher")
    calendars = calendars_for_years({c.school_year_id for c in courses})
    return occ.build_occurrences(courses, calendars, first_day, last_day, list(changes))


def _any_of(*ids: QuerySet) -> Q:
    """`pk IN (a UNION b ...)`: PostgreSQL reads each set through its index and the courses (or people) by primary
    key. The equivalent `pk IN (a) OR pk IN (b)` is a filter it can only apply row by row: a scan of the whole
    table, every course (or user) of every establishment of the database (docs/performance.md, "Timetable and
    attendance")."""
    first, *others = ids
    return Q(pk__in=first.union(*others)) if others else Q(pk__in=first)


def occurrences_for_pupil(pupil: User, first_day: datetime.date, last_day: datetime.date) -> list[Occurrence]:
    """The courses of the pupil's classes and groups (of the school years overlapping the window)."""
    class_ids = ClassEnrolment.objects.filter(pupil_id=pupil.pk).values("school_class_id")
    group_ids = GroupMembership.objects.filter(pupil_id=pupil.pk).values("group_id")
    q = _any_of(_ClassLink.objects.filter(schoolclass_id__in=class_ids).values("course_id"),
                _GroupLink.objects.filter(teachinggroup_id__in=group_ids).values("course_id"))
    return _build(_courses().filter(q, _window_q(first_day, last_day)), first_day, last_day)


def occurrences_for_teacher(teacher: User, first_day: datetime.date, last_day: datetime.date) -> list[Occurrence]:
    """The teacher's courses, with the occurrences they replace someone in, without those they are replaced in."""
    replacing = CourseChange.objects.filter(
        Q(date__range=(first_day, last_day)) | Q(new_date__range=(first_day, last_day)),
        replacement_teacher_id=teacher.pk).values("course_id")
    q = _any_of(_TeacherLink.objects.filter(user_id=teacher.pk).values("course_id"), replacing)
    result = _build(_courses().filter(q, _window_q(first_day, last_day)), first_day, last_day)
    return [o for o in result if any(t.pk == teacher.pk for t in o.teachers)]


def occurrences_for_class(school_class, first_day: datetime.date, last_day: datetime.date) -> list[Occurrence]:
    """The class's courses and the courses of its groups (half-classes, options, languages)."""
    q = _any_of(_ClassLink.objects.filter(schoolclass_id=school_class.pk).values("course_id"),
                _GroupLink.objects.filter(teachinggroup__classes=school_class.pk).values("course_id"))
    return _build(_courses().filter(q, _window_q(first_day, last_day)), first_day, last_day)


def occurrences_for_group(group, first_day: datetime.date, last_day: datetime.date) -> list[Occurrence]:
    q = Q(pk__in=_GroupLink.objects.filter(teachinggroup_id=group.pk).values("course_id"))
    return _build(_courses().filter(q, _window_q(first_day, last_day)), first_day, last_day)


def occurrences_for_room(room: Room, first_day: datetime.date, last_day: datetime.date) -> list[Occurrence]:
    """Occurrences taking place in the room (after room changes)."""
    moved_here = CourseChange.objects.filter(
        Q(date__range=(first_day, last_day)) | Q(new_date__range=(first_day, last_day)),
        new_room_id=room.pk).values("course_id")
    q = Q(room_id=room.pk) | Q(pk__in=moved_here)
    result = _build(_courses().filter(q, _window_q(first_day, last_day)), first_day, last_day)
    return [o for o in result if o.room is not None and o.room.pk == room.pk]


def occurrences_for_establishment(establishment, day: datetime.date) -> list[Occurrence]:
    """Every occurrence of the establishment on a day (vie scolaire, free rooms)."""
    moved_in = CourseChange.objects.filter(new_date=day).values("course_id")
    q = (Q(school_year__start__lte=day, school_year__end__gte=day)
         & (Q(kind=Course.Kind.RECURRING, weekday=day.weekday()) | Q(date=day) | Q(pk__in=moved_in)))
    return _build(_courses().filter(q, establishment_id=establishment.pk), day, day)


def occurrence(course_id, planned_date: datetime.date) -> Occurrence | None:
    """The occurrence of a course planned on a date (wherever it was moved), or None if there is none."""
    try:
        course = _courses().get(pk=int(course_id))
    except (Course.DoesNotExist, ValueError, TypeError):
        return None
    calendar = calendars_for_years([course.school_year_id]).get(course.school_year_id)
    if calendar is None or not occ.is_planned_on(course, calendar, planned_date):
        return None
    change = (CourseChange.objects.filter(course_id=course.pk, date=planned_date)
              .select_related("new_room", "replacement_teacher").first())
    return occ.make_occurrence(course, planned_date, change)


def pupils_of_occurrence(occurrence: Occurrence) -> QuerySet[User]:
    """Active pupils enrolled in the occurrence's classes or groups who hold an active pupil membership in the
    course's establishment (an enrolment left behind by a pupil who left is not enough), by last then first name."""
    course = occurrence.course
    q = _any_of(ClassEnrolment.objects.filter(school_class__courses=course.pk).values("pupil_id"),
                GroupMembership.objects.filter(group__courses=course.pk).values("pupil_id"))
    members = Membership.objects.filter(establishment_id=course.establishment_id, role=Role.PUPIL, is_active=True)
    return (User.objects.filter(q, pk__in=members.values("user_id"), is_active=True)
            .order_by("last_name", "first_name", "pk"))


def occupied_room_ids(establishment, start: datetime.datetime, end: datetime.datetime) -> set[int]:
    start, end = start.astimezone(occ.PARIS), end.astimezone(occ.PARIS)
    busy: set[int] = set()
    day = start.date()
    while day <= end.date():
        for o in occurrences_for_establishment(establishment, day):
            if o.status != occ.CANCELLED and o.room is not None and o.start < end and o.end > start:
                busy.add(o.room.pk)
        day += datetime.timedelta(days=1)
    return busy


def free_rooms(establishment, start: datetime.datetime, end: datetime.datetime) -> list[Room]:
    """Active rooms of the establishment with no (non-cancelled) occurrence overlapping [start, end)."""
    busy = occupied_room_ids(establishment, start, end)
    return [r for r in Room.objects.filter(establishment_id=establishment.pk, is_active=True).order_by("code")
            if r.pk not in busy]


def current_and_next(occurrences: Iterable[Occurrence], now: datetime.datetime
                     ) -> tuple[Occurrence | None, Occurrence | None]:
    """The occurrence under way at `now` and the next one to start (cancelled ones skipped)."""
    current = upcoming = None
    for o in sorted(occurrences, key=lambda o: (o.start, o.label)):
        if o.status == occ.CANCELLED:
            continue
        if current is None and o.start <= now < o.end:
            current = o
        elif o.start > now and upcoming is None:
            upcoming = o
    return current, upcoming


def closed_periods_of(calendar: SchoolCalendar) -> QuerySet[ClosedPeriod]:
    return ClosedPeriod.objects.filter(calendar_id=calendar.pk).order_by("first_day", "pk")


def occurrences_of_courses(course_ids: Iterable[int], first_day: datetime.date, last_day: datetime.date
                           ) -> list[Occurrence]:
    """The occurrences of these courses taking place in [first_day, last_day] (what a course edit or an import
    changes: services.notice_snapshot). The same handful of queries whatever the number of courses."""
    ids = sorted(set(course_ids))
    if not ids:
        return []
    return _build(_courses().filter(_window_q(first_day, last_day), pk__in=ids), first_day, last_day)
