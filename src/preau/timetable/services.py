"""Changing timetables: calendars (zone presets, week labels, closed periods), courses, one occurrence.

Plain functions with explicit keyword arguments; callers (pages, API, imports) ask `preau.access.policy` first
(`can_manage_timetable` for courses and calendars, `can_change_occurrences` for one occurrence). Bad input raises
`django.core.exceptions.ValidationError` with French messages, keyed by field when there is one; nothing is half
written (one transaction per call). Double-booking a room or a teacher is not refused: it is returned as warnings.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from preau.audit.models import AuditEvent
from preau.audit.services import record
from preau.directory.models import GuardianLink, Membership, Role, SchoolYear, Service

from . import occurrences as occ
from . import presets
from .models import ClosedPeriod, Course, CourseChange, Room, SchoolCalendar
from .selectors import (
    calendar_for,
    calendars_for_years,
    forget_calendar,
    occurrences_for_establishment,
    occurrences_of_courses,
)

Action = AuditEvent.Action
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")


def _fail(errors: dict[str, list[str]]) -> None:
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ValidationError(errors)


def day_text(day: datetime.date) -> str:
    """ "lundi 14 septembre" """
    return f"{WEEKDAYS[day.weekday()]} {day.day}{'er' if day.day == 1 else ''} {MONTHS[day.month - 1]}"


def time_text(time: datetime.time) -> str:
    return f"{time.hour:02d}h{time.minute:02d}"


def _fresh_calendar(school_year: SchoolYear) -> SchoolCalendar:
    forget_calendar(school_year.pk)
    return calendars_for_years([school_year.pk])[school_year.pk]


def _is_open_day(calendar: SchoolCalendar, day: datetime.date) -> bool:
    """A day a course may be put on: inside the year, outside closed periods, not a Sunday unless it is a school
    day (Saturday mornings are allowed for exams and make-up courses)."""
    if not occ.in_school_year(calendar, day) or occ.is_closed(calendar, day):
        return False
    return day.weekday() != 6 or 6 in occ.school_weekdays(calendar)


# --- Calendars ------------------------------------------------------------------------------------------------

def rebuild_week_labels(calendar: SchoolCalendar) -> dict[str, str]:
    """Regenerate `week_labels` from the week mode: A/B alternation from `first_week_label` over the school weeks
    (weeks with at least one school day); a week entirely closed keeps the alternation going only when
    `holidays_count_in_alternation`. Every-week mode clears the labels; custom mode keeps the hand-made ones."""
    if calendar.week_mode == SchoolCalendar.WeekMode.CUSTOM:
        return calendar.week_labels
    labels: dict[str, str] = {}
    if calendar.week_mode == SchoolCalendar.WeekMode.ALTERNATING:
        calendar.__dict__.pop("_closed_ranges", None)
        getattr(calendar, "_prefetched_objects_cache", {}).pop("closed_periods", None)
        year = calendar.school_year
        current = calendar.first_week_label if calendar.first_week_label in ("A", "B") else "A"
        monday = occ.monday_of(year.start)
        while monday <= year.end:
            school_week = any(occ.is_school_day(calendar, monday + datetime.timedelta(days=i)) for i in range(7))
            if school_week:
                labels[monday.isoformat()] = current
            if school_week or calendar.holidays_count_in_alternation:
                current = "B" if current == "A" else "A"
            monday += datetime.timedelta(days=7)
    calendar.week_labels = labels
    SchoolCalendar.objects.filter(pk=calendar.pk).update(week_labels=labels, updated_at=timezone.now())
    forget_calendar(calendar.school_year_id)
    return labels


@transaction.atomic
def apply_zone_preset(calendar: SchoolCalendar, zone: str, *, by=None, request=None) -> list[ClosedPeriod]:
    """Replace the calendar's school holidays and public holidays by those of the zone's official calendar
    (local closed days are kept), set its zone, and regenerate the A/B weeks."""
    if zone not in presets.ZONES:
        _fail({"zone": ["Choisissez la zone A, B ou C."]})
    year = calendar.school_year
    ClosedPeriod.objects.filter(calendar=calendar, kind__in=[ClosedPeriod.Kind.HOLIDAYS,
                                                             ClosedPeriod.Kind.PUBLIC_HOLIDAY]).delete()
    holidays = presets.school_holidays(year.start, year.end, zone)
    rows = [ClosedPeriod(calendar=calendar, kind=ClosedPeriod.Kind.HOLIDAYS, label=h.label, first_day=h.first_day,
                         last_day=h.last_day) for h in holidays]
    for h in presets.public_holidays_between(year.start, year.end):
        if not any(v.first_day <= h.first_day <= v.last_day for v in holidays):
            rows.append(ClosedPeriod(calendar=calendar, kind=ClosedPeriod.Kind.PUBLIC_HOLIDAY, label=h.label,
                                     first_day=h.first_day, last_day=h.last_day))
    created = ClosedPeriod.objects.bulk_create(rows)
    calendar.zone = zone
    calendar.save(update_fields=["zone", "updated_at"])
    rebuild_week_labels(calendar)
    forget_calendar(year.pk)
    if by is not None:
        record(Action.TIMETABLE_EDITED, actor=by, request=request, establishment_id=calendar.establishment_id,
               target=f"calendar:{calendar.pk}", operation="zone_preset", zone=zone, periods=len(created))
    return created


CALENDAR_FIELDS = ("zone", "week_mode", "first_week_label", "holidays_count_in_alternation", "school_days",
                   "day_start", "day_end", "half_day_split", "week_labels")


def _check_week_labels(value) -> tuple[dict[str, str], list[str]]:
    if not isinstance(value, dict):
        return {}, ["Les étiquettes des semaines doivent associer la date d'un lundi à une étiquette."]
    clean, errors = {}, []
    for key, label in value.items():
        try:
            monday = datetime.date.fromisoformat(str(key))
        except ValueError:
            errors.append(f"Semaine invalide : {key} (la date d'un lundi est attendue).")
            continue
        if monday.weekday() != 0:
            errors.append(f"Semaine invalide : {key} n'est pas un lundi.")
            continue
        label = str(label or "").strip()
        if len(label) > 8:
            errors.append(f"Étiquette trop longue pour la semaine du {key}.")
        elif label:
            clean[monday.isoformat()] = label
    return clean, errors


@transaction.atomic
def update_calendar(calendar: SchoolCalendar, *, by=None, request=None, **fields) -> SchoolCalendar:
    """Change the calendar's settings (CALENDAR_FIELDS). Changing the zone applies its preset; changing the week
    mode or the alternation settings regenerates the A/B weeks."""
    unknown = set(fields) - set(CALENDAR_FIELDS)
    if unknown:
        raise TypeError(f"unknown calendar fields: {sorted(unknown)}")
    errors: dict[str, list[str]] = {}
    if "zone" in fields and fields["zone"] not in {*presets.ZONES, ""}:
        errors["zone"] = ["Choisissez la zone A, B ou C, ou aucune."]
    if "week_mode" in fields and fields["week_mode"] not in SchoolCalendar.WeekMode.values:
        errors["week_mode"] = ["Mode de semaines inconnu."]
    if "first_week_label" in fields and fields["first_week_label"] not in ("A", "B"):
        errors["first_week_label"] = ["La première semaine est une semaine A ou B."]
    if "school_days" in fields:
        days = fields["school_days"]
        if (not isinstance(days, list | tuple) or not days
                or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days)):
            errors["school_days"] = ["Choisissez au moins un jour de classe (0 = lundi … 6 = dimanche)."]
        else:
            fields["school_days"] = sorted(set(days))
    if "week_labels" in fields:
        fields["week_labels"], label_errors = _check_week_labels(fields["week_labels"])
        errors["week_labels"] = label_errors
    start = fields.get("day_start", calendar.day_start)
    end = fields.get("day_end", calendar.day_end)
    split = fields.get("half_day_split", calendar.half_day_split)
    if isinstance(start, datetime.time) and isinstance(end, datetime.time) and start >= end:
        errors["day_end"] = ["La fin de journée doit être après son début."]
    elif (isinstance(split, datetime.time) and isinstance(start, datetime.time) and isinstance(end, datetime.time)
          and not start <= split <= end):
        errors["half_day_split"] = ["La séparation matin / après-midi doit être dans la journée."]
    _fail(errors)
    zone_changed = "zone" in fields and fields["zone"] != calendar.zone
    relabel = any(k in fields and fields[k] != getattr(calendar, k)
                  for k in ("week_mode", "first_week_label", "holidays_count_in_alternation", "school_days"))
    for name, value in fields.items():
        setattr(calendar, name, value)
    calendar.save()
    if zone_changed and calendar.zone:
        apply_zone_preset(calendar, calendar.zone)
    elif relabel or (calendar.week_mode == SchoolCalendar.WeekMode.ALTERNATING and not calendar.week_labels):
        rebuild_week_labels(calendar)
    forget_calendar(calendar.school_year_id)
    if by is not None:
        record(Action.TIMETABLE_EDITED, actor=by, request=request, establishment_id=calendar.establishment_id,
               target=f"calendar:{calendar.pk}", operation="calendar", fields=sorted(fields))
    return calendar


def setup_calendar(school_year: SchoolYear, *, zone: str = "", week_mode: str = SchoolCalendar.WeekMode.EVERY,
                   first_week_label: str = "A", by=None) -> SchoolCalendar:
    """The calendar of a school year with a zone preset and a week mode, in one call (seeding, imports)."""
    calendar = calendar_for(school_year)
    calendar.school_year = school_year
    update_calendar(calendar, by=by, week_mode=week_mode, first_week_label=first_week_label)
    if zone:
        apply_zone_preset(calendar, zone, by=by)
    return calendar


def _check_period(kind, label, first_day, last_day) -> None:
    errors: dict[str, list[str]] = {}
    if kind not in ClosedPeriod.Kind.values:
        errors["kind"] = ["Type de période inconnu."]
    if not (label or "").strip():
        errors["label"] = ["Indiquez un libellé."]
    elif len(label) > 120:
        errors["label"] = ["Libellé trop long (120 caractères au plus)."]
    if not isinstance(first_day, datetime.date) or not isinstance(last_day, datetime.date):
        errors["first_day"] = ["Indiquez le premier et le dernier jour."]
    elif last_day < first_day:
        errors["last_day"] = ["Le dernier jour doit suivre le premier."]
    _fail(errors)


def _after_periods_changed(calendar: SchoolCalendar) -> None:
    forget_calendar(calendar.school_year_id)
    if calendar.week_mode == SchoolCalendar.WeekMode.ALTERNATING:
        rebuild_week_labels(calendar)


@transaction.atomic
def add_closed_period(*, calendar: SchoolCalendar, kind: str, label: str, first_day: datetime.date,
                      last_day: datetime.date, by=None, request=None) -> ClosedPeriod:
    _check_period(kind, label, first_day, last_day)
    period = ClosedPeriod.objects.create(calendar=calendar, kind=kind, label=label.strip(), first_day=first_day,
                                         last_day=last_day)
    _after_periods_changed(calendar)
    if by is not None:
        record(Action.TIMETABLE_EDITED, actor=by, request=request, establishment_id=calendar.establishment_id,
               target=f"calendar:{calendar.pk}", operation="closed_period_added", label=period.label,
               first_day=first_day.isoformat(), last_day=last_day.isoformat())
    return period


@transaction.atomic
def update_closed_period(period: ClosedPeriod, *, by=None, request=None, **fields) -> ClosedPeriod:
    values = {"kind": period.kind, "label": period.label, "first_day": period.first_day,
              "last_day": period.last_day}
    unknown = set(fields) - set(values)
    if unknown:
        raise TypeError(f"unknown closed period fields: {sorted(unknown)}")
    values.update(fields)
    _check_period(**values)
    for name, value in values.items():
        setattr(period, name, value.strip() if name == "label" else value)
    period.save()
    _after_periods_changed(period.calendar)
    if by is not None:
        record(Action.TIMETABLE_EDITED, actor=by, request=request, establishment_id=period.calendar.establishment_id,
               target=f"calendar:{period.calendar_id}", operation="closed_period_changed", label=period.label)
    return period


@transaction.atomic
def delete_closed_period(period: ClosedPeriod, *, by=None, request=None) -> None:
    calendar = period.calendar
    label = period.label
    period.delete()
    _after_periods_changed(calendar)
    if by is not None:
        record(Action.TIMETABLE_EDITED, actor=by, request=request, establishment_id=calendar.establishment_id,
               target=f"calendar:{calendar.pk}", operation="closed_period_deleted", label=label)


# --- Courses --------------------------------------------------------------------------------------------------

@dataclass
class SavedCourse:
    course: Course
    warnings: list[str] = field(default_factory=list)
    # When the edit changed the schedule of a course with history: the former course, ended the day before the new
    # schedule applies (its past weeks, roll calls and changes stay as they were).
    ended: Course | None = None


COURSE_FIELDS = ("kind", "subject", "label", "teachers", "classes", "groups", "room", "weekday", "date",
                 "start_time", "end_time", "week_pattern", "custom_weeks", "valid_from", "valid_until",
                 "external_id", "source")


def _person_name(user) -> str:
    return user.get_full_name() or user.username


def _clean_course(establishment, school_year: SchoolYear, values: dict) -> dict:
    """Validate a course's values (COURSE_FIELDS); returns them normalised or raises ValidationError."""
    errors: dict[str, list[str]] = {}
    if school_year.establishment_id != establishment.pk:
        errors["school_year"] = ["Cette année scolaire n'appartient pas à l'établissement."]
    kind = values.get("kind") or Course.Kind.RECURRING
    if kind not in Course.Kind.values:
        errors["kind"] = ["Type de cours inconnu."]
    values["kind"] = kind
    start, end = values.get("start_time"), values.get("end_time")
    if not isinstance(start, datetime.time) or not isinstance(end, datetime.time):
        errors["start_time"] = ["Indiquez l'heure de début et l'heure de fin."]
    elif end <= start:
        errors["end_time"] = ["L'heure de fin doit être après l'heure de début."]
    if kind == Course.Kind.RECURRING:
        weekday = values.get("weekday")
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            errors["weekday"] = ["Choisissez le jour du cours."]
        values["date"] = None
    else:
        day = values.get("date")
        if not isinstance(day, datetime.date):
            errors["date"] = ["Indiquez la date du cours."]
        elif not school_year.start <= day <= school_year.end:
            errors["date"] = ["La date doit être dans l'année scolaire."]
        values["weekday"] = None
        values["week_pattern"] = Course.WeekPattern.EVERY
    pattern = values.get("week_pattern") or Course.WeekPattern.EVERY
    values["week_pattern"] = pattern
    if pattern not in Course.WeekPattern.values:
        errors["week_pattern"] = ["Semaines inconnues."]
    if pattern == Course.WeekPattern.CUSTOM:
        weeks, week_errors = [], []
        for item in values.get("custom_weeks") or []:
            try:
                monday = item if isinstance(item, datetime.date) else datetime.date.fromisoformat(str(item))
            except ValueError:
                week_errors.append(f"Semaine invalide : {item} (la date d'un lundi est attendue).")
                continue
            if monday.weekday() != 0:
                week_errors.append(f"Semaine invalide : {item} n'est pas un lundi.")
            else:
                weeks.append(monday.isoformat())
        if not weeks and not week_errors:
            week_errors.append("Choisissez au moins une semaine.")
        errors["custom_weeks"] = week_errors
        values["custom_weeks"] = sorted(set(weeks))
    else:
        values["custom_weeks"] = []
    valid_from, valid_until = values.get("valid_from"), values.get("valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        errors["valid_until"] = ["La fin de validité doit suivre son début."]
    subject, label = values.get("subject"), (values.get("label") or "").strip()
    values["label"] = label
    if subject is None and not label:
        errors["subject"] = ["Indiquez une matière ou un libellé."]
    elif subject is not None and subject.establishment_id != establishment.pk:
        errors["subject"] = ["Cette matière n'appartient pas à l'établissement."]
    if len(label) > 120:
        errors["label"] = ["Libellé trop long (120 caractères au plus)."]
    teachers = list(values.get("teachers") or [])
    if teachers:
        teaching = set(Membership.objects.filter(
            user_id__in=[t.pk for t in teachers], establishment_id=establishment.pk, role=Role.TEACHER,
            is_active=True).values_list("user_id", flat=True))
        errors["teachers"] = [f"{_person_name(t)} n'enseigne pas dans cet établissement."
                              for t in teachers if t.pk not in teaching]
    classes, groups = list(values.get("classes") or []), list(values.get("groups") or [])
    errors["classes"] = [f"La classe {c.label} n'est pas de l'année scolaire {school_year.label}."
                         for c in classes if c.school_year_id != school_year.pk]
    errors["groups"] = [f"Le groupe {g.label} n'est pas de l'année scolaire {school_year.label}."
                        for g in groups if g.school_year_id != school_year.pk]
    if not classes and not groups:
        errors.setdefault("classes", []).append("Indiquez au moins une classe ou un groupe.")
    room = values.get("room")
    if room is not None and room.establishment_id != establishment.pk:
        errors["room"] = ["Cette salle n'appartient pas à l'établissement."]
    _fail(errors)
    values["teachers"], values["classes"], values["groups"] = teachers, classes, groups
    return values


def _patterns_meet(a: Course, b: Course) -> bool:
    pa, pb = a.week_pattern, b.week_pattern
    every = Course.WeekPattern.EVERY
    if every in (pa, pb):
        return True
    if pa == Course.WeekPattern.CUSTOM and pb == Course.WeekPattern.CUSTOM:
        return bool(set(a.custom_weeks or []) & set(b.custom_weeks or []))
    if Course.WeekPattern.CUSTOM in (pa, pb):
        return True  # custom weeks against A/B: assume they may meet
    return pa == pb


def _validity_meets(a: Course, b: Course) -> bool:
    low, high = datetime.date.min, datetime.date.max
    return (a.valid_from or low) <= (b.valid_until or high) and (b.valid_from or low) <= (a.valid_until or high)


def _conflict_messages(label_when: str, other_label: str, room, teachers, other_room, other_teachers) -> list[str]:
    messages = []
    if room is not None and other_room is not None and room.pk == other_room.pk:
        messages.append(f"La salle {room} est déjà occupée {label_when} ({other_label}).")
    other_ids = {t.pk for t in other_teachers}
    for teacher in teachers:
        if teacher.pk in other_ids:
            messages.append(f"{_person_name(teacher)} a déjà cours {label_when} ({other_label}).")
    return messages


def course_warnings(course: Course) -> list[str]:
    """Double bookings of the course's room or teachers (warnings, never refusals)."""
    teachers = list(course.teachers.all())
    teacher_ids = [t.pk for t in teachers]
    if course.room_id is None and not teacher_ids:
        return []
    if course.kind != Course.Kind.RECURRING:
        return _slot_warnings(course.establishment, course.date, course.start_time, course.end_time,
                              course.room, teachers, exclude=(course.pk, course.date))
    clash = Q(room_id=course.room_id) if course.room_id else Q()
    if teacher_ids:
        teacher_q = Q(pk__in=Course.teachers.through.objects.filter(user_id__in=teacher_ids).values("course_id"))
        clash = clash | teacher_q if course.room_id else teacher_q
    others = (Course.objects.filter(clash, school_year_id=course.school_year_id, kind=Course.Kind.RECURRING,
                                    weekday=course.weekday, start_time__lt=course.end_time,
                                    end_time__gt=course.start_time)
              .exclude(pk=course.pk).select_related("subject", "room").prefetch_related("teachers"))
    when = (f"le {WEEKDAYS[course.weekday]} de {time_text(course.start_time)} à {time_text(course.end_time)}")
    messages: list[str] = []
    for other in others:
        if _patterns_meet(course, other) and _validity_meets(course, other):
            messages += _conflict_messages(when, other.display_label, course.room, teachers, other.room,
                                           other.teachers.all())
    return messages


def _slot_warnings(establishment, day: datetime.date, start: datetime.time, end: datetime.time, room, teachers,
                   *, exclude: tuple[int, datetime.date] | None = None) -> list[str]:
    """Double bookings on one day (one-off courses, moved or modified occurrences)."""
    start_at, end_at = occ.aware(day, start), occ.aware(day, end)
    when = f"le {day_text(day)} de {time_text(start)} à {time_text(end)}"
    messages: list[str] = []
    for other in occurrences_for_establishment(establishment, day):
        if other.status == occ.CANCELLED or (exclude and (other.course.pk, other.date) == exclude):
            continue
        if other.start < end_at and other.end > start_at:
            messages += _conflict_messages(when, other.label, room, teachers, other.room, other.teachers)
    return messages


def _audit_course(action_operation: str, course: Course, by, request, **details) -> None:
    if by is not None:
        record(Action.TIMETABLE_EDITED, actor=by, request=request, establishment_id=course.establishment_id,
               target=f"course:{course.pk}", operation=action_operation, label=course.display_label, **details)


def create_course(*, establishment, school_year: SchoolYear, by=None, start_time, end_time,
                  kind: str = Course.Kind.RECURRING, weekday: int | None = None, date: datetime.date | None = None,
                  subject=None, label: str = "", teachers: Iterable = (), classes: Iterable = (),
                  groups: Iterable = (), room: Room | None = None, week_pattern: str = Course.WeekPattern.EVERY,
                  custom_weeks: Iterable = (), valid_from=None, valid_until=None, external_id: str = "",
                  source: str = "", request=None) -> SavedCourse:
    values = _clean_course(establishment, school_year, {
        "kind": kind, "weekday": weekday, "date": date, "start_time": start_time, "end_time": end_time,
        "subject": subject, "label": label, "teachers": teachers, "classes": classes, "groups": groups,
        "room": room, "week_pattern": week_pattern, "custom_weeks": list(custom_weeks), "valid_from": valid_from,
        "valid_until": valid_until})
    teachers, classes, groups = values.pop("teachers"), values.pop("classes"), values.pop("groups")
    with transaction.atomic():
        course = Course.objects.create(establishment=establishment, school_year=school_year, created_by=by,
                                       external_id=external_id, source=source, **values)
        course.teachers.set(teachers)
        course.classes.set(classes)
        course.groups.set(groups)
        _audit_course("create", course, by, request)
    return SavedCourse(course, course_warnings(course))


def update_course(course: Course, *, by=None, request=None, now: datetime.datetime | None = None,
                  **changes) -> SavedCourse:
    """Change a course (any of COURSE_FIELDS). The changes of its occurrences already recorded are kept.

    A new weekday, new times, week pattern or validity that would rewrite past weeks holding history (roll calls,
    changes, attendance records, incidents) does not touch the course: it is ended the day before the new schedule
    applies (today, or the day after its last roll call) and a new course carries the new values from then on
    (`SavedCourse.ended` is the former one). Pupils, guardians and teachers are notified of the occurrences that
    change within TIMETABLE_NOTIFY_DAYS days."""
    unknown = set(changes) - set(COURSE_FIELDS)
    if unknown:
        raise TypeError(f"unknown course fields: {sorted(unknown)}")
    values = {name: getattr(course, name) for name in COURSE_FIELDS
              if name not in ("teachers", "classes", "groups")}
    values.update(teachers=list(course.teachers.all()), classes=list(course.classes.all()),
                  groups=list(course.groups.all()))
    values.update(changes)
    values = _clean_course(course.establishment, course.school_year, values)
    teachers, classes, groups = values.pop("teachers"), values.pop("classes"), values.pop("groups")
    today = _today(now)
    with transaction.atomic():
        before = notice_snapshot([course.pk], today=today)
        effective = schedule_split_date(course, values, today=today)
        ended = None
        if effective is not None:
            ended = course
            course = split_course(course, effective=effective, fields=values,
                                  relations={"teachers": teachers, "classes": classes, "groups": groups}, by=by)
            if course is None:  # the new schedule has no day left from `effective` on: the course just ends
                course = ended
        else:
            for name, value in values.items():
                setattr(course, name, value)
            course.save()
            course.__dict__.pop("_custom_weeks", None)  # the occurrence engine's cache of the old weeks
            course.teachers.set(teachers)
            course.classes.set(classes)
            course.groups.set(groups)
        _audit_course("update", course, by, request, fields=sorted(changes),
                      **({"ended_course": ended.pk, "from": effective.isoformat()} if ended is not None else {}))
        ids = {course.pk} | ({ended.pk} if ended is not None else set())
        diff = notice_diff(before, notice_snapshot(ids, today=today),
                           renamed={ended.pk: course.pk} if ended is not None and course is not ended else None)
        if diff.days:
            recipients = diff.recipients(course.establishment_id) - ({by.pk} if by is not None else set())
            notify_course_edit(course, diff, recipients, title=f"Emploi du temps modifié : {course.display_label}",
                               now=now)
    return SavedCourse(course, course_warnings(course), ended=ended)


def delete_course(course: Course, *, by=None, request=None, now: datetime.datetime | None = None) -> None:
    """Delete a course and the changes of its occurrences. Its occurrences within the notice window are notified
    as cancelled (pupils, guardians allowed TIMETABLE, teachers).

    A course whose roll was taken, or that attendance records point to, is never deleted (its roll calls would go
    with it): a ValidationError says to end it (recurring) or cancel it (one-off) instead."""
    from preau.attendance.models import AttendanceRecord, RollCall

    if (RollCall.objects.filter(course_id=course.pk).exists()
            or AttendanceRecord.objects.filter(course_id=course.pk).exists()):
        if course.kind == Course.Kind.RECURRING:
            raise ValidationError(_("L'appel de ce cours a déjà été fait : il ne peut pas être supprimé. Donnez-lui "
                                    "plutôt une date de fin (« jusqu'au ») ; ses appels passés sont conservés."))
        raise ValidationError(_("L'appel de ce cours a déjà été fait : il ne peut pas être supprimé. Annulez-le "
                                "plutôt ; son appel est conservé."))
    with transaction.atomic():
        if course.kind != Course.Kind.RECURRING and course.date is not None and _within_notice(now, course.date):
            recipients = recipients_of_course(course) - ({by.pk} if by is not None else set())
            _notify(course, course.date, recipients,
                    title=f"Cours annulé : {course.display_label}, {day_text(course.date)} à "
                          f"{time_text(course.start_time)}", body="", now=now)
        elif course.kind == Course.Kind.RECURRING:
            diff = notice_diff(notice_snapshot([course.pk], today=_today(now)), {})
            if diff.days:
                recipients = diff.recipients(course.establishment_id) - ({by.pk} if by is not None else set())
                notify_course_edit(course, diff, recipients, title=f"Cours supprimé : {course.display_label}",
                                   now=now)
        _audit_course("delete", course, by, request)
        course.delete()


# --- Schedules with history, notices of course edits and imports -----------------------------------------------

SCHEDULE_FIELDS = ("kind", "weekday", "date", "start_time", "end_time", "week_pattern", "custom_weeks",
                   "valid_from", "valid_until")


def _value(course: Course, fields: dict, name: str):
    return fields[name] if name in fields else getattr(course, name)


def _past(course: Course, calendar, first: datetime.date, last: datetime.date) -> list[tuple]:
    if last < first:
        return []
    return [(day, course.start_time, course.end_time) for day in occ.course_dates(course, calendar, first, last)]


def schedule_split_date(course: Course, fields: dict, *, today: datetime.date) -> datetime.date | None:
    """The day from which new schedule values (`fields`: any of SCHEDULE_FIELDS, others ignored) must apply to a
    new course, or None when the course may simply be changed in place: nothing of its schedule changes, it is
    not a weekly course, its past occurrences stay the same, or its past holds no history (roll calls, occurrence
    changes, attendance records, incidents). The day is today, or the day after the course's last roll call or
    attendance record when one is dated today or later (a roll call taken this morning stays with its course)."""
    from preau.attendance.models import AttendanceRecord, Incident, RollCall

    if all(_value(course, fields, name) == getattr(course, name) for name in SCHEDULE_FIELDS):
        return None
    if course.kind != Course.Kind.RECURRING or _value(course, fields, "kind") != Course.Kind.RECURRING:
        return None
    last_roll = max(filter(None, (
        RollCall.objects.filter(course_id=course.pk).order_by("-date").values_list("date", flat=True).first(),
        AttendanceRecord.objects.filter(course_id=course.pk, course_date__isnull=False)
        .order_by("-course_date").values_list("course_date", flat=True).first())), default=None)
    effective = max(today, last_roll + datetime.timedelta(days=1)) if last_roll is not None else today
    calendar = calendars_for_years([course.school_year_id])[course.school_year_id]
    proposed = Course(**{name: _value(course, fields, name) for name in SCHEDULE_FIELDS},
                      school_year_id=course.school_year_id)
    first = calendar.school_year.start
    if _past(course, calendar, first, effective - datetime.timedelta(days=1)) == _past(
            proposed, calendar, first, effective - datetime.timedelta(days=1)):
        return None
    before = Q(course_id=course.pk)
    history = (last_roll is not None
               or CourseChange.objects.filter(before, date__lt=effective).exists()
               or AttendanceRecord.objects.filter(before).exists()
               or Incident.objects.filter(before).exists())
    return effective if history else None


def split_course(course: Course, *, effective: datetime.date, fields: dict, relations: dict,
                 by=None) -> Course | None:
    """End `course` the day before `effective` and create its successor with `fields` (Course field values, by
    object or `_id`) and `relations` (teachers, classes, groups: objects or ids) from `effective` on.

    The changes of occurrences planned from `effective` on a day the successor is planned move to it; roll calls,
    attendance records, incidents and earlier changes stay with the ended course, whose past weeks do not move.
    The successor takes over the import key (the ended course keeps it as `<key>~<effective>`, which the
    importers read as a floor for the successor's start). Returns the successor, or None when the new values leave
    no day from `effective` on."""
    last_day = effective - datetime.timedelta(days=1)
    fields = dict(fields)
    valid_until = fields.get("valid_until")
    key = course.external_id
    course.valid_until = last_day
    if course.valid_from is not None and course.valid_from > last_day:
        course.valid_from = last_day
    if key:
        course.external_id = f"{key[:KEY_KEEP]}~{effective.isoformat()}"
    course.save()
    if valid_until is not None and valid_until < effective:
        return None
    if fields.get("valid_from") is None or fields["valid_from"] < effective:
        fields["valid_from"] = effective
    for name in ("establishment", "establishment_id", "school_year", "school_year_id", "external_id", "source",
                 "created_by", "created_by_id"):
        fields.pop(name, None)
    successor = Course.objects.create(establishment_id=course.establishment_id, school_year_id=course.school_year_id,
                                      external_id=key, source=course.source, created_by=by or course.created_by,
                                      **fields)
    for name, items in relations.items():
        getattr(successor, name).set(items)
    calendar = calendars_for_years([course.school_year_id])[course.school_year_id]
    moving = [pk for pk, day in CourseChange.objects.filter(course_id=course.pk, date__gte=effective)
              .values_list("pk", "date") if occ.is_planned_on(successor, calendar, day)]
    if moving:
        CourseChange.objects.filter(pk__in=moving).update(course=successor, updated_at=timezone.now())
    return successor


KEY_KEEP = 84  # an import key (96 characters at most) kept on an ended course, before "~YYYY-MM-DD"


def notice_snapshot(course_ids, *, today: datetime.date) -> dict[tuple[int, datetime.date], tuple]:
    """What people see of these courses' occurrences from today to TIMETABLE_NOTIFY_DAYS days ahead:
    {(course id, planned date): (what it looks like, (class ids, group ids, teacher ids))}."""
    last = today + datetime.timedelta(days=_notice_days())
    result = {}
    for o in occurrences_of_courses(course_ids, today, last):
        course = o.course
        targets = (tuple(sorted(c.pk for c in course.classes.all())), tuple(sorted(g.pk for g in course.groups.all())),
                   tuple(sorted(t.pk for t in course.teachers.all())))
        looks = (o.day, o.start, o.end, o.status, o.room.pk if o.room is not None else None,
                 tuple(sorted(t.pk for t in o.teachers)), o.label, o.is_exam)
        result[(course.pk, o.date)] = (looks, targets, o.day)
    return result


@dataclass
class NoticeDiff:
    """The occurrences of the notice window that a course edit or an import changed."""

    days: set[datetime.date] = field(default_factory=set)  # the days concerned (before and after)
    course_ids: set[int] = field(default_factory=set)
    class_ids: set[int] = field(default_factory=set)
    group_ids: set[int] = field(default_factory=set)
    teacher_ids: set[int] = field(default_factory=set)

    def recipients(self, establishment_id: int) -> set[int]:
        if not self.days:
            return set()
        return recipients_of_targets(establishment_id=establishment_id, class_ids=sorted(self.class_ids),
                                     group_ids=sorted(self.group_ids), teacher_ids=sorted(self.teacher_ids))


def notice_diff(before: dict, after: dict, *, renamed: dict[int, int] | None = None) -> NoticeDiff:
    """Compare two snapshots (`notice_snapshot`); `renamed` maps an ended course to its successor (split_course),
    so that an occurrence the successor holds unchanged is not a change."""
    if renamed:
        before = {(renamed.get(course_id, course_id), day): value for (course_id, day), value in before.items()}
    diff = NoticeDiff()
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None and old[:2] == new[:2]:
            continue
        diff.course_ids.add(key[0])
        for entry in (old, new):
            if entry is not None:
                classes, groups, teachers = entry[1]
                diff.class_ids.update(classes)
                diff.group_ids.update(groups)
                diff.teacher_ids.update(teachers)
                diff.teacher_ids.update(entry[0][5])  # replacement teachers too
                diff.days.add(entry[2])
    return diff


def notify_course_edit(course: Course, diff: NoticeDiff, recipients: set[int], *, title: str,
                       now: datetime.datetime | None) -> None:
    """One notification per person for an edit or a deletion of a course (manual edits: per course)."""
    from preau.notifications.services import notify

    stamp = int((now or timezone.now()).timestamp() * 1000)
    days = ", ".join(day_text(day) for day in sorted(diff.days))
    notify(recipient_ids=recipients, kind="timetable", title=title,
           body=f"Jours concernés dans les prochains jours : {days}.", url="/emploi-du-temps/",
           establishment_id=course.establishment_id, source=f"course-edit:{course.pk}:{stamp}")


def notify_import(*, establishment_id: int, diff: NoticeDiff, run_id) -> None:
    """One notification per person and import run (`timetable-import:<run id>`), whatever the number of its
    courses that changed within the notice window."""
    from preau.notifications.services import notify

    recipients = diff.recipients(establishment_id)
    if not recipients:
        return
    days = ", ".join(day_text(day) for day in sorted(diff.days))
    notify(recipient_ids=recipients, kind="timetable", title="Emploi du temps mis à jour",
           body=f"L'emploi du temps importé change des cours des prochains jours : {days}.",
           url="/emploi-du-temps/", establishment_id=establishment_id, source=f"timetable-import:{run_id}")


# --- One occurrence -------------------------------------------------------------------------------------------

def _notice_days() -> int:
    return int(getattr(settings, "TIMETABLE_NOTIFY_DAYS", 7))


def _today(now: datetime.datetime | None) -> datetime.date:
    return (now or timezone.now()).astimezone(occ.PARIS).date()


def _within_notice(now: datetime.datetime | None, *days: datetime.date | None) -> bool:
    """Whether one of the days is today or within TIMETABLE_NOTIFY_DAYS days (Europe/Paris)."""
    today = _today(now)
    limit = today + datetime.timedelta(days=_notice_days())
    return any(day is not None and today <= day <= limit for day in days)


def recipients_of_course(course: Course, *extra_teachers) -> set[int]:
    """Who is told of a change to the course: its pupils (classes and groups) with an active pupil membership in
    the course's establishment, their guardians whose link allows TIMETABLE, its teachers, and `extra_teachers`
    (replacements). Two queries."""
    ids = recipients_of_targets(
        establishment_id=course.establishment_id,
        class_ids=Course.classes.through.objects.filter(course_id=course.pk).values("schoolclass_id"),
        group_ids=Course.groups.through.objects.filter(course_id=course.pk).values("teachinggroup_id"),
        teacher_ids=Course.teachers.through.objects.filter(course_id=course.pk).values("user_id"))
    ids.update(t.pk for t in extra_teachers if t is not None)
    return ids


def recipients_of_targets(*, establishment_id: int, class_ids, group_ids, teacher_ids) -> set[int]:
    """The active pupils of these classes and groups who hold an active pupil membership in the establishment (an
    enrolment left behind by a pupil who left is not enough), their guardians whose link allows TIMETABLE, and
    these teachers (active accounts). Ids or querysets of ids; two queries whatever their number."""
    from preau.accounts.models import User
    from preau.directory.models import ClassEnrolment, GroupMembership

    enrolled = (Q(pk__in=ClassEnrolment.objects.filter(school_class_id__in=class_ids).values("pupil_id"))
                | Q(pk__in=GroupMembership.objects.filter(group_id__in=group_ids).values("pupil_id")))
    pupils = enrolled & Q(pk__in=Membership.objects.filter(
        establishment_id=establishment_id, role=Role.PUPIL, is_active=True).values("user_id"))
    ids = set(User.objects.filter(pupils | Q(pk__in=teacher_ids), is_active=True).values_list("pk", flat=True))
    pupil_ids = User.objects.filter(pupils, is_active=True).values("pk")
    for guardian_id, denied in GuardianLink.objects.filter(
            pupil_id__in=pupil_ids, guardian__is_active=True).values_list("guardian_id", "denied_services"):
        if Service.TIMETABLE not in (denied or []):
            ids.add(guardian_id)
    return ids


def _occurrence_url(course: Course, planned: datetime.date) -> str:
    return f"/emploi-du-temps/cours/{course.pk}/{planned.isoformat()}/"


def _notify(course: Course, planned: datetime.date, recipients: set[int], *, title: str, body: str,
            now: datetime.datetime | None) -> None:
    from preau.notifications.services import notify

    stamp = int((now or timezone.now()).timestamp() * 1000)
    notify(recipient_ids=recipients, kind="timetable", title=title, body=body,
           url=_occurrence_url(course, planned), establishment_id=course.establishment_id,
           # `course:<id>:<date>` names the occurrence; the suffix lets a later change be notified again.
           source=f"course:{course.pk}:{planned.isoformat()}:{stamp}")


def _change_text(course: Course, change: CourseChange | None, planned: datetime.date) -> tuple[str, str]:
    label = course.display_label
    when = f"{day_text(planned)} à {time_text(course.start_time)}"
    if change is None:
        return f"Cours rétabli : {label}, {when}", "Le cours a lieu comme prévu."
    details = []
    if change.reason:
        details.append(f"Motif : {change.reason}.")
    if change.new_room_id:
        details.append(f"Salle : {change.new_room}.")
    if change.replacement_teacher_id:
        details.append(f"Remplaçant : {_person_name(change.replacement_teacher)}.")
    if change.is_exam:
        details.append("Devoir surveillé.")
    if change.note:
        details.append(change.note)
    body = " ".join(details)
    if change.status == CourseChange.Status.CANCELLED:
        return f"Cours annulé : {label}, {when}", body
    if change.status == CourseChange.Status.MOVED:
        day = change.new_date or planned
        start = change.new_start_time or course.start_time
        return f"Cours déplacé : {label}, {when} → {day_text(day)} à {time_text(start)}", body
    return f"Cours modifié : {label}, {when}", body


def change_occurrence(*, course: Course, planned_date: datetime.date, status: str, by, reason: str = "",
                      new_date: datetime.date | None = None, new_start_time: datetime.time | None = None,
                      new_end_time: datetime.time | None = None, new_room: Room | None = None,
                      replacement_teacher=None, note: str = "", is_exam: bool = False,
                      now: datetime.datetime | None = None, request=None) -> CourseChange:
    """Cancel, move or modify the occurrence of `course` planned on `planned_date` (replacing its previous change).

    Validates (the occurrence exists; a move goes to an open day of the year, with consistent times; room and
    replacement teacher of the establishment), writes in one transaction, audits COURSE_CHANGED, and notifies the
    pupils, their guardians (TIMETABLE allowed) and the teachers (the replacement too) when the occurrence, on its
    old or new day, is within TIMETABLE_NOTIFY_DAYS days. The returned change carries `warnings` (double bookings
    of the new slot)."""
    errors: dict[str, list[str]] = {}
    if status not in CourseChange.Status.values:
        _fail({"status": ["Modification inconnue (annulé, déplacé ou modifié)."]})
    calendar = calendars_for_years([course.school_year_id])[course.school_year_id]
    if not isinstance(planned_date, datetime.date) or not occ.is_planned_on(course, calendar, planned_date):
        _fail({"date": ["Ce cours n'a pas lieu à cette date."]})
    reason, note = (reason or "").strip(), (note or "").strip()
    if len(reason) > 200:
        errors["reason"] = ["Motif trop long (200 caractères au plus)."]
    if len(note) > 300:
        errors["note"] = ["Information trop longue (300 caractères au plus)."]
    if new_room is not None and new_room.establishment_id != course.establishment_id:
        errors["new_room"] = ["Cette salle n'appartient pas à l'établissement."]
    if replacement_teacher is not None and not Membership.objects.filter(
            user_id=replacement_teacher.pk, establishment_id=course.establishment_id, role=Role.TEACHER,
            is_active=True).exists():
        errors["replacement_teacher"] = ["Le remplaçant doit être un enseignant de l'établissement."]
    if status == CourseChange.Status.MOVED:
        if new_date is None and new_start_time is None and new_end_time is None:
            errors["new_date"] = ["Indiquez la nouvelle date ou le nouvel horaire."]
        elif new_date is not None and not _is_open_day(calendar, new_date):
            errors["new_date"] = ["Impossible de déplacer le cours sur ce jour : il est sans cours "
                                  "(vacances, jour férié, fermeture ou hors de l'année scolaire)."]
        start = new_start_time or course.start_time
        end = new_end_time or course.end_time
        if end <= start:
            errors["new_end_time"] = ["L'heure de fin doit être après l'heure de début."]
    else:
        new_date = new_start_time = new_end_time = None
    if status == CourseChange.Status.CANCELLED:
        new_room = replacement_teacher = None
    if status == CourseChange.Status.MODIFIED and not (new_room or replacement_teacher or note or is_exam):
        errors["status"] = ["Indiquez ce qui change : salle, remplaçant, information ou devoir surveillé."]
    _fail(errors)
    with transaction.atomic():
        previous = (CourseChange.objects.select_for_update(of=("self",)).select_related("replacement_teacher")
                    .filter(course=course, date=planned_date).first())
        change, _created = CourseChange.objects.update_or_create(
            course=course, date=planned_date,
            defaults={"status": status, "reason": reason, "new_date": new_date, "new_start_time": new_start_time,
                      "new_end_time": new_end_time, "new_room": new_room,
                      "replacement_teacher": replacement_teacher, "note": note, "is_exam": bool(is_exam),
                      "created_by": by})
        record(Action.COURSE_CHANGED, actor=by, request=request, establishment_id=course.establishment_id,
               target=f"course:{course.pk}:{planned_date.isoformat()}", status=status,
               new_date=new_date.isoformat() if new_date else None, reason=reason,
               room=new_room.pk if new_room else None,
               replacement=replacement_teacher.pk if replacement_teacher else None)
        if _within_notice(now, planned_date, new_date):
            previous_teacher = previous.replacement_teacher if previous is not None else None
            recipients = recipients_of_course(course, replacement_teacher, previous_teacher)
            recipients.discard(getattr(by, "pk", None))
            title, body = _change_text(course, change, planned_date)
            _notify(course, planned_date, recipients, title=title, body=body, now=now)
    change.warnings = []
    if status != CourseChange.Status.CANCELLED and (new_room or replacement_teacher
                                                    or status == CourseChange.Status.MOVED):
        o = occ.make_occurrence(course, planned_date, change)
        change.warnings = _slot_warnings(course.establishment, o.day, o.start.time(), o.end.time(), o.room,
                                         o.teachers, exclude=(course.pk, planned_date))
    return change


def touch_courses(course_ids, *, after: datetime.datetime | None = None) -> None:
    """Mark courses as changed now (their `updated_at`, which the calendar feed's SEQUENCE and DTSTAMP follow):
    for writes that bypass `save()` (`.update()`, relations only, a change removed). With `after`, the stamp is
    at least one second later (SEQUENCE counts seconds)."""
    moment = timezone.now()
    if after is not None:
        moment = max(moment, after + datetime.timedelta(seconds=1))
    Course.objects.filter(pk__in=list(course_ids)).update(updated_at=moment)


def revert_change(*, course: Course, planned_date: datetime.date, by, now: datetime.datetime | None = None,
                  request=None) -> None:
    """Remove the change of one occurrence: it takes place as planned again (notified like a change)."""
    with transaction.atomic():
        change = (CourseChange.objects.select_for_update(of=("self",)).select_related("replacement_teacher")
                  .filter(course=course, date=planned_date).first())
        if change is None:
            _fail({"date": ["Ce cours n'a pas de modification à annuler."]})
        change.delete()
        # The calendar feed stamps an occurrence with its change, else its course (ics.py): the course's stamp
        # moves past the removed change's, so SEQUENCE and DTSTAMP never go backwards.
        touch_courses([course.pk], after=change.updated_at)
        course.refresh_from_db(fields=["updated_at"])
        record(Action.COURSE_CHANGED, actor=by, request=request, establishment_id=course.establishment_id,
               target=f"course:{course.pk}:{planned_date.isoformat()}", status="reverted",
               previous_status=change.status)
        if _within_notice(now, planned_date, change.new_date):
            recipients = recipients_of_course(course, change.replacement_teacher)
            recipients.discard(getattr(by, "pk", None))
            title, body = _change_text(course, None, planned_date)
            _notify(course, planned_date, recipients, title=title, body=body, now=now)


def create_extra_course(*, establishment, date: datetime.date, start_time: datetime.time,
                        end_time: datetime.time, by, subject=None, label: str = "", teachers: Iterable = (),
                        classes: Iterable = (), groups: Iterable = (), room: Room | None = None,
                        is_exam: bool = False, school_year: SchoolYear | None = None,
                        now: datetime.datetime | None = None, request=None) -> SavedCourse:
    """An exceptional course or an exam on one day (refused on a closed day), notified like a change."""
    if school_year is None:
        school_year = (SchoolYear.objects.filter(establishment_id=establishment.pk, start__lte=date, end__gte=date)
                       .order_by("-is_current", "-start").first()) if isinstance(date, datetime.date) else None
        if school_year is None:
            _fail({"date": ["Cette date n'appartient à aucune année scolaire de l'établissement."]})
    if isinstance(date, datetime.date):
        calendar = calendars_for_years([school_year.pk])[school_year.pk]
        if occ.in_school_year(calendar, date) and not _is_open_day(calendar, date):
            _fail({"date": ["Ce jour est sans cours (vacances, jour férié ou fermeture)."]})
    kind = Course.Kind.EXAM if is_exam else Course.Kind.EXTRA
    with transaction.atomic():
        saved = create_course(establishment=establishment, school_year=school_year, by=by, kind=kind, date=date,
                              start_time=start_time, end_time=end_time, subject=subject, label=label,
                              teachers=teachers, classes=classes, groups=groups, room=room, request=request)
        course = saved.course
        record(Action.COURSE_CHANGED, actor=by, request=request, establishment_id=establishment.pk,
               target=f"course:{course.pk}:{date.isoformat()}", status=kind)
        if _within_notice(now, date):
            recipients = recipients_of_course(course)
            recipients.discard(getattr(by, "pk", None))
            what = "Devoir surveillé" if is_exam else "Cours exceptionnel"
            _notify(course, date, recipients,
                    title=f"{what} : {course.display_label}, {day_text(date)} à {time_text(start_time)}",
                    body=f"Salle : {room}." if room else "", now=now)
    return saved
