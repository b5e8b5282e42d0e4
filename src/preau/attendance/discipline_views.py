"""Discipline pages (under /vie-scolaire/, namespace "attendance"): incidents, punishments, exemptions, exit regimes.

- Incidents (`incidents`, `incident_new`): reported by teachers and staff about pupils the policy lets them see;
  read by vie scolaire and by whoever reported them.
- Punishments (`punishments`, `punishment_new`, `punishment_state`): set from an incident or alone, of the kinds
  the actor may give (a teacher: extra work, detention, course exclusion; sanctions are the leadership's); marked
  served or cancelled.
- Exemptions (`exemptions`, `exemption_new`, `exemption_document`) and exit regimes (`exit_regime`).

Families see their own punishments, exemptions and exit regime on the family page (family_views). Lists are
the policy's scoped querysets of the current establishment, filterable by class and pupil (?classe=, ?eleve=).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from preau.access import policy
from preau.accounts.models import User
from preau.core import context
from preau.directory.models import ClassEnrolment, Role, SchoolClass, Subject

from . import selectors, services
from .family_forms import (
    DisciplineFilterForm,
    ExemptionForm,
    ExitRegimeForm,
    IncidentForm,
    PunishmentForm,
    PunishmentStateForm,
)
from .family_views import audit_read, class_labels, current_enrolment, download, form_page, run
from .models import ExitRegime, Punishment

PER_PAGE = 30
FAMILY_ROLES = {Role.PUPIL, Role.GUARDIAN}


def _establishment_for(request, allowed):
    """The current establishment when `allowed(actor, establishment_id)`; pupils and guardians go to their family
    page (where they see their own punishments and exemptions); anyone else: 404, as for every attendance data
    screen."""
    actor = request.actor
    establishment = context.establishment(request)
    if establishment is not None and allowed(actor, establishment.pk):
        return establishment, None
    if establishment is not None and actor.roles_in(establishment.pk) <= FAMILY_ROLES:
        return None, redirect("attendance:family")
    raise Http404


def _pupils_of(actor, establishment):
    """The pupils of the establishment whose attendance the actor may see, by name."""
    return (policy.attendance_pupils_visible_to(actor)
            .filter(memberships__establishment_id=establishment.pk, memberships__role=Role.PUPIL,
                    memberships__is_active=True)
            .distinct().order_by("last_name", "first_name", "pk"))


def _grouped_by_class(field, pupils, establishment) -> None:
    """Offer a form field's pupils grouped by class (optgroups), in one query; the field still validates against
    its queryset."""
    rows = (ClassEnrolment.objects.filter(pupil__in=pupils, school_class__establishment_id=establishment.pk,
                                          school_class__school_year__is_current=True)
            .order_by("school_class__label", "pupil__last_name", "pupil__first_name", "pupil_id")
            .values_list("school_class__label", "pupil_id", "pupil__last_name", "pupil__first_name"))
    groups: dict[str, list] = {}
    for label, pupil_id, last_name, first_name in rows:
        groups.setdefault(label, []).append((pupil_id, f"{last_name} {first_name}"))
    choices = list(groups.items())
    if getattr(field, "empty_label", None) is not None:
        choices.insert(0, ("", field.empty_label))
    field.choices = choices


def _filters(request, actor, establishment, pupils=None):
    classes = SchoolClass.objects.filter(
        pk__in=policy.classes_visible_to(actor).values("pk"), establishment_id=establishment.pk,
        school_year__is_current=True).order_by("label")
    pupils = pupils if pupils is not None else _pupils_of(actor, establishment)
    form = DisciplineFilterForm(request.GET or None, classes=classes, pupils=pupils)
    school_class, pupil = form.chosen()
    # The pupil list offers the chosen class's pupils (or the chosen pupil): a school's thousand names are not sent
    # to a phone with every page. Any visible pupil is still accepted in ?eleve= (links from other pages).
    if school_class is not None:
        form.fields["eleve"].queryset = pupils.filter(class_enrolments__school_class_id=school_class.pk)
    elif pupil is not None:
        form.fields["eleve"].queryset = pupils.filter(pk=pupil.pk)
    else:
        form.fields["eleve"].queryset = pupils.none()
        form.fields["eleve"].help_text = _("Choisissez d'abord une classe.")
    return form, school_class, pupil


def _filtered(queryset, school_class, pupil, *, field: str = "pupil_id"):
    if pupil is not None:
        queryset = queryset.filter(**{field: pupil.pk})
    if school_class is not None:
        queryset = queryset.filter(**{f"{field}__in": ClassEnrolment.objects.filter(
            school_class_id=school_class.pk).values("pupil_id")})
    return queryset


def _audit_rows(request, pupil_ids, pupil, establishment) -> None:
    """A list shows the records of the pupils on its page (and, narrowed to one pupil, that pupil's, even empty):
    sensitive reads by staff, written with one INSERT."""
    ids = set(pupil_ids) | ({pupil.pk} if pupil is not None else set())
    selectors.record_attendance_reads(actor=request.user, pupils=ids, request=request,
                                      establishment_id=establishment.pk)


def _may_see_lists(actor, establishment_id) -> bool:
    return (policy.can_manage_attendance(actor, establishment_id)
            or policy.can_report_incident(actor, establishment_id)
            or policy.can_record_exemption(actor, establishment_id))


# --- Incidents --------------------------------------------------------------------------------------------------

@login_required
@never_cache
def incidents(request):
    actor = request.actor
    establishment, elsewhere = _establishment_for(request, _may_see_lists)
    if elsewhere:
        return elsewhere
    form, school_class, pupil = _filters(request, actor, establishment)
    rows = policy.incidents_visible_to(actor).filter(establishment_id=establishment.pk)
    rows = _filtered(rows, school_class, pupil, field="pupils").distinct() if (school_class or pupil) else rows
    rows = rows.select_related("reported_by").prefetch_related(
        Prefetch("pupils", queryset=User.objects.order_by("last_name", "first_name"))).order_by("-occurred_at", "-pk")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    _audit_rows(request, {p.pk for incident in page.object_list for p in incident.pupils.all()}, pupil,
                establishment)
    return render(request, "attendance/discipline/incidents.html", {
        "page": page, "filters": form, "establishment": establishment,
        "can_report": policy.can_report_incident(actor, establishment.pk),
    })


@login_required
@never_cache
def incident_new(request):
    actor = request.actor
    establishment, elsewhere = _establishment_for(request, policy.can_report_incident)
    if elsewhere:
        return elsewhere
    posted = request.method == "POST"
    initial = None if posted else {"pupils": [v for v in request.GET.getlist("eleve") if v.isdigit()]}
    pupils = _pupils_of(actor, establishment)
    form = IncidentForm(request.POST if posted else None, initial=initial, pupils=pupils)
    _grouped_by_class(form.fields["pupils"], pupils, establishment)
    if posted and form.is_valid():
        data = form.cleaned_data
        incident = run(form, lambda: services.report_incident(
            by=request.user, establishment_id=establishment.pk, occurred_at=data["occurred_at"],
            place=data.get("place") or "", facts=data["facts"], pupils=list(data["pupils"]), request=request))
        if incident:
            messages.success(request, _("Incident enregistré."))
            return redirect(f"{reverse('attendance:incidents')}#incident-{incident.pk}")
    return form_page(request, "attendance/discipline/incident_form.html", form, {"establishment": establishment})


# --- Punishments ------------------------------------------------------------------------------------------------

def offered_kinds(actor, establishment_id: int, pupil=None) -> list[str]:
    """The kinds the actor may give (in the model's order): for a chosen pupil, the policy's answer for that
    pupil; before one is chosen, what the actor's functions allow in the establishment."""
    if pupil is not None:
        allowed = policy.punishment_kinds_for(actor, pupil, establishment_id)
    else:
        allowed = policy.punishment_kinds_in(actor, establishment_id)
    return [kind for kind in Punishment.Kind.values if kind in allowed]


def _may_punish(actor, establishment_id) -> bool:
    return bool(offered_kinds(actor, establishment_id))


@login_required
@never_cache
def punishments(request):
    actor = request.actor
    establishment, elsewhere = _establishment_for(request, _may_see_lists)
    if elsewhere:
        return elsewhere
    form, school_class, pupil = _filters(request, actor, establishment)
    rows = _filtered(policy.punishments_visible_to(actor).filter(establishment_id=establishment.pk),
                     school_class, pupil)
    state = request.GET.get("etat", "")
    if state == "a-effectuer":
        rows = rows.filter(served=False, cancelled=False)
    rows = rows.select_related("pupil", "set_by", "incident").order_by("-set_at", "-pk")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    classes = class_labels(p.pupil_id for p in items)
    manager = policy.can_manage_attendance(actor, establishment.pk)
    _audit_rows(request, {p.pupil_id for p in items}, pupil, establishment)
    return render(request, "attendance/discipline/punishments.html", {
        "page": page, "filters": form, "establishment": establishment, "state": state,
        "can_punish": _may_punish(actor, establishment.pk),
        "items": [{"item": p, "school_class": classes.get(p.pupil_id, ""),
                   "can_change": not p.cancelled and not p.served and (manager or p.set_by_id == actor.id)}
                  for p in items],
    })


def _chosen_pupil(request, pupils):
    wanted = request.POST.get("pupil") if request.method == "POST" else request.GET.get("eleve")
    if wanted and str(wanted).isdigit():
        return pupils.filter(pk=int(wanted)).first()
    return None


@login_required
@never_cache
def punishment_new(request):
    """Set a punishment, alone or from an incident (?incident=<id>&eleve=<id>)."""
    actor = request.actor
    establishment, elsewhere = _establishment_for(request, _may_punish)
    if elsewhere:
        return elsewhere
    incident = None
    incident_id = request.POST.get("incident") or request.GET.get("incident")
    if incident_id:
        incident = policy.access_incident(actor, incident_id)
        if incident.establishment_id != establishment.pk:
            raise Http404
    pupils = _pupils_of(actor, establishment)
    if incident is not None:
        pupils = pupils.filter(pk__in=incident.pupils.values("pk"))
    chosen = _chosen_pupil(request, pupils)
    posted = request.method == "POST"
    initial = None
    if not posted:
        initial = {"pupil": chosen.pk if chosen else None, "reason": incident.facts[:2000] if incident else ""}
    form = PunishmentForm(request.POST if posted else None, initial=initial, pupils=pupils,
                          kinds=offered_kinds(actor, establishment.pk, chosen))
    _grouped_by_class(form.fields["pupil"], pupils, establishment)
    if posted and form.is_valid():
        data = form.cleaned_data
        punishment = run(form, lambda: services.set_punishment(
            by=request.user, pupil=data["pupil"], kind=data["kind"], reason=data["reason"], incident=incident,
            serve_on=data.get("serve_on"), duration_minutes=data.get("duration_minutes"),
            serve_until=data.get("serve_until"), place=data.get("place") or "", work=data.get("work") or "",
            request=request))
        if punishment:
            messages.success(request, _("%(kind)s donnée à %(name)s : sa famille en est informée.") % {
                "kind": punishment.get_kind_display(), "name": punishment.pupil.full_name})
            return redirect(f"{reverse('attendance:punishments')}#punition-{punishment.pk}")
    return form_page(request, "attendance/discipline/punishment_form.html", form, {
        "establishment": establishment, "incident": incident})


@login_required
@require_POST
def punishment_state(request, punishment_id: int):
    """Mark a punishment served, or cancel it."""
    actor = request.actor
    punishment = policy.access_punishment(actor, punishment_id)
    form = PunishmentStateForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    else:
        try:
            if form.cleaned_data["action"] == "served":
                services.mark_punishment_served(by=request.user, punishment=punishment, request=request)
                messages.success(request, _("Punition marquée comme effectuée."))
            else:
                services.cancel_punishment(by=request.user, punishment=punishment,
                                           comment=form.cleaned_data.get("comment") or "", request=request)
                messages.success(request, _("Punition levée."))
        except (ValidationError, PermissionDenied) as error:
            for message in getattr(error, "messages", None) or [str(error) or _(
                    "Vous n'avez pas le droit d'effectuer cette action.")]:
                messages.error(request, message)
    return redirect(f"{reverse('attendance:punishments')}#punition-{punishment.pk}")


# --- Exemptions -------------------------------------------------------------------------------------------------

@login_required
@never_cache
def exemptions(request):
    actor = request.actor
    establishment, elsewhere = _establishment_for(request, _may_see_lists)
    if elsewhere:
        return elsewhere
    recorder = policy.can_record_exemption(actor, establishment.pk)
    form, school_class, pupil = _filters(request, actor, establishment,
                                         policy.exemption_pupils_visible_to(actor, establishment.pk)
                                         if recorder else None)
    rows = _filtered(policy.exemptions_visible_to(actor).filter(establishment_id=establishment.pk),
                     school_class, pupil)
    rows = rows.select_related("pupil", "subject", "created_by").order_by("-first_day", "-pk")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    classes = class_labels(e.pupil_id for e in items)
    _audit_rows(request, {e.pupil_id for e in items}, pupil, establishment)
    return render(request, "attendance/discipline/exemptions.html", {
        "page": page, "filters": form, "establishment": establishment,
        "can_record": recorder,
        "items": [{"item": e, "school_class": classes.get(e.pupil_id, ""),
                   "hide_details": not policy.can_read_exemption_details(actor, e)} for e in items],
    })


@login_required
@never_cache
def exemption_new(request):
    actor = request.actor
    establishment, elsewhere = _establishment_for(request, policy.can_record_exemption)
    if elsewhere:
        return elsewhere
    pupils = policy.exemption_pupils_visible_to(actor, establishment.pk)
    subjects = Subject.objects.filter(establishment_id=establishment.pk).order_by("label")
    posted = request.method == "POST"
    chosen = None if posted else _chosen_pupil(request, pupils)
    form = ExemptionForm(request.POST if posted else None, request.FILES if posted else None,
                         initial={"pupil": chosen.pk if chosen else None, "must_attend": True},
                         pupils=pupils, subjects=subjects)
    _grouped_by_class(form.fields["pupil"], pupils, establishment)
    if posted and form.is_valid():
        data = form.cleaned_data
        exemption = run(form, lambda: services.record_exemption(
            by=request.user, pupil=data["pupil"], subject=data.get("subject"), first_day=data["first_day"],
            last_day=data["last_day"], must_attend=data.get("must_attend", False),
            comment=data.get("comment") or "", document=data.get("document"), request=request))
        if exemption:
            messages.success(request, _("Dispense enregistrée : la famille et les professeurs en sont informés."))
            return redirect(f"{reverse('attendance:exemptions')}#dispense-{exemption.pk}")
    return form_page(request, "attendance/discipline/exemption_form.html", form, {"establishment": establishment})


@login_required
@require_GET
def exemption_document(request, exemption_id: int):
    """The exemption's certificate (often medical), as a download (never inline): the pupil, their family, vie
    scolaire, leadership and the nurse; 404 for the pupil's teachers, who only see that the pupil is exempted."""
    exemption = policy.access_exemption_document(request.actor, exemption_id)
    if not exemption.document:
        raise Http404
    audit_read(request, exemption.pupil, exemption.establishment_id)
    return download(exemption.document, exemption.document_name)


# --- Exit regime ------------------------------------------------------------------------------------------------

@login_required
@never_cache
def exit_regime(request, pupil_id: int):
    """A pupil's regime and exit authorisations for the current year (vie scolaire)."""
    actor = request.actor
    pupil = policy.access_attendance_pupil(actor, pupil_id)
    enrolment = current_enrolment(pupil)
    if enrolment is None:
        raise Http404
    year = enrolment.school_class.school_year
    if not policy.can_manage_attendance(actor, year.establishment_id):
        raise Http404  # the family reads it on its page, teachers not at all
    current = policy.exit_regimes_visible_to(actor).filter(pupil_id=pupil.pk, school_year=year).first()
    posted = request.method == "POST"
    initial = None
    if current is not None:
        initial = {"regime": current.regime, "may_leave_when_no_course": current.may_leave_when_no_course,
                   "may_leave_at_lunch": current.may_leave_at_lunch, "comment": current.comment}
    else:
        initial = {"regime": ExitRegime.Regime.HALF_BOARDER}
    form = ExitRegimeForm(request.POST if posted else None, initial=initial)
    if posted and form.is_valid():
        data = form.cleaned_data
        if run(form, lambda: services.set_exit_regime(
                by=request.user, pupil=pupil, school_year=year, regime=data["regime"],
                may_leave_when_no_course=data.get("may_leave_when_no_course", False),
                may_leave_at_lunch=data.get("may_leave_at_lunch", False), comment=data.get("comment") or "",
                request=request)):
            messages.success(request, _("Régime de sortie enregistré."))
            return redirect("attendance:exit_regime", pupil.pk)
    if not posted:
        audit_read(request, pupil, year.establishment_id)
    return form_page(request, "attendance/discipline/exit_regime.html", form, {
        "pupil": pupil, "school_class": enrolment.school_class, "current": current})
