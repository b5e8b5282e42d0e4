"""Attendance and school life (vie scolaire) as JSON: the same services and selectors as the pages under
/vie-scolaire/ (docs/attendance.md). A pupil, record, justification, punishment... the caller may not see answers
404; an action their role may not take answers 403; bad input 400 or 422, in French. Reads of another pupil's
attendance by staff and teachers are written to the audit log (SENSITIVE_READ, target "attendance")."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.utils import timezone
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from preau.access import policy
from preau.attendance import exports, halfdays, selectors, services
from preau.attendance.models import (
    AbsenceReason,
    AttendanceRecord,
    Exemption,
    ExitRegime,
    Incident,
    Justification,
    Punishment,
)
from preau.directory.models import Period, Role
from preau.timetable import selectors as timetable

from ..errors import BAD_REQUEST, FORBIDDEN, NOT_FOUND, api_error, responses, service_refusal
from ..schemas import MAX_DB_INT, ClassRef, PageParams, PersonRef, page_of, paginate

router = Router(tags=["vie scolaire"])

Id = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
Status_ = Literal["present", "absent", "late", "early_leave", "exclusion"]
RecordKind = Literal["absence", "late", "early_leave", "exclusion"]
RecordState = Literal["unjustified", "pending", "justified", "refused"]
ExportKind = Literal["counts", "records"]


# --- Schemas ----------------------------------------------------------------------------------------------------

class OccurrenceOut(Schema):
    course_id: int
    date: datetime.date = Field(description="La date prévue du cours (avec course_id, son identité).")
    day: datetime.date = Field(description="Le jour où il a lieu (différent s'il a été déplacé).")
    start: datetime.datetime
    end: datetime.datetime
    label: str
    status: str = Field(description="normal, cancelled, moved ou modified.")
    room: str | None
    teachers: list[PersonRef]
    classes: list[ClassRef]


class MyRollCallOut(Schema):
    occurrence: OccurrenceOut
    state: str = Field(description="todo (à faire), done (fait) ou cancelled (cours annulé).")


class MyRollCallList(Schema):
    date: datetime.date
    items: list[MyRollCallOut]


class MarkOut(Schema):
    pupil: PersonRef
    status: str
    late_minutes: int | None
    left_at: datetime.time | None
    comment: str
    covered: bool = Field(description="Absence saisie ailleurs (vie scolaire, plusieurs jours) : non modifiable ici.")
    record_id: int | None
    state: str | None = Field(description="Justification de l'absence ou du retard, s'il y en a un.")
    exempted: bool = Field(description="Dispensé ce jour-là (de cette matière ou de tout).")


class RollCallOut(Schema):
    occurrence: OccurrenceOut
    taken: bool
    taken_at: datetime.datetime | None
    taken_by: PersonRef | None
    editable: bool = Field(description="L'appelant peut encore enregistrer l'appel (enseignant : jusqu'à minuit).")
    marks: list[MarkOut]


class MarkIn(Schema):
    pupil_id: Id
    status: Status_ = "present"
    late_minutes: int | None = Field(None, ge=1, le=240)
    left_at: datetime.time | None = Field(None, description="Départ anticipé : l'heure de départ.")
    comment: str = Field("", max_length=500)


class RollCallIn(Schema):
    marks: list[MarkIn] = Field(default_factory=list, max_length=2000,
                                description="Les élèves absents ou en retard ; les autres sont présents.")


class ReasonRef(Schema):
    id: int
    code: str
    label: str


class ReasonOut(ReasonRef):
    justifies: bool
    offered_to_families: bool
    position: int
    is_active: bool


class ReasonList(Schema):
    items: list[ReasonOut]


class ReasonIn(Schema):
    establishment_id: Id
    label: str = Field(max_length=120)
    code: str = Field("", max_length=16)
    justifies: bool = True
    offered_to_families: bool = True
    position: int | None = Field(None, ge=0, le=32767)
    is_active: bool = True


class RecordOut(Schema):
    id: int
    establishment_id: int
    pupil: PersonRef
    kind: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    late_minutes: int | None
    course_id: int | None
    course_label: str | None
    course_date: datetime.date | None
    source: str
    reason: ReasonRef | None
    comment: str
    state: str
    guardians_notified_at: datetime.datetime | None


class RecordIn(Schema):
    pupil_id: Id
    kind: RecordKind = "absence"
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    late_minutes: int | None = Field(None, ge=1, le=240)
    reason_id: Id | None = None
    comment: str = Field("", max_length=500)
    state: RecordState | None = None


class RecordPatch(Schema):
    kind: RecordKind | None = None
    starts_at: datetime.datetime | None = None
    ends_at: datetime.datetime | None = None
    late_minutes: int | None = Field(None, ge=1, le=240)
    reason_id: Id | None = None
    clear_reason: bool = False
    comment: str | None = Field(None, max_length=500)
    state: RecordState | None = None


class JustificationOut(Schema):
    id: int
    establishment_id: int
    pupil: PersonRef
    records: list[int]
    reason: ReasonRef | None
    comment: str
    has_document: bool
    document_name: str
    submitted_by: PersonRef | None
    submitted_at: datetime.datetime
    state: str
    decided_by: PersonRef | None
    decided_at: datetime.datetime | None
    decision_comment: str


class DecisionIn(Schema):
    accept: bool
    comment: str = Field("", max_length=500)


class IncidentOut(Schema):
    id: int
    establishment_id: int
    occurred_at: datetime.datetime
    place: str
    facts: str
    pupils: list[PersonRef]
    course_id: int | None
    reported_by: PersonRef | None


class IncidentIn(Schema):
    establishment_id: Id
    occurred_at: datetime.datetime
    facts: str = Field(max_length=4000)
    place: str = Field("", max_length=120)
    pupils: list[Id] = Field(max_length=100)
    course_id: Id | None = None


class PunishmentOut(Schema):
    id: int
    establishment_id: int
    pupil: PersonRef
    kind: str
    kind_label: str
    reason: str
    incident_id: int | None
    set_by: PersonRef | None
    set_at: datetime.datetime
    serve_on: datetime.datetime | None
    duration_minutes: int | None
    serve_until: datetime.date | None
    place: str
    work: str
    served: bool
    cancelled: bool


class PunishmentIn(Schema):
    pupil_id: Id
    kind: Literal["extra_work", "detention", "course_exclusion", "warning", "reprimand", "temp_exclusion"]
    reason: str = Field(max_length=2000)
    incident_id: Id | None = None
    serve_on: datetime.datetime | None = None
    duration_minutes: int | None = Field(None, ge=1, le=600)
    serve_until: datetime.date | None = None
    place: str = Field("", max_length=120)
    work: str = Field("", max_length=2000)


class CommentIn(Schema):
    comment: str = Field("", max_length=500)


class ServedIn(Schema):
    served: bool = True


class ExemptionOut(Schema):
    id: int
    establishment_id: int
    pupil: PersonRef
    subject_id: int | None
    subject_label: str | None
    first_day: datetime.date
    last_day: datetime.date
    must_attend: bool
    comment: str
    has_document: bool
    document_name: str


class ExitRegimeOut(Schema):
    pupil: PersonRef
    school_year_id: int
    regime: str
    regime_label: str
    may_leave_when_no_course: bool
    may_leave_at_lunch: bool
    comment: str
    updated_at: datetime.datetime | None


class ExitRegimeIn(Schema):
    regime: Literal["externe", "demi_pensionnaire", "interne"]
    may_leave_when_no_course: bool = False
    may_leave_at_lunch: bool = False
    comment: str = Field("", max_length=500)


class CountsOut(Schema):
    absent: int = Field(description="Demi-journées d'absence.")
    justified: int
    unjustified: int
    pending: int = Field(description="Parmi les non justifiées, celles dont la justification est à examiner.")
    late: int
    late_minutes: int
    early_leave: int
    exclusion: int


class PeriodCountsOut(Schema):
    period_id: int | None
    label: str
    first_day: datetime.date
    last_day: datetime.date
    counts: CountsOut


class PupilCountsOut(Schema):
    pupil: PersonRef
    first_day: datetime.date
    last_day: datetime.date
    counts: CountsOut
    periods: list[PeriodCountsOut]


class ClassRowOut(CountsOut):
    pupil: PersonRef
    rate: float | None = Field(description="Demi-journées manquées / demi-journées de classe, en %.")


class ClassRateOut(Schema):
    pupils: int
    school_half_days: int = Field(description="2 × les jours de classe de la période (calendrier de l'année).")
    denominator: int = Field(description="Élèves × demi-journées de classe.")
    missed: int
    justified: int
    unjustified: int
    late: int
    rate: float | None = Field(description="Taux d'absentéisme de la classe, en %.")


class ClassCountsOut(Schema):
    school_class: ClassRef
    first_day: datetime.date
    last_day: datetime.date
    rate: ClassRateOut
    items: list[ClassRowOut]


class DashboardOut(Schema):
    establishment_id: int
    now: datetime.datetime
    absent_now: list[RecordOut]
    roll_calls_not_taken: list[OccurrenceOut]
    unjustified: list[RecordOut]
    unjustified_count: int
    pending_justifications: list[JustificationOut]


class ExportIn(Schema):
    establishment_id: Id
    first_day: datetime.date
    last_day: datetime.date
    kind: ExportKind = "counts"


class FileDownload(Schema):
    """Not JSON: the answer is the file itself (`Content-Disposition: attachment`), CSV or the uploaded document."""

    file: str = Field(description="Le fichier lui-même (téléchargement), pas un objet JSON.")


class DeletedOut(Schema):
    deleted: int


class ExportOut(Schema):
    token: str
    download_url: str = Field(description="Disponible quand la tâche a fini (une notification le signale).")


RecordPage = page_of(RecordOut, "AttendanceRecordPage")
JustificationPage = page_of(JustificationOut, "JustificationPage")
IncidentPage = page_of(IncidentOut, "IncidentPage")
PunishmentPage = page_of(PunishmentOut, "PunishmentPage")
ExemptionPage = page_of(ExemptionOut, "ExemptionPage")


# --- Serialisers ----------------------------------------------------------------------------------------------

def _person(user) -> dict | None:
    return {"id": user.pk, "first_name": user.first_name, "last_name": user.last_name} if user else None


def _class(c) -> dict:
    return {"id": c.pk, "code": c.code, "label": c.label}


def _reason_ref(reason) -> dict | None:
    return {"id": reason.pk, "code": reason.code, "label": reason.label} if reason else None


def reason_out(reason: AbsenceReason) -> dict:
    return {**_reason_ref(reason), "justifies": reason.justifies, "offered_to_families": reason.offered_to_families,
            "position": reason.position, "is_active": reason.is_active}


def occurrence_out(o) -> dict:
    return {"course_id": o.course.pk, "date": o.date, "day": o.day, "start": o.start, "end": o.end, "label": o.label,
            "status": o.status, "room": str(o.room) if o.room is not None else None,
            "teachers": [_person(t) for t in o.teachers], "classes": [_class(c) for c in o.course.classes.all()]}


def record_out(rec: AttendanceRecord) -> dict:
    course = rec.course if rec.course_id else None
    return {"id": rec.pk, "establishment_id": rec.establishment_id, "pupil": _person(rec.pupil), "kind": rec.kind,
            "starts_at": rec.starts_at, "ends_at": rec.ends_at, "late_minutes": rec.late_minutes,
            "course_id": rec.course_id, "course_label": course.display_label if course else None,
            "course_date": rec.course_date, "source": rec.source,
            "reason": _reason_ref(rec.reason if rec.reason_id else None), "comment": rec.comment, "state": rec.state,
            "guardians_notified_at": rec.guardians_notified_at}


def justification_out(j: Justification) -> dict:
    return {"id": j.pk, "establishment_id": j.establishment_id, "pupil": _person(j.pupil),
            "records": sorted(r.pk for r in j.records.all()), "reason": _reason_ref(j.reason),
            "comment": j.comment, "has_document": bool(j.document), "document_name": j.document_name,
            "submitted_by": _person(j.submitted_by), "submitted_at": j.submitted_at, "state": j.state,
            "decided_by": _person(j.decided_by), "decided_at": j.decided_at, "decision_comment": j.decision_comment}


def incident_out(i: Incident) -> dict:
    return {"id": i.pk, "establishment_id": i.establishment_id, "occurred_at": i.occurred_at, "place": i.place,
            "facts": i.facts, "pupils": [_person(p) for p in i.pupils.all()], "course_id": i.course_id,
            "reported_by": _person(i.reported_by)}


def punishment_out(p: Punishment) -> dict:
    return {"id": p.pk, "establishment_id": p.establishment_id, "pupil": _person(p.pupil), "kind": p.kind,
            "kind_label": p.get_kind_display(), "reason": p.reason, "incident_id": p.incident_id,
            "set_by": _person(p.set_by), "set_at": p.set_at, "serve_on": p.serve_on,
            "duration_minutes": p.duration_minutes, "serve_until": p.serve_until, "place": p.place, "work": p.work,
            "served": p.served, "cancelled": p.cancelled}


def exemption_out(e: Exemption, details: bool = True) -> dict:
    """`details=False` (the pupil's teachers): the exemption without its comment and certificate."""
    return {"id": e.pk, "establishment_id": e.establishment_id, "pupil": _person(e.pupil),
            "subject_id": e.subject_id, "subject_label": e.subject.label if e.subject_id and e.subject else None,
            "first_day": e.first_day, "last_day": e.last_day, "must_attend": e.must_attend,
            "comment": e.comment if details else "", "has_document": bool(e.document) and details,
            "document_name": e.document_name if details else ""}


def exit_regime_out(pupil, row: ExitRegime) -> dict:
    return {"pupil": _person(pupil), "school_year_id": row.school_year_id, "regime": row.regime,
            "regime_label": row.get_regime_display(), "may_leave_when_no_course": row.may_leave_when_no_course,
            "may_leave_at_lunch": row.may_leave_at_lunch, "comment": row.comment, "updated_at": row.updated_at}


# --- Helpers --------------------------------------------------------------------------------------------------

def _own_establishment(actor, establishment_id):
    for establishment in actor.establishments:
        if establishment.pk == establishment_id:
            return establishment
    raise Http404


def _managed_establishment(actor, establishment_id):
    """An establishment whose vie scolaire the actor is; 404 otherwise (its attendance data does not exist for
    them), as on the pages."""
    establishment = _own_establishment(actor, establishment_id)
    if not policy.can_manage_attendance(actor, establishment.pk):
        raise Http404
    return establishment


def _log_reads(request, pupils, establishment_id=None) -> None:
    """Staff and teachers reading other pupils' attendance: one SENSITIVE_READ per pupil read (one INSERT)."""
    selectors.record_attendance_reads(actor=request.user, pupils=pupils, request=request,
                                      establishment_id=establishment_id)


def _pupil_rows(request, queryset, page, pupil, establishment, serialize) -> dict:
    """A page of rows about pupils (scoped already), filtered by pupil (404 if invisible) and establishment, with
    the reads logged."""
    if pupil is not None:
        _visible_pupil(request.actor, pupil)
        queryset = queryset.filter(pupil_id=pupil)
    if establishment is not None:
        queryset = queryset.filter(establishment_id=establishment)
    result = paginate(queryset, page)
    _log_reads(request, [row.pupil for row in result["items"]])
    result["items"] = [serialize(row) for row in result["items"]]
    return result


def _run(call):
    try:
        return call()
    except (ValidationError, PermissionDenied) as exc:
        raise service_refusal(exc) from None


def _roll_call_out(request, course, planned_date, occurrence=None) -> dict:
    """The sheet of an occurrence; the pupils whose other attendance it shows (known absences, exemptions,
    justification states) are logged as read."""
    actor = request.actor
    sheet = services.roll_call_sheet(course, planned_date, occurrence=occurrence)
    _log_reads(request, selectors.roll_call_sheet_reads(sheet), course.establishment_id)
    roll_call = sheet.roll_call
    marks = []
    for pupil in sheet.pupils:
        mark = sheet.marks[pupil.pk]
        marks.append({"pupil": _person(pupil), "status": mark["status"], "late_minutes": mark["late_minutes"],
                      "left_at": mark["left_at"], "comment": mark["comment"], "covered": mark["covered"],
                      "record_id": mark["record_id"], "state": mark["state"], "exempted": pupil.pk in sheet.exempted})
    return {"occurrence": occurrence_out(sheet.occurrence), "taken": roll_call is not None,
            "taken_at": roll_call.taken_at if roll_call else None,
            "taken_by": _person(roll_call.taken_by) if roll_call and roll_call.taken_by_id else None,
            "editable": services.roll_call_editable(actor, sheet.occurrence, timezone.now()), "marks": marks}


def _occurrence_for(actor, course_id: int, planned_date: datetime.date):
    occ = timetable.occurrence(course_id, planned_date)
    if occ is None or not policy.can_take_roll_call(actor, occ.course, planned_date, occurrence=occ):
        raise Http404
    return occ


def _visible_pupil(actor, pupil_id):
    return policy.access_attendance_pupil(actor, pupil_id)


# --- Roll calls -------------------------------------------------------------------------------------------------

@router.get("/attendance/roll-calls/mine", response=responses(MyRollCallList), summary="Mes appels du jour")
def my_roll_calls(request, date: datetime.date | None = None):
    """The caller's courses of the day (today by default) with the state of each roll call."""
    day = date or timezone.localdate()
    rows = selectors.my_roll_calls(request.user, day)
    return {"date": day, "items": [{"occurrence": occurrence_out(r["occurrence"]), "state": r["state"]}
                                   for r in rows]}


@router.get("/attendance/roll-calls/{course_id}/{date}", response=responses(RollCallOut, NOT_FOUND),
            summary="L'appel d'un cours (prérempli)")
def get_roll_call(request, course_id: int, date: datetime.date):
    """Every pupil of the occurrence with their mark: saved ones, absences already known (`covered`), present
    otherwise. For the course's teacher (or the occurrence's replacement) and vie scolaire; 404 for others."""
    occ = _occurrence_for(request.actor, course_id, date)
    return _roll_call_out(request, occ.course, date, occ)


@router.put("/attendance/roll-calls/{course_id}/{date}",
            response=responses(RollCallOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND), summary="Enregistrer l'appel")
def put_roll_call(request, course_id: int, date: datetime.date, data: RollCallIn):
    """Pupils not listed are present. Re-sending replaces the marks (idempotent). The teacher may edit until the
    end of the day (Europe/Paris; 403 afterwards), vie scolaire at any time; a cancelled course answers 400.
    Families of pupils newly absent are notified (once per pupil and day)."""
    actor = request.actor
    occ = _occurrence_for(actor, course_id, date)
    marks = {}
    for mark in data.marks:
        if mark.pupil_id in marks:
            raise api_error(400, "Un élève apparaît deux fois dans l'appel.")
        marks[mark.pupil_id] = {"status": mark.status, "late_minutes": mark.late_minutes,
                                "left_at": mark.left_at, "comment": mark.comment}
    _run(lambda: services.take_roll_call(course=occ.course, planned_date=date, marks=marks, by=request.user,
                                         request=request, occurrence=occ))
    return _roll_call_out(request, occ.course, date, occ)


# --- Reasons ----------------------------------------------------------------------------------------------------

@router.get("/attendance/reasons", response=responses(ReasonList, NOT_FOUND), summary="Motifs d'absence")
def list_reasons(request, establishment: Id):
    """The establishment's reasons; families see only those offered to them."""
    actor = request.actor
    target = _own_establishment(actor, establishment)
    manager = policy.can_manage_attendance(actor, target.pk)
    families = not manager and not (actor.roles_in(target.pk) & {Role.TEACHER, Role.STAFF})
    rows = services.reasons_for(target.pk, families=families, include_inactive=manager)
    return {"items": [reason_out(r) for r in rows]}


@router.post("/attendance/reasons", response=responses(ReasonOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Créer un motif")
def create_reason(request, data: ReasonIn):
    establishment = _managed_establishment(request.actor, data.establishment_id)
    reason = _run(lambda: services.save_reason(
        establishment_id=establishment.pk, by=request.user, label=data.label, code=data.code,
        justifies=data.justifies, offered_to_families=data.offered_to_families, position=data.position,
        is_active=data.is_active))
    return Status(201, reason_out(reason))


@router.put("/attendance/reasons/{reason_id}", response=responses(ReasonOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
            summary="Modifier un motif (ou le désactiver)")
def update_reason(request, reason_id: int, data: ReasonIn):
    establishment = _managed_establishment(request.actor, data.establishment_id)
    reason = policy.access_absence_reason(request.actor, reason_id, establishment.pk)
    reason = _run(lambda: services.save_reason(
        establishment_id=establishment.pk, by=request.user, label=data.label, code=data.code,
        justifies=data.justifies, offered_to_families=data.offered_to_families, position=data.position,
        is_active=data.is_active, reason=reason))
    return reason_out(reason)


# --- Records ------------------------------------------------------------------------------------------------------

@router.get("/attendance/records", response=responses(RecordPage, NOT_FOUND), summary="Absences et retards")
def list_records(request, page: Query[PageParams], pupil: Id | None = None, establishment: Id | None = None,
                 state: RecordState | None = None, kind: RecordKind | None = None,
                 first: datetime.date | None = None, last: datetime.date | None = None):
    """Those the caller may read (own, children, pupils taught, the establishment for vie scolaire), newest
    first. Staff and teachers' reads are logged per pupil."""
    actor = request.actor
    if pupil is not None:
        _visible_pupil(actor, pupil)
    queryset = selectors.records_for(actor, pupil_id=pupil, establishment_id=establishment, state=state, kind=kind,
                                     first=first, last=last)
    result = paginate(queryset, page)
    _log_reads(request, [r.pupil for r in result["items"]])
    result["items"] = [record_out(r) for r in result["items"]]
    return result


@router.post("/attendance/records", response=responses(RecordOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Saisir une absence (vie scolaire)")
def create_record(request, data: RecordIn):
    """Over several courses or days (sickness, a trip), a lateness, an early leaving, an exclusion. A reason that
    justifies makes it justified; the family is told of an unjustified absence."""
    actor = request.actor
    pupil = _visible_pupil(actor, data.pupil_id)
    rec = _run(lambda: services.record_absence(
        pupil=pupil, starts_at=data.starts_at, ends_at=data.ends_at, by=request.user, kind=data.kind,
        reason=data.reason_id, comment=data.comment, late_minutes=data.late_minutes, state=data.state,
        request=request))
    return Status(201, record_out(AttendanceRecord.objects.select_related("pupil", "reason", "course").get(pk=rec.pk)))


@router.patch("/attendance/records/{record_id}", response=responses(RecordOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
              summary="Modifier une absence (vie scolaire)")
def update_record(request, record_id: int, data: RecordPatch):
    """Only the fields sent change. Choosing a reason without a state justifies the record when the reason does."""
    actor = request.actor
    rec = policy.access_attendance_record(actor, record_id)
    values = data.dict(exclude_unset=True)
    kwargs = {}
    for name in ("kind", "starts_at", "ends_at", "late_minutes", "comment", "state"):
        if name in values and values[name] is not None:
            kwargs[name] = values[name]
    if values.get("clear_reason"):
        kwargs["reason"] = None
    elif values.get("reason_id") is not None:
        kwargs["reason"] = values["reason_id"]
    _run(lambda: services.update_record(record=rec, by=request.user, request=request, **kwargs))
    return record_out(AttendanceRecord.objects.select_related("pupil", "reason", "course").get(pk=rec.pk))


@router.delete("/attendance/records/{record_id}", response=responses(DeletedOut, FORBIDDEN, NOT_FOUND),
               summary="Supprimer une absence saisie par erreur (vie scolaire)")
def delete_record(request, record_id: int):
    rec = policy.access_attendance_record(request.actor, record_id)
    _run(lambda: services.delete_record(record=rec, by=request.user, request=request))
    return {"deleted": 1}


# --- Justifications -------------------------------------------------------------------------------------------

def _justifications():
    return Justification.objects.select_related("pupil", "reason", "submitted_by", "decided_by").prefetch_related(
        "records")


@router.get("/attendance/justifications", response=responses(JustificationPage, NOT_FOUND),
            summary="Justifications (à examiner pour la vie scolaire, envoyées pour les familles)")
def list_justifications(request, page: Query[PageParams],
                        state: Literal["pending", "accepted", "refused"] | None = None,
                        establishment: Id | None = None, pupil: Id | None = None):
    result = paginate(selectors.justifications_for(request.actor, establishment_id=establishment, state=state,
                                                   pupil_id=pupil), page)
    _log_reads(request, [j.pupil for j in result["items"]])
    result["items"] = [justification_out(j) for j in result["items"]]
    return result


@router.post("/attendance/justifications",
             response=responses(JustificationOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Justifier des absences (multipart/form-data)")
def submit_justification(request, pupil_id: Annotated[int, Form(ge=1, le=MAX_DB_INT)],
                         records: Annotated[str, Form(max_length=2000,
                                                      description="Identifiants séparés par des virgules.")],
                         reason_id: Annotated[int, Form(ge=1, le=MAX_DB_INT)],
                         comment: Annotated[str, Form(max_length=2000)] = "",
                         document: Annotated[UploadedFile | None, File(
                             description="PDF, JPEG ou PNG, 5 Mo au plus (facultatif).")] = None):
    """By a guardian with parental authority (or vie scolaire, accepted at once): records of the child not yet
    justified, a reason offered to families, a comment, an optional document checked by its content."""
    actor = request.actor
    pupil = _visible_pupil(actor, pupil_id)
    try:
        ids = [int(part) for part in records.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise api_error(400, "Liste d'absences invalide.") from None
    justification = _run(lambda: services.submit_justification(
        pupil=pupil, records=ids, reason=reason_id, comment=comment, document=document, by=request.user,
        request=request))
    return Status(201, justification_out(_justifications().get(pk=justification.pk)))


@router.post("/attendance/announcements",
             response=responses(RecordOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Signaler une absence à venir (famille, multipart/form-data)")
def announce_absence(request, pupil_id: Annotated[int, Form(ge=1, le=MAX_DB_INT)],
                     starts_at: Annotated[datetime.datetime, Form()], ends_at: Annotated[datetime.datetime, Form()],
                     reason_id: Annotated[int, Form(ge=1, le=MAX_DB_INT)],
                     comment: Annotated[str, Form(max_length=500)] = "",
                     document: Annotated[UploadedFile | None, File(
                         description="PDF, JPEG ou PNG, 5 Mo au plus (facultatif).")] = None):
    """By a guardian with parental authority, from today on: the absence awaits vie scolaire's decision
    (`pending`), the roll calls show the pupil absent."""
    pupil = _visible_pupil(request.actor, pupil_id)
    rec = _run(lambda: services.announce_absence(
        pupil=pupil, starts_at=starts_at, ends_at=ends_at, reason=reason_id, comment=comment, document=document,
        by=request.user, request=request))
    return Status(201, record_out(AttendanceRecord.objects.select_related("pupil", "reason", "course").get(pk=rec.pk)))


@router.post("/attendance/justifications/{justification_id}/decision",
             response=responses(JustificationOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
             summary="Accepter ou refuser une justification (vie scolaire)")
def decide_justification(request, justification_id: int, data: DecisionIn):
    """A refusal needs a comment (shown to the family). The family is notified."""
    justification = policy.access_justification(request.actor, justification_id)
    _run(lambda: services.decide_justification(justification=justification, accept=data.accept, by=request.user,
                                               comment=data.comment, request=request))
    return justification_out(_justifications().get(pk=justification.pk))


def _document_response(field_file, name: str):
    if not field_file:
        raise Http404
    try:
        handle = field_file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    extension = field_file.name.rpartition(".")[2].lower()
    content_type = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg"}.get(extension,
                                                                                          "application/octet-stream")
    response = FileResponse(handle, as_attachment=True, filename=name or f"document.{extension}",
                            content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@router.get("/attendance/justifications/{justification_id}/document", response=responses(FileDownload, NOT_FOUND),
            summary="Le document joint à une justification")
def justification_document(request, justification_id: int):
    justification = policy.access_justification(request.actor, justification_id)
    _log_reads(request, [justification.pupil], justification.establishment_id)
    return _document_response(justification.document, justification.document_name)


# --- Incidents and punishments --------------------------------------------------------------------------------

@router.get("/attendance/incidents", response=responses(IncidentPage), summary="Incidents")
def list_incidents(request, page: Query[PageParams], establishment: Id | None = None):
    """Vie scolaire sees its establishment's; others the incidents they reported."""
    queryset = policy.incidents_visible_to(request.actor)
    if establishment is not None:
        queryset = queryset.filter(establishment_id=establishment)
    queryset = queryset.select_related("reported_by").prefetch_related("pupils").order_by("-occurred_at", "-pk")
    result = paginate(queryset, page)
    _log_reads(request, {p.pk for incident in result["items"] for p in incident.pupils.all()})
    result["items"] = [incident_out(i) for i in result["items"]]
    return result


@router.post("/attendance/incidents", response=responses(IncidentOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Signaler un incident")
def create_incident(request, data: IncidentIn):
    actor = request.actor
    establishment = _own_establishment(actor, data.establishment_id)
    course = None
    if data.course_id is not None:
        from preau.timetable.models import Course

        course = Course.objects.filter(pk=data.course_id, establishment_id=establishment.pk).first()
        if course is None:
            raise Http404
    incident = _run(lambda: services.report_incident(
        establishment_id=establishment.pk, occurred_at=data.occurred_at, facts=data.facts, pupils=data.pupils,
        by=request.user, place=data.place, course=course, request=request))
    return Status(201, incident_out(incident))


def _punishments():
    return Punishment.objects.select_related("pupil", "set_by")


@router.get("/attendance/punishments", response=responses(PunishmentPage, NOT_FOUND),
            summary="Punitions et sanctions")
def list_punishments(request, page: Query[PageParams], pupil: Id | None = None, establishment: Id | None = None):
    queryset = policy.punishments_visible_to(request.actor).select_related("pupil", "set_by")
    return _pupil_rows(request, queryset.order_by("-set_at", "-pk"), page, pupil, establishment, punishment_out)


@router.post("/attendance/punishments",
             response=responses(PunishmentOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Donner une punition ou une sanction")
def create_punishment(request, data: PunishmentIn):
    """Teachers of the pupil and vie scolaire: extra work, detention, course exclusion; leadership also warning,
    reprimand and temporary exclusion (403 otherwise). The family is notified."""
    actor = request.actor
    pupil = _visible_pupil(actor, data.pupil_id)
    incident = None
    if data.incident_id is not None:
        incident = policy.access_incident(actor, data.incident_id)
    punishment = _run(lambda: services.set_punishment(
        pupil=pupil, kind=data.kind, reason=data.reason, by=request.user, incident=incident, serve_on=data.serve_on,
        duration_minutes=data.duration_minutes, serve_until=data.serve_until, place=data.place, work=data.work,
        request=request))
    return Status(201, punishment_out(_punishments().get(pk=punishment.pk)))


@router.post("/attendance/punishments/{punishment_id}/served",
             response=responses(PunishmentOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND), summary="Punition effectuée")
def punishment_served(request, punishment_id: int, data: ServedIn):
    punishment = policy.access_punishment(request.actor, punishment_id)
    _run(lambda: services.mark_punishment_served(punishment=punishment, by=request.user, served=data.served,
                                                 request=request))
    return punishment_out(_punishments().get(pk=punishment.pk))


@router.post("/attendance/punishments/{punishment_id}/cancel",
             response=responses(PunishmentOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND), summary="Lever une punition")
def punishment_cancel(request, punishment_id: int, data: CommentIn):
    punishment = policy.access_punishment(request.actor, punishment_id)
    _run(lambda: services.cancel_punishment(punishment=punishment, by=request.user, comment=data.comment,
                                            request=request))
    return punishment_out(_punishments().get(pk=punishment.pk))


# --- Exemptions and exit regimes ---------------------------------------------------------------------------------

@router.get("/attendance/exemptions", response=responses(ExemptionPage, NOT_FOUND), summary="Dispenses")
def list_exemptions(request, page: Query[PageParams], pupil: Id | None = None, establishment: Id | None = None):
    queryset = policy.exemptions_visible_to(request.actor).select_related("pupil", "subject")
    actor = request.actor
    return _pupil_rows(request, queryset.order_by("-first_day", "-pk"), page, pupil, establishment,
                       lambda e: exemption_out(e, policy.can_read_exemption_details(actor, e)))


@router.post("/attendance/exemptions",
             response=responses(ExemptionOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Enregistrer une dispense (multipart/form-data)")
def create_exemption(request, pupil_id: Annotated[int, Form(ge=1, le=MAX_DB_INT)],
                     first_day: Annotated[datetime.date, Form()], last_day: Annotated[datetime.date, Form()],
                     subject_id: Annotated[int | None, Form(ge=1, le=MAX_DB_INT)] = None,
                     must_attend: Annotated[bool, Form()] = True,
                     comment: Annotated[str, Form(max_length=500)] = "",
                     document: Annotated[UploadedFile | None, File(description="Certificat : PDF, JPEG ou PNG, "
                                                                               "5 Mo au plus.")] = None):
    """Vie scolaire, leadership or the nurse. The family is notified."""
    pupil = policy.access_exemption_pupil(request.actor, pupil_id)
    exemption = _run(lambda: services.record_exemption(
        pupil=pupil, first_day=first_day, last_day=last_day, subject=subject_id, must_attend=must_attend,
        comment=comment, document=document, by=request.user, request=request))
    return Status(201, exemption_out(Exemption.objects.select_related("pupil", "subject").get(pk=exemption.pk)))


@router.get("/attendance/exemptions/{exemption_id}/document", response=responses(FileDownload, NOT_FOUND),
            summary="Le certificat d'une dispense")
def exemption_document(request, exemption_id: int):
    exemption = policy.access_exemption_document(request.actor, exemption_id)
    _log_reads(request, [exemption.pupil], exemption.establishment_id)
    return _document_response(exemption.document, exemption.document_name)


@router.get("/attendance/pupils/{pupil_id}/exit-regime", response=responses(ExitRegimeOut, NOT_FOUND),
            summary="Régime de sortie d'un élève (année en cours)")
def get_exit_regime(request, pupil_id: int):
    actor = request.actor
    pupil = _visible_pupil(actor, pupil_id)
    year = selectors.pupil_year(pupil)
    row = (policy.exit_regimes_visible_to(actor).filter(pupil_id=pupil.pk, school_year=year).first()
           if year is not None else None)
    if row is None:
        raise Http404
    _log_reads(request, [pupil])
    return exit_regime_out(pupil, row)


@router.put("/attendance/pupils/{pupil_id}/exit-regime",
            response=responses(ExitRegimeOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
            summary="Fixer le régime de sortie (vie scolaire)")
def put_exit_regime(request, pupil_id: int, data: ExitRegimeIn):
    pupil = _visible_pupil(request.actor, pupil_id)
    row = _run(lambda: services.set_exit_regime(
        pupil=pupil, by=request.user, regime=data.regime, may_leave_when_no_course=data.may_leave_when_no_course,
        may_leave_at_lunch=data.may_leave_at_lunch, comment=data.comment, request=request))
    return exit_regime_out(pupil, row)


# --- Counts, dashboard, exports ------------------------------------------------------------------------------------

def _period(first, last, year):
    if first is None or last is None:
        if year is None:
            raise api_error(400, "Indiquez la période (first et last).")
        first, last = first or year.start, last or year.end
    if last < first:
        raise api_error(400, "La fin de la période précède son début.")
    if (last - first).days > exports.MAX_EXPORT_DAYS:
        raise api_error(400, "Une période couvre une année scolaire au plus.")
    return first, last


@router.get("/attendance/pupils/{pupil_id}/counts", response=responses(PupilCountsOut, BAD_REQUEST, NOT_FOUND),
            summary="Décomptes en demi-journées d'un élève")
def pupil_counts(request, pupil_id: int, first: datetime.date | None = None, last: datetime.date | None = None):
    """Over the period asked (the school year by default) and per period of the year (trimesters, semesters)."""
    pupil = _visible_pupil(request.actor, pupil_id)
    year = selectors.pupil_year(pupil)
    first, last = _period(first, last, year)
    # Staff and teachers count only their establishments' records; the pupil and their family all of them.
    scope = policy.attendance_establishment_scope(request.actor, pupil.pk)
    counts = halfdays.half_day_counts([pupil.pk], first, last, establishment_ids=scope)[pupil.pk]
    periods = []
    if year is not None:
        for period in Period.objects.filter(school_year=year).order_by("index"):
            periods.append({"period_id": period.pk, "label": period.label, "first_day": period.start,
                            "last_day": period.end,
                            "counts": halfdays.half_day_counts([pupil.pk], period.start, period.end,
                                                               establishment_ids=scope)[pupil.pk]})
    _log_reads(request, [pupil])
    return {"pupil": _person(pupil), "first_day": first, "last_day": last, "counts": counts, "periods": periods}


@router.get("/attendance/classes/{class_id}/counts", response=responses(ClassCountsOut, BAD_REQUEST, NOT_FOUND),
            summary="Décomptes et taux d'absentéisme d'une classe")
def class_counts(request, class_id: int, first: datetime.date | None = None, last: datetime.date | None = None):
    """Rate = missed half-days / (pupils × school half-days of the period); school half-days = 2 × school days
    of the calendar (docs/attendance.md). Vie scolaire and the class's teachers."""
    school_class = policy.access_attendance_class(request.actor, class_id)  # vie scolaire, the class's teachers
    first, last = _period(first, last, school_class.school_year)
    rows, rate = selectors.class_rates(school_class, first, last)
    _log_reads(request, [row["pupil"] for row in rows], school_class.establishment_id)
    items = [{**{k: v for k, v in row.items() if k != "pupil"}, "pupil": _person(row["pupil"])} for row in rows]
    return {"school_class": _class(school_class), "first_day": first, "last_day": last, "rate": rate,
            "items": items}


@router.get("/attendance/classes/{class_id}/export",
            response=responses(FileDownload, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
            summary="Exporter une classe en CSV (flux direct)")
def class_export(request, class_id: int, kind: ExportKind = "counts", first: datetime.date | None = None,
                 last: datetime.date | None = None):
    """CSV for Excel (UTF-8 with BOM, `;`), streamed: half-day counts per pupil or the list of records."""
    school_class = policy.access_attendance_class(request.actor, class_id)
    if not policy.can_export_attendance(request.actor, school_class.establishment_id):
        raise Http404  # the class's teachers read its counts, never its export (as on the page)
    first, last = _period(first, last, school_class.school_year)
    return _run(lambda: exports.class_csv_response(school_class=school_class, first_day=first, last_day=last,
                                                   kind=kind, by=request.user, request=request))


@router.post("/attendance/exports", response=responses(ExportOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Exporter tout l'établissement en CSV (tâche de fond)")
def request_export(request, data: ExportIn):
    """Built by a background task; the caller is notified with the download link when it is ready."""
    establishment = _own_establishment(request.actor, data.establishment_id)
    token = _run(lambda: exports.request_establishment_export(
        establishment=establishment, first_day=data.first_day, last_day=data.last_day, kind=data.kind,
        by=request.user, request=request))
    return Status(201, {"token": token, "download_url": f"/api/v1/attendance/exports/{token}"})


@router.get("/attendance/exports/{token}", response=responses(FileDownload, NOT_FOUND),
            summary="Télécharger un export")
def download_export(request, token: str):
    """Only its requester downloads it (404 for anyone else, or while it is being built)."""
    return exports.export_response(user=request.user, token=token)


@router.get("/attendance/dashboard", response=responses(DashboardOut, FORBIDDEN, NOT_FOUND),
            summary="Tableau de bord de la vie scolaire")
def dashboard(request, establishment: Id):
    """Who is absent now, the roll calls not taken of today's courses already started, the unjustified absences
    and lateness of the last 30 days, the justifications to examine."""
    target = _managed_establishment(request.actor, establishment)
    data = selectors.dashboard(target, timezone.now())
    _log_reads(request, selectors.dashboard_pupils(data), target.pk)
    return {"establishment_id": target.pk, "now": data["now"],
            "absent_now": [record_out(r) for r in data["absent_now"]],
            "roll_calls_not_taken": [occurrence_out(o) for o in data["roll_calls_not_taken"]],
            "unjustified": [record_out(r) for r in data["unjustified"]],
            "unjustified_count": data["unjustified_count"],
            "pending_justifications": [justification_out(j) for j in data["pending_justifications"]]}
