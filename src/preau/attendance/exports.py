"""CSV exports of attendance (docs/attendance.md, "Exports").

Files open directly in Excel (French locale): UTF-8 with a byte-order mark, `;` separators, CRLF line ends,
dates as DD/MM/YYYY and times as HH:MM (Europe/Paris). Two contents:

- `records`: one line per absence, lateness, early leaving or exclusion (pupil, class, kind, start, end, minutes,
  course, reason, state, origin, comment);
- `counts`: one line per pupil with the half-day counts of the period (missed, justified, unjustified, pending,
  lateness, minutes late, early leavings, exclusions) and the absenteeism rate.

**One class is streamed** in the response (a few hundred lines at most: no reason to wait). **A whole
establishment** (thousands of lines) is built by a Celery task (`attendance.export`) enqueued when the request
commits; the file is written through the storage (`attendance/exports/<user id>/<token>.csv`), the requester is
notified with its link, and only they can download it (`export_response`). Every export is audited
(ATTENDANCE_EXPORTED).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import secrets
from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from preau.access import policy
from preau.audit.models import AuditEvent
from preau.audit.services import record as audit
from preau.directory.models import ClassEnrolment, SchoolClass

from . import halfdays, selectors
from .models import AttendanceRecord

PARIS = ZoneInfo("Europe/Paris")
BOM = "\ufeff"
CLASS_EXPORTS = {"counts": _("Décomptes en demi-journées"), "records": _("Absences et retards")}
EXPORT_KINDS = tuple(CLASS_EXPORTS)
EXPORT_DIR = "attendance/exports"
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
MAX_EXPORT_DAYS = 400
CHUNK = 2000

RECORD_HEADER = ["Nom", "Prénom", "Classe", "Type", "Début (date)", "Début (heure)", "Fin (date)", "Fin (heure)",
                 "Minutes de retard", "Cours", "Motif", "Justification", "Origine", "Commentaire"]
COUNT_HEADER = ["Nom", "Prénom", "Classe", "Demi-journées d'absence", "Justifiées", "Non justifiées",
                "Dont en attente d'examen", "Retards", "Minutes de retard", "Départs anticipés", "Exclusions de cours",
                "Demi-journées de classe", "Taux d'absentéisme (%)"]


class _Echo:
    def write(self, value):
        return value


def _rows_to_csv(rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    yield BOM
    for row in rows:
        yield writer.writerow(["" if v is None else v for v in row])


def _check_export(by, establishment_id: int, kind: str, first_day, last_day) -> None:
    if not policy.can_export_attendance(policy.actor_for(by), establishment_id):
        raise PermissionDenied(_("Seule la vie scolaire exporte les absences."))
    if kind not in EXPORT_KINDS:
        raise ValidationError(_("Contenu d'exportation inconnu."))
    _check_period(first_day, last_day)


def _check_period(first_day: datetime.date, last_day: datetime.date) -> None:
    if first_day is None or last_day is None or last_day < first_day:
        raise ValidationError(_("Période invalide."))
    if (last_day - first_day).days > MAX_EXPORT_DAYS:
        raise ValidationError(_("Une exportation couvre une année scolaire au plus."))


def _class_names(pupil_ids, establishment_id: int) -> dict[int, str]:
    rows = ClassEnrolment.objects.filter(
        pupil_id__in=sorted(pupil_ids), school_class__establishment_id=establishment_id,
        school_class__school_year__is_current=True).values_list("pupil_id", "school_class__label")
    return dict(rows)


def record_rows(records, class_names: dict[int, str]) -> Iterator[list]:
    yield RECORD_HEADER
    for rec in records:
        start, end = rec.starts_at.astimezone(PARIS), rec.ends_at.astimezone(PARIS)
        course = rec.course.display_label if rec.course_id and rec.course else ""
        yield [rec.pupil.last_name, rec.pupil.first_name, class_names.get(rec.pupil_id, ""), rec.get_kind_display(),
               start.strftime("%d/%m/%Y"), start.strftime("%H:%M"), end.strftime("%d/%m/%Y"), end.strftime("%H:%M"),
               rec.late_minutes, course, rec.reason.label if rec.reason_id and rec.reason else "",
               rec.get_state_display(), rec.get_source_display(), rec.comment]


def count_rows(pupils, first_day, last_day, class_names: dict[int, str], establishment_id: int) -> Iterator[list]:
    yield COUNT_HEADER
    pupils = list(pupils)
    school_half_days = halfdays.school_half_days(establishment_id, first_day, last_day)
    for start in range(0, len(pupils), CHUNK):
        chunk = pupils[start:start + CHUNK]
        counts = halfdays.half_day_counts(chunk, first_day, last_day, establishment_ids=[establishment_id])
        for pupil in chunk:
            c = counts[pupil.pk]
            rate = f"{100 * c['absent'] / school_half_days:.1f}".replace(".", ",") if school_half_days else ""
            yield [pupil.last_name, pupil.first_name, class_names.get(pupil.pk, ""), c["absent"], c["justified"],
                   c["unjustified"], c["pending"], c["late"], c["late_minutes"], c["early_leave"], c["exclusion"],
                   school_half_days, rate]


def _records(establishment_id: int, first_day, last_day, pupil_ids=None):
    start, end = halfdays._bounds(first_day, last_day)
    queryset = AttendanceRecord.objects.filter(establishment_id=establishment_id, starts_at__lt=end, ends_at__gt=start)
    if pupil_ids is not None:
        queryset = queryset.filter(pupil_id__in=sorted(pupil_ids))
    return (queryset.select_related("pupil", "reason", "course__subject")
            .order_by("pupil__last_name", "pupil__first_name", "pupil_id", "starts_at").iterator(chunk_size=CHUNK))


def filename(label: str, kind: str, first_day, last_day) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-") or "export"
    return f"absences-{safe}-{kind}-{first_day:%Y%m%d}-{last_day:%Y%m%d}.csv"


# --- One class: streamed -------------------------------------------------------------------------------------

def class_csv_response(*, school_class: SchoolClass, first_day: datetime.date, last_day: datetime.date, kind: str,
                       by, request=None) -> StreamingHttpResponse:
    """The CSV of one class, streamed (vie scolaire of its establishment; PermissionDenied otherwise)."""
    _check_export(by, school_class.establishment_id, kind, first_day, last_day)
    pupils = selectors.class_pupils(school_class)
    names = {p.pk: school_class.label for p in pupils}
    if kind == "records":
        rows = record_rows(_records(school_class.establishment_id, first_day, last_day, [p.pk for p in pupils]), names)
    else:
        rows = count_rows(pupils, first_day, last_day, names, school_class.establishment_id)
    audit(AuditEvent.Action.ATTENDANCE_EXPORTED, actor=by, request=request,
          establishment_id=school_class.establishment_id, target="attendance.export", scope="class",
          school_class=school_class.pk, kind=kind, first=first_day.isoformat(), last=last_day.isoformat(),
          pupils=len(pupils))
    response = StreamingHttpResponse(_rows_to_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{filename(school_class.label, kind, first_day, last_day)}"')
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- A whole establishment: a background task ----------------------------------------------------------------

def _path(user_id: int, token: str) -> str:
    return f"{EXPORT_DIR}/{int(user_id)}/{token}.csv"


def request_establishment_export(*, establishment, first_day: datetime.date, last_day: datetime.date, kind: str,
                                 by, request=None) -> str:
    """Queue the CSV of a whole establishment (vie scolaire); returns the export's token. The task runs once the
    request's transaction commits, then notifies the requester with the download link."""
    _check_export(by, establishment.pk, kind, first_day, last_day)
    token = secrets.token_hex(16)
    with transaction.atomic():
        audit(AuditEvent.Action.ATTENDANCE_EXPORTED, actor=by, request=request, establishment_id=establishment.pk,
              target="attendance.export", scope="establishment", kind=kind, first=first_day.isoformat(),
              last=last_day.isoformat(), token=token)

        def enqueue():
            from .tasks import export_establishment

            export_establishment.delay(token=token, establishment_id=establishment.pk, user_id=by.pk,
                                       first_day=first_day.isoformat(), last_day=last_day.isoformat(), kind=kind)

        transaction.on_commit(enqueue)
    return token


def build_establishment_export(*, token: str, establishment_id: int, user_id: int, first_day: datetime.date,
                               last_day: datetime.date, kind: str) -> str:
    """Write the file (the task's body); returns its storage name. The requester is notified."""
    from preau.directory.models import Membership, Role
    from preau.notifications.services import notify

    if not TOKEN_RE.match(token):
        raise ValueError("bad export token")
    # The establishment's pupils now (active memberships): a pupil who left is no longer exported.
    pupil_ids = list(Membership.objects.filter(establishment_id=establishment_id, role=Role.PUPIL, is_active=True)
                     .values_list("user_id", flat=True))
    names = _class_names(pupil_ids, establishment_id)
    if kind == "records":
        rows = record_rows(_records(establishment_id, first_day, last_day, pupil_ids), names)
    else:
        from preau.accounts.models import User

        pupils = User.objects.filter(pk__in=pupil_ids, is_active=True).order_by("last_name", "first_name", "pk")
        rows = count_rows(pupils, first_day, last_day, names, establishment_id)
    buffer = io.StringIO()
    for chunk in _rows_to_csv(rows):
        buffer.write(chunk)
    name = default_storage.save(_path(user_id, token), ContentFile(buffer.getvalue().encode("utf-8")))
    with transaction.atomic():
        notify(recipient_ids=[user_id], kind="absence", title=_("Votre exportation des absences est prête"),
               body=_("Du %(first)s au %(last)s.") % {"first": first_day.strftime("%d/%m/%Y"),
                                                      "last": last_day.strftime("%d/%m/%Y")},
               url=f"/api/v1/attendance/exports/{token}", establishment_id=establishment_id,
               source=f"attendance.export:{token}")
    return name


def export_establishment_id(*, user, token: str) -> int | None:
    """The establishment of one of the user's export requests (its ATTENDANCE_EXPORTED audit event), or None."""
    return (AuditEvent.objects.filter(action=AuditEvent.Action.ATTENDANCE_EXPORTED, actor_id=user.pk,
                                      target="attendance.export", details__token=token)
            .values_list("establishment_id", flat=True).first())


def export_response(*, user, token: str) -> FileResponse:
    """The requester's export file as a download, while they may still export their establishment's attendance
    (someone who lost the CPE function in the 7 days the file is kept no longer downloads it); 404 for anyone
    else, an unknown or a not yet written file."""
    if user is None or not getattr(user, "is_authenticated", False) or not TOKEN_RE.match(str(token or "")):
        raise Http404
    establishment_id = export_establishment_id(user=user, token=token)
    if establishment_id is None or not policy.can_export_attendance(policy.actor_for(user), establishment_id):
        raise Http404
    path = _path(user.pk, token)
    if not default_storage.exists(path):
        raise Http404
    response = FileResponse(default_storage.open(path, "rb"), as_attachment=True, filename=f"absences-{token[:8]}.csv",
                            content_type="text/csv; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def purge_exports(*, now: datetime.datetime | None = None) -> int:
    """Delete the establishment-wide exports older than PREAU_ATTENDANCE_EXPORT_KEEP_DAYS (7): sensitive files do
    not linger in the storage. Returns the files deleted (task `attendance.purge_exports`, daily)."""
    keep = int(getattr(settings, "PREAU_ATTENDANCE_EXPORT_KEEP_DAYS", 7))
    cutoff = (now or timezone.now()) - datetime.timedelta(days=keep)
    deleted = 0
    try:
        folders, _files = default_storage.listdir(EXPORT_DIR)
    except (FileNotFoundError, NotImplementedError, OSError):
        return 0
    for folder in folders:
        try:
            _sub, files = default_storage.listdir(f"{EXPORT_DIR}/{folder}")
        except (FileNotFoundError, OSError):
            continue
        for name in files:
            path = f"{EXPORT_DIR}/{folder}/{name}"
            try:
                if default_storage.get_modified_time(path) < cutoff:
                    default_storage.delete(path)
                    deleted += 1
            except (FileNotFoundError, NotImplementedError, OSError):
                continue
    return deleted
