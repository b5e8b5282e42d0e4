"""Timetables as JSON: the same selectors and services as the pages under /emploi-du-temps/ (docs/timetable.md).

A pupil, teacher, class, group, room, course or calendar the caller may not see answers 404; an action their role
may not take answers 403; bad input 400 or 422, in French. Ranges are at most 31 days.
"""

from __future__ import annotations

import datetime
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from preau.access import policy
from preau.accounts.models import User
from preau.directory.models import Role, SchoolClass, SchoolYear, Service, Subject, TeachingGroup
from preau.timetable import occurrences as occ
from preau.timetable import selectors, services
from preau.timetable.models import ClosedPeriod, Course, Room, SchoolCalendar

from ..errors import BAD_REQUEST, FORBIDDEN, NOT_FOUND, api_error, responses, service_refusal
from ..schemas import MAX_DB_INT, ClassRef, GroupRef, PageParams, PersonRef, SubjectRef, page_of, paginate

router = Router(tags=["emploi du temps"])

Id = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
MAX_RANGE_DAYS = 31


# --- Schemas ----------------------------------------------------------------------------------------------------

class RoomRef(Schema):
    id: int
    code: str
    label: str


class RoomOut(RoomRef):
    establishment_id: int
    capacity: int | None
    is_active: bool


class OccurrenceOut(Schema):
    key: str = Field(description="`<course_id>:<date prévue>` : l'identité de la séance.")
    course_id: int
    date: datetime.date = Field(description="La date prévue (avec course_id, l'identité de la séance).")
    day: datetime.date = Field(description="Le jour où la séance a lieu (différent de `date` si elle est déplacée).")
    start: datetime.datetime = Field(description="Heure de Paris (Europe/Paris), avec son décalage.")
    end: datetime.datetime
    label: str
    kind: str = Field(description="recurring, extra ou exam.")
    subject: SubjectRef | None
    room: RoomRef | None
    teachers: list[PersonRef]
    classes: list[ClassRef]
    groups: list[GroupRef]
    status: str = Field(description="normal, cancelled, moved ou modified.")
    is_exam: bool
    reason: str
    note: str
    replacement: bool = Field(description="Un enseignant remplace ceux du cours pour cette séance.")


class TimetableOut(Schema):
    kind: str = Field(description="pupil, teacher, class, group ou room.")
    id: int
    name: str
    start: datetime.date
    end: datetime.date
    occurrences: list[OccurrenceOut]


class MyTimetablesOut(Schema):
    timetables: list[TimetableOut] = Field(description="Le mien (élève, enseignant) et celui de chacun de mes "
                                                        "enfants (responsable).")


class FreeRoomsOut(Schema):
    start: datetime.datetime
    end: datetime.datetime
    rooms: list[RoomOut]


class DeletedOut(Schema):
    deleted: int


class ChangeIn(Schema):
    status: str = Field(description="cancelled, moved ou modified.")
    reason: str = Field("", max_length=200)
    new_date: datetime.date | None = None
    new_start_time: datetime.time | None = None
    new_end_time: datetime.time | None = None
    new_room_id: Id | None = None
    replacement_teacher_id: Id | None = None
    note: str = Field("", max_length=300)
    is_exam: bool = False


class ChangeOut(Schema):
    occurrence: OccurrenceOut
    warnings: list[str] = Field(description="Doubles réservations de la salle ou des enseignants (non bloquant).")


class CourseIn(Schema):
    establishment_id: Id | None = Field(None, description="Obligatoire à la création ; ignoré à la modification.")
    school_year_id: Id | None = Field(None, description="Vide : l'année en cours. Ignoré à la modification.")
    kind: str = Field(Course.Kind.RECURRING.value, description="recurring, extra ou exam.")
    subject_id: Id | None = None
    label: str = Field("", max_length=120)
    teacher_ids: list[Id] = Field(default_factory=list, max_length=20)
    class_ids: list[Id] = Field(default_factory=list, max_length=50)
    group_ids: list[Id] = Field(default_factory=list, max_length=50)
    room_id: Id | None = None
    weekday: int | None = Field(None, ge=0, le=6, description="Cours régulier : 0 = lundi … 6 = dimanche.")
    date: datetime.date | None = Field(None, description="Cours exceptionnel ou devoir : sa date.")
    start_time: datetime.time
    end_time: datetime.time
    week_pattern: str = Field(Course.WeekPattern.EVERY.value, description="every, A, B ou custom.")
    custom_weeks: list[datetime.date] = Field(default_factory=list, max_length=60,
                                              description="Semaines choisies : dates des lundis.")
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None


class CourseOut(Schema):
    id: int
    establishment_id: int
    school_year_id: int
    kind: str
    label: str
    subject: SubjectRef | None
    teachers: list[PersonRef]
    classes: list[ClassRef]
    groups: list[GroupRef]
    room: RoomRef | None
    weekday: int | None
    date: datetime.date | None
    start_time: datetime.time
    end_time: datetime.time
    week_pattern: str
    custom_weeks: list[str]
    valid_from: datetime.date | None
    valid_until: datetime.date | None
    source: str


class SavedCourseOut(CourseOut):
    warnings: list[str]


RoomPage = page_of(RoomOut, "RoomPage")
CoursePage = page_of(CourseOut, "CoursePage")


class ExtraCourseIn(Schema):
    establishment_id: Id
    date: datetime.date
    start_time: datetime.time
    end_time: datetime.time
    subject_id: Id | None = None
    label: str = Field("", max_length=120)
    teacher_ids: list[Id] = Field(default_factory=list, max_length=20)
    class_ids: list[Id] = Field(default_factory=list, max_length=50)
    group_ids: list[Id] = Field(default_factory=list, max_length=50)
    room_id: Id | None = None
    is_exam: bool = False


class ClosedPeriodIn(Schema):
    kind: str = Field(ClosedPeriod.Kind.LOCAL.value, description="holidays, public ou local.")
    label: str = Field(max_length=120)
    first_day: datetime.date
    last_day: datetime.date = Field(description="Inclus.")


class ClosedPeriodOut(ClosedPeriodIn):
    id: int


class CalendarOut(Schema):
    school_year_id: int
    establishment_id: int
    start: datetime.date
    end: datetime.date
    zone: str = Field(description="A, B, C ou vide (calendrier local).")
    week_mode: str = Field(description="every, ab ou custom.")
    first_week_label: str
    holidays_count_in_alternation: bool
    school_days: list[int] = Field(description="0 = lundi … 6 = dimanche.")
    day_start: datetime.time
    day_end: datetime.time
    half_day_split: datetime.time
    week_labels: dict[str, str] = Field(description="Date du lundi de chaque semaine → étiquette (A, B…).")
    closed_periods: list[ClosedPeriodOut]
    can_manage: bool


class CalendarIn(Schema):
    zone: str | None = Field(None, description="Changer de zone remplace les vacances et jours fériés par ceux "
                                               "du calendrier officiel (les journées locales restent).")
    week_mode: str | None = None
    first_week_label: str | None = None
    holidays_count_in_alternation: bool | None = None
    school_days: list[int] | None = Field(None, max_length=7)
    day_start: datetime.time | None = None
    day_end: datetime.time | None = None
    half_day_split: datetime.time | None = None
    week_labels: dict[str, str] | None = Field(None, description="Semaines personnalisées (mode custom).")
    closed_periods: list[ClosedPeriodIn] | None = Field(
        None, max_length=200, description="Donnée : la liste complète des périodes sans cours (remplace l'actuelle).")


# --- Serialisation ----------------------------------------------------------------------------------------------

def _person(user) -> dict:
    return {"id": user.pk, "first_name": user.first_name, "last_name": user.last_name}


def _room(room) -> dict | None:
    return None if room is None else {"id": room.pk, "code": room.code, "label": room.label}


def _ref(obj) -> dict:
    return {"id": obj.pk, "code": obj.code, "label": obj.label}


def occurrence_out(o: occ.Occurrence) -> dict:
    course = o.course
    return {
        "key": o.key, "course_id": course.pk, "date": o.date, "day": o.day, "start": o.start, "end": o.end,
        "label": o.label, "kind": course.kind, "subject": _ref(course.subject) if course.subject_id else None,
        "room": _room(o.room), "teachers": [_person(t) for t in o.teachers],
        "classes": [_ref(c) for c in course.classes.all()], "groups": [_ref(g) for g in course.groups.all()],
        "status": o.status, "is_exam": o.is_exam, "reason": o.reason, "note": o.note,
        "replacement": o.change is not None and o.change.replacement_teacher_id is not None,
    }


def course_out(course: Course) -> dict:
    return {
        "id": course.pk, "establishment_id": course.establishment_id, "school_year_id": course.school_year_id,
        "kind": course.kind, "label": course.display_label,
        "subject": _ref(course.subject) if course.subject_id else None,
        "teachers": [_person(t) for t in course.teachers.all()],
        "classes": [_ref(c) for c in course.classes.all()], "groups": [_ref(g) for g in course.groups.all()],
        "room": _room(course.room), "weekday": course.weekday, "date": course.date,
        "start_time": course.start_time, "end_time": course.end_time, "week_pattern": course.week_pattern,
        "custom_weeks": list(course.custom_weeks or []), "valid_from": course.valid_from,
        "valid_until": course.valid_until, "source": course.source,
    }


def calendar_out(actor, calendar: SchoolCalendar) -> dict:
    year = calendar.school_year
    return {
        "school_year_id": year.pk, "establishment_id": calendar.establishment_id, "start": year.start,
        "end": year.end, "zone": calendar.zone, "week_mode": calendar.week_mode,
        "first_week_label": calendar.first_week_label,
        "holidays_count_in_alternation": calendar.holidays_count_in_alternation,
        "school_days": list(occ.school_weekdays(calendar)), "day_start": calendar.day_start,
        "day_end": calendar.day_end, "half_day_split": calendar.half_day_split,
        "week_labels": dict(calendar.week_labels or {}),
        "closed_periods": [{"id": p.pk, "kind": p.kind, "label": p.label, "first_day": p.first_day,
                            "last_day": p.last_day} for p in selectors.closed_periods_of(calendar)],
        "can_manage": policy.can_manage_timetable(actor, calendar.establishment_id),
    }


def _timetable(kind: str, obj, name: str, first: datetime.date, last: datetime.date, found) -> dict:
    return {"kind": kind, "id": obj.pk, "name": name, "start": first, "end": last,
            "occurrences": [occurrence_out(o) for o in found]}


def _name(user) -> str:
    return user.get_full_name() or user.username


# --- Helpers ------------------------------------------------------------------------------------------------------

def _range(start: datetime.date | None, end: datetime.date | None) -> tuple[datetime.date, datetime.date]:
    """[start, end], by default the current week (Monday to Sunday, Paris time); at most 31 days."""
    if start is None:
        today = timezone.now().astimezone(occ.PARIS).date()
        start = occ.monday_of(today)
    if end is None:
        end = start + datetime.timedelta(days=6)
    if end < start:
        raise api_error(400, "La fin de la période doit suivre son début.")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise api_error(400, f"La période demandée ne doit pas dépasser {MAX_RANGE_DAYS} jours.")
    return start, end


def _establishment_id_for(actor, establishment_id: int) -> int:
    if not (actor.is_global_admin or establishment_id in actor.establishment_ids()):
        raise Http404
    return establishment_id


def _establishment(actor, establishment_id: int):
    found = policy.establishments_visible_to(actor).filter(pk=_establishment_id_for(actor, establishment_id)).first()
    if found is None:
        raise Http404
    return found


def _manage(actor, establishment_id: int) -> None:
    if not policy.can_manage_timetable(actor, establishment_id):
        raise api_error(403, "Seuls la direction et les administrateurs de l'ENT modifient les cours et le "
                             "calendrier.")


def _by_ids(model, ids, establishment_id: int, label: str, **extra) -> list:
    ids = sorted(set(ids))
    found = list(model.objects.filter(pk__in=ids, establishment_id=establishment_id, **extra))
    if len(found) != len(ids):
        raise api_error(400, f"{label} inconnu(e)s dans l'établissement : vérifiez les identifiants.")
    return found


def _one(model, pk, establishment_id: int, label: str):
    if pk is None:
        return None
    return _by_ids(model, [pk], establishment_id, label)[0]


def _teachers(actor, ids, establishment_id: int) -> list[User]:
    """The establishment's teachers of these ids, through the policy (an id of anyone else is unknown: no name
    of a person outside it is ever echoed back)."""
    ids = sorted(set(ids))
    found = list(policy.timetable_course_teachers(actor, establishment_id).filter(pk__in=ids)) if ids else []
    if len(found) != len(ids):
        raise api_error(400, "Enseignant(e)s inconnu(e)s : vérifiez les identifiants.")
    return found


def _access_occurrence(actor, course_id: int, planned: datetime.date) -> occ.Occurrence:
    policy.access_course(actor, course_id)
    found = selectors.occurrence(course_id, planned)
    if found is None:
        raise Http404
    return found


def _access_year(actor, school_year_id: int) -> SchoolYear:
    year = SchoolYear.objects.filter(pk=school_year_id).first()
    if year is None:
        raise Http404
    _establishment_id_for(actor, year.establishment_id)
    return year


def _fetched_course(course_id: int) -> Course:
    return (Course.objects.select_related("subject", "room")
            .prefetch_related("teachers", "classes", "groups").get(pk=course_id))


# --- Reading timetables -------------------------------------------------------------------------------------------

@router.get("/timetable/me", response=responses(MyTimetablesOut, BAD_REQUEST),
            summary="Mon emploi du temps (ou celui de mes enfants)")
def my_timetable(request, start: datetime.date | None = None, end: datetime.date | None = None):
    """A pupil's own courses, a teacher's courses, a guardian's children's (one timetable per child whose link
    allows the timetable). Default range: the current week."""
    actor = request.actor
    first, last = _range(start, end)
    result = []
    user = actor.user
    if actor.has_role(Role.PUPIL):
        result.append(_timetable("pupil", user, _name(user), first, last,
                                 selectors.occurrences_for_pupil(user, first, last)))
    if actor.has_role(Role.TEACHER):
        result.append(_timetable("teacher", user, _name(user), first, last,
                                 selectors.occurrences_for_teacher(user, first, last)))
    for link in actor.child_links:
        if link.allows(Service.TIMETABLE):
            child = link.pupil
            result.append(_timetable("pupil", child, _name(child), first, last,
                                     selectors.occurrences_for_pupil(child, first, last)))
    return {"timetables": result}


# kind -> (policy access function, selector, display name)
_READERS = {
    "pupil": (policy.access_timetable_pupil, selectors.occurrences_for_pupil, _name),
    "teacher": (policy.access_timetable_teacher, selectors.occurrences_for_teacher, _name),
    "class": (policy.access_timetable_class, selectors.occurrences_for_class, lambda c: c.label),
    "group": (policy.access_timetable_group, selectors.occurrences_for_group, lambda g: g.label),
    "room": (policy.access_room, selectors.occurrences_for_room, str),
}


def _read(request, kind: str, ident: int, start: datetime.date | None, end: datetime.date | None) -> dict:
    first, last = _range(start, end)
    access, select, name = _READERS[kind]
    obj = access(request.actor, ident)
    return _timetable(kind, obj, name(obj), first, last, select(obj, first, last))


def _room_out(room: Room) -> dict:
    return {**_room(room), "establishment_id": room.establishment_id, "capacity": room.capacity,
            "is_active": room.is_active}


@router.get("/timetable/pupils/{pupil_id}", response=responses(TimetableOut, BAD_REQUEST, NOT_FOUND),
            summary="L'emploi du temps d'un élève")
def pupil_timetable(request, pupil_id: int, start: datetime.date | None = None, end: datetime.date | None = None):
    return _read(request, "pupil", pupil_id, start, end)


@router.get("/timetable/teachers/{teacher_id}", response=responses(TimetableOut, BAD_REQUEST, NOT_FOUND),
            summary="L'emploi du temps d'un enseignant")
def teacher_timetable(request, teacher_id: int, start: datetime.date | None = None,
                      end: datetime.date | None = None):
    return _read(request, "teacher", teacher_id, start, end)


@router.get("/timetable/classes/{class_id}", response=responses(TimetableOut, BAD_REQUEST, NOT_FOUND),
            summary="L'emploi du temps d'une classe (avec ses groupes)")
def class_timetable(request, class_id: int, start: datetime.date | None = None, end: datetime.date | None = None):
    return _read(request, "class", class_id, start, end)


@router.get("/timetable/groups/{group_id}", response=responses(TimetableOut, BAD_REQUEST, NOT_FOUND),
            summary="L'emploi du temps d'un groupe")
def group_timetable(request, group_id: int, start: datetime.date | None = None, end: datetime.date | None = None):
    return _read(request, "group", group_id, start, end)


@router.get("/timetable/rooms", response=responses(RoomPage), summary="Les salles")
def list_rooms(request, page: Query[PageParams], establishment: Id | None = None):
    """Rooms of the establishments where the caller works (teachers, staff, ENT admins), by code."""
    rooms = policy.rooms_visible_to(request.actor).order_by("establishment_id", "code", "pk")
    if establishment is not None:
        rooms = rooms.filter(establishment_id=establishment)
    return paginate(rooms, page, _room_out)


@router.get("/timetable/rooms/{room_id}", response=responses(TimetableOut, BAD_REQUEST, NOT_FOUND),
            summary="L'occupation d'une salle")
def room_timetable(request, room_id: int, start: datetime.date | None = None, end: datetime.date | None = None):
    return _read(request, "room", room_id, start, end)


class FreeRoomsParams(Schema):
    establishment: Id
    start: datetime.datetime = Field(description="Début du créneau (avec fuseau ; sans : heure de Paris).")
    end: datetime.datetime


@router.get("/timetable/free-rooms", response=responses(FreeRoomsOut, BAD_REQUEST, NOT_FOUND),
            summary="Les salles libres sur un créneau")
def free_rooms(request, params: Query[FreeRoomsParams]):
    actor = request.actor
    if not policy.can_find_free_rooms(actor, params.establishment):
        raise Http404
    start, end = params.start, params.end
    if timezone.is_naive(start):
        start = start.replace(tzinfo=occ.PARIS)
    if timezone.is_naive(end):
        end = end.replace(tzinfo=occ.PARIS)
    if end <= start:
        raise api_error(400, "La fin du créneau doit suivre son début.")
    if end - start > datetime.timedelta(days=1):
        raise api_error(400, "Le créneau ne doit pas dépasser une journée.")
    establishment = _establishment(actor, params.establishment)
    return {"start": start, "end": end,
            "rooms": [_room_out(r) for r in selectors.free_rooms(establishment, start, end)]}


@router.get("/timetable/occurrences/{course_id}/{date}", response=responses(OccurrenceOut, NOT_FOUND),
            summary="Une séance (cours et date prévue)")
def get_occurrence(request, course_id: int, date: datetime.date):
    return occurrence_out(_access_occurrence(request.actor, course_id, date))


# --- Changing one occurrence ----------------------------------------------------------------------------------

@router.post("/timetable/occurrences/{course_id}/{date}/change",
             response=responses(ChangeOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
             summary="Annuler, déplacer ou modifier une séance")
def change_occurrence(request, course_id: int, date: datetime.date, data: ChangeIn):
    """Replaces any previous change of the séance. Pupils, guardians and teachers are notified when it is within
    TIMETABLE_NOTIFY_DAYS days. Leadership, CPE and vie scolaire only (403 otherwise)."""
    actor = request.actor
    found = _access_occurrence(actor, course_id, date)
    course = found.course
    if not policy.can_change_occurrences(actor, course.establishment_id):
        raise api_error(403, "Seules la direction et la vie scolaire modifient une séance.")
    room = _one(Room, data.new_room_id, course.establishment_id, "Salle")
    teacher = (_teachers(actor, [data.replacement_teacher_id], course.establishment_id)[0]
               if data.replacement_teacher_id else None)
    try:
        change = services.change_occurrence(
            course=course, planned_date=date, status=data.status, by=actor.user, reason=data.reason,
            new_date=data.new_date, new_start_time=data.new_start_time, new_end_time=data.new_end_time,
            new_room=room, replacement_teacher=teacher, note=data.note, is_exam=data.is_exam, request=request)
    except ValidationError as exc:
        raise service_refusal(exc) from None
    return {"occurrence": occurrence_out(selectors.occurrence(course.pk, date)), "warnings": change.warnings}


@router.delete("/timetable/occurrences/{course_id}/{date}/change",
               response=responses(OccurrenceOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
               summary="Rétablir une séance (supprimer sa modification)")
def revert_occurrence(request, course_id: int, date: datetime.date):
    actor = request.actor
    found = _access_occurrence(actor, course_id, date)
    course = found.course
    if not policy.can_change_occurrences(actor, course.establishment_id):
        raise api_error(403, "Seules la direction et la vie scolaire modifient une séance.")
    try:
        services.revert_change(course=course, planned_date=date, by=actor.user, request=request)
    except ValidationError as exc:
        raise service_refusal(exc) from None
    return occurrence_out(selectors.occurrence(course.pk, date))


@router.post("/timetable/extra-courses", response=responses(SavedCourseOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND,
                                                            status=201),
             summary="Ajouter un cours exceptionnel ou un devoir surveillé")
def create_extra_course(request, data: ExtraCourseIn):
    actor = request.actor
    e = _establishment_id_for(actor, data.establishment_id)
    if not policy.can_change_occurrences(actor, e):
        raise api_error(403, "Seules la direction et la vie scolaire ajoutent un cours exceptionnel.")
    establishment = _establishment(actor, e)
    try:
        saved = services.create_extra_course(
            establishment=establishment, date=data.date, start_time=data.start_time, end_time=data.end_time,
            by=actor.user, subject=_one(Subject, data.subject_id, e, "Matière"), label=data.label,
            teachers=_teachers(actor, data.teacher_ids, e),
            classes=_by_ids(SchoolClass, data.class_ids, e, "Classes"),
            groups=_by_ids(TeachingGroup, data.group_ids, e, "Groupes"),
            room=_one(Room, data.room_id, e, "Salle"), is_exam=data.is_exam, request=request)
    except ValidationError as exc:
        raise service_refusal(exc) from None
    return Status(201, {**course_out(_fetched_course(saved.course.pk)), "warnings": saved.warnings})


# --- Courses (management) -----------------------------------------------------------------------------------------

@router.get("/timetable/courses", response=responses(CoursePage, NOT_FOUND), summary="Les cours")
def list_courses(request, page: Query[PageParams], establishment: Id, school_year: Id | None = None,
                 school_class: Id | None = None, group: Id | None = None, teacher: Id | None = None):
    """The courses of an establishment (of the current school year unless `school_year`), filtered."""
    actor = request.actor
    e = _establishment_id_for(actor, establishment)
    courses = policy.courses_visible_to(actor).filter(establishment_id=e)
    courses = (courses.filter(school_year_id=school_year) if school_year is not None
               else courses.filter(school_year__is_current=True))
    if school_class is not None:
        courses = courses.filter(classes=school_class)
    if group is not None:
        courses = courses.filter(groups=group)
    if teacher is not None:
        courses = courses.filter(teachers=teacher)
    courses = (courses.select_related("subject", "room").prefetch_related("teachers", "classes", "groups")
               .order_by("kind", "weekday", "date", "start_time", "pk"))
    return paginate(courses, page, course_out)


@router.get("/timetable/courses/{course_id}", response=responses(CourseOut, NOT_FOUND), summary="Un cours")
def get_course(request, course_id: int):
    course = policy.access_course(request.actor, course_id)
    return course_out(_fetched_course(course.pk))


def _course_kwargs(actor, data: CourseIn, e: int) -> dict:
    return {
        "kind": data.kind, "subject": _one(Subject, data.subject_id, e, "Matière"), "label": data.label,
        "teachers": _teachers(actor, data.teacher_ids, e),
        "classes": _by_ids(SchoolClass, data.class_ids, e, "Classes"),
        "groups": _by_ids(TeachingGroup, data.group_ids, e, "Groupes"), "room": _one(Room, data.room_id, e, "Salle"),
        "weekday": data.weekday, "date": data.date, "start_time": data.start_time, "end_time": data.end_time,
        "week_pattern": data.week_pattern, "custom_weeks": data.custom_weeks, "valid_from": data.valid_from,
        "valid_until": data.valid_until,
    }


@router.post("/timetable/courses", response=responses(SavedCourseOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND,
                                                      status=201),
             summary="Créer un cours")
def create_course(request, data: CourseIn):
    """Leadership and ENT admins. A room or teacher already busy on that slot is reported in `warnings` (the
    course is created anyway)."""
    actor = request.actor
    if data.establishment_id is None:
        raise api_error(400, "Indiquez l'établissement (establishment_id).")
    e = _establishment_id_for(actor, data.establishment_id)
    _manage(actor, e)
    years = SchoolYear.objects.filter(establishment_id=e)
    year = (years.filter(pk=data.school_year_id) if data.school_year_id else years.filter(is_current=True)).first()
    if year is None:
        raise api_error(400, "Année scolaire inconnue dans l'établissement.")
    try:
        saved = services.create_course(establishment=year.establishment, school_year=year, by=actor.user,
                                       request=request, **_course_kwargs(actor, data, e))
    except ValidationError as exc:
        raise service_refusal(exc) from None
    return Status(201, {**course_out(_fetched_course(saved.course.pk)), "warnings": saved.warnings})


@router.put("/timetable/courses/{course_id}", response=responses(SavedCourseOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
            summary="Modifier un cours")
def update_course(request, course_id: int, data: CourseIn):
    """Replaces every field (except the establishment and school year). Recorded séance changes are kept."""
    actor = request.actor
    course = policy.access_course(actor, course_id)
    _manage(actor, course.establishment_id)
    try:
        saved = services.update_course(course, by=actor.user, request=request,
                                       **_course_kwargs(actor, data, course.establishment_id))
    except ValidationError as exc:
        raise service_refusal(exc) from None
    return {**course_out(_fetched_course(saved.course.pk)), "warnings": saved.warnings}


@router.delete("/timetable/courses/{course_id}", response=responses(DeletedOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
               summary="Supprimer un cours")
def delete_course(request, course_id: int):
    actor = request.actor
    course = policy.access_course(actor, course_id)
    _manage(actor, course.establishment_id)
    try:
        services.delete_course(course, by=actor.user, request=request)
    except ValidationError as exc:
        raise service_refusal(exc) from None
    return {"deleted": 1}


# --- Calendars ------------------------------------------------------------------------------------------------------

@router.get("/timetable/calendars/{school_year_id}", response=responses(CalendarOut, NOT_FOUND),
            summary="Le calendrier d'une année scolaire")
def get_calendar(request, school_year_id: int):
    """Zone, weeks A/B, school days, closed periods. Everyone of the establishment reads it."""
    actor = request.actor
    year = _access_year(actor, school_year_id)
    calendar = selectors.calendar_for(year)
    calendar.school_year = year
    return calendar_out(actor, calendar)


@router.put("/timetable/calendars/{school_year_id}", response=responses(CalendarOut, BAD_REQUEST, FORBIDDEN,
                                                                         NOT_FOUND),
            summary="Régler le calendrier d'une année scolaire")
def update_calendar(request, school_year_id: int, data: CalendarIn):
    """Fields left out (null) are unchanged. A new `zone` applies the official holidays of that zone; a given
    `closed_periods` list replaces every closed period. Week labels A/B are regenerated as needed."""
    actor = request.actor
    year = _access_year(actor, school_year_id)
    _manage(actor, year.establishment_id)
    calendar = selectors.calendar_for(year)
    calendar.school_year = year
    fields = {name: value for name, value in data.dict(exclude={"closed_periods"}).items() if value is not None}
    try:
        with transaction.atomic():
            services.update_calendar(calendar, by=actor.user, request=request, **fields)
            if data.closed_periods is not None:
                ClosedPeriod.objects.filter(calendar=calendar).delete()
                for period in data.closed_periods:
                    services.add_closed_period(calendar=calendar, kind=period.kind, label=period.label,
                                               first_day=period.first_day, last_day=period.last_day)
    except ValidationError as exc:
        raise service_refusal(exc) from None
    except PermissionDenied as exc:
        raise service_refusal(exc) from None
    calendar = selectors.calendar_for(year)
    calendar.school_year = year
    return calendar_out(actor, calendar)


class ZonePresetIn(Schema):
    zone: str = Field(description="A, B ou C.")


@router.post("/timetable/calendars/{school_year_id}/zone-preset",
             response=responses(CalendarOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
             summary="Réappliquer les vacances officielles d'une zone")
def apply_zone_preset(request, school_year_id: int, data: ZonePresetIn):
    """Replaces the school holidays and public holidays by the zone's official ones (local closed days stay)."""
    actor = request.actor
    year = _access_year(actor, school_year_id)
    _manage(actor, year.establishment_id)
    calendar = selectors.calendar_for(year)
    calendar.school_year = year
    try:
        services.apply_zone_preset(calendar, data.zone, by=actor.user, request=request)
    except ValidationError as exc:
        raise service_refusal(exc) from None
    calendar = selectors.calendar_for(year)
    calendar.school_year = year
    return calendar_out(actor, calendar)
