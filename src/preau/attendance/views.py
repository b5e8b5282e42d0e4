"""Pages of vie scolaire for teachers and staff (/vie-scolaire/, namespace "attendance"; docs/attendance-pages.md).

- `my_roll_calls`: a teacher's occurrences of a day with the state of each roll (à faire / fait / annulé).
- `roll_call`: the roll of one occurrence, phone first: every pupil defaults to present, one tap marks absent or late
  (with minutes), one POST saves all. The page works without JavaScript; roll_call.js only enhances it.
- `dashboard`: vie scolaire's day (who is absent now, roll calls not taken, unjustified absences, pending
  justifications) and `record_absence` (an absence over a period).
- `pupil`: a pupil's attendance for staff and teachers (an audited sensitive read).
- `classes` / `class_counts` / `class_export`: half-day counts per pupil of a class for a period, the absenteeism
  rate, the CSV export.

Views parse, ask `preau.access.policy`, call `preau.attendance` services and selectors and render. Missing and
forbidden answer 404 (a pupil or guardian on a staff page, a teacher on another teacher's roll call).
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from preau.access import policy
from preau.core import context
from preau.directory.admin_views import apply_errors
from preau.directory.models import ClassEnrolment, Role
from preau.timetable import selectors as timetable

from . import exports, selectors, services
from .forms import ABSENT, LATE, PRESENT, QUICK_LATE_MINUTES, AbsenceForm, DayForm, ExportForm, RollCallForm

SEARCH_RESULTS = 20
WORKING_ROLES = {Role.TEACHER, Role.STAFF}


def _url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _parse_day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise Http404 from None


def _works_somewhere(actor) -> bool:
    return any(m.role in WORKING_ROLES for m in actor.memberships)


def _managed_establishment(request):
    """The current establishment when the actor is its vie scolaire (CPE, vie scolaire, leadership); else 404."""
    establishment = context.establishment(request)
    if establishment is None or not policy.can_manage_attendance(request.actor, establishment.pk):
        raise Http404
    return establishment


def counts_text(counts: dict[str, int]) -> str:
    """« 23 présents, 1 absent, 0 en retard » (French plural: 0 and 1 are singular)."""
    def plural(n, one, many):
        return (one if n <= 1 else many) % {"n": n}
    return ", ".join([
        plural(counts[PRESENT], _("%(n)s présent"), _("%(n)s présents")),
        plural(counts[ABSENT], _("%(n)s absent"), _("%(n)s absents")),
        _("%(n)s en retard") % {"n": counts[LATE]},
    ])


# --- A teacher's roll calls -----------------------------------------------------------------------------------

ROLL_STATES = {"todo": gettext_lazy("À faire"), "done": gettext_lazy("Fait"), "cancelled": gettext_lazy("Annulé")}


@login_required
@never_cache
@require_GET
def my_roll_calls(request):
    actor = request.actor
    if not _works_somewhere(actor):
        raise Http404
    form = DayForm(request.GET or None)
    today = timezone.localdate()
    day = (form.cleaned_data.get("jour") if form.is_valid() else None) or today
    rows = selectors.my_roll_calls(request.user, day)
    for row in rows:
        occurrence = row["occurrence"]
        row["state_label"] = ROLL_STATES[row["state"]]
        row["url"] = reverse("attendance:roll_call", args=[occurrence.course.pk, occurrence.date.isoformat()])
    return render(request, "attendance/my_roll_calls.html", {
        "form": form, "day": day, "today": today, "rows": rows,
        "previous_day": day - datetime.timedelta(days=1), "next_day": day + datetime.timedelta(days=1),
        "dashboard_url": reverse("attendance:dashboard") if policy.attendance_managed_establishment_ids(actor)
        else None,
    })


# --- The roll call --------------------------------------------------------------------------------------------

def _elided(template_vowel: str, template: str, label: str) -> str:
    """« dispensé d'EPS », « dispensé de mathématiques »."""
    return (template_vowel if label[:1].upper() in "AEIOUYÉÈÊÀÂÎÔH" else template) % {"what": label}


def _covered_text(record) -> str:
    start, end = timezone.localtime(record.starts_at), timezone.localtime(record.ends_at)
    text = _("Absence signalée du %(start)s au %(end)s") % {
        "start": start.strftime("%d/%m %H:%M"), "end": end.strftime("%d/%m %H:%M")}
    if record.reason_id:
        text += f" ({record.reason.label})"
    return text


def _exemption_text(exemption) -> str:
    if exemption.subject_id:
        text = _elided(_("Dispensé d'%(what)s"), _("Dispensé de %(what)s"), exemption.subject.label)
    else:
        text = _("Dispensé de toute activité")
    if not exemption.must_attend:
        text += " — " + _("présence non obligatoire")
    return text


def _roll_call_extra(sheet) -> dict[int, dict]:
    """Per pupil: the absence already known (a record over several courses or days) and the exemption of the day."""
    extra: dict[int, dict] = {}
    for pupil_id, record in sheet.covered.items():
        extra.setdefault(pupil_id, {})["known"] = _covered_text(record)
    for pupil_id, exemption in sheet.exempted.items():
        extra.setdefault(pupil_id, {})["exemption"] = _exemption_text(exemption)
    return extra


NOT_EDITABLE = gettext_lazy("L'appel de ce cours n'est plus modifiable : adressez-vous à la vie scolaire.")
NOT_YET = gettext_lazy("L'appel de ce cours ne peut pas être fait avant le jour du cours.")


@login_required
@never_cache
def roll_call(request, course_id, day):
    actor = request.actor
    planned = _parse_day(day)
    occurrence = timetable.occurrence(course_id, planned)
    if occurrence is None or not policy.can_take_roll_call(actor, occurrence.course, planned,
                                                           occurrence=occurrence):
        raise Http404
    course = occurrence.course
    sheet = services.roll_call_sheet(course, planned, occurrence=occurrence)
    occurrence = sheet.occurrence
    cancelled = occurrence.status == "cancelled"
    now = timezone.now()
    refusal = ""
    if not cancelled and not services.roll_call_editable(actor, occurrence, now):
        refusal = str(NOT_YET if timezone.localdate(now) < occurrence.day else NOT_EDITABLE)
    form = RollCallForm(request.POST if request.method == "POST" else None, pupils=sheet.pupils,
                        marks=sheet.marks, covered=sheet.covered)
    status = 200
    if request.method == "POST":
        status = 400
        if cancelled:
            form.add_error(None, _("Ce cours est annulé : il n'y a pas d'appel à faire."))
        elif refusal:
            form.add_error(None, refusal)
            status = 403
        elif form.is_valid():
            try:
                services.take_roll_call(course=course, planned_date=planned, marks=form.marks(), by=request.user,
                                        now=now, request=request, occurrence=occurrence)
            except ValidationError as error:
                apply_errors(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error) or str(NOT_EDITABLE))
                status = 403
            else:
                messages.success(request, _("Appel enregistré : %(counts)s.") % {"counts": counts_text(form.counts())})
                return redirect("attendance:roll_call", course.pk, planned.isoformat())
    counts = form.counts()
    selectors.record_attendance_reads(actor=request.user, pupils=selectors.roll_call_sheet_reads(sheet),
                                      request=request, establishment_id=course.establishment_id)
    return render(request, "attendance/roll_call.html", {
        "occurrence": occurrence, "course": course, "form": form, "taken": sheet.roll_call,
        "rows": form.rows(_roll_call_extra(sheet)), "counts": counts, "counts_text": counts_text(counts),
        "refusal": refusal, "cancelled": cancelled, "editable": not refusal and not cancelled,
        "quick_minutes": ",".join(str(m) for m in QUICK_LATE_MINUTES),
        "is_manager": policy.can_manage_attendance(actor, course.establishment_id),
        "back_url": reverse("attendance:my_roll_calls") + f"?jour={occurrence.day.isoformat()}",
    }, status=status)


# --- Vie scolaire ---------------------------------------------------------------------------------------------

@login_required
@never_cache
@require_GET
def dashboard(request):
    """Vie scolaire's page; teachers and other staff go to their roll calls, families to their page."""
    actor = request.actor
    establishment = context.establishment(request)
    if establishment is None or not policy.can_manage_attendance(actor, establishment.pk):
        if establishment is not None and actor.roles_in(establishment.pk) & WORKING_ROLES:
            return redirect("attendance:my_roll_calls")
        family = _url("attendance:family")
        if family and (actor.has_role(Role.PUPIL) or actor.has_role(Role.GUARDIAN)):
            return redirect(family)
        raise Http404
    now = timezone.now()
    data = selectors.dashboard(establishment, now)
    selectors.record_attendance_reads(actor=request.user, pupils=selectors.dashboard_pupils(data), request=request,
                                      establishment_id=establishment.pk)
    not_taken = [{"occurrence": o, "url": reverse("attendance:roll_call", args=[o.course.pk, o.date.isoformat()])}
                 for o in data["roll_calls_not_taken"]]
    links = [(label, _url(name)) for name, label in (
        ("attendance:incidents", _("Incidents")), ("attendance:punishments", _("Punitions")),
        ("attendance:exemptions", _("Dispenses")))]
    return render(request, "attendance/dashboard.html", {
        "establishment": establishment, "now": now, "data": data, "not_taken": not_taken,
        "justifications_url": _url("attendance:justifications"),
        "links": [{"label": label, "url": url} for label, url in links if url],
    })


def _pupils_of_establishment(actor, establishment):
    return (policy.attendance_pupils_visible_to(actor)
            .filter(memberships__establishment_id=establishment.pk, memberships__role=Role.PUPIL,
                    memberships__is_active=True)
            .distinct().order_by("last_name", "first_name", "pk"))


RECORDED = {
    "absence": gettext_lazy("Absence enregistrée pour %(name)s."),
    "late": gettext_lazy("Retard enregistré pour %(name)s."),
    "early_leave": gettext_lazy("Départ anticipé enregistré pour %(name)s."),
    "exclusion": gettext_lazy("Exclusion de cours enregistrée pour %(name)s."),
}


@login_required
@never_cache
def record_absence(request):
    actor = request.actor
    establishment = _managed_establishment(request)
    visible = _pupils_of_establishment(actor, establishment)
    reasons = services.reasons_for(establishment.pk)
    posted = request.method == "POST"
    form = AbsenceForm(request.POST if posted else None, pupils=visible, reasons=reasons,
                       initial=_absence_initial(request))
    query = (request.GET.get("q") or "").strip()[:100]
    chosen = None
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_absence(
                pupil=data["pupil"], kind=data["kind"], starts_at=data["starts_at"], ends_at=data["ends_at"],
                reason=data["reason"], comment=data["comment"], by=request.user, request=request)
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("Vous ne pouvez pas saisir cette absence."))
        else:
            messages.success(request, str(RECORDED[data["kind"]]) % {"name": data["pupil"].full_name})
            return redirect("attendance:pupil", data["pupil"].pk)
    if posted:
        chosen = form.cleaned_data.get("pupil") if hasattr(form, "cleaned_data") else None
    else:
        chosen = selectors.pupil_in(visible, request.GET.get("eleve"))
    results = selectors.search_pupils(visible, query, chosen=chosen, limit=SEARCH_RESULTS)
    return render(request, "attendance/record_absence.html", {
        "form": form, "establishment": establishment, "query": query, "results": results,
        "chosen_id": chosen.pk if chosen is not None else None,
    }, status=400 if posted else 200)


def _absence_initial(request) -> dict:
    now = timezone.localtime().replace(second=0, microsecond=0)
    return {"starts_at": now, "ends_at": now.replace(hour=18, minute=0) if now.hour < 18 else now,
            "kind": "absence"}


# --- A pupil --------------------------------------------------------------------------------------------------

def _current_enrolment(pupil):
    return (ClassEnrolment.objects.filter(pupil_id=pupil.pk, school_class__school_year__is_current=True)
            .select_related("school_class__school_year__establishment").first())


def _chosen_period(request, school_year, today):
    periods = selectors.periods_of(school_year)
    return periods, selectors.choose_period(periods, request.GET.get("periode"), today)


@login_required
@never_cache
@require_GET
def pupil(request, pupil_id):
    actor = request.actor
    subject = policy.access_attendance_pupil(actor, pupil_id)
    enrolment = _current_enrolment(subject)
    if enrolment is None:
        raise Http404
    school_class = enrolment.school_class
    establishment = school_class.school_year.establishment
    if not actor.roles_in(establishment.pk) & WORKING_ROLES:
        raise Http404  # pupils and families read their own page (attendance:family)
    periods, period = _chosen_period(request, school_class.school_year, timezone.localdate())
    summary = selectors.pupil_summary(subject, period, actor=actor)  # only what the actor's schools recorded
    by_period = selectors.counts_by_period([subject], school_class.school_year,
                                           establishment_ids=policy.attendance_establishment_scope(actor, subject.pk))
    period_rows = [{"period": p, "counts": by_period.get(p.pk, {}).get(subject.pk, {})} for p in periods]
    selectors.record_attendance_read(actor=request.user, pupil=subject, request=request,
                                     establishment_id=establishment.pk)
    manager = policy.can_manage_attendance(actor, establishment.pk)
    return render(request, "attendance/pupil.html", {
        "actions": _pupil_actions(actor, subject, establishment, manager),
        "pupil": subject, "school_class": school_class, "establishment": establishment,
        "periods": periods, "period": period, "summary": summary, "is_manager": manager, "period_rows": period_rows,
        "class_url": reverse("attendance:class_counts", args=[school_class.pk])
        if policy.can_read_attendance_class(actor, school_class) else None,
    })


def _pupil_actions(actor, pupil, establishment, manager: bool) -> list[dict]:
    """Links to the other vie scolaire pages for this pupil (attendance/family_urls.py), when they exist and the
    actor may use them."""
    wanted = [
        ("attendance:record_absence", _("Saisir une absence"), manager, True),
        ("attendance:incident_new", _("Signaler un incident"),
         policy.can_report_incident(actor, establishment.pk), True),
        ("attendance:punishment_new", _("Donner une punition"), policy.can_punish(actor, pupil), True),
        ("attendance:exemption_new", _("Enregistrer une dispense"),
         policy.can_record_exemption(actor, establishment.pk), True),
        ("attendance:exit_regime", _("Régime de sortie"), manager, False),
    ]
    actions = []
    for name, label, allowed, by_query in wanted:
        if not allowed:
            continue
        url = _url(name) if by_query else _url(name, pupil.pk)
        if url:
            actions.append({"label": label, "url": f"{url}?eleve={pupil.pk}" if by_query else url})
    return actions


# --- Classes: counts and exports ------------------------------------------------------------------------------

@login_required
@never_cache
@require_GET
def classes(request):
    actor = request.actor
    establishment = context.establishment(request)
    if establishment is None or not actor.roles_in(establishment.pk) & WORKING_ROLES:
        raise Http404
    # Vie scolaire: every class; a teacher: the classes they teach (policy.attendance_classes_visible_to).
    queryset = (policy.attendance_classes_visible_to(actor, establishment.pk)
                .filter(school_year__is_current=True).order_by("label"))
    manager = policy.can_export_attendance(actor, establishment.pk)
    export_form = None
    if manager:
        period = selectors.current_period(establishment.pk, timezone.localdate())
        export_form = ExportForm(initial={"first_day": period.start if period else None,
                                          "last_day": period.end if period else None, "kind": "counts"})
    return render(request, "attendance/classes.html", {"classes": list(queryset), "establishment": establishment,
                                                       "export_form": export_form})


def _class_period(request, school_class):
    periods, period = _chosen_period(request, school_class.school_year, timezone.localdate())
    if period is None:
        raise Http404
    return periods, period


@login_required
@never_cache
@require_GET
def class_counts(request, class_id):
    actor = request.actor
    school_class = policy.access_attendance_class(actor, class_id)
    periods, period = _class_period(request, school_class)
    rows, rate = selectors.class_rates(school_class, period.start, period.end)
    establishment_id = school_class.establishment_id
    selectors.record_attendance_reads(actor=request.user, pupils=[row["pupil"] for row in rows], request=request,
                                      establishment_id=establishment_id)
    return render(request, "attendance/class_counts.html", {
        "school_class": school_class, "periods": periods, "period": period, "rows": rows, "rate": rate,
        "can_export": policy.can_export_attendance(actor, establishment_id), "exports": exports.CLASS_EXPORTS,
    })


@login_required
@never_cache
@require_GET
def class_export(request, class_id):
    actor = request.actor
    school_class = policy.access_attendance_class(actor, class_id)
    if not policy.can_export_attendance(actor, school_class.establishment_id):
        raise Http404
    _periods, period = _class_period(request, school_class)
    kind = request.GET.get("contenu", "counts")
    if kind not in exports.CLASS_EXPORTS:
        raise Http404
    return exports.class_csv_response(school_class=school_class, first_day=period.start, last_day=period.end,
                                      kind=kind, by=request.user, request=request)


@login_required
@require_POST
def establishment_export(request):
    """The whole establishment's CSV for a period: built in the background, the requester is notified."""
    establishment = _managed_establishment(request)
    if not policy.can_export_attendance(request.actor, establishment.pk):
        raise Http404
    form = ExportForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            exports.request_establishment_export(establishment=establishment, first_day=data["first_day"],
                                                 last_day=data["last_day"], kind=data["kind"], by=request.user,
                                                 request=request)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("Exportation en préparation : une notification vous donnera le lien du "
                                        "fichier dès qu'il sera prêt."))
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("attendance:classes")
