"""Pages of families and of the justification queue (under /vie-scolaire/, namespace "attendance").

- The family page (`family`, `family_child`): a pupil's own, a guardian's child by child (children whose link
  denies ATTENDANCE are neither listed nor reachable): absences and lateness with their state, the period's
  half-day counts, justifications sent, punishments, exemptions and the exit regime; a "Justifier" action for
  guardians with legal authority (`justify`).
- Vie scolaire's queue (`justifications`, `justification`): pending justifications, their records, reason,
  comment and document (`justification_document`, a download, never inline), accept or refuse with a comment.

Views parse, ask `preau.access.policy` (every list below is one of its scoped querysets), call
`preau.attendance.services`, render. Missing and forbidden answer 404, screens a role never uses included (the
queue for a family, the family page for staff without children); 403 only for an action refused on something the
actor sees (a guardian without parental authority justifying).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from preau.access import policy
from preau.core import context
from preau.directory.admin_views import apply_errors
from preau.directory.models import ClassEnrolment, Role, Service

from . import selectors, services
from .family_forms import DecisionForm, JustifyForm
from .models import AbsenceReason, AttendanceRecord, Justification

QUEUE_PER_PAGE = 25
DOCUMENT_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}
DOCUMENT_ALIASES = {"jpg": ("jpeg",), "jpeg": ("jpg",)}

# The records a family may still justify (a refused justification can be followed by a better one).
JUSTIFIABLE_STATES = services.JUSTIFIABLE_STATES
# Short state labels, as families read them (the badge also carries the word: colour is never the only signal).
RECORD_STATES = {
    AttendanceRecord.State.UNJUSTIFIED: (gettext_lazy("Non justifiée"), "warning"),
    AttendanceRecord.State.PENDING: (gettext_lazy("À examiner"), "pending"),
    AttendanceRecord.State.JUSTIFIED: (gettext_lazy("Justifiée"), "ok"),
    AttendanceRecord.State.REFUSED: (gettext_lazy("Refusée"), "danger"),
}
JUSTIFICATION_STATES = {
    Justification.State.PENDING: (gettext_lazy("À examiner"), "pending"),
    Justification.State.ACCEPTED: (gettext_lazy("Acceptée"), "ok"),
    Justification.State.REFUSED: (gettext_lazy("Refusée"), "danger"),
}


def run(form, call):
    """Call a service for a valid form: its result; or, on the service's ValidationError (next to its field when it
    names one) or PermissionDenied, None with the error on the form."""
    try:
        return call()
    except ValidationError as error:
        apply_errors(form, error)
    except PermissionDenied as error:
        form.add_error(None, str(error) or _("Vous n'avez pas le droit d'effectuer cette action."))
    return None


def form_page(request, template: str, form, context: dict):
    """A form page: 400 when a posted form has errors (in French, listed at the top and next to their field)."""
    return render(request, template, {"form": form, **context}, status=400 if form.is_bound and form.errors else 200)


def audit_read(request, pupil, establishment_id) -> None:
    """Staff or a teacher read another pupil's attendance data: a sensitive read in the audit log (the pupil and
    their guardians reading their own are not logged)."""
    selectors.record_attendance_read(actor=request.user, pupil=pupil, request=request,
                                     establishment_id=establishment_id)


def download(field_file, name: str) -> FileResponse:
    """A stored document as a download: never rendered inline (an HTML or SVG file cannot run in the ENT's
    origin), its type never sniffed, not cached."""
    try:
        handle = field_file.open("rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404 from None
    # The stored name's extension is the checked content's (services.check_document); the person's file name is
    # only shown, and given that extension when it claims another.
    stored_extension = field_file.name.rpartition(".")[2].lower()
    content_type = DOCUMENT_TYPES.get(stored_extension, "application/octet-stream")
    filename = name or f"document.{stored_extension}"
    if filename.rpartition(".")[2].lower() not in {stored_extension, *DOCUMENT_ALIASES.get(stored_extension, ())}:
        filename = f"{filename}.{stored_extension}"
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def current_enrolment(pupil):
    return (ClassEnrolment.objects.filter(pupil_id=pupil.pk, school_class__school_year__is_current=True)
            .select_related("school_class__school_year").first())


def class_labels(pupil_ids) -> dict[int, str]:
    """{pupil id: "5e B"} for the current year, in one query."""
    rows = (ClassEnrolment.objects.filter(pupil_id__in=set(pupil_ids), school_class__school_year__is_current=True)
            .values_list("pupil_id", "school_class__label"))
    return dict(rows)


def state_badge(states: dict, state: str) -> dict:
    label, tone = states.get(state, (state, "pending"))
    return {"label": label, "tone": tone}


# --- The family page --------------------------------------------------------------------------------------------

def _family_children(actor) -> list:
    """The guardian's children whose link allows ATTENDANCE (the others are not listed)."""
    return [link.pupil for link in actor.child_links if link.allows(Service.ATTENDANCE)]


def family_pupil(request, pupil_id):
    """The pupil of a family page: the pupil themself or one of the guardian's children (ATTENDANCE allowed);
    404 for anyone else, as for a missing pupil. Staff and teachers use the vie scolaire's pupil page."""
    actor = request.actor
    pupil = policy.access_attendance_pupil(actor, pupil_id)
    if pupil.pk == actor.id and actor.has_role(Role.PUPIL):
        return pupil
    if pupil.pk in actor.child_ids(Service.ATTENDANCE):
        return pupil
    raise Http404


@login_required
@never_cache
def family(request):
    """/vie-scolaire/famille/: a pupil's own page; a guardian's current child (the header's switcher)."""
    actor = request.actor
    children = _family_children(actor)
    if children:
        current = context.child(request)
        chosen = next((c for c in children if current is not None and c.pk == current.pk), children[0])
        return _family_page(request, chosen, children)
    if actor.has_role(Role.PUPIL):
        return _family_page(request, request.user, [])
    if actor.has_role(Role.GUARDIAN):
        # Every link denies attendance: nothing to show, and no child named.
        return render(request, "attendance/family/none.html")
    raise Http404


@login_required
@never_cache
def family_child(request, pupil_id: int):
    pupil = family_pupil(request, pupil_id)
    return _family_page(request, pupil, _family_children(request.actor))


def _family_page(request, pupil, children):
    actor = request.actor
    year = selectors.pupil_year(pupil)
    periods = selectors.periods_of(year) if year is not None else []
    period = selectors.choose_period(periods, request.GET.get("periode"), timezone.localdate())
    summary = selectors.pupil_summary(pupil, period)  # the pupil is the actor's own or their child (asked above)
    can_justify = policy.can_justify(actor, pupil)
    records = summary["records"]
    return render(request, "attendance/family/page.html", {
        "pupil": pupil, "school_class": class_labels([pupil.pk]).get(pupil.pk, ""),
        "is_self": pupil.pk == actor.id,
        "children": [{"pupil": c, "current": c.pk == pupil.pk} for c in children],
        "periods": periods, "period": period, "counts": summary["counts"], "can_justify": can_justify,
        "records": [{"record": r, "state": state_badge(RECORD_STATES, r.state),
                     "justifiable": can_justify and r.state in JUSTIFIABLE_STATES} for r in records],
        "any_justifiable": can_justify and any(r.state in JUSTIFIABLE_STATES for r in records),
        "justifications": [{"item": j, "state": state_badge(JUSTIFICATION_STATES, j.state)}
                           for j in summary["justifications"]],
        "punishments": summary["punishments"], "exemptions": summary["exemptions"],
        "incidents": selectors.family_incidents(actor, pupil, summary["first"], summary["last"]),
        "exit_regime": summary["exit_regime"],
    })


# --- Justifying (families) --------------------------------------------------------------------------------------

def _justifiable_records(actor, pupil):
    return (policy.attendance_records_visible_to(actor).filter(pupil_id=pupil.pk, state__in=JUSTIFIABLE_STATES)
            .order_by("-starts_at"))


def _family_reasons(pupil, records):
    """The reasons the pupil's establishment offers to families (the establishment of the records)."""
    establishment_id = records.values_list("establishment_id", flat=True).first()
    if establishment_id is None:
        return AbsenceReason.objects.none()
    return services.reasons_for(establishment_id, families=True)


@login_required
@never_cache
def justify(request, pupil_id: int):
    """Justify one or several of a child's records: a reason from the establishment's offered list, a comment,
    an optional document. Guardians with legal authority (and ATTENDANCE) only: others get 403."""
    actor = request.actor
    pupil = family_pupil(request, pupil_id)
    if not policy.can_justify(actor, pupil):
        raise PermissionDenied(_("Seul un responsable légal peut justifier les absences de cet élève."))
    records = _justifiable_records(actor, pupil)
    posted = request.method == "POST"
    initial = None if posted else {"records": [v for v in request.GET.getlist("absence") if v.isdigit()]}
    form = JustifyForm(request.POST if posted else None, request.FILES if posted else None, initial=initial,
                       records=records, reasons=_family_reasons(pupil, records))
    if posted and form.is_valid():
        data = form.cleaned_data
        if run(form, lambda: services.submit_justification(
                by=request.user, pupil=pupil, records=list(data["records"]), reason=data["reason"],
                comment=data.get("comment") or "", document=data.get("document"), request=request)):
            messages.success(request, _("Justification envoyée : la vie scolaire va l'examiner."))
            return redirect("attendance:family_child", pupil.pk)
    return form_page(request, "attendance/family/justify.html", form, {
        "pupil": pupil, "has_records": bool(form.fields["records"].queryset)})


# --- The justification queue (vie scolaire) ---------------------------------------------------------------------

QUEUE_STATES = {"a-examiner": Justification.State.PENDING, "acceptees": Justification.State.ACCEPTED,
                "refusees": Justification.State.REFUSED}


def managing_establishment(request):
    """The current establishment, when the actor follows its attendance (CPE, vie scolaire, leadership); else 404."""
    establishment = context.establishment(request)
    if establishment is None or not policy.can_manage_attendance(request.actor, establishment.pk):
        raise Http404
    return establishment


@login_required
@never_cache
def justifications(request):
    """The queue: pending justifications of the current establishment, oldest first (?etat= for decided ones)."""
    actor = request.actor
    establishment = managing_establishment(request)
    state_key = request.GET.get("etat", "")
    if state_key not in QUEUE_STATES:
        state_key = "a-examiner"
    state = QUEUE_STATES[state_key]
    rows = (selectors.justifications_for(actor, establishment_id=establishment.pk, state=state)
            .order_by("submitted_at" if state == Justification.State.PENDING else "-decided_at", "pk"))
    page = Paginator(rows, QUEUE_PER_PAGE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    classes = class_labels(j.pupil_id for j in items)
    selectors.record_attendance_reads(actor=request.user, pupils={j.pupil_id for j in items}, request=request,
                                      establishment_id=establishment.pk)
    return render(request, "attendance/family/queue.html", {
        "page": page, "establishment": establishment, "state_key": state_key,
        "is_pending": state == Justification.State.PENDING,
        "states": [("a-examiner", _("À examiner")), ("acceptees", _("Acceptées")), ("refusees", _("Refusées"))],
        "items": [{"item": j, "school_class": classes.get(j.pupil_id, ""), "records": list(j.records.all()),
                   "state": state_badge(JUSTIFICATION_STATES, j.state)} for j in items],
    })


@login_required
@never_cache
def justification(request, justification_id: int):
    """One justification: its records, reason, comment, document; accept or refuse (POST). Vie scolaire only
    (families read theirs on the family page)."""
    actor = request.actor
    item = policy.access_justification(actor, justification_id)
    if not policy.can_decide_justification(actor, item):
        raise Http404
    posted = request.method == "POST"
    form = DecisionForm(request.POST if posted else None)
    if posted and form.is_valid():
        data = form.cleaned_data
        accept = data["decision"] == "accept"
        if run(form, lambda: services.decide_justification(by=request.user, justification=item, accept=accept,
                                                           comment=data.get("comment") or "", request=request)):
            messages.success(request, _("Justification acceptée : les absences sont justifiées.") if accept
                             else _("Justification refusée : la famille en est informée."))
            return redirect("attendance:justifications")
    if not posted:
        audit_read(request, item.pupil, item.establishment_id)
    return form_page(request, "attendance/family/justification.html", form, {
        "item": item, "records": [{"record": r, "state": state_badge(RECORD_STATES, r.state)}
                                  for r in item.records.order_by("starts_at")],
        "state": state_badge(JUSTIFICATION_STATES, item.state),
        "school_class": class_labels([item.pupil_id]).get(item.pupil_id, ""),
    })


@login_required
@require_GET
def justification_document(request, justification_id: int):
    """The justification's document (often medical), as a download (never inline), to those who may see the
    justification: the pupil, their guardians, vie scolaire and leadership of its establishment
    (`policy.justifications_visible_to`; never the pupil's teachers, 404). Reads by staff are audited."""
    item = policy.access_justification(request.actor, justification_id)
    if not item.document:
        raise Http404
    audit_read(request, item.pupil, item.establishment_id)
    return download(item.document, item.document_name)
