"""Reads of import runs for the administration pages and the API, scoped by the access policy."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from preau.access import policy

from . import services
from .engine import LABELS
from .kinds import KINDS
from .models import ImportRun
from .report import LEAVING, OUTCOMES


def runs_visible(actor, *, establishment_id: int | None = None) -> QuerySet[ImportRun]:
    # Directory imports are the administrators'; timetable imports also their establishment's timetable managers.
    queryset = (policy.import_runs_visible_to(actor) | policy.timetable_import_runs_visible_to(actor)).select_related(
        "establishment", "created_by")
    if establishment_id is not None:
        queryset = queryset.filter(establishment_id=establishment_id)
    return queryset.order_by("-started_at", "-id")


def access_run(actor, run_id) -> ImportRun:
    try:
        return runs_visible(actor).get(pk=run_id)
    except (ImportRun.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None


def is_interrupted(run: ImportRun, now=None) -> bool:
    return services.is_stale(run, now)


def status_label(run: ImportRun, now=None) -> str:
    if services.is_stale(run, now):
        return _("Interrompu")
    return str(run.get_status_display())


def count_rows(run: ImportRun) -> list[dict]:
    """One row per kind of record counted, with its French label, in the report's order."""
    try:
        labels = KINDS[run.kind].importer.labels
    except (KeyError, ImportError, AttributeError):
        labels = LABELS
    rows = []
    for kind, outcomes in (run.counts or {}).items():
        rows.append({"kind": kind, "label": str(labels.get(kind) or LABELS.get(kind) or kind),
                     **{outcome: int(outcomes.get(outcome, 0)) for outcome in (*OUTCOMES, LEAVING)}})
    return rows


def rejections(run: ImportRun):
    return run.rejections.order_by("id")


def new_account_classes(actor, run: ImportRun) -> list[dict]:
    """Classes where the run created accounts, in establishments the actor administers (for the code sheets)."""
    return [row for row in run.new_account_classes or []
            if policy.can_administer(actor, row.get("establishment_id"))]


def can_confirm(actor, run: ImportRun) -> tuple[bool, str]:
    """(may the actor confirm this dry run now, why not in French)."""
    if not run.dry_run:
        return False, ""
    if not services.may_import(actor, run.establishment_id, run.kind):
        return False, ""
    refusal = services.confirm_refusal(run)
    return not refusal, refusal
