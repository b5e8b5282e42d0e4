"""Writes of attendance and school life: roll calls, absence records, reasons, justifications, incidents,
punishments, exemptions, exit regimes (docs/attendance.md).

Every function takes explicit keyword arguments and `by` (the user acting), asks the access policy itself
(PermissionDenied when the person may not; callers that found the object through `policy.access_*` already turned
"missing or invisible" into 404), refuses bad input with a French ValidationError, runs in one transaction, writes
the audit log and tells families through the notification centre (`notify`, which works once the transaction has
committed).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from preau.access import policy
from preau.audit.models import AuditEvent
from preau.audit.services import record as audit
from preau.directory.models import GuardianLink, Membership, Role, SchoolYear, Service, Subject
from preau.notifications.services import notifications_retract, notify

from .defaults import ensure_default_reasons
from .models import (
    AbsenceReason,
    AttendanceRecord,
    Exemption,
    ExitRegime,
    Incident,
    Justification,
    Punishment,
    RollCall,
)

PARIS = ZoneInfo("Europe/Paris")
Action = AuditEvent.Action
Kind = AttendanceRecord.Kind
State = AttendanceRecord.State

# Roll-call statuses and the record kind each one writes ("present" writes nothing).
PRESENT, ABSENT, LATE, EARLY_LEAVE, EXCLUDED = "present", "absent", "late", "early_leave", "exclusion"
KIND_OF_STATUS = {ABSENT: Kind.ABSENCE, LATE: Kind.LATE, EARLY_LEAVE: Kind.EARLY_LEAVE, EXCLUDED: Kind.EXCLUSION}
STATUS_OF_KIND = {kind: status for status, kind in KIND_OF_STATUS.items()}
STATUSES = (PRESENT, ABSENT, LATE, EARLY_LEAVE, EXCLUDED)
MAX_LATE_MINUTES = 240
MAX_SPAN = datetime.timedelta(days=366)
DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
DOCUMENT_KINDS = ("pdf", "png", "jpg")  # sniffed by content (messaging.attachments.KINDS)
_UNSET = object()


# --- Shared helpers -------------------------------------------------------------------------------------------

def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def local_day(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(PARIS).date()


def _actor(by):
    actor = policy.actor_for(by)
    if actor is None:
        raise PermissionDenied(_("Vous devez être connecté."))
    return actor


def _clean_text(value, limit: int, label: str) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise ValidationError(_("%(label)s : %(limit)s caractères au plus.") % {"label": label, "limit": limit})
    return text


def _family_url(pupil_id: int | None = None) -> str:
    """The family's attendance page of a child (or of all their children)."""
    attempts = ([("attendance:family_child", [pupil_id])] if pupil_id is not None else []) + [
        ("attendance:family", [])]
    for name, args in attempts:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return "/vie-scolaire/"


def _pupil_establishment_id(pupil, actor=None, *, managed_only: bool = False) -> int:
    """The establishment of a pupil (where they hold an active pupil membership; when several, one the actor
    manages first). ValidationError if the person is not a pupil."""
    ids = sorted(Membership.objects.filter(user_id=pupil.pk, role=Role.PUPIL, is_active=True)
                 .values_list("establishment_id", flat=True))
    if not ids:
        raise ValidationError(_("Cette personne n'est pas un élève."))
    if actor is not None:
        managed = policy.attendance_managed_establishment_ids(actor)
        for establishment_id in ids:
            if establishment_id in managed:
                return establishment_id
        if managed_only:
            raise PermissionDenied(_("Vous ne gérez pas la vie scolaire de cet élève."))
    return ids[0]


def family_recipients(pupil_ids: Iterable[int]) -> dict[int, set[int]]:
    """{pupil id: guardian ids told about their attendance}: guardians with parental authority or receiving the
    school's correspondence, whose link does not deny ATTENDANCE. One query for any number of pupils."""
    result: dict[int, set[int]] = {}
    ids = sorted({int(i) for i in pupil_ids})
    if not ids:
        return result
    rows = (GuardianLink.objects.filter(pupil_id__in=ids, guardian__is_active=True)
            .filter(Q(legal_authority=True) | Q(receives_correspondence=True))
            .values_list("pupil_id", "guardian_id", "denied_services"))
    for pupil_id, guardian_id, denied in rows:
        if Service.ATTENDANCE not in (denied or []):
            result.setdefault(pupil_id, set()).add(guardian_id)
    return result


def _notify_families(pupil_ids: Iterable[int], *, title_for, body: str = "", source_for, establishment_id: int,
                     url: str | None = None) -> set[int]:
    """One notification per pupil (to their guardians); returns the pupils whose family was told."""
    recipients = family_recipients(pupil_ids)
    for pupil_id, guardian_ids in recipients.items():
        notify(recipient_ids=guardian_ids, kind="absence", title=title_for(pupil_id), body=body,
               url=url or _family_url(pupil_id), establishment_id=establishment_id, source=source_for(pupil_id))
    return set(recipients)


def absence_source(pupil_id: int, day: datetime.date) -> str:
    """The notification source of "your child was absent on <day>": one per pupil and day."""
    return f"absence:{pupil_id}:{day.isoformat()}"


def _fmt_day(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


def _fmt_time(moment: datetime.datetime) -> str:
    return moment.astimezone(PARIS).strftime("%H:%M")


def _notify_absences(records: list[AttendanceRecord], *, establishment_id: int, now: datetime.datetime,
                     context: str = "") -> None:
    """Tell the guardians of pupils newly absent without justification, once per pupil and day (the source
    `absence:<pupil>:<day>` makes a second call a no-op), and stamp the records."""
    first_by_pupil: dict[int, AttendanceRecord] = {}
    for rec in records:
        if rec.kind == Kind.ABSENCE and rec.state == State.UNJUSTIFIED:
            first_by_pupil.setdefault(rec.pupil_id, rec)
    if not first_by_pupil:
        return
    from preau.accounts.models import User

    names = dict(User.objects.filter(pk__in=sorted(first_by_pupil)).values_list("pk", "first_name"))

    def title(pupil_id):
        rec = first_by_pupil[pupil_id]
        return _("Absence de %(name)s le %(day)s") % {"name": names.get(pupil_id, ""),
                                                       "day": _fmt_day(local_day(rec.starts_at))}

    body = context or _("Vous pouvez justifier cette absence en ligne, dans la vie scolaire de l'ENT.")
    told = _notify_families(first_by_pupil, title_for=title, body=body, establishment_id=establishment_id,
                            source_for=lambda p: absence_source(p, local_day(first_by_pupil[p].starts_at)))
    ids = [rec.pk for rec in records if rec.pupil_id in told and rec.kind == Kind.ABSENCE and rec.pk]
    if ids:
        AttendanceRecord.objects.filter(pk__in=ids).update(guardians_notified_at=now)


# --- Documents (justifications, exemption certificates) ---------------------------------------------------------

@dataclass
class CheckedDocument:
    upload: object
    name: str
    extension: str


def check_document(upload) -> CheckedDocument:
    """A PDF, JPEG or PNG of at most 5 MB, recognised by its content (not its name or the browser's type)."""
    from preau.messaging.attachments import HEAD_BYTES, KINDS, clean_name

    name = clean_name(getattr(upload, "name", "") or "justificatif")
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, os.SEEK_END)
        size = upload.tell()
    if not size:
        raise ValidationError(_("Le document « %(name)s » est vide.") % {"name": name})
    if size > DOCUMENT_MAX_BYTES:
        raise ValidationError(_("Le document « %(name)s » est trop lourd : 5 Mo au plus.") % {"name": name})
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    for extension in DOCUMENT_KINDS:
        if KINDS[extension].sniff(head, upload):
            upload.seek(0)
            return CheckedDocument(upload=upload, name=name, extension=extension)
    raise ValidationError(_("Le document « %(name)s » doit être un PDF ou une image JPEG ou PNG.") % {"name": name})


def _store_document(instance, field_name: str, checked: CheckedDocument | None) -> str:
    """Save the checked file through the storage under a random name; returns the stored name ("" if none)."""
    if checked is None:
        return ""
    field_file = getattr(instance, field_name)
    checked.upload.seek(0)
    field_file.save(f"{uuid.uuid4().hex}.{checked.extension}", checked.upload, save=False)
    instance.document_name = checked.name
    return field_file.name


@contextlib.contextmanager
def _atomic_with_document(instance, checked: CheckedDocument | None):
    """One transaction that stores the checked document (if any) and saves `instance`, then runs the block; the
    stored file is deleted again if anything fails (the row is rolled back with it)."""
    stored = ""
    try:
        with transaction.atomic():
            stored = _store_document(instance, "document", checked)
            instance.save()
            yield instance
    except BaseException:
        _discard(stored)
        raise


def _discard(name: str) -> None:
    if name:
        from preau.messaging.attachments import discard

        discard([name])


# --- Reasons ----------------------------------------------------------------------------------------------------

def reasons_for(establishment_id: int, *, families: bool = False, include_inactive: bool = False):
    """The establishment's reasons (the defaults are created the first time), in their order."""
    ensure_default_reasons(establishment_id)
    queryset = AbsenceReason.objects.filter(establishment_id=establishment_id)
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    if families:
        queryset = queryset.filter(offered_to_families=True)
    return queryset.order_by("position", "label")


def _check_manager(actor, establishment_id: int) -> None:
    if not policy.can_manage_attendance(actor, establishment_id):
        raise PermissionDenied(_("Seule la vie scolaire de l'établissement peut faire cela."))


def save_reason(*, establishment_id: int, by, label: str, code: str = "", justifies: bool = True,
                offered_to_families: bool = True, position: int | None = None, is_active: bool = True,
                reason: AbsenceReason | None = None) -> AbsenceReason:
    """Create a reason, or change `reason` (vie scolaire). Reasons are deactivated, never deleted (records keep
    them)."""
    actor = _actor(by)
    _check_manager(actor, establishment_id)
    label = " ".join((label or "").split())
    if not label:
        raise ValidationError(_("Donnez un libellé au motif."))
    if len(label) > 120:
        raise ValidationError(_("Le libellé du motif : 120 caractères au plus."))
    ensure_default_reasons(establishment_id)
    if reason is not None and reason.establishment_id != establishment_id:
        raise PermissionDenied
    code = (code or "").strip().upper()[:16]
    existing = AbsenceReason.objects.filter(establishment_id=establishment_id)
    if reason is None:
        if not code:
            base = "".join(ch for ch in label.upper() if ch.isalnum())[:12] or "MOTIF"
            code, n = base, 1
            while existing.filter(code=code).exists():
                n += 1
                code = f"{base[:12]}{n}"
        elif existing.filter(code=code).exists():
            raise ValidationError(_("Un motif porte déjà le code %(code)s.") % {"code": code})
        if position is None:
            last = existing.order_by("-position").values_list("position", flat=True).first() or 0
            position = last + 10
        reason = AbsenceReason(establishment_id=establishment_id, code=code)
    elif code and code != reason.code:
        if existing.filter(code=code).exclude(pk=reason.pk).exists():
            raise ValidationError(_("Un motif porte déjà le code %(code)s.") % {"code": code})
        reason.code = code
    reason.label = label
    reason.justifies = bool(justifies)
    reason.offered_to_families = bool(offered_to_families)
    reason.is_active = bool(is_active)
    if position is not None:
        reason.position = max(0, min(int(position), 32767))
    with transaction.atomic():
        reason.save()
        audit(Action.ATTENDANCE_CHANGED, actor=by, establishment_id=establishment_id, target="attendance.reason",
              reason=reason.pk, label=reason.label, active=reason.is_active)
    return reason


def _reason(reason, establishment_id: int, *, families: bool = False) -> AbsenceReason | None:
    """A reason (object or id) of the establishment, active (and offered to families when asked), or None."""
    if reason in (None, ""):
        return None
    reason_id = getattr(reason, "pk", reason)
    ensure_default_reasons(establishment_id)
    queryset = AbsenceReason.objects.filter(establishment_id=establishment_id, is_active=True)
    if families:
        queryset = queryset.filter(offered_to_families=True)
    try:
        return queryset.get(pk=int(reason_id))
    except (AbsenceReason.DoesNotExist, ValueError, TypeError):
        raise ValidationError(_("Choisissez un motif de la liste.")) from None


# --- Roll call --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mark:
    status: str = PRESENT
    late_minutes: int | None = None
    left_at: datetime.time | None = None
    comment: str = ""


@dataclass
class RollCallSheet:
    """Everything a roll-call screen needs for one occurrence: the pupils in order, the prefilled marks, who is
    covered by an absence recorded elsewhere (shown absent, not editable here), who is exempted today."""

    occurrence: object
    pupils: list
    marks: dict[int, dict]
    roll_call: RollCall | None
    covered: dict[int, AttendanceRecord] = field(default_factory=dict)
    exempted: dict[int, Exemption] = field(default_factory=dict)

    @property
    def taken(self) -> bool:
        return self.roll_call is not None


def _occurrence(course, planned_date, known=None):
    """The occurrence of `course` planned on `planned_date`; `known`, when the caller already loaded it in this
    request (the roll-call page and API do), saves reading it again."""
    from preau.timetable import selectors as tt

    if known is not None and known.course.pk == course.pk and known.date == planned_date:
        return known
    occ = tt.occurrence(course.pk, planned_date)
    if occ is None:
        raise ValidationError(_("Ce cours n'a pas lieu à cette date."))
    return occ


def _covering_records(pupil_ids, occ) -> dict[int, AttendanceRecord]:
    """Absences recorded outside any roll call (vie scolaire, family) overlapping the occurrence."""
    if not pupil_ids:
        return {}
    rows = (AttendanceRecord.objects.filter(pupil_id__in=sorted(pupil_ids), kind=Kind.ABSENCE,
                                            roll_call__isnull=True, starts_at__lt=occ.end, ends_at__gt=occ.start)
            .select_related("reason").order_by("starts_at", "pk"))
    covered: dict[int, AttendanceRecord] = {}
    for row in rows:
        covered.setdefault(row.pupil_id, row)
    return covered


def _mark_of(rec: AttendanceRecord) -> dict:
    return {"status": STATUS_OF_KIND.get(rec.kind, ABSENT), "late_minutes": rec.late_minutes,
            "left_at": local_time(rec.starts_at) if rec.kind == Kind.EARLY_LEAVE else None,
            "comment": rec.comment, "record_id": rec.pk, "state": rec.state, "covered": False}


def local_time(moment: datetime.datetime) -> datetime.time:
    return moment.astimezone(PARIS).time().replace(second=0, microsecond=0)


def roll_call_sheet(course, planned_date: datetime.date, *, occurrence=None) -> RollCallSheet:
    """The roll call of an occurrence as it stands (no access check: ask `policy.can_take_roll_call` first).
    A constant number of queries whatever the class size."""
    occ = _occurrence(course, planned_date, occurrence)
    pupils = list(_pupils_of(occ))
    ids = [p.pk for p in pupils]
    roll_call = RollCall.objects.filter(course_id=course.pk, date=planned_date).first()
    own = {}
    if roll_call is not None:
        own = {r.pupil_id: r for r in AttendanceRecord.objects.filter(roll_call=roll_call)}
    covered = _covering_records(ids, occ)
    marks: dict[int, dict] = {}
    for pupil_id in ids:
        if pupil_id in own:
            marks[pupil_id] = _mark_of(own[pupil_id])
        elif pupil_id in covered:
            rec = covered[pupil_id]
            marks[pupil_id] = {"status": ABSENT, "late_minutes": None, "left_at": None, "comment": rec.comment,
                               "record_id": rec.pk, "state": rec.state, "covered": True}
        else:
            marks[pupil_id] = {"status": PRESENT, "late_minutes": None, "left_at": None, "comment": "",
                               "record_id": None, "state": None, "covered": False}
    day = occ.day
    exempted = {}
    if ids:
        exemptions = Exemption.objects.filter(pupil_id__in=ids, first_day__lte=day, last_day__gte=day)
        subject_id = course.subject_id
        for exemption in exemptions:
            if exemption.subject_id is None or exemption.subject_id == subject_id:
                exempted.setdefault(exemption.pupil_id, exemption)
    return RollCallSheet(occurrence=occ, pupils=pupils, marks=marks, roll_call=roll_call, covered=covered,
                         exempted=exempted)


def roll_call_state(course, planned_date: datetime.date) -> dict[int, dict]:
    """{pupil id: mark} prefilling a roll call: its saved marks, absences already known from records spanning the
    occurrence (`covered`), "present" otherwise."""
    return roll_call_sheet(course, planned_date).marks


def _pupils_of(occ):
    from preau.timetable import selectors as tt

    return tt.pupils_of_occurrence(occ)


def roll_call_editable(actor, occ, now: datetime.datetime | None = None) -> bool:
    """Whether the actor may (still) save this roll call: vie scolaire any time (from the day of the course on);
    the course's teacher (or the occurrence's replacement teacher) on the day of the course only, until midnight
    Europe/Paris."""
    if actor is None or occ.status == "cancelled":
        return False
    today = local_day(_now(now))
    if today < occ.day:
        return False
    if policy.can_manage_attendance(actor, occ.course.establishment_id):
        return True
    if not any(t.pk == actor.id for t in occ.teachers):
        return False
    if Role.TEACHER not in actor.roles_in(occ.course.establishment_id):
        return False
    return today == occ.day


def _parse_mark(pupil_id, value) -> Mark:
    if isinstance(value, Mark):
        return value
    if isinstance(value, str):
        value = {"status": value}
    if not isinstance(value, Mapping):
        raise ValidationError(_("Saisie invalide pour l'élève %(id)s.") % {"id": pupil_id})
    status = str(value.get("status") or PRESENT)
    if status not in STATUSES:
        raise ValidationError(_("État inconnu « %(s)s » (présent, absent, retard, départ, exclusion).")
                              % {"s": status})
    minutes = value.get("late_minutes")
    if status == LATE:
        try:
            minutes = int(minutes)
        except (TypeError, ValueError):
            raise ValidationError(_("Indiquez les minutes de retard.")) from None
        if not 1 <= minutes <= MAX_LATE_MINUTES:
            raise ValidationError(_("Le retard doit être compris entre 1 et %(max)s minutes.")
                                  % {"max": MAX_LATE_MINUTES})
    else:
        minutes = None
    left_at = value.get("left_at")
    if status == EARLY_LEAVE and left_at not in (None, ""):
        if isinstance(left_at, str):
            try:
                left_at = datetime.time.fromisoformat(left_at)
            except ValueError:
                raise ValidationError(_("Heure de départ invalide (HH:MM).")) from None
        elif not isinstance(left_at, datetime.time):
            raise ValidationError(_("Heure de départ invalide (HH:MM)."))
    else:
        left_at = None
    comment = _clean_text(value.get("comment"), 500, _("Commentaire"))
    return Mark(status=status, late_minutes=minutes, left_at=left_at, comment=comment)


def _span(mark: Mark, occ, now: datetime.datetime, existing: AttendanceRecord | None):
    """(starts_at, ends_at) of the record a mark writes."""
    start, end = occ.start, occ.end
    if mark.status == LATE:
        return start, min(end, start + datetime.timedelta(minutes=mark.late_minutes))
    if mark.status == EARLY_LEAVE:
        if mark.left_at is not None:
            left = datetime.datetime.combine(occ.day, mark.left_at, tzinfo=PARIS)
            if not start <= left < end:
                raise ValidationError(_("L'heure de départ doit être pendant le cours."))
            return left, end
        if existing is not None and existing.kind == Kind.EARLY_LEAVE:
            return existing.starts_at, existing.ends_at
        return min(max(now, start), end), end
    if mark.status == EXCLUDED:
        if existing is not None and existing.kind == Kind.EXCLUSION:
            return existing.starts_at, existing.ends_at
        return min(max(now, start), end), end
    return start, end


def take_roll_call(*, course, planned_date: datetime.date, marks: Mapping, by, now=None,
                   request=None, occurrence=None) -> RollCall:
    """Save the roll call of an occurrence. Pupils not in `marks` are present; `marks` maps pupil ids to
    `{"status": "present"|"absent"|"late"|"early_leave"|"exclusion", "late_minutes": int, "left_at": "HH:MM",
    "comment": str}` (or just the status). Re-submitting replaces the marks (unchanged ones keep their record,
    justification and notification). Pupils covered by an absence recorded elsewhere keep that record and get
    none here. Guardians of pupils newly absent are notified once the transaction commits (once per pupil and
    day)."""
    now = _now(now)
    actor = _actor(by)
    occ = _occurrence(course, planned_date, occurrence)
    if occ.status == "cancelled":
        raise ValidationError(_("Ce cours est annulé : il n'y a pas d'appel à faire."))
    if not policy.can_take_roll_call(actor, course, planned_date, occurrence=occ):
        raise PermissionDenied(_("Vous ne pouvez pas faire l'appel de ce cours."))
    if local_day(now) < occ.day:
        raise ValidationError(_("L'appel de ce cours ne peut pas être fait avant le jour du cours."))
    if not roll_call_editable(actor, occ, now):
        raise PermissionDenied(_("L'appel ne peut plus être modifié : adressez-vous à la vie scolaire."))
    pupils = list(_pupils_of(occ).values_list("pk", flat=True))
    expected = set(pupils)
    parsed: dict[int, Mark] = {}
    for key, value in (marks or {}).items():
        try:
            pupil_id = int(key)
        except (TypeError, ValueError):
            raise ValidationError(_("Élève inconnu : %(id)s.") % {"id": key}) from None
        if pupil_id not in expected:
            raise ValidationError(_("L'élève %(id)s ne fait pas partie de ce cours.") % {"id": pupil_id})
        parsed[pupil_id] = _parse_mark(pupil_id, value)
    establishment_id = course.establishment_id
    with transaction.atomic():
        roll_call, created = RollCall.objects.get_or_create(
            course_id=course.pk, date=planned_date,
            defaults={"establishment_id": establishment_id, "taken_by": by, "taken_at": now,
                      "expected_count": len(pupils)})
        if not created:
            roll_call = RollCall.objects.select_for_update().get(pk=roll_call.pk)
            roll_call.updated_by = by
            roll_call.expected_count = len(pupils)
            roll_call.save(update_fields=["updated_by", "expected_count", "updated_at"])
        existing = {r.pupil_id: r for r in AttendanceRecord.objects.select_for_update().filter(roll_call=roll_call)}
        covered = _covering_records(pupils, occ)
        to_create, to_update, to_delete, newly_absent = [], [], [], []
        for pupil_id in pupils:
            mark = parsed.get(pupil_id, Mark())
            current = existing.get(pupil_id)
            if mark.status == PRESENT or pupil_id in covered:
                if current is not None:
                    to_delete.append(current)
                continue
            kind = KIND_OF_STATUS[mark.status]
            starts_at, ends_at = _span(mark, occ, now, current)
            if current is None:
                rec = AttendanceRecord(
                    establishment_id=establishment_id, pupil_id=pupil_id, kind=kind, starts_at=starts_at,
                    ends_at=ends_at, late_minutes=mark.late_minutes, course_id=course.pk, course_date=planned_date,
                    roll_call=roll_call, source=AttendanceRecord.Source.ROLL_CALL, comment=mark.comment,
                    recorded_by=by, created_at=now)
                to_create.append(rec)
                if kind == Kind.ABSENCE:
                    newly_absent.append(rec)
                continue
            changed = (current.kind != kind or current.starts_at != starts_at or current.ends_at != ends_at
                       or current.late_minutes != mark.late_minutes or current.comment != mark.comment)
            if changed:
                if current.kind != kind:
                    if kind == Kind.ABSENCE:
                        newly_absent.append(current)
                    if current.state != State.JUSTIFIED:
                        current.state = State.UNJUSTIFIED
                current.kind, current.starts_at, current.ends_at = kind, starts_at, ends_at
                current.late_minutes, current.comment = mark.late_minutes, mark.comment
                current.recorded_by = by
                to_update.append(current)
        if to_delete:
            AttendanceRecord.objects.filter(pk__in=[r.pk for r in to_delete]).delete()
        if to_create:
            AttendanceRecord.objects.bulk_create(to_create)
            if any(r.pk is None for r in to_create):  # backends that do not return ids
                by_pupil = dict(AttendanceRecord.objects.filter(roll_call=roll_call).values_list("pupil_id", "pk"))
                for rec in to_create:
                    rec.pk = rec.id = by_pupil.get(rec.pupil_id)
        if to_update:
            for rec in to_update:
                rec.updated_at = now
            AttendanceRecord.objects.bulk_update(
                to_update, ["kind", "starts_at", "ends_at", "late_minutes", "comment", "state", "recorded_by",
                            "updated_at"])
        counts = {status: 0 for status in STATUSES if status != PRESENT}
        for pupil_id, mark in parsed.items():
            if mark.status != PRESENT and pupil_id not in covered:
                counts[mark.status] += 1
        audit(Action.ROLL_CALL_TAKEN, actor=by, request=request, establishment_id=establishment_id,
              target="attendance.roll_call", course=course.pk, date=planned_date.isoformat(),
              first=created, expected=len(pupils), covered=len(covered), **counts)
        newly_absent = [r for r in newly_absent if r.guardians_notified_at is None]
        _notify_absences(newly_absent, establishment_id=establishment_id, now=now,
                         context=_("%(course)s, %(start)s–%(end)s. Vous pouvez justifier cette absence en ligne.")
                         % {"course": occ.label, "start": _fmt_time(occ.start), "end": _fmt_time(occ.end)})
        _retract_withdrawn(to_delete, now=now)
    return roll_call


def _retract_withdrawn(deleted: list[AttendanceRecord], *, now) -> None:
    """A pupil marked absent by mistake then present: take back the day's notice if no other absence of that day
    was notified."""
    notified = [r for r in deleted if r.kind == Kind.ABSENCE and r.guardians_notified_at is not None]
    for rec in notified:
        day = local_day(rec.starts_at)
        start = datetime.datetime.combine(day, datetime.time.min, tzinfo=PARIS)
        others = AttendanceRecord.objects.filter(
            pupil_id=rec.pupil_id, kind=Kind.ABSENCE, guardians_notified_at__isnull=False,
            starts_at__lt=start + datetime.timedelta(days=1), ends_at__gt=start).exclude(pk=rec.pk)
        if not others.exists():
            guardians = family_recipients([rec.pupil_id]).get(rec.pupil_id, set())
            source = absence_source(rec.pupil_id, day)
            transaction.on_commit(lambda g=guardians, s=source: notifications_retract(recipient_ids=g, source=s),
                                  robust=True)


# --- Absence records (vie scolaire) --------------------------------------------------------------------------

def paris_aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    """A datetime without a time zone is a wall-clock time in Europe/Paris."""
    if moment is not None and timezone.is_naive(moment):
        return moment.replace(tzinfo=PARIS)
    return moment


def _check_span(starts_at, ends_at) -> None:
    if starts_at is None or ends_at is None:
        raise ValidationError(_("Indiquez le début et la fin."))
    if ends_at <= starts_at:
        raise ValidationError(_("La fin doit être après le début."))
    if ends_at - starts_at > MAX_SPAN:
        raise ValidationError(_("Une absence ne peut pas dépasser une année scolaire."))


def _absorb_roll_call_absences(pupil_id: int, starts_at, ends_at) -> int:
    """Delete the roll-call absences entirely inside [starts_at, ends_at) that nobody has acted on (unjustified,
    no justification attached): the new record covers them. Justified, pending or refused ones stay, with their
    justification: a family's document or vie scolaire's decision is never lost (the half-day counts read
    overlapping records once)."""
    absorbed, _detail = (AttendanceRecord.objects.filter(
        pupil_id=pupil_id, kind=Kind.ABSENCE, roll_call__isnull=False, starts_at__gte=starts_at,
        ends_at__lte=ends_at, state=State.UNJUSTIFIED, justifications__isnull=True).delete())
    return absorbed


def record_absence(*, pupil, starts_at: datetime.datetime, ends_at: datetime.datetime, by,
                   kind: str = Kind.ABSENCE, reason=None, comment: str = "", late_minutes: int | None = None,
                   course=None, course_date: datetime.date | None = None, state: str | None = None,
                   now=None, request=None) -> AttendanceRecord:
    """Vie scolaire records an absence (over several courses or days: sickness, a trip), a lateness, an early
    leaving or an exclusion. A reason that justifies makes the record justified (unless `state` says otherwise).
    Roll-call absences entirely inside the span, unjustified and without a justification, are absorbed (deleted:
    the new record covers them; decided or pending ones stay). Guardians are told of an unjustified absence (once
    per pupil and day)."""
    now = _now(now)
    actor = _actor(by)
    establishment_id = _pupil_establishment_id(pupil, actor, managed_only=True)
    _check_manager(actor, establishment_id)
    if kind not in Kind.values:
        raise ValidationError(_("Type d'absence inconnu."))
    starts_at, ends_at = paris_aware(starts_at), paris_aware(ends_at)
    _check_span(starts_at, ends_at)
    reason_obj = _reason(reason, establishment_id)
    if state is None:
        state = State.JUSTIFIED if reason_obj is not None and reason_obj.justifies else State.UNJUSTIFIED
    elif state not in State.values:
        raise ValidationError(_("État de justification inconnu."))
    if kind == Kind.LATE:
        if late_minutes is None:
            late_minutes = max(1, int((ends_at - starts_at).total_seconds() // 60))
        if not 1 <= int(late_minutes) <= MAX_LATE_MINUTES:
            raise ValidationError(_("Le retard doit être compris entre 1 et %(max)s minutes.")
                                  % {"max": MAX_LATE_MINUTES})
    else:
        late_minutes = None
    if course is not None and course.establishment_id != establishment_id:
        raise ValidationError(_("Ce cours n'est pas de cet établissement."))
    comment = _clean_text(comment, 500, _("Commentaire"))
    with transaction.atomic():
        absorbed = 0
        if kind == Kind.ABSENCE:
            absorbed = _absorb_roll_call_absences(pupil.pk, starts_at, ends_at)
        rec = AttendanceRecord.objects.create(
            establishment_id=establishment_id, pupil=pupil, kind=kind, starts_at=starts_at, ends_at=ends_at,
            late_minutes=late_minutes, course=course, course_date=course_date if course is not None else None,
            source=AttendanceRecord.Source.VIE_SCOLAIRE, reason=reason_obj, comment=comment, state=state,
            recorded_by=by, created_at=now)
        audit(Action.ATTENDANCE_RECORDED, actor=by, subject=pupil, request=request,
              establishment_id=establishment_id, target="attendance.record", record=rec.pk, kind=kind,
              starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(), state=state, absorbed=absorbed)
        _notify_absences([rec], establishment_id=establishment_id, now=now)
    return rec


def update_record(*, record: AttendanceRecord, by, kind=_UNSET, starts_at=_UNSET, ends_at=_UNSET,
                  late_minutes=_UNSET, reason=_UNSET, comment=_UNSET, state=_UNSET, now=None,
                  request=None) -> AttendanceRecord:
    """Vie scolaire changes a record. Choosing a reason without a state justifies the record when the reason does
    ("Sans motif" makes it unjustified)."""
    actor = _actor(by)
    _check_manager(actor, record.establishment_id)
    changes: dict[str, object] = {}
    with transaction.atomic():
        rec = AttendanceRecord.objects.select_for_update().get(pk=record.pk)
        if kind is not _UNSET and kind != rec.kind:
            if kind not in Kind.values:
                raise ValidationError(_("Type d'absence inconnu."))
            changes["kind"] = rec.kind = kind
        new_start = rec.starts_at if starts_at is _UNSET else paris_aware(starts_at)
        new_end = rec.ends_at if ends_at is _UNSET else paris_aware(ends_at)
        if (new_start, new_end) != (rec.starts_at, rec.ends_at):
            _check_span(new_start, new_end)
            rec.starts_at, rec.ends_at = new_start, new_end
            changes["span"] = [new_start.isoformat(), new_end.isoformat()]
        if rec.kind == Kind.LATE:
            if late_minutes is not _UNSET and late_minutes != rec.late_minutes:
                if late_minutes is None or not 1 <= int(late_minutes) <= MAX_LATE_MINUTES:
                    raise ValidationError(_("Le retard doit être compris entre 1 et %(max)s minutes.")
                                          % {"max": MAX_LATE_MINUTES})
                changes["late_minutes"] = rec.late_minutes = int(late_minutes)
        else:
            rec.late_minutes = None
        if reason is not _UNSET:
            reason_obj = _reason(reason, rec.establishment_id)
            if (reason_obj.pk if reason_obj else None) != rec.reason_id:
                rec.reason = reason_obj
                changes["reason"] = reason_obj.pk if reason_obj else None
                if state is _UNSET and reason_obj is not None:
                    state = State.JUSTIFIED if reason_obj.justifies else State.UNJUSTIFIED
        if comment is not _UNSET:
            text = _clean_text(comment, 500, _("Commentaire"))
            if text != rec.comment:
                changes["comment"] = True
                rec.comment = text
        if state is not _UNSET and state != rec.state:
            if state not in State.values:
                raise ValidationError(_("État de justification inconnu."))
            changes["state"] = rec.state = state
        if changes:
            rec.save()
            audit(Action.ATTENDANCE_CHANGED, actor=by, subject=rec.pupil, request=request,
                  establishment_id=rec.establishment_id, target="attendance.record", record=rec.pk,
                  changes=sorted(changes))
    return rec


def delete_record(*, record: AttendanceRecord, by, request=None) -> None:
    """Vie scolaire deletes a record entered by mistake. A pending justification left with no record goes too (it
    would wait in the queue for nothing), with its document."""
    actor = _actor(by)
    _check_manager(actor, record.establishment_id)
    with transaction.atomic():
        audit(Action.ATTENDANCE_CHANGED, actor=by, subject=record.pupil, request=request,
              establishment_id=record.establishment_id, target="attendance.record", record=record.pk,
              deleted=True, kind=record.kind, starts_at=record.starts_at.isoformat())
        justification_ids = list(record.justifications.values_list("pk", flat=True))
        AttendanceRecord.objects.filter(pk=record.pk).delete()
        emptied = list(Justification.objects.filter(pk__in=justification_ids, state=Justification.State.PENDING,
                                                    records__isnull=True))
        for justification in emptied:
            name = justification.document.name if justification.document else ""
            justification.delete()
            if name:
                transaction.on_commit(lambda n=name: _discard(n))


# --- Justifications --------------------------------------------------------------------------------------------

JUSTIFIABLE_STATES = (State.UNJUSTIFIED, State.REFUSED)


def submit_justification(*, pupil, records, reason, by, comment: str = "", document=None, now=None,
                         request=None) -> Justification:
    """A guardian with parental authority (or vie scolaire) justifies records of a pupil not yet justified: a
    reason from the list offered to families, a comment, an optional document (PDF/JPEG/PNG, 5 MB). The records
    await vie scolaire's decision (`pending`); justified by vie scolaire itself, they are accepted at once."""
    now = _now(now)
    actor = _actor(by)
    if not policy.can_justify(actor, pupil):
        raise PermissionDenied(_("Vous ne pouvez pas justifier les absences de cet élève."))
    ids = sorted({int(getattr(r, "pk", r)) for r in (records or ())})
    if not ids:
        raise ValidationError(_("Choisissez au moins une absence ou un retard à justifier."))
    rows = list(AttendanceRecord.objects.filter(pk__in=ids, pupil_id=pupil.pk))
    if len(rows) != len(ids):
        raise ValidationError(_("Une des absences choisies n'existe pas."))
    if any(r.state not in JUSTIFIABLE_STATES for r in rows):
        raise ValidationError(_("Une des absences choisies est déjà justifiée ou en cours d'examen."))
    establishment_ids = {r.establishment_id for r in rows}
    if len(establishment_ids) != 1:
        raise ValidationError(_("Justifiez séparément les absences de chaque établissement."))
    establishment_id = establishment_ids.pop()
    staff = policy.can_manage_attendance(actor, establishment_id)
    reason_obj = _reason(reason, establishment_id, families=not staff)
    if reason_obj is None:
        raise ValidationError(_("Choisissez un motif."))
    comment = _clean_text(comment, 2000, _("Commentaire"))
    checked = check_document(document) if document else None
    justification = Justification(establishment_id=establishment_id, pupil=pupil, reason=reason_obj,
                                  comment=comment, submitted_by=by, submitted_at=now)
    with _atomic_with_document(justification, checked):
        # Read again under a lock: two justifications sent at once (both parents, a double submit) must not both
        # take the same records; the second one is refused and its document deleted.
        locked = list(AttendanceRecord.objects.select_for_update().filter(pk__in=ids, pupil_id=pupil.pk)
                      .order_by("pk"))
        if len(locked) != len(ids) or any(r.state not in JUSTIFIABLE_STATES for r in locked):
            raise ValidationError(_("Une des absences choisies est déjà justifiée ou en cours d'examen."))
        justification.records.set(locked)
        AttendanceRecord.objects.filter(pk__in=ids).update(state=State.PENDING, updated_at=now)
        audit(Action.JUSTIFICATION_SUBMITTED, actor=by, subject=pupil, request=request,
              establishment_id=establishment_id, target="attendance.justification",
              justification=justification.pk, records=ids, reason=reason_obj.code, document=bool(checked))
        if staff:
            _decide(justification, accept=True, by=by, comment="", now=now, request=request, notify_family=False)
    return justification


def announce_absence(*, pupil, starts_at: datetime.datetime, ends_at: datetime.datetime, reason, by,
                     comment: str = "", document=None, now=None, request=None) -> AttendanceRecord:
    """A guardian with parental authority announces an absence of their child (today or later: sick this
    morning, a medical appointment next week), with a reason offered to families and an optional document. The
    record (source `family`) is `pending` with its justification until vie scolaire decides; roll calls show the
    pupil absent (covered), and roll-call absences inside the span nobody acted on are absorbed. Past absences
    are justified with `submit_justification` instead."""
    now = _now(now)
    actor = _actor(by)
    if not policy.can_justify(actor, pupil):
        raise PermissionDenied(_("Vous ne pouvez pas signaler d'absence pour cet élève."))
    establishment_id = _pupil_establishment_id(pupil)
    starts_at, ends_at = paris_aware(starts_at), paris_aware(ends_at)
    _check_span(starts_at, ends_at)
    if local_day(starts_at) < local_day(now):
        raise ValidationError(_("Une absence passée se justifie depuis la liste des absences."))
    if ends_at - starts_at > datetime.timedelta(days=31):
        raise ValidationError(_("Une absence signalée par la famille dure un mois au plus."))
    reason_obj = _reason(reason, establishment_id, families=True)
    if reason_obj is None:
        raise ValidationError(_("Choisissez un motif."))
    comment = _clean_text(comment, 500, _("Commentaire"))
    checked = check_document(document) if document else None
    justification = Justification(establishment_id=establishment_id, pupil=pupil, reason=reason_obj,
                                  comment=comment, submitted_by=by, submitted_at=now)
    with _atomic_with_document(justification, checked):
        absorbed = _absorb_roll_call_absences(pupil.pk, starts_at, ends_at)
        rec = AttendanceRecord.objects.create(
            establishment_id=establishment_id, pupil=pupil, kind=Kind.ABSENCE, starts_at=starts_at,
            ends_at=ends_at, source=AttendanceRecord.Source.FAMILY, reason=reason_obj, comment=comment,
            state=State.PENDING, recorded_by=by, created_at=now, guardians_notified_at=now)
        justification.records.set([rec])
        audit(Action.ATTENDANCE_RECORDED, actor=by, subject=pupil, request=request,
              establishment_id=establishment_id, target="attendance.record", record=rec.pk, kind=Kind.ABSENCE,
              source="family", starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(), absorbed=absorbed)
        audit(Action.JUSTIFICATION_SUBMITTED, actor=by, subject=pupil, request=request,
              establishment_id=establishment_id, target="attendance.justification",
              justification=justification.pk, records=[rec.pk], reason=reason_obj.code, document=bool(checked))
    return rec


def decide_justification(*, justification: Justification, accept: bool, by, comment: str = "", now=None,
                         request=None) -> Justification:
    """Vie scolaire accepts (records justified, with the reason) or refuses (records `refused`; a comment is
    required) a pending justification; the family is told."""
    now = _now(now)
    actor = _actor(by)
    if not policy.can_decide_justification(actor, justification):
        raise PermissionDenied(_("Seule la vie scolaire de l'établissement décide des justifications."))
    comment = _clean_text(comment, 500, _("Réponse"))
    if not accept and not comment:
        raise ValidationError(_("Expliquez à la famille pourquoi la justification est refusée."))
    with transaction.atomic():
        locked = Justification.objects.select_for_update().get(pk=justification.pk)
        if locked.state != Justification.State.PENDING:
            raise ValidationError(_("Cette justification a déjà été examinée."))
        _decide(locked, accept=accept, by=by, comment=comment, now=now, request=request, notify_family=True)
    return locked


def _decide(justification: Justification, *, accept: bool, by, comment: str, now, request,
            notify_family: bool) -> None:
    justification.state = Justification.State.ACCEPTED if accept else Justification.State.REFUSED
    justification.decided_by, justification.decided_at = by, now
    justification.decision_comment = comment
    justification.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
    records = AttendanceRecord.objects.filter(justifications=justification, state=State.PENDING)
    if accept:
        # A reason that does not justify ("Sans motif") is recorded, and the records stay unjustified.
        justifies = justification.reason is None or justification.reason.justifies
        records.update(state=State.JUSTIFIED if justifies else State.UNJUSTIFIED, reason=justification.reason_id,
                       updated_at=now)
    else:
        records.update(state=State.REFUSED, updated_at=now)
    audit(Action.JUSTIFICATION_DECIDED, actor=by, subject=justification.pupil, request=request,
          establishment_id=justification.establishment_id, target="attendance.justification",
          justification=justification.pk, accepted=bool(accept))
    if notify_family:
        pupil = justification.pupil
        title = (_("Justification acceptée pour %(name)s") if accept
                 else _("Justification refusée pour %(name)s")) % {"name": pupil.first_name}
        _notify_families([pupil.pk], title_for=lambda _p: title, body=comment,
                         establishment_id=justification.establishment_id,
                         source_for=lambda _p: f"attendance.justification:{justification.pk}")


# --- Incidents and punishments ---------------------------------------------------------------------------------

def _pupils_of_establishment(pupil_ids, establishment_id: int) -> list:
    from preau.accounts.models import User

    ids = sorted({int(getattr(p, "pk", p)) for p in pupil_ids or ()})
    if not ids:
        raise ValidationError(_("Choisissez au moins un élève."))
    found = list(User.objects.filter(
        pk__in=ids, is_active=True, memberships__establishment_id=establishment_id,
        memberships__role=Role.PUPIL, memberships__is_active=True).distinct())
    if len(found) != len(ids):
        raise ValidationError(_("Un des élèves choisis n'est pas un élève de cet établissement."))
    return found


INCIDENT_SEVERAL = _lazy("Incident impliquant plusieurs élèves.")


def report_incident(*, establishment_id: int, occurred_at: datetime.datetime, facts: str, pupils, by,
                    place: str = "", course=None, now=None, request=None) -> Incident:
    """A teacher or a staff member reports facts involving pupils of their establishment. Each pupil's family is
    notified (one notification per pupil): with the facts when the incident concerns that pupil alone; otherwise
    only "incident impliquant plusieurs élèves" (the facts may name other children), as on the family page
    (selectors.family_incidents)."""
    now = _now(now)
    actor = _actor(by)
    if not policy.can_report_incident(actor, establishment_id):
        raise PermissionDenied(_("Vous ne pouvez pas signaler d'incident dans cet établissement."))
    facts = _clean_text(facts, 4000, _("Faits"))
    if not facts:
        raise ValidationError(_("Décrivez les faits."))
    occurred_at = paris_aware(occurred_at)
    if occurred_at is None:
        raise ValidationError(_("Indiquez la date et l'heure des faits."))
    if occurred_at > now + datetime.timedelta(minutes=5):
        raise ValidationError(_("Les faits ne peuvent pas être dans le futur."))
    place = _clean_text(place, 120, _("Lieu"))
    if course is not None and course.establishment_id != establishment_id:
        raise ValidationError(_("Ce cours n'est pas de cet établissement."))
    people = _pupils_of_establishment(pupils, establishment_id)
    with transaction.atomic():
        incident = Incident.objects.create(establishment_id=establishment_id, occurred_at=occurred_at,
                                           place=place, facts=facts, course=course, reported_by=by,
                                           created_at=now)
        incident.pupils.set(people)
        audit(Action.INCIDENT_REPORTED, actor=by, request=request, establishment_id=establishment_id,
              target="attendance.incident", incident=incident.pk, pupils=[p.pk for p in people])
        names = {p.pk: p.first_name for p in people}
        when = _("Le %(day)s à %(time)s") % {"day": _fmt_day(local_day(occurred_at)), "time": _fmt_time(occurred_at)}
        if place:
            when += f", {place}"
        body = f"{when}. " + (facts[:300] if len(people) == 1 else str(INCIDENT_SEVERAL))
        _notify_families(names, title_for=lambda p: _("Incident concernant %(name)s") % {"name": names[p]},
                         body=body, establishment_id=establishment_id,
                         source_for=lambda p: f"attendance.incident:{incident.pk}:{p}")
    return incident


def set_punishment(*, pupil, kind: str, reason: str, by, incident=None, serve_on=None,
                   duration_minutes: int | None = None, serve_until: datetime.date | None = None, place: str = "",
                   work: str = "", now=None, request=None) -> Punishment:
    """A punishment (extra work, detention, course exclusion: the pupil's teachers and vie scolaire) or a sanction
    (warning, reprimand, temporary exclusion: leadership only), with the facts and when to serve it. The family
    is told."""
    now = _now(now)
    actor = _actor(by)
    if kind not in Punishment.Kind.values:
        raise ValidationError(_("Type de punition inconnu."))
    if not policy.can_punish(actor, pupil, kind):
        raise PermissionDenied(_("Vous ne pouvez pas donner cette punition à cet élève."))
    establishment_id = _pupil_establishment_id(pupil, actor)
    reason = _clean_text(reason, 2000, _("Motif"))
    if not reason:
        raise ValidationError(_("Indiquez le motif (les faits reprochés)."))
    serve_on = paris_aware(serve_on)
    if kind in (Punishment.Kind.DETENTION, Punishment.Kind.TEMPORARY_EXCLUSION) and serve_on is None:
        raise ValidationError(_("Indiquez quand la punition doit être effectuée."))
    if kind == Punishment.Kind.DETENTION:
        duration_minutes = duration_minutes or 60
    if duration_minutes is not None and not 1 <= int(duration_minutes) <= 600:
        raise ValidationError(_("Durée invalide (1 à 600 minutes)."))
    if kind == Punishment.Kind.TEMPORARY_EXCLUSION:
        if serve_until is None:
            raise ValidationError(_("Indiquez le dernier jour de l'exclusion."))
        if serve_until < local_day(serve_on):
            raise ValidationError(_("Le dernier jour de l'exclusion doit suivre le premier."))
    if incident is not None and incident.establishment_id != establishment_id:
        raise ValidationError(_("Cet incident n'est pas de cet établissement."))
    place = _clean_text(place, 120, _("Lieu"))
    work = _clean_text(work, 2000, _("Travail à faire"))
    with transaction.atomic():
        punishment = Punishment.objects.create(
            establishment_id=establishment_id, pupil=pupil, incident=incident, kind=kind, reason=reason,
            set_by=by, set_at=now, serve_on=serve_on, duration_minutes=duration_minutes, serve_until=serve_until,
            place=place, work=work)
        audit(Action.PUNISHMENT_SET, actor=by, subject=pupil, request=request, establishment_id=establishment_id,
              target="attendance.punishment", punishment=punishment.pk, kind=kind)
        label = punishment.get_kind_display()
        when = ""
        if serve_on is not None:
            when = _(" À effectuer le %(day)s à %(time)s.") % {"day": _fmt_day(local_day(serve_on)),
                                                                "time": _fmt_time(serve_on)}
        told = _notify_families([pupil.pk], title_for=lambda _p: _("%(kind)s pour %(name)s")
                                % {"kind": label, "name": pupil.first_name},
                                body=reason[:300] + when, establishment_id=establishment_id,
                                source_for=lambda _p: f"attendance.punishment:{punishment.pk}")
        if told:
            Punishment.objects.filter(pk=punishment.pk).update(guardians_notified_at=now)
            punishment.guardians_notified_at = now
    return punishment


def _check_punishment_owner(actor, punishment: Punishment) -> None:
    if policy.can_manage_attendance(actor, punishment.establishment_id):
        return
    if punishment.set_by_id == actor.id and Role.TEACHER in actor.roles_in(punishment.establishment_id):
        return
    raise PermissionDenied(_("Seuls la personne qui a donné la punition et la vie scolaire peuvent la modifier."))


def mark_punishment_served(*, punishment: Punishment, by, served: bool = True, request=None) -> Punishment:
    actor = _actor(by)
    _check_punishment_owner(actor, punishment)
    if punishment.cancelled:
        raise ValidationError(_("Cette punition a été levée."))
    with transaction.atomic():
        Punishment.objects.filter(pk=punishment.pk).update(served=bool(served))
        punishment.served = bool(served)
        audit(Action.PUNISHMENT_SET, actor=by, subject=punishment.pupil, request=request,
              establishment_id=punishment.establishment_id, target="attendance.punishment",
              punishment=punishment.pk, served=bool(served))
    return punishment


def cancel_punishment(*, punishment: Punishment, by, comment: str = "", request=None) -> Punishment:
    """Lift a punishment (the family is told)."""
    actor = _actor(by)
    _check_punishment_owner(actor, punishment)
    if punishment.cancelled:
        return punishment
    comment = _clean_text(comment, 500, _("Commentaire"))
    with transaction.atomic():
        Punishment.objects.filter(pk=punishment.pk).update(cancelled=True)
        punishment.cancelled = True
        audit(Action.PUNISHMENT_SET, actor=by, subject=punishment.pupil, request=request,
              establishment_id=punishment.establishment_id, target="attendance.punishment",
              punishment=punishment.pk, cancelled=True, comment=comment)
        pupil = punishment.pupil
        _notify_families([pupil.pk], title_for=lambda _p: _("Punition levée pour %(name)s")
                         % {"name": pupil.first_name}, body=comment, establishment_id=punishment.establishment_id,
                         source_for=lambda _p: f"attendance.punishment:{punishment.pk}:cancelled")
    return punishment


# --- Exemptions and exit regimes -------------------------------------------------------------------------------

def record_exemption(*, pupil, first_day: datetime.date, last_day: datetime.date, by, subject=None,
                     must_attend: bool = True, comment: str = "", document=None, now=None,
                     request=None) -> Exemption:
    """An exemption (e.g. from PE) between two days, with its certificate (PDF/JPEG/PNG, 5 MB): vie scolaire,
    leadership or the nurse. The family is told."""
    now = _now(now)
    actor = _actor(by)
    establishment_id = _pupil_establishment_id(pupil, actor)
    if not policy.can_record_exemption(actor, establishment_id):
        raise PermissionDenied(_("Vous ne pouvez pas enregistrer de dispense pour cet élève."))
    if first_day is None or last_day is None:
        raise ValidationError(_("Indiquez les dates de la dispense."))
    if last_day < first_day:
        raise ValidationError(_("Le dernier jour de la dispense doit suivre le premier."))
    if (last_day - first_day).days > 366:
        raise ValidationError(_("Une dispense ne peut pas dépasser une année."))
    if subject is not None:
        subject_id = getattr(subject, "pk", subject)
        subject = Subject.objects.filter(pk=subject_id, establishment_id=establishment_id).first()
        if subject is None:
            raise ValidationError(_("Cette matière n'existe pas dans cet établissement."))
    comment = _clean_text(comment, 500, _("Commentaire"))
    checked = check_document(document) if document else None
    exemption = Exemption(establishment_id=establishment_id, pupil=pupil, subject=subject, first_day=first_day,
                          last_day=last_day, must_attend=bool(must_attend), comment=comment, created_by=by,
                          created_at=now)
    with _atomic_with_document(exemption, checked):
        audit(Action.EXEMPTION_RECORDED, actor=by, subject=pupil, request=request,
              establishment_id=establishment_id, target="attendance.exemption", exemption=exemption.pk,
              first_day=first_day.isoformat(), last_day=last_day.isoformat(),
              subject_id=subject.pk if subject else None)
        what = subject.label if subject else _("toutes les activités")
        _notify_families([pupil.pk],
                         title_for=lambda _p: _("Dispense pour %(name)s") % {"name": pupil.first_name},
                         body=_("%(what)s, du %(first)s au %(last)s.") % {
                             "what": what, "first": _fmt_day(first_day), "last": _fmt_day(last_day)},
                         establishment_id=establishment_id,
                         source_for=lambda _p: f"attendance.exemption:{exemption.pk}")
    return exemption


def delete_exemption(*, exemption: Exemption, by, request=None) -> None:
    actor = _actor(by)
    if not policy.can_record_exemption(actor, exemption.establishment_id):
        raise PermissionDenied(_("Vous ne pouvez pas supprimer cette dispense."))
    name = exemption.document.name if exemption.document else ""
    with transaction.atomic():
        audit(Action.EXEMPTION_RECORDED, actor=by, subject=exemption.pupil, request=request,
              establishment_id=exemption.establishment_id, target="attendance.exemption", exemption=exemption.pk,
              deleted=True)
        Exemption.objects.filter(pk=exemption.pk).delete()
        if name:
            transaction.on_commit(lambda: _discard(name))


def current_year(establishment_id: int) -> SchoolYear | None:
    return SchoolYear.objects.filter(establishment_id=establishment_id, is_current=True).first()


def set_exit_regime(*, pupil, by, regime: str, may_leave_when_no_course: bool = False,
                    may_leave_at_lunch: bool = False, comment: str = "", school_year=None,
                    request=None) -> ExitRegime:
    """Vie scolaire sets a pupil's regime and exit authorisations for the (current) school year; the family is
    told."""
    actor = _actor(by)
    establishment_id = _pupil_establishment_id(pupil, actor, managed_only=True)
    _check_manager(actor, establishment_id)
    if regime not in ExitRegime.Regime.values:
        raise ValidationError(_("Régime inconnu."))
    year = school_year or current_year(establishment_id)
    if year is None or year.establishment_id != establishment_id:
        raise ValidationError(_("Aucune année scolaire en cours dans cet établissement."))
    comment = _clean_text(comment, 500, _("Commentaire"))
    with transaction.atomic():
        row, created = ExitRegime.objects.select_for_update().get_or_create(
            pupil=pupil, school_year=year,
            defaults={"regime": regime, "may_leave_when_no_course": bool(may_leave_when_no_course),
                      "may_leave_at_lunch": bool(may_leave_at_lunch), "comment": comment, "updated_by": by})
        values = (regime, bool(may_leave_when_no_course), bool(may_leave_at_lunch), comment)
        if not created and values != (row.regime, row.may_leave_when_no_course, row.may_leave_at_lunch,
                                      row.comment):
            row.regime, row.may_leave_when_no_course, row.may_leave_at_lunch, row.comment = values
            row.updated_by = by
            row.save()
        elif not created:
            return row
        audit(Action.ATTENDANCE_CHANGED, actor=by, subject=pupil, request=request,
              establishment_id=establishment_id, target="attendance.exit_regime", regime=regime,
              no_course=bool(may_leave_when_no_course), lunch=bool(may_leave_at_lunch))
        _notify_families([pupil.pk], title_for=lambda _p: _("Régime de sortie de %(name)s")
                         % {"name": pupil.first_name},
                         body=row.get_regime_display(), establishment_id=establishment_id,
                         source_for=lambda _p: f"attendance.exit_regime:{row.pk}:{uuid.uuid4().hex[:8]}")
    return row


def record_attendance_read(*, actor, pupil, request=None, establishment_id: int | None = None):
    """See `selectors.record_attendance_read` (here too for the pages)."""
    from .selectors import record_attendance_read as log_read

    return log_read(actor=actor, pupil=pupil, request=request, establishment_id=establishment_id)
