"""The imports' administration pages, under /admin/imports/ (namespace "imports").

Administrators only (403 for everybody else); a run the actor may not see answers 404. Views parse the request,
call services and selectors, and render; the live progress of a running import is polled by a small static script
(static/imports/progress.js) from the API (`GET /api/v1/imports/{id}`), and the page works without it.
"""

from __future__ import annotations

import csv
import functools

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from preau.access import policy
from preau.directory.admin_views import admin_required, apply_errors
from preau.directory.models import Establishment

from . import selectors, services
from .forms import ColumnMappingForm, CsvProfileForm, ImportStartForm
from .models import ImportRun

RUNS_PER_PAGE = 30
REJECTIONS_PER_PAGE = 50
# Spreadsheet software runs cells starting with these as formulas: such values are written as text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def run_view(view):
    """Resolve <rid> to a run the actor may see (404 otherwise)."""

    @admin_required
    @functools.wraps(view)
    def wrapper(request, rid, *args, **kwargs):
        return view(request, selectors.access_run(request.actor, rid), *args, **kwargs)

    return wrapper


def _establishment_filter(request) -> Establishment | None:
    value = request.GET.get("etablissement", "")
    if not value.isdigit():
        return None
    return policy.administered_establishments(request.actor).filter(pk=int(value)).first()


@admin_required
@never_cache
def run_list(request):
    actor = request.actor
    establishment = _establishment_filter(request)
    queryset = selectors.runs_visible(actor, establishment_id=establishment.pk if establishment else None)
    page = Paginator(queryset, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(run, selectors.status_label(run)) for run in page]
    return render(request, "imports/run_list.html", {
        "page": page, "rows": rows, "filter_establishment": establishment,
        "can_start": bool(services.importable_kinds(actor)),
    })


@admin_required
def run_create(request):
    actor = request.actor
    if not services.importable_kinds(actor):
        raise PermissionDenied
    posted = request.method == "POST"
    form = ImportStartForm(request.POST if posted else None, request.FILES if posted else None, actor=actor,
                           initial_establishment=_establishment_filter(request))
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            run = services.import_start(actor=actor, kind=data["kind"], files=data["files"],
                                        establishment=data["establishment"], dry_run=data["dry_run"],
                                        request=request)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if run.status == ImportRun.Status.DRAFT:
                return redirect("imports:run_columns", run.pk)
            messages.success(request, _("Simulation lancée.") if run.dry_run else _("Import lancé."))
            return redirect("imports:run_detail", run.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "imports/run_create.html", {"form": form}, status=status)


@run_view
@never_cache
def run_detail(request, run):
    actor = request.actor
    rejections = Paginator(selectors.rejections(run), REJECTIONS_PER_PAGE).get_page(request.GET.get("page"))
    can_confirm, refusal = selectors.can_confirm(actor, run)
    interrupted = selectors.is_interrupted(run)
    return render(request, "imports/run_detail.html", {
        "run": run, "status_label": selectors.status_label(run), "interrupted": interrupted,
        "live": run.in_progress and not interrupted, "progress": services.live_progress(run),
        "count_rows": selectors.count_rows(run), "rejections": rejections, "uploads": run.uploads.all(),
        "can_confirm": can_confirm, "confirm_refusal": refusal,
        "confirmation": run.confirmations.order_by("-pk").first(),
        "new_account_classes": selectors.new_account_classes(actor, run),
    })


@run_view
@require_POST
def run_confirm(request, run):
    try:
        new = services.import_confirm(actor=request.actor, run=run, request=request)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("imports:run_detail", run.pk)
    messages.success(request, _("Import confirmé : il est lancé avec les fichiers de la simulation."))
    return redirect("imports:run_detail", new.pk)


@run_view
def run_columns(request, run):
    """A generic CSV's second step: who the file lists (?profil=), then which column holds which field."""
    if run.status != ImportRun.Status.DRAFT:
        return redirect("imports:run_detail", run.pk)
    services.check_can_import(request.actor, run.kind, run.establishment)
    helper = services.csv_helper()
    header_error = ""
    try:
        headers = services.run_csv_headers(run)
    except ValidationError as error:
        headers, header_error = [], " ".join(error.messages)
    header = headers[0][1] if headers else []
    profile_form = CsvProfileForm(request.GET if "profil" in request.GET else None, helper=helper)
    profile = profile_form.cleaned_data["profil"] if profile_form.is_bound and profile_form.is_valid() else None
    form = None
    if profile is not None and not header_error:
        posted = request.method == "POST"
        form = ColumnMappingForm(request.POST if posted else None, header=header, helper=helper, profile=profile)
        if posted and form.is_valid():
            try:
                services.import_map_columns(actor=request.actor, run=run, options=form.options(), request=request)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("Simulation lancée.") if run.dry_run else _("Import lancé."))
                return redirect("imports:run_detail", run.pk)
    status = 400 if (form is not None and form.is_bound and form.errors) or header_error else 200
    return render(request, "imports/run_columns.html", {
        "run": run, "profile_form": profile_form, "form": form, "profile_label": helper.PROFILES.get(profile, ""),
        "header": header, "header_error": header_error}, status=status)


class _Echo:
    def write(self, value):
        return value


def spreadsheet_safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@run_view
def rejections_csv(request, run):
    return rejections_csv_response(run)


def rejections_csv_response(run: ImportRun) -> StreamingHttpResponse:
    """Every rejection of the run, as a CSV file for a spreadsheet (UTF-8 with BOM, `;`-separated); the caller
    checked that the actor may see the run (also the timetable import page's)."""
    writer = csv.writer(_Echo(), delimiter=";")

    def rows():
        yield "\ufeff" + writer.writerow([_("Fichier"), _("Enregistrement"), _("Attribut"), _("Motif")])
        for rejection in selectors.rejections(run).iterator(chunk_size=2000):
            record = "" if rejection.record is None else rejection.record
            yield writer.writerow([spreadsheet_safe(rejection.file), record, spreadsheet_safe(rejection.attribute),
                                   spreadsheet_safe(rejection.reason)])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-rejets.csv"'
    response["Cache-Control"] = "no-store"
    return response
