"""Vie scolaire's management of attendance (docs/attendance.md, "Follow-up threshold" and "Managing reasons and
records"): the official follow-up threshold of unjustified half-days, the order of the reasons list, the data of
the management pages.

Domain code only (no request, no rendering); the pages are `manage_views.py`, the API
`api/endpoints/attendance_management.py`. Writes go through `services` (which check the policy and audit).

The threshold (Code de l'éducation, article L131-8): when a pupil misses at least **four unjustified half-days in
a month**, the head of the establishment must act (reminder to the family, then the academic authority). The month
is a calendar month; the half-days are `halfdays.half_day_counts`' (school days only, justified only when every
absence of the half-day is; a pending justification is still unjustified).
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from preau.accounts.models import User
from preau.directory.models import ClassEnrolment, Membership, Role

from . import halfdays, services
from .models import AbsenceReason, AttendanceRecord

THRESHOLD_HALF_DAYS = 4
State = AttendanceRecord.State


# --- Months -----------------------------------------------------------------------------------------------------

def month_bounds(month_first_day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """(first day, last day) of the calendar month of `month_first_day` (any day of the month is accepted)."""
    first = month_first_day.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def parse_month(value: str | None, default: datetime.date) -> datetime.date:
    """"2026-11" → 1 November 2026; empty → the month of `default`; anything else → a French ValidationError."""
    text = (value or "").strip()
    if not text:
        return default.replace(day=1)
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return datetime.date(int(year), int(month), 1)
    except ValueError:
        raise ValidationError(_("Indiquez un mois au format AAAA-MM (par exemple 2026-11).")) from None


def shift_month(month_first_day: datetime.date, delta: int) -> datetime.date:
    index = month_first_day.year * 12 + month_first_day.month - 1 + delta
    return datetime.date(index // 12, index % 12 + 1, 1)


# --- The follow-up threshold ------------------------------------------------------------------------------------

@dataclass
class OverThreshold:
    pupil: User
    school_class: str
    counts: dict[str, int]

    @property
    def unjustified(self) -> int:
        return self.counts["unjustified"]


def _candidate_ids(establishment_id: int, first: datetime.date, last: datetime.date) -> list[int]:
    """Active pupils of the establishment with at least one absence of the month that is not justified (the only
    ones who can reach the threshold): one query."""
    start, end = halfdays._bounds(first, last)
    pupils = Membership.objects.filter(establishment_id=establishment_id, role=Role.PUPIL, is_active=True,
                                       user__is_active=True).values("user_id")
    return list(AttendanceRecord.objects.filter(
        establishment_id=establishment_id, kind=AttendanceRecord.Kind.ABSENCE, starts_at__lt=end, ends_at__gt=start,
        pupil_id__in=pupils).exclude(state=State.JUSTIFIED).order_by("pupil_id")
        .values_list("pupil_id", flat=True).distinct())


def pupils_over_threshold(establishment, month_first_day: datetime.date, *,
                          threshold: int = THRESHOLD_HALF_DAYS) -> list[OverThreshold]:
    """The establishment's pupils with at least `threshold` unjustified half-days in the month of
    `month_first_day`, most unjustified half-days first, then by name. Set-based: a constant number of queries
    whatever the number of pupils (candidates, their records in one pass, the calendars, the pupils, their
    classes). No access check: callers ask `policy.can_manage_attendance` first."""
    establishment_id = getattr(establishment, "pk", establishment)
    first, last = month_bounds(month_first_day)
    ids = _candidate_ids(establishment_id, first, last)
    if not ids:
        return []
    # Only this establishment's records: a pupil's absences at a former school are not this head's to follow.
    counts = halfdays.half_day_counts(ids, first, last, establishment_ids=[establishment_id])
    over = [pupil_id for pupil_id in ids if counts[pupil_id]["unjustified"] >= threshold]
    if not over:
        return []
    pupils = User.objects.in_bulk(over)
    classes = dict(ClassEnrolment.objects.filter(
        pupil_id__in=over, school_class__school_year__is_current=True,
        school_class__school_year__establishment_id=establishment_id).values_list("pupil_id", "school_class__label"))
    rows = [OverThreshold(pupil=pupils[pupil_id], school_class=classes.get(pupil_id, ""), counts=counts[pupil_id])
            for pupil_id in over if pupil_id in pupils]
    rows.sort(key=lambda r: (-r.unjustified, r.pupil.last_name.lower(), r.pupil.first_name.lower(), r.pupil.pk))
    return rows


# --- Reasons ----------------------------------------------------------------------------------------------------

def move_reason(*, reason: AbsenceReason, by, up: bool, request=None) -> AbsenceReason:
    """Move a reason one place up or down the establishment's list (inactive ones included), through
    `services.save_reason` (vie scolaire only; audited). Positions are renumbered 10, 20, 30... when needed; only
    the reasons whose position changes are saved, in one transaction."""
    establishment_id = reason.establishment_id
    with transaction.atomic():
        ordered = list(AbsenceReason.objects.select_for_update().filter(establishment_id=establishment_id)
                       .order_by("position", "label", "pk"))
        index = next((i for i, r in enumerate(ordered) if r.pk == reason.pk), None)
        if index is None:
            raise ValidationError(_("Ce motif n'existe plus."))
        target = index - 1 if up else index + 1
        if not 0 <= target < len(ordered):
            return ordered[index]
        ordered[index], ordered[target] = ordered[target], ordered[index]
        for position, row in enumerate(ordered, start=1):
            if row.position != position * 10:
                services.save_reason(establishment_id=establishment_id, by=by, label=row.label, code=row.code,
                                     justifies=row.justifies, offered_to_families=row.offered_to_families,
                                     position=position * 10, is_active=row.is_active, reason=row)
    return next(r for r in ordered if r.pk == reason.pk)


def set_reason_active(*, reason: AbsenceReason, by, active: bool) -> AbsenceReason:
    """Deactivate (or reactivate) a reason: it is no longer offered; records keep it."""
    return services.save_reason(establishment_id=reason.establishment_id, by=by, label=reason.label,
                                code=reason.code, justifies=reason.justifies,
                                offered_to_families=reason.offered_to_families, position=reason.position,
                                is_active=active, reason=reason)


def family_reasons(pupil):
    """The reasons offered to the family of a pupil (those of the pupil's establishment)."""
    try:
        establishment_id = services._pupil_establishment_id(pupil)
    except ValidationError:
        return AbsenceReason.objects.none()
    return services.reasons_for(establishment_id, families=True)
