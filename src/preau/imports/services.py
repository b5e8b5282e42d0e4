"""Running imports: one ImportRun per run, its report stored, a dry run rolled back whole."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from preau.accounts.selectors import bump_state_generation
from preau.audit.services import Action, record

from .aaf import AafImporter
from .models import ImportRejection, ImportRun
from .report import Report

KINDS = {"aaf": AafImporter}


class _DryRunRollback(Exception):
    pass


def import_run(*, actor=None, kind: str, paths: Iterable[str | Path], dry_run: bool = False) -> tuple[ImportRun,
                                                                                                      Report]:
    """Import national-directory files of one kind. `actor` is the User who started it (None from the console).

    Non-dry runs commit batch by batch (see the importer); a dry run runs everything in one transaction rolled
    back at the end, so it writes nothing but its ImportRun and rejections.
    """
    if kind not in KINDS:
        raise ValueError(kind)
    paths = [Path(path) for path in paths]
    run = ImportRun.objects.create(kind=kind, files=[path.name for path in paths], dry_run=dry_run,
                                   created_by=actor)
    report = Report(dry_run=dry_run)
    importer = KINDS[kind](report)
    try:
        if dry_run:
            try:
                with transaction.atomic():
                    importer.run(paths)
                    raise _DryRunRollback
            except _DryRunRollback:
                pass
        else:
            importer.run(paths)
    except Exception as exc:
        run.status, run.error, run.finished_at = ImportRun.Status.FAILED, repr(exc)[:2000], timezone.now()
        run.counts = report.as_counts()
        run.save(update_fields=["status", "error", "finished_at", "counts"])
        raise
    if not dry_run:
        transaction.on_commit(bump_state_generation)  # memberships were written without per-row signals
    ImportRejection.objects.bulk_create(
        [ImportRejection(run=run, file=r.file[:255], record=r.record, attribute=r.attribute[:100], reason=r.reason)
         for r in report.rejections], batch_size=1000)
    if report.imported == 0:
        run.status = ImportRun.Status.FAILED
    elif report.rejections:
        run.status = ImportRun.Status.PARTIAL
    else:
        run.status = ImportRun.Status.SUCCEEDED
    run.counts = report.as_counts()
    run.rejection_count = len(report.rejections)
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "counts", "rejection_count", "finished_at"])
    record(Action.DIRECTORY_IMPORT, actor=actor, target="imports.run", run=run.pk, kind=kind, dry_run=dry_run,
           status=run.status, rejections=run.rejection_count)
    return run, report
