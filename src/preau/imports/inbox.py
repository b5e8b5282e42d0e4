"""The nightly feed: national exports dropped in an inbox folder (by SFTP, say) are imported on a schedule.

Layout of PREAU_IMPORT_INBOX (one folder per kind):

    aaf/          AAF deliveries: files of one delivery share their `_Complet_YYYYMMDD_` / `_Delta_YYYYMMDD_` stamp
    siecle/       SIECLE/BEE exports (the files name their establishment)
    sts/          STS-Web exports (the files name their establishment)
    be1d/<UAI>/   BE1D extractions of the school <UAI> (the files do not name it)

A delivery is imported once all its files have stopped changing for PREAU_IMPORT_INBOX_SETTLE_SECONDS (a file
still being uploaded holds the delivery back to the next pass). AAF deliveries go in date order, a Complet before
the Deltas of the same day. Imported files move to `.done/<stamp>-<kind>-<run>/`, files of a run that crashed to
`.failed/…`; both are deleted after PREAU_IMPORT_INBOX_KEEP_DAYS days (they hold personal data).
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from preau.directory.models import Establishment

from .services import import_run

logger = logging.getLogger(__name__)

DONE, FAILED = ".done", ".failed"
LOCK_KEY = "preau:imports:inbox"
LOCK_SECONDS = 6 * 3600
AAF_STAMP_RE = re.compile(r"_(Complet|Delta)_(\d{8})_", re.IGNORECASE)
UAI_RE = re.compile(r"^\d{7}[A-Z]$")


@dataclass
class Delivery:
    kind: str
    label: str  # for the log and the archive folder name
    paths: list[Path]
    establishment_uai: str = ""

    def settled(self, now: float, settle_seconds: int) -> bool:
        return all(now - path.stat().st_mtime >= settle_seconds for path in self.paths)


@dataclass
class InboxOutcome:
    delivery: str
    run_id: int | None
    status: str
    lines: list[str]


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))


def deliveries(inbox: Path) -> list[Delivery]:
    """The deliveries waiting in the inbox, in the order they must be imported."""
    out: list[Delivery] = []
    groups: dict[tuple[str, int, str], list[Path]] = {}
    for path in _files(inbox / "aaf"):
        match = AAF_STAMP_RE.search(path.name)
        # Unstamped files go last, together; a Complet sorts before the Deltas of its day.
        key = (match.group(2), 0 if match.group(1).lower() == "complet" else 1, match.group(1).capitalize()) \
            if match else ("99999999", 2, "")
        groups.setdefault(key, []).append(path)
    for (stamp, _order, variant), paths in sorted(groups.items()):
        label = f"{variant}-{stamp}" if variant else "sans-date"
        out.append(Delivery("aaf", label, paths))
    for kind in ("siecle", "sts"):
        paths = _files(inbox / kind)
        if paths:
            out.append(Delivery(kind, kind, paths))
    be1d = inbox / "be1d"
    if be1d.is_dir():
        for folder in sorted(path for path in be1d.iterdir() if path.is_dir() and not path.name.startswith(".")):
            paths = _files(folder)
            if paths:
                out.append(Delivery("be1d", folder.name, paths, establishment_uai=folder.name.upper()))
    return out


def _archive(inbox: Path, delivery: Delivery, where: str, run_id: int | None) -> None:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    target = inbox / where / f"{stamp}-{delivery.kind}-{delivery.label}-{run_id or 'x'}"
    target.mkdir(parents=True, exist_ok=True)
    for path in delivery.paths:
        shutil.move(str(path), target / path.name)


def purge_archives(inbox: Path, *, keep_days: int, now: float | None = None) -> int:
    """Delete archived deliveries older than keep_days; returns how many folders went."""
    now = now if now is not None else time.time()
    removed = 0
    for where in (DONE, FAILED):
        folder = inbox / where
        if not folder.is_dir():
            continue
        for archive in folder.iterdir():
            if archive.is_dir() and now - archive.stat().st_mtime > keep_days * 86400:
                shutil.rmtree(archive)
                removed += 1
    return removed


def import_inbox(inbox: Path | None = None, *, now: float | None = None) -> list[InboxOutcome]:
    """Import every settled delivery of the inbox, one run each, then purge old archives. One pass at a time."""
    inbox = Path(inbox or settings.PREAU_IMPORT_INBOX)
    if not inbox.is_dir():
        raise FileNotFoundError(inbox)
    if not cache.add(LOCK_KEY, "1", LOCK_SECONDS):
        logger.warning("Import inbox already being processed; this pass does nothing.")
        return []
    try:
        return _import_all(inbox, now if now is not None else time.time())
    finally:
        cache.delete(LOCK_KEY)


def _import_all(inbox: Path, now: float) -> list[InboxOutcome]:
    outcomes = []
    for delivery in deliveries(inbox):
        name = f"{delivery.kind}/{delivery.label}"
        if not delivery.settled(now, settings.PREAU_IMPORT_INBOX_SETTLE_SECONDS):
            outcomes.append(InboxOutcome(name, None, "waiting", ["Livraison en cours de dépôt : reportée."]))
            continue
        establishment = None
        if delivery.establishment_uai:
            if UAI_RE.match(delivery.establishment_uai):
                establishment = Establishment.objects.filter(uai=delivery.establishment_uai).first()
            if establishment is None:
                outcomes.append(InboxOutcome(name, None, "waiting", [
                    f"Dossier « {delivery.label} » : aucun établissement de ce code UAI ; fichiers laissés en "
                    "place."]))
                continue
        try:
            run, report = import_run(kind=delivery.kind, paths=delivery.paths, establishment=establishment)
        except Exception:
            logger.exception("Import of inbox delivery %s failed", name)
            _archive(inbox, delivery, FAILED, None)
            outcomes.append(InboxOutcome(name, None, "failed", ["L'import a échoué ; fichiers mis de côté."]))
            continue
        _archive(inbox, delivery, DONE, run.pk)
        outcomes.append(InboxOutcome(name, run.pk, str(run.status), report.lines()))
    purge_archives(inbox, keep_days=settings.PREAU_IMPORT_INBOX_KEEP_DAYS, now=now)
    return outcomes


@shared_task(ignore_result=True)
def import_inbox_task() -> None:
    if settings.PREAU_IMPORT_INBOX:
        for outcome in import_inbox():
            logger.info("Import inbox %s: %s (run %s)", outcome.delivery, outcome.status, outcome.run_id)

