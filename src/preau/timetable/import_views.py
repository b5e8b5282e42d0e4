"""The timetable import page (/emploi-du-temps/import/, namespace "timetable"; docs/imports.md, "Timetable imports").

For the establishment's timetable managers (policy.can_import_timetable: head, deputy, school director, ENT admins,
global admin) in the establishment chosen in the shell: upload an EDT / Pronote export or a timetable CSV, which
always runs as a dry run first; read its report; confirm it (the real import of the same files); and the list of
the establishment's timetable runs. Everybody else gets 403; a run they may not see answers 404. The imports' own
services and selectors do the work (`import_start`, `import_confirm`, `access_run`), and the report is the
administration run page's partial (imports/_run_report.html).
"""

from __future__ import annotations

import codecs
from pathlib import Path

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from preau.access import policy
from preau.core import context
from preau.directory.admin_views import apply_errors
from preau.imports import selectors, services
from preau.imports.csvread import BINARY_RE
from preau.imports.kinds import KINDS, TIMETABLE_KINDS
from preau.imports.views import REJECTIONS_PER_PAGE, RUNS_PER_PAGE, rejections_csv_response

SNIFF_BYTES = 8192
ZIP_MAGIC = b"PK\x03\x04"


class TimetableImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Type de fichier"))
    file = forms.FileField(label=gettext_lazy("Fichier"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = [KINDS[code] for code in sorted(TIMETABLE_KINDS) if services.kind_available(KINDS[code])]
        self.fields["kind"].choices = [(kind.code, kind.label) for kind in kinds]
        self.fields["kind"].help_text = " ; ".join(f"{kind.label} : {', '.join(kind.extensions)}" for kind in kinds)
        self.fields["file"].help_text = _("%(max)s au plus. Une simulation est faite d'abord : rien n'est enregistré "
                                          "avant que vous confirmiez.") % {"max": filesizeformat(services.max_bytes())}

    def clean(self):
        """The content must look like the kind (the extension and size are the service's checks)."""
        data = super().clean()
        upload, kind = data.get("file"), data.get("kind")
        if upload is None or kind is None or Path(upload.name).suffix.lower() not in KINDS[kind].extensions:
            return data  # the service reports the extension
        head = upload.read(SNIFF_BYTES)
        upload.seek(0)
        utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        if head.startswith(ZIP_MAGIC) or (kind != "edt" and BINARY_RE.search(head) and not utf16):
            self.add_error("file", _("Ce fichier n'est pas un fichier texte (un classeur Excel ou un PDF ?) : "
                                     "enregistrez-le au format CSV ou faites l'export XML."))
        elif (kind == "edt" and head and not utf16
              and not head.lstrip(codecs.BOM_UTF8 + b" \t\r\n").startswith(b"<")):
            self.add_error("file", _("Ce fichier n'est pas un document XML : choisissez l'export de l'emploi du temps "
                                     "(ExportEmploiDuTemps)."))
        return data


def _establishment(request):
    """The shell's establishment, when the actor imports its timetable (403 otherwise: a page their role never
    uses)."""
    establishment = context.establishment(request)
    if establishment is None or not policy.can_import_timetable(request.actor, establishment.pk):
        raise PermissionDenied
    return establishment


def _run(request, rid):
    """A timetable run the actor may see (404 otherwise, as for a missing one)."""
    run = selectors.access_run(request.actor, rid)
    if run.kind not in TIMETABLE_KINDS:
        raise Http404
    return run


@login_required
@never_cache
def import_home(request):
    """Upload (always a dry run first), and the establishment's timetable runs, newest first."""
    actor = request.actor
    establishment = _establishment(request)
    form = TimetableImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.import_start(actor=actor, kind=form.cleaned_data["kind"], files=[form.cleaned_data["file"]],
                                        establishment=establishment, dry_run=True, request=request)
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("Vous n'avez pas le droit d'effectuer cette action."))
        else:
            messages.success(request, _("Simulation lancée : lisez son compte rendu, puis confirmez l'import."))
            return redirect("timetable:import_run", run.pk)
    runs = (policy.timetable_import_runs_visible_to(actor).filter(establishment=establishment)
            .select_related("created_by").order_by("-started_at", "-id"))
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "timetable/import/home.html", {
        "form": form, "establishment": establishment, "page": page,
        "rows": [(run, selectors.status_label(run)) for run in page],
    }, status=status)


@login_required
@never_cache
def import_run(request, rid):
    """A run's progress, then its report; after a dry run, the confirmation."""
    actor = request.actor
    run = _run(request, rid)
    can_confirm, refusal = selectors.can_confirm(actor, run)
    interrupted = selectors.is_interrupted(run)
    return render(request, "timetable/import/run.html", {
        "run": run, "status_label": selectors.status_label(run), "interrupted": interrupted,
        "live": run.in_progress and not interrupted, "progress": services.live_progress(run),
        "count_rows": selectors.count_rows(run), "uploads": run.uploads.all(),
        "rejections": Paginator(selectors.rejections(run), REJECTIONS_PER_PAGE).get_page(request.GET.get("page")),
        "can_confirm": can_confirm, "confirm_refusal": refusal,
        "confirmation": run.confirmations.order_by("-pk").first(), "new_account_classes": [],
        "run_url": reverse("timetable:import_run", args=[run.pk]),
        "confirm_url": reverse("timetable:import_confirm", args=[run.pk]),
        "rejections_csv_url": reverse("timetable:import_rejections", args=[run.pk]),
    })


@login_required
@require_POST
def import_confirm(request, rid):
    """The real import of a dry run's files (once)."""
    run = _run(request, rid)
    try:
        new = services.import_confirm(actor=request.actor, run=run, request=request)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("timetable:import_run", run.pk)
    messages.success(request, _("Import confirmé : il est lancé avec le fichier de la simulation."))
    return redirect("timetable:import_run", new.pk)


@login_required
def import_rejections(request, rid):
    """The run's rejections as a CSV file for a spreadsheet."""
    return rejections_csv_response(_run(request, rid))
