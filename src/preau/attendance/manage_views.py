"""Vie scolaire's management pages and the family's « Signaler une absence » (namespace "attendance", under
/vie-scolaire/; docs/attendance-pages.md, "Management pages").

- `threshold`: the pupils over the official follow-up threshold (4 unjustified half-days in a month) of the current
  establishment, month by month (`management.pupils_over_threshold`); the dashboard shows the current month's
  through the `attendance_manage` template tag.
- `reasons`, `reason_edit`, `reason_move`, `reason_active`: the establishment's list of reasons
  (`services.save_reason`, `management.move_reason`, `management.set_reason_active`).
- `record_edit`, `record_delete`: one record (`services.update_record`, `services.delete_record`).
- `announce`: a guardian announces an absence to come (`services.announce_absence`).

Views parse, ask `preau.access.policy`, call the services and render. Missing and forbidden answer 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from preau.access import policy
from preau.core import context
from preau.directory.models import Service

from . import management, selectors, services
from .family_views import run
from .manage_forms import AnnounceForm, MonthForm, ReasonForm, RecordForm
from .models import AbsenceReason


def _managed_establishment(request):
    """The current establishment when the actor is its vie scolaire (CPE, vie scolaire, leadership); else 404."""
    establishment = context.establishment(request)
    if establishment is None or not policy.can_manage_attendance(request.actor, establishment.pk):
        raise Http404
    return establishment


def _form_page(request, template: str, form, extra: dict):
    return render(request, template, {"form": form, **extra},
                  status=400 if form.is_bound and form.errors else 200)


# --- The follow-up threshold --------------------------------------------------------------------------------------

@login_required
@never_cache
@require_GET
def threshold(request):
    """/vie-scolaire/suivi/?mois=YYYY-MM: the pupils with 4 unjustified half-days or more in the month."""
    establishment = _managed_establishment(request)
    today = timezone.localdate()
    form = MonthForm(request.GET or None)
    try:
        month = management.parse_month(request.GET.get("mois"), today)
    except ValidationError as error:
        form.is_valid()
        form.add_error("mois", error)
        month = today.replace(day=1)
    rows = management.pupils_over_threshold(establishment, month)
    selectors.record_attendance_reads(actor=request.user, pupils=[row.pupil for row in rows], request=request,
                                      establishment_id=establishment.pk)
    first, last = management.month_bounds(month)
    return render(request, "attendance/manage/threshold.html", {
        "establishment": establishment, "rows": rows, "month": month, "first": first, "last": last,
        "form": form, "threshold": management.THRESHOLD_HALF_DAYS, "month_value": month.strftime("%Y-%m"),
        "previous": management.shift_month(month, -1).strftime("%Y-%m"),
        "next": management.shift_month(month, 1).strftime("%Y-%m") if month < today.replace(day=1) else None,
    }, status=400 if form.errors else 200)


# --- Reasons -------------------------------------------------------------------------------------------------------

@login_required
@never_cache
@require_GET
def reasons(request):
    establishment = _managed_establishment(request)
    rows = list(services.reasons_for(establishment.pk, include_inactive=True))
    return render(request, "attendance/manage/reasons.html", {
        "establishment": establishment,
        "rows": [{"reason": r, "first": i == 0, "last": i == len(rows) - 1} for i, r in enumerate(rows)],
    })


@login_required
@never_cache
def reason_edit(request, reason_id: int | None = None):
    """A new reason (no id) or one of the establishment's."""
    establishment = _managed_establishment(request)
    reason = None
    if reason_id is not None:
        reason = policy.access_absence_reason(request.actor, reason_id, establishment.pk)
    posted = request.method == "POST"
    initial = None
    if reason is not None:
        initial = {"label": reason.label, "code": reason.code, "justifies": reason.justifies,
                   "offered_to_families": reason.offered_to_families, "is_active": reason.is_active}
    form = ReasonForm(request.POST if posted else None, initial=initial)
    if posted and form.is_valid():
        data = form.cleaned_data
        saved = run(form, lambda: services.save_reason(
            establishment_id=establishment.pk, by=request.user, label=data["label"], code=data["code"],
            justifies=data["justifies"], offered_to_families=data["offered_to_families"],
            is_active=data["is_active"], reason=reason, position=reason.position if reason else None))
        if saved is not None:
            messages.success(request, _("Motif « %(label)s » enregistré.") % {"label": saved.label})
            return redirect("attendance:reasons")
    return _form_page(request, "attendance/manage/reason_form.html", form, {
        "establishment": establishment, "reason": reason})


@login_required
@require_POST
def reason_move(request, reason_id: int):
    establishment = _managed_establishment(request)
    reason = policy.access_absence_reason(request.actor, reason_id, establishment.pk)
    direction = request.POST.get("sens")
    if direction not in ("haut", "bas"):
        messages.error(request, _("Choisissez de monter ou de descendre le motif."))
    else:
        try:
            management.move_reason(reason=reason, by=request.user, up=direction == "haut", request=request)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
    return redirect(reverse("attendance:reasons") + f"#reason-{reason.pk}")


@login_required
@require_POST
def reason_active(request, reason_id: int):
    establishment = _managed_establishment(request)
    reason = policy.access_absence_reason(request.actor, reason_id, establishment.pk)
    active = request.POST.get("actif") == "1"
    try:
        management.set_reason_active(reason=reason, by=request.user, active=active)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, (_("Motif « %(label)s » réactivé.") if active
                                   else _("Motif « %(label)s » désactivé : il n'est plus proposé.")) % {
            "label": reason.label})
    return redirect(reverse("attendance:reasons") + f"#reason-{reason.pk}")


# --- A record --------------------------------------------------------------------------------------------------------

def _managed_record(request, record_id):
    """A record the actor may change: visible to them and of an establishment whose vie scolaire they are."""
    record = policy.access_attendance_record(request.actor, record_id)
    if not policy.can_manage_attendance(request.actor, record.establishment_id):
        raise Http404
    return record


def _local(moment):
    return timezone.localtime(moment).replace(second=0, microsecond=0, tzinfo=None)


@login_required
@never_cache
def record_edit(request, record_id: int):
    record = _managed_record(request, record_id)
    posted = request.method == "POST"
    initial = {"kind": record.kind, "starts_at": _local(record.starts_at), "ends_at": _local(record.ends_at),
               "late_minutes": record.late_minutes, "reason": record.reason_id, "state": record.state,
               "comment": record.comment}
    reasons = services.reasons_for(record.establishment_id)
    if record.reason_id is not None:  # a reason deactivated since stays shown (and kept) on its record
        reasons = reasons | AbsenceReason.objects.filter(pk=record.reason_id)
    form = RecordForm(request.POST if posted else None, initial=initial, reasons=reasons)
    if posted and form.is_valid():
        data = form.cleaned_data
        changes = {"kind": data["kind"], "starts_at": data["starts_at"], "ends_at": data["ends_at"],
                   "late_minutes": data["late_minutes"], "comment": data["comment"]}
        # The reason and the state only when changed: a new reason without a new state justifies the record when
        # the reason does (services.update_record).
        reason_id = data["reason"].pk if data["reason"] is not None else None
        if reason_id != record.reason_id:
            changes["reason"] = data["reason"]
        if data["state"] != record.state:
            changes["state"] = data["state"]
        done = run(form, lambda: services.update_record(record=record, by=request.user, request=request,
                                                        **changes))
        if done is not None:
            messages.success(request, _("Modification enregistrée pour %(name)s.") % {"name": record.pupil.full_name})
            return redirect("attendance:pupil", record.pupil_id)
    if not posted:
        selectors.record_attendance_read(actor=request.user, pupil=record.pupil, request=request,
                                         establishment_id=record.establishment_id)
    return _form_page(request, "attendance/manage/record_form.html", form, {"record": record})


@login_required
@never_cache
def record_delete(request, record_id: int):
    """GET: confirm; POST: delete (a record entered by mistake)."""
    record = _managed_record(request, record_id)
    if request.method == "POST":
        services.delete_record(record=record, by=request.user, request=request)
        messages.success(request, _("Saisie supprimée pour %(name)s.") % {"name": record.pupil.full_name})
        return redirect("attendance:pupil", record.pupil_id)
    selectors.record_attendance_read(actor=request.user, pupil=record.pupil, request=request,
                                     establishment_id=record.establishment_id)
    return render(request, "attendance/manage/record_delete.html", {"record": record})


# --- The family announces an absence --------------------------------------------------------------------------------

def _announcing_family(request, pupil_id):
    """A child of the actor (ATTENDANCE allowed) for whom they may announce absences (parental authority);
    404 for anyone else, as for a missing pupil."""
    actor = request.actor
    pupil = policy.access_attendance_pupil(actor, pupil_id)
    if pupil.pk not in actor.child_ids(Service.ATTENDANCE) or not policy.can_justify(actor, pupil):
        raise Http404
    return pupil


def _announce_initial() -> dict:
    today = timezone.localdate()
    return {"starts_at": f"{today.isoformat()}T08:00", "ends_at": f"{today.isoformat()}T18:00"}


@login_required
@never_cache
def announce(request, pupil_id: int):
    pupil = _announcing_family(request, pupil_id)
    posted = request.method == "POST"
    form = AnnounceForm(request.POST if posted else None, request.FILES if posted else None,
                        initial=None if posted else _announce_initial(),
                        reasons=management.family_reasons(pupil))
    if posted and form.is_valid():
        data = form.cleaned_data
        done = run(form, lambda: services.announce_absence(
            pupil=pupil, starts_at=data["starts_at"], ends_at=data["ends_at"], reason=data["reason"],
            comment=data["comment"], document=data.get("document"), by=request.user, request=request))
        if done is not None:
            messages.success(request, _("Absence signalée : la vie scolaire en est informée."))
            return redirect("attendance:family_child", pupil.pk)
    return _form_page(request, "attendance/manage/announce.html", form, {"pupil": pupil})
