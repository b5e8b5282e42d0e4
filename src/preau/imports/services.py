"""Running imports: one ImportRun per run, its report stored, a dry run rolled back whole.

Two ways in:
- `import_run(...)` runs files already on this machine, now (the command line, tests);
- `import_start(...)` (administration pages, API) checks the policy and the files, keeps the uploaded files in the
  default storage (S3 in production), creates the run `queued` and hands it to the background task
  (`tasks.run_import` → `import_execute`), which copies the files to a local temporary directory (the importers
  read paths) and runs them. After a dry run, `import_confirm(...)` starts the real import of the same files.

Uploaded files hold personal data: they are deleted as soon as their run no longer needs them (see
`release_uploads` and `import_cleanup`, docs/imports.md).
"""

from __future__ import annotations

import datetime
import importlib
import json
import logging
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from preau.access import policy
from preau.accounts.selectors import bump_state_generation
from preau.audit.services import Action, record
from preau.directory.models import ClassEnrolment, Establishment, GuardianLink, SchoolClass

from .engine import RunAborted
from .kinds import KINDS, TIMETABLE_KINDS, ImportKind
from .models import ImportRejection, ImportRun, ImportUpload
from .report import Report

logger = logging.getLogger("preau.imports")

CSV_KIND = "csv"
CSV_MODULE = "preau.imports.csvgeneric"
MAX_FILES = 100
MAX_NAME_LENGTH = 200
MAX_OPTIONS_CHARS = 20_000
# Progress is written at most this often (seconds).
PROGRESS_INTERVAL = 1.0
PROGRESS_CACHE_SECONDS = 2 * 24 * 3600
MAX_NEW_ACCOUNT_CLASSES = 2000
COPY_CHUNK = 1024 * 1024
KEPT = (ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL)
FINISHED = (*KEPT, ImportRun.Status.FAILED)


def max_bytes() -> int:
    return int(settings.PREAU_IMPORT_MAX_BYTES)


def dry_run_keep() -> datetime.timedelta:
    return datetime.timedelta(hours=int(settings.PREAU_IMPORT_DRY_RUN_KEEP_HOURS))


def stale_after() -> datetime.timedelta:
    return datetime.timedelta(hours=int(settings.PREAU_IMPORT_STALE_HOURS))


class _DryRunRollback(Exception):
    pass


# --- Progress -------------------------------------------------------------------------------------------------

def progress_key(run_id: int) -> str:
    return f"imports:progress:{run_id}"


class ProgressRecorder:
    """The importers' `progress(records_done, current_file)` callback, called after every batch.

    Written at most once per PROGRESS_INTERVAL: to the cache (shared with the web processes through Redis), and to
    the run's row with one UPDATE unless it is a dry run (whose whole work sits in one transaction that is rolled
    back, so nobody else would see that row change).
    """

    def __init__(self, run: ImportRun):
        self.run = run
        self.records_done = 0
        self._last: float | None = None

    def __call__(self, records_done: int, current_file: str) -> None:
        self.records_done = max(self.records_done, int(records_done))
        now = time.monotonic()
        if self._last is not None and now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        name = Path(str(current_file)).name[:255]
        at = timezone.now()
        try:
            cache.set(progress_key(self.run.pk), {"records_done": self.records_done, "current_file": name,
                                                  "at": at.timestamp()}, PROGRESS_CACHE_SECONDS)
        except Exception:  # the cache is a convenience: an import never stops for it
            logger.warning("Import run %s: progress not written to the cache", self.run.pk, exc_info=True)
        if not self.run.dry_run:
            ImportRun.objects.filter(pk=self.run.pk).update(records_done=self.records_done, current_file=name,
                                                             progress_at=at)


def live_progress(run: ImportRun) -> dict:
    """{"records_done", "current_file", "at"} of a run, the cache's being fresher while it runs."""
    progress = {"records_done": run.records_done, "current_file": run.current_file, "at": run.progress_at}
    if run.in_progress:
        try:
            cached = cache.get(progress_key(run.pk))
        except Exception:
            cached = None
        if cached and cached.get("records_done", 0) >= progress["records_done"]:
            at = datetime.datetime.fromtimestamp(cached["at"], tz=datetime.UTC)
            progress = {"records_done": cached["records_done"], "current_file": cached["current_file"],
                        "at": max(at, progress["at"]) if progress["at"] else at}
    return progress


def is_stale(run: ImportRun, now=None) -> bool:
    """A queued or running import with no sign of life for PREAU_IMPORT_STALE_HOURS (its worker was stopped)."""
    if not run.in_progress:
        return False
    now = now or timezone.now()
    last = max(filter(None, (run.started_at, live_progress(run)["at"])))
    return last < now - stale_after()


# --- Running files now (command line, tests, and the background task) ---------------------------------------

def import_run(*, actor=None, kind: str, paths: Iterable[str | Path], dry_run: bool = False, establishment=None,
               options: dict | None = None) -> tuple[ImportRun, Report]:
    """Import files of one kind that are on this machine. `actor` is the User who started it (None: the console).

    Non-dry runs commit batch by batch (see engine.py); a dry run runs everything in one transaction rolled back at
    the end, so it writes nothing but its ImportRun and rejections.
    """
    if kind not in KINDS:
        raise ValueError(kind)
    paths = [Path(path) for path in paths]
    run = ImportRun.objects.create(
        kind=kind, files=[path.name for path in paths], dry_run=dry_run, establishment=establishment,
        options=options or {}, created_by=actor, status=ImportRun.Status.RUNNING, progress_at=timezone.now(),
        total_bytes=sum(path.stat().st_size for path in paths if path.is_file()))
    return run, execute(run, paths)


def execute(run: ImportRun, paths: list[Path]) -> Report:
    """Run the importer of a running ImportRun on local files, then store its report. An unexpected error marks
    the run failed (with what the batches before it recorded) and is raised again."""
    report = Report(dry_run=run.dry_run)
    progress = ProgressRecorder(run)
    importer = None
    try:
        importer = KINDS[run.kind].importer(report, establishment=run.establishment, options=run.options or {},
                                            progress=progress)
        if run.dry_run:
            try:
                with transaction.atomic():
                    importer.run(paths)
                    raise _DryRunRollback
            except _DryRunRollback:
                pass
        else:
            importer.run(paths)
    except Exception as exc:
        _finish(run, report, progress, importer, error=_failure_message(run, exc))
        raise
    _finish(run, report, progress, importer)
    return report


def _failure_message(run: ImportRun, exc: Exception) -> str:
    if isinstance(exc, RunAborted):
        return exc.reason
    detail = (str(exc).splitlines() or [""])[0][:300]
    error = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    if run.dry_run:
        return _("La simulation s'est arrêtée sur une erreur inattendue (%(error)s). Rien n'a été enregistré.") % {
            "error": error}
    return _("L'import s'est arrêté sur une erreur inattendue (%(error)s). Les lots traités avant l'erreur restent "
             "enregistrés ; relancer l'import les retrouvera sans créer de doublon.") % {"error": error}


def _finish(run: ImportRun, report: Report, progress: ProgressRecorder, importer, *, error: str = "") -> None:
    now = timezone.now()
    if not run.dry_run and run.kind not in TIMETABLE_KINDS:
        transaction.on_commit(bump_state_generation)  # memberships were written without per-row signals
    ImportRejection.objects.bulk_create(
        [ImportRejection(run=run, file=r.file[:255], record=r.record, attribute=r.attribute[:100], reason=r.reason)
         for r in report.rejections], batch_size=1000)
    if error or report.imported == 0:
        run.status = ImportRun.Status.FAILED
    elif report.rejections:
        run.status = ImportRun.Status.PARTIAL
    else:
        run.status = ImportRun.Status.SUCCEEDED
    run.error = error
    run.counts = report.as_counts()
    run.rejection_count = len(report.rejections)
    run.finished_at = now
    run.records_done = max(progress.records_done, getattr(importer, "records_done", 0))
    run.current_file = ""
    run.progress_at = now
    run.new_account_classes = [] if error else _new_account_classes(run, since=run.started_at, until=now)
    run.save(update_fields=["status", "error", "counts", "rejection_count", "finished_at", "records_done",
                            "current_file", "progress_at", "new_account_classes"])
    try:
        cache.delete(progress_key(run.pk))
    except Exception:
        logger.warning("Import run %s: progress not removed from the cache", run.pk, exc_info=True)
    record(Action.DIRECTORY_IMPORT, actor=run.created_by, target="imports.run", establishment_id=run.establishment_id,
           run=run.pk, step="finish", kind=run.kind, dry_run=run.dry_run, status=run.status,
           rejections=run.rejection_count)


def _new_account_classes(run: ImportRun, *, since, until) -> list[dict]:
    """Current classes whose pupils, or their guardians, got their account during this run (they need activation
    codes). People are "new" by their account's creation time, which the run's window brackets."""
    created = sum((run.counts.get(kind) or {}).get("created", 0) for kind in ("pupils", "guardians"))
    if run.dry_run or not created or since is None:
        return []
    classes = SchoolClass.objects.filter(school_year__is_current=True)
    if run.establishment_id:
        classes = classes.filter(establishment_id=run.establishment_id)
    pupils = dict(ClassEnrolment.objects.filter(
        school_class__in=classes, pupil__date_joined__gte=since, pupil__date_joined__lte=until)
        .values("school_class_id").annotate(n=Count("pupil_id", distinct=True)).values_list("school_class_id", "n"))
    guardians = dict(GuardianLink.objects.filter(
        guardian__date_joined__gte=since, guardian__date_joined__lte=until,
        pupil__class_enrolments__school_class__in=classes)
        .values("pupil__class_enrolments__school_class_id").annotate(n=Count("guardian_id", distinct=True))
        .values_list("pupil__class_enrolments__school_class_id", "n"))
    rows = (SchoolClass.objects.filter(pk__in=set(pupils) | set(guardians)).select_related("establishment")
            .order_by("establishment__name", "label", "pk")[:MAX_NEW_ACCOUNT_CLASSES])
    return [{"class_id": c.pk, "establishment_id": c.establishment_id, "label": c.label,
             "establishment": c.establishment.name, "pupils": pupils.get(c.pk, 0), "guardians": guardians.get(c.pk, 0)}
            for c in rows]


# --- Starting imports from the administration (pages and API) ------------------------------------------------

def check_can_import(actor, kind: str, establishment) -> None:
    """Http404 for an establishment the actor does not administer; PermissionDenied for a refused action;
    ValidationError when an ENT admin has not said which of their establishments the files are for."""
    if kind in TIMETABLE_KINDS:
        _check_can_import_timetable(actor, establishment)
        return
    if actor is None or not policy.is_admin(actor):
        raise PermissionDenied(_("L'import de l'annuaire est réservé aux administrateurs."))
    if establishment is not None and not policy.can_administer(actor, establishment.pk):
        raise Http404
    if kind in policy.GLOBAL_ONLY_IMPORT_KINDS and not actor.is_global_admin:
        raise PermissionDenied(_("Seul l'administrateur général importe ce type de fichiers : ils couvrent "
                                 "plusieurs établissements."))
    if establishment is None and not actor.is_global_admin:
        raise ValidationError({"establishment": _("Choisissez l'établissement auquel ces fichiers appartiennent.")})
    if not policy.can_import(actor, establishment.pk if establishment is not None else None, kind):
        raise PermissionDenied(_("Vous ne pouvez pas importer ces fichiers."))


def _check_can_import_timetable(actor, establishment) -> None:
    """Timetables are imported for one establishment, by its timetable managers (policy.can_import_timetable)."""
    if actor is None:
        raise PermissionDenied(_("L'import de l'emploi du temps est réservé à la direction et aux administrateurs."))
    if establishment is None:
        raise ValidationError({"establishment": _("Choisissez l'établissement de cet emploi du temps.")})
    if not policy.can_import_timetable(actor, establishment.pk):
        if policy.is_admin(actor) or policy.timetable_managed_establishment_ids(actor):
            raise Http404
        raise PermissionDenied(_("L'import de l'emploi du temps est réservé à la direction et aux administrateurs."))


def console_establishment(kind: str, paths: Iterable[str | Path]):
    """For the command line without --uai, the establishment a timetable import is for: None when every file names
    its own (an EDT export's `@UAI`, a timetable CSV's `uai` column: the importer finds and checks it) or cannot be
    read (the importer reports why), else the only active establishment when there is exactly one. ValidationError
    (French) otherwise."""
    file_uais = getattr(KINDS[kind].importer, "file_uais", None)
    paths = [Path(path) for path in paths]
    if file_uais is not None and paths and all(file_uais(path) != set() for path in paths):
        return None
    active = list(Establishment.objects.filter(is_active=True).order_by("pk")[:2])
    if len(active) == 1:
        return active[0]
    if not active:
        raise ValidationError(_("Aucun établissement actif dans Préau : importez d'abord l'annuaire."))
    named = _("l'export EDT donne son UAI") if kind == "edt" else _("ajoutez une colonne uai au fichier")
    raise ValidationError(_(
        "Le fichier ne dit pas son établissement et Préau en compte plusieurs : précisez-le avec --uai UAI (ou "
        "%(named)s).") % {"named": named})


def may_import(actor, establishment_id: int | None, kind: str) -> bool:
    """Whether the actor may run an import of this kind for this establishment (a confirmation, say)."""
    if kind in TIMETABLE_KINDS:
        return policy.can_import_timetable(actor, establishment_id)
    return policy.can_import(actor, establishment_id, kind)


def kind_available(import_kind: ImportKind) -> bool:
    """Whether the kind's importer is installed (importers for every format are written in turn)."""
    try:
        import_kind.importer  # noqa: B018 - imports the module
    except ImportError:
        return False
    return True


def importable_kinds(actor) -> list[ImportKind]:
    """The kinds the actor may import, whose importer is there."""
    return [kind for kind in KINDS.values() if kind_available(kind)
            and (actor.is_global_admin or kind.code not in policy.GLOBAL_ONLY_IMPORT_KINDS)]


def clean_file_name(name: str) -> str:
    """The file's own name (no folder), safe for a local file system; ValidationError otherwise."""
    base = Path(str(name).replace("\\", "/")).name
    try:
        clean = get_valid_filename(base)
    except SuspiciousFileOperation:
        clean = ""
    if not clean or len(clean) > MAX_NAME_LENGTH:
        raise ValidationError({"files": _("Nom de fichier invalide : « %(name)s ».") % {"name": base[:80]}})
    return clean


def check_files(import_kind: ImportKind, files: list) -> list[str]:
    """The files' clean names, after checking their number, names, extensions, emptiness and total size."""
    if not files:
        raise ValidationError({"files": _("Choisissez au moins un fichier.")})
    if len(files) > MAX_FILES:
        raise ValidationError({"files": _("Au plus %(n)d fichiers par import.") % {"n": MAX_FILES}})
    errors, names = [], []
    total = 0
    for file in files:
        name = clean_file_name(file.name)
        if Path(name).suffix.lower() not in import_kind.extensions:
            errors.append(_("« %(name)s » : extension non acceptée pour ce type d'import (attendu : %(ext)s).") % {
                "name": name, "ext": ", ".join(import_kind.extensions)})
        if not file.size:
            errors.append(_("« %(name)s » est vide.") % {"name": name})
        if name in names:
            errors.append(_("Deux fichiers portent le même nom « %(name)s ».") % {"name": name})
        names.append(name)
        total += file.size or 0
    if total > max_bytes():
        errors.append(_("Les fichiers font %(size)s en tout, au-delà de la limite de %(max)s par import.") % {
            "size": filesizeformat(total), "max": filesizeformat(max_bytes())})
    if errors:
        raise ValidationError({"files": errors})
    return names


def _check_options(options) -> dict:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValidationError({"options": _("Les options doivent être un objet JSON.")})
    try:
        size = len(json.dumps(options))
    except (TypeError, ValueError):
        raise ValidationError({"options": _("Les options doivent être un objet JSON.")}) from None
    if size > MAX_OPTIONS_CHARS:
        raise ValidationError({"options": _("Les options sont trop longues.")})
    return options


# --- Generic CSV: the column mapping (contract: preau.imports.csvgeneric) ------------------------------------

def csv_helper():
    """The generic CSV module: PROFILES, FIELDS, read_header(path), guess_mapping(header), CsvUnreadable."""
    return importlib.import_module(CSV_MODULE)


def read_csv_headers(paths: list[Path]) -> list[tuple[str, list[str]]]:
    helper = csv_helper()
    headers = []
    for path in paths:
        try:
            headers.append((path.name, list(helper.read_header(path))))
        except helper.CsvUnreadable as exc:
            message = _("« %(name)s » : %(error)s") % {"name": path.name, "error": exc}
            raise ValidationError({"files": message}) from None
    return headers


def clean_csv_options(options, headers: list[tuple[str, list[str]]]) -> dict:
    """{"profile", "mapping": {field: column}, "full"} checked by the CSV helper against each file's header line;
    French ValidationError otherwise. Columns left unchosen are dropped from the mapping."""
    helper = csv_helper()
    errors: list[str] = []
    for file_name, header in headers:
        for message in helper.validate_options(options, header):
            message = str(message) if len(headers) == 1 else f"« {file_name} » : {message}"
            if message not in errors:
                errors.append(message)
    if errors:
        raise ValidationError({"mapping": errors})
    mapping = {name: column for name, column in options["mapping"].items() if column}
    return {**options, "mapping": mapping}


def _local_copies(files, directory: Path, names: list[str]) -> list[Path]:
    paths = []
    for file, name in zip(files, names, strict=True):
        target = directory / name
        with open(target, "wb") as out:
            for chunk in file.chunks():
                out.write(chunk)
        file.seek(0)
        paths.append(target)
    return paths


def run_csv_headers(run: ImportRun) -> list[tuple[str, list[str]]]:
    """The header line of each file of a (draft) CSV run, read from the storage."""
    with tempfile.TemporaryDirectory(prefix="preau-import-") as tmp:
        return read_csv_headers(fetch_uploads(run, Path(tmp)))


# --- Start, map columns, confirm -----------------------------------------------------------------------------

def import_start(*, actor, kind: str, files, establishment=None, dry_run: bool = True, options: dict | None = None,
                 request=None) -> ImportRun:
    """Keep the uploaded files and queue their import. A generic CSV without options waits as a draft for its
    column mapping (`import_map_columns`). Raises ValidationError (French, per field), PermissionDenied or Http404.
    """
    import_kind = KINDS.get(kind)
    if import_kind is None:
        raise ValidationError({"kind": _("Type d'import inconnu.")})
    check_can_import(actor, kind, establishment)
    if import_kind.needs_establishment and establishment is None:
        raise ValidationError({"establishment": _("Choisissez l'établissement : ces fichiers ne le disent pas.")})
    if not kind_available(import_kind):
        raise ValidationError({"kind": _("Ce type d'import n'est pas encore disponible.")})
    files = list(files)
    names = check_files(import_kind, files)
    options = _check_options(options)
    draft = False
    if kind == CSV_KIND:
        if options:
            with tempfile.TemporaryDirectory(prefix="preau-import-") as tmp:
                options = clean_csv_options(options, read_csv_headers(_local_copies(files, Path(tmp), names)))
        else:
            draft = True
    stored: list[str] = []
    try:
        with transaction.atomic():
            run = ImportRun.objects.create(
                kind=kind, establishment=establishment, options=options, files=names, dry_run=bool(dry_run),
                status=ImportRun.Status.DRAFT if draft else ImportRun.Status.QUEUED, created_by=actor.user,
                total_bytes=sum(file.size for file in files))
            for file, name in zip(files, names, strict=True):
                path = default_storage.save(f"imports/{run.pk}/{secrets.token_hex(8)}/{name}", file)
                stored.append(path)
                ImportUpload.objects.create(run=run, name=name, path=path, size=file.size)
            record(Action.DIRECTORY_IMPORT, actor=actor.user, request=request, target="imports.run",
                   establishment_id=run.establishment_id, run=run.pk, step="start", kind=kind, dry_run=run.dry_run,
                   files=len(names), bytes=run.total_bytes)
            if not draft:
                transaction.on_commit(partial(enqueue, run.pk))
    except BaseException:
        for path in stored:
            _delete_stored(path)
        raise
    return run


def import_map_columns(*, actor, run: ImportRun, options: dict, request=None) -> ImportRun:
    """Give a draft CSV run its column mapping, and queue it."""
    check_can_import(actor, run.kind, run.establishment)
    if run.status != ImportRun.Status.DRAFT:
        raise ValidationError(_("Cet import a déjà été lancé."))
    options = clean_csv_options(_check_options(options), run_csv_headers(run))
    with transaction.atomic():
        updated = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.DRAFT).update(
            options=options, status=ImportRun.Status.QUEUED, started_at=timezone.now())
        if not updated:
            raise ValidationError(_("Cet import a déjà été lancé."))
        record(Action.DIRECTORY_IMPORT, actor=actor.user, request=request, target="imports.run",
               establishment_id=run.establishment_id, run=run.pk, step="columns", kind=run.kind,
               profile=options["profile"])
        transaction.on_commit(partial(enqueue, run.pk))
    run.refresh_from_db()
    return run


def confirm_refusal(run: ImportRun, now=None) -> str:
    """Why a run cannot be confirmed, in French; "" when it can."""
    now = now or timezone.now()
    if not run.dry_run:
        return _("Seule une simulation se confirme.")
    if run.status not in FINISHED:
        return _("La simulation n'est pas terminée.")
    if run.status not in KEPT:
        return _("Cette simulation n'a rien pu importer : corrigez les fichiers et lancez un nouvel import.")
    if run.confirmations.exists():
        return _("Cette simulation a déjà été confirmée.")
    uploads = list(run.uploads.all())
    if (not uploads or any(not upload.path for upload in uploads) or run.finished_at is None
            or run.finished_at < now - dry_run_keep()):
        return _("Les fichiers de cette simulation ne sont plus conservés (ils le sont %(hours)d heures) : lancez un "
                 "nouvel import.") % {"hours": int(settings.PREAU_IMPORT_DRY_RUN_KEEP_HOURS)}
    return ""


def import_confirm(*, actor, run: ImportRun, request=None) -> ImportRun:
    """After a dry run, queue the real import of the same files with the same options (once)."""
    check_can_import(actor, run.kind, run.establishment)
    with transaction.atomic():
        source = ImportRun.objects.select_for_update().get(pk=run.pk)
        refusal = confirm_refusal(source)
        if refusal:
            raise ValidationError(refusal)
        uploads = list(source.uploads.all())
        new = ImportRun.objects.create(
            kind=source.kind, establishment=source.establishment, options=source.options, files=source.files,
            dry_run=False, status=ImportRun.Status.QUEUED, created_by=actor.user, confirms=source,
            total_bytes=source.total_bytes)
        # The files change hands: the dry run no longer holds them (so no clean-up deletes them under the import).
        moved = ImportUpload.objects.filter(pk__in=[u.pk for u in uploads]).exclude(path="").update(path="")
        if moved != len(uploads):
            raise ValidationError(_("Les fichiers de cette simulation ne sont plus conservés : lancez un nouvel "
                                    "import."))
        ImportUpload.objects.bulk_create([ImportUpload(run=new, name=u.name, path=u.path, size=u.size)
                                          for u in uploads])
        record(Action.DIRECTORY_IMPORT, actor=actor.user, request=request, target="imports.run",
               establishment_id=new.establishment_id, run=new.pk, step="confirm", confirms=source.pk, kind=new.kind)
        transaction.on_commit(partial(enqueue, new.pk))
    return new


# --- The background task's side -------------------------------------------------------------------------------

def enqueue(run_id: int) -> None:
    """Hand a queued run to the background task; a broker that cannot be reached fails the run, in French."""
    from .tasks import run_import

    try:
        run_import.delay(run_id)
    except Exception:
        logger.exception("Import run %s could not be queued", run_id)
        _fail(run_id, (ImportRun.Status.QUEUED,), _(
            "La tâche de fond n'a pas pu être lancée (file d'attente injoignable). Réessayez plus tard."))


def import_execute(run_id: int) -> ImportRun | None:
    """The background task's work: claim a queued run (once, even if the task is delivered twice), copy its files
    to a local temporary directory, run them, and delete the files the run no longer needs. Never raises, never
    leaves the run `running`: an unexpected error marks it failed with a French message."""
    import_cleanup()
    now = timezone.now()
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED).update(
        status=ImportRun.Status.RUNNING, started_at=now, progress_at=now)
    if not claimed:
        return None
    run = ImportRun.objects.select_related("establishment", "created_by").get(pk=run_id)
    try:
        with tempfile.TemporaryDirectory(prefix="preau-import-") as tmp:
            try:
                paths = fetch_uploads(run, Path(tmp))
            except Exception as exc:
                logger.exception("Import run %s: uploaded files could not be read back", run_id)
                _fail(run.pk, (ImportRun.Status.RUNNING,), _(
                    "Les fichiers envoyés n'ont pas pu être relus (%(error)s) : lancez un nouvel import.") % {
                    "error": type(exc).__name__})
            else:
                execute(run, paths)
    except Exception as exc:
        logger.exception("Import run %s failed", run_id)
        # execute() stored its report and marked the run failed; this is only a safety net.
        _fail(run.pk, (ImportRun.Status.RUNNING,), _failure_message(run, exc))
    finally:
        run.refresh_from_db()
        release_uploads(run)
    return run


class UploadMissing(Exception):  # noqa: N818
    pass


def fetch_uploads(run: ImportRun, directory: Path) -> list[Path]:
    """Copy the run's files from the storage to `directory`, under their own names (the importers read them)."""
    paths = []
    for upload in run.uploads.all():
        if not upload.path:
            raise UploadMissing(upload.name)
        target = directory / clean_file_name(upload.name)
        with default_storage.open(upload.path, "rb") as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, COPY_CHUNK)
        paths.append(target)
    return paths


def _fail(run_id: int, statuses, message: str) -> bool:
    now = timezone.now()
    return bool(ImportRun.objects.filter(pk=run_id, status__in=statuses).update(
        status=ImportRun.Status.FAILED, error=message, finished_at=now, progress_at=now, current_file=""))


def _delete_stored(path: str) -> bool:
    try:
        default_storage.delete(path)
    except Exception:
        logger.exception("Uploaded import file %s could not be deleted", path)
        return False
    return True


def _release(upload: ImportUpload) -> bool:
    """Delete one uploaded file (claimed first, so that a concurrent confirmation never loses it)."""
    if not upload.path or not ImportUpload.objects.filter(pk=upload.pk, path=upload.path).update(path=""):
        return False
    if not _delete_stored(upload.path):
        ImportUpload.objects.filter(pk=upload.pk, path="").update(path=upload.path)  # retried by the next clean-up
        return False
    return True


def keeps_uploads(run: ImportRun, now=None) -> bool:
    """A run needs its files while it waits or runs, and a dry run that imported something until it is confirmed
    or PREAU_IMPORT_DRY_RUN_KEEP_HOURS have passed."""
    if run.status in (ImportRun.Status.DRAFT, ImportRun.Status.QUEUED, ImportRun.Status.RUNNING):
        return True
    now = now or timezone.now()
    return (run.dry_run and run.status in KEPT and run.finished_at is not None
            and run.finished_at >= now - dry_run_keep())


def release_uploads(run: ImportRun, now=None) -> int:
    if keeps_uploads(run, now):
        return 0
    return sum(_release(upload) for upload in run.uploads.exclude(path=""))


def import_cleanup(now=None) -> dict[str, int]:
    """Fail the imports that stopped without a word (and the CSV drafts left without a mapping), and delete the
    uploaded files no run needs any more. Run by every import, by `preau import_cleanup` and the
    `imports.cleanup` task (see docs/imports.md)."""
    now = now or timezone.now()
    interrupted = abandoned = 0
    oldest = now - min(stale_after(), dry_run_keep())
    for run in ImportRun.objects.filter(status__in=[ImportRun.Status.DRAFT, ImportRun.Status.QUEUED,
                                                    ImportRun.Status.RUNNING], started_at__lt=oldest):
        if run.status == ImportRun.Status.DRAFT:
            if run.started_at < now - dry_run_keep():
                abandoned += _fail(run.pk, (ImportRun.Status.DRAFT,), _(
                    "Abandonné : les colonnes n'ont pas été choisies à temps ; les fichiers ont été supprimés."))
        elif is_stale(run, now):
            interrupted += _fail(run.pk, (run.status,), _(
                "Interrompu : la tâche de fond s'est arrêtée sans terminer (serveur redémarré ?). Ce qui a été "
                "enregistré avant l'arrêt le reste ; lancez un nouvel import."))
    deleted = 0
    for run in ImportRun.objects.filter(status__in=FINISHED, uploads__path__gt="").distinct():
        deleted += release_uploads(run, now)
    # Reports name people (rejections): finished runs go after PREAU_IMPORT_RUN_KEEP_DAYS (their files went long
    # before); the audit log keeps that they happened.
    keep = datetime.timedelta(days=int(settings.PREAU_IMPORT_RUN_KEEP_DAYS))
    _total, by_model = ImportRun.objects.filter(status__in=FINISHED, finished_at__lt=now - keep).delete()
    runs_deleted = by_model.get(ImportRun._meta.label, 0)
    return {"interrupted": interrupted, "abandoned": abandoned, "files_deleted": deleted, "runs_deleted": runs_deleted}
