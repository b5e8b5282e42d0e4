"""Directory and timetable imports, as JSON: list, start (multipart upload), detail with progress and report,
rejections, CSV column mapping of a draft, confirmation of a dry run. Administrators (a run they may not see answers
404); the timetable managers of an establishment (head, deputy, director: policy.can_import_timetable) for its
timetable imports only (`edt`, `timetable-csv`; anything else answers 403, as for everybody else). The same services
as the pages under /admin/imports/ and /emploi-du-temps/import/ (docs/imports.md)."""

from __future__ import annotations

import datetime
import json
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from preau.access import policy
from preau.directory.models import Establishment
from preau.imports import selectors, services
from preau.imports.kinds import KINDS, TIMETABLE_KINDS
from preau.imports.models import ImportRun

from ..errors import BAD_REQUEST, FORBIDDEN, NOT_FOUND, api_error, responses
from ..schemas import MAX_DB_INT, PageParams, page_of, paginate

router = Router(tags=["imports"])

FilterId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]


# --- Schemas ----------------------------------------------------------------------------------------------------

class ImportEstablishment(Schema):
    id: int
    uai: str
    name: str


class ImportPerson(Schema):
    id: int
    first_name: str
    last_name: str


class ImportProgress(Schema):
    records_done: int = Field(description="Enregistrements traités (par lots ; approximatif pendant l'import).")
    current_file: str
    at: datetime.datetime | None = Field(description="Dernier signe de vie de l'import.")


class ImportCount(Schema):
    kind: str
    label: str
    created: int
    updated: int
    deactivated: int
    unchanged: int
    leaving: int = Field(description="Marqués partants (absents d'un import complet).")


class ImportFileOut(Schema):
    name: str
    size: int
    kept: bool = Field(description="Le fichier est encore conservé (simulation pas encore confirmée).")


class NewAccountClass(Schema):
    class_id: int
    establishment_id: int
    label: str
    establishment: str
    pupils: int
    guardians: int


class ImportRunOut(Schema):
    id: int
    kind: str
    kind_label: str
    dry_run: bool
    status: str = Field(description="draft, queued, running, succeeded, partial ou failed.")
    status_label: str
    in_progress: bool = Field(description="En attente ou en cours (et pas interrompu).")
    interrupted: bool = Field(description="En attente ou en cours, mais sans signe de vie depuis longtemps.")
    establishment: ImportEstablishment | None
    created_by: ImportPerson | None
    started_at: datetime.datetime
    finished_at: datetime.datetime | None
    total_bytes: int
    rejection_count: int
    error: str
    confirms: int | None = Field(description="La simulation que cet import confirme.")


class ImportRunDetail(ImportRunOut):
    options: dict[str, Any]
    files: list[ImportFileOut]
    progress: ImportProgress
    counts: list[ImportCount]
    confirmed_by: int | None = Field(description="L'import qui a confirmé cette simulation.")
    can_confirm: bool
    confirm_refusal: str = Field(description="Pourquoi cette simulation ne peut pas (ou plus) être confirmée.")
    new_account_classes: list[NewAccountClass]
    csv_header: list[str] | None = Field(description="Colonnes du fichier CSV d'un import à compléter (draft).")


class ImportRejectionOut(Schema):
    id: int
    file: str
    record: int | None
    attribute: str
    reason: str


class ColumnsIn(Schema):
    profile: str = Field(max_length=50, description="pupil, guardian, teacher ou staff.")
    mapping: dict[str, str] = Field(description="Champ → colonne du fichier (en-tête).")
    full: bool = Field(False, description="Le fichier liste toutes les personnes de ce profil : les absents sont "
                                          "marqués partants.")


ImportRunPage = page_of(ImportRunOut, "ImportRunPage")
ImportRejectionPage = page_of(ImportRejectionOut, "ImportRejectionPage")


# --- Serialisers ----------------------------------------------------------------------------------------------

def run_out(run: ImportRun) -> dict:
    interrupted = selectors.is_interrupted(run)
    e, person = run.establishment, run.created_by
    return {
        "id": run.pk, "kind": run.kind, "kind_label": str(run.get_kind_display()), "dry_run": run.dry_run,
        "status": run.status, "status_label": selectors.status_label(run),
        "in_progress": run.in_progress and not interrupted, "interrupted": interrupted,
        "establishment": {"id": e.pk, "uai": e.uai, "name": e.name} if e else None,
        "created_by": ({"id": person.pk, "first_name": person.first_name, "last_name": person.last_name}
                       if person else None),
        "started_at": run.started_at, "finished_at": run.finished_at, "total_bytes": run.total_bytes,
        "rejection_count": run.rejection_count, "error": run.error, "confirms": run.confirms_id,
    }


def run_detail(actor, run: ImportRun) -> dict:
    can_confirm, refusal = selectors.can_confirm(actor, run)
    confirmation = run.confirmations.order_by("-pk").first()
    csv_header = None
    if run.status == ImportRun.Status.DRAFT:
        try:
            headers = services.run_csv_headers(run)
        except ValidationError:
            headers = []
        csv_header = headers[0][1] if headers else []
    return {
        **run_out(run), "options": run.options or {},
        "files": [{"name": u.name, "size": u.size, "kept": bool(u.path)} for u in run.uploads.all()],
        "progress": services.live_progress(run), "counts": selectors.count_rows(run),
        "confirmed_by": confirmation.pk if confirmation else None, "can_confirm": can_confirm,
        "confirm_refusal": refusal if run.dry_run and not confirmation else "",
        "new_account_classes": selectors.new_account_classes(actor, run), "csv_header": csv_header,
    }


def rejection_out(r) -> dict:
    return {"id": r.pk, "file": r.file, "record": r.record, "attribute": r.attribute, "reason": r.reason}


# --- Helpers --------------------------------------------------------------------------------------------------

ADMINS_ONLY = "L'import de l'annuaire est réservé aux administrateurs."


def _admin(request):
    actor = request.actor
    if not policy.is_admin(actor):
        raise api_error(403, ADMINS_ONLY)
    return actor


def _timetable_manager(actor) -> bool:
    """Heads, deputies and directors: the timetable imports of their establishments (not being administrators)."""
    return bool(policy.timetable_managed_establishment_ids(actor))


def _run(request, import_id: int) -> ImportRun:
    actor = request.actor
    if policy.is_admin(actor):
        return selectors.access_run(actor, import_id)
    if _timetable_manager(actor):
        try:
            return selectors.access_run(actor, import_id)  # their establishments' timetable runs only
        except Http404:
            pass
    raise api_error(403, ADMINS_ONLY)  # the same answer whatever the run: nothing learnt about the others


def _refused(exc: Exception):
    """A service's refusal as the API's French error."""
    if isinstance(exc, PermissionDenied):
        return api_error(403, str(exc) or "Vous n'avez pas le droit d'effectuer cette action.")
    messages = []
    if hasattr(exc, "error_dict"):
        for errors in exc.error_dict.values():
            messages.extend(message for error in errors for message in error.messages)
    else:
        messages = exc.messages
    return api_error(400, " ".join(messages))


# --- Endpoints ------------------------------------------------------------------------------------------------

@router.get("/imports", response=responses(ImportRunPage, FORBIDDEN), summary="Imports de l'annuaire")
def list_imports(request, page: Query[PageParams], establishment: FilterId | None = None,
                 kind: Annotated[str | None, Query(max_length=16, description=(
                     "Un type d'import (" + ", ".join(KINDS) + ") ; edt ou timetable-csv pour la direction."))]
                 = None):
    """The runs the caller may see, newest first: all of them for the global admin, those of the establishments
    they administer for an ENT admin; a head, deputy or director asks for one timetable kind (`kind=edt` or
    `kind=timetable-csv`) and gets their establishments' runs of it."""
    actor = request.actor
    if not policy.is_admin(actor) and not (kind in TIMETABLE_KINDS and _timetable_manager(actor)):
        raise api_error(403, ADMINS_ONLY)
    runs = selectors.runs_visible(actor, establishment_id=establishment)
    if kind is not None:
        runs = runs.filter(kind=kind)
    return paginate(runs, page, run_out)


@router.post("/imports", response=responses(ImportRunDetail, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Lancer un import (fichiers en multipart/form-data)")
def create_import(
    request,
    kind: Annotated[str, Form(max_length=16, description=(
        "aaf, siecle, sts, be1d, csv (l'annuaire), edt ou timetable-csv (l'emploi du temps)."))],
    files: Annotated[list[UploadedFile], File(description="Les fichiers (plusieurs possibles).")],
    establishment: Annotated[int | None, Form(ge=1, le=MAX_DB_INT, description=(
        "L'établissement des fichiers (obligatoire pour un administrateur d'établissement, pour be1d et csv, et "
        "pour un emploi du temps : edt, timetable-csv)."))
    ] = None,
    dry_run: Annotated[bool, Form(description="Simulation (par défaut) : rien n'est enregistré.")] = True,
    options: Annotated[str, Form(max_length=20_000, description=(
        "Options en JSON ; pour csv : {\"profile\": ..., \"mapping\": {champ: colonne}}. Sans elles, un import "
        "csv attend ses colonnes (POST /imports/{id}/columns)."))] = "",
):
    """Checks the files (types, size: PREAU_IMPORT_MAX_BYTES), keeps them and queues the import; follow it with
    `GET /imports/{id}`. Errors in French: 400 (files, options), 403 (not allowed), 404 (establishment).
    A timetable (`edt`, `timetable-csv`) is also started by the establishment's head, deputy or director."""
    actor = request.actor if kind in TIMETABLE_KINDS else _admin(request)
    target = None
    if establishment is not None:
        # Timetables: the service asks the policy (can_import_timetable) about this establishment.
        establishments = (Establishment.objects.all() if kind in TIMETABLE_KINDS
                          else policy.administered_establishments(actor))
        target = establishments.filter(pk=establishment).first()
        if target is None:
            raise Http404
    parsed = None
    if options.strip():
        try:
            parsed = json.loads(options)
        except ValueError:
            raise api_error(400, "Les options doivent être un objet JSON.") from None
    try:
        run = services.import_start(actor=actor, kind=kind, files=files, establishment=target, dry_run=dry_run,
                                    options=parsed, request=request)
    except (ValidationError, PermissionDenied) as exc:
        raise _refused(exc) from None
    run.refresh_from_db()
    return Status(201, run_detail(actor, run))


@router.get("/imports/{import_id}", response=responses(ImportRunDetail, NOT_FOUND, FORBIDDEN),
            summary="Un import : progression, décomptes, fichiers", url_name="import_detail")
def get_import(request, import_id: int):
    run = _run(request, import_id)
    return run_detail(request.actor, run)


@router.get("/imports/{import_id}/rejections", response=responses(ImportRejectionPage, NOT_FOUND, FORBIDDEN),
            summary="Les rejets d'un import")
def list_import_rejections(request, import_id: int, page: Query[PageParams]):
    """One item per rejected record or value: file, record number, attribute, reason in French."""
    run = _run(request, import_id)
    return paginate(selectors.rejections(run), page, rejection_out)


@router.post("/imports/{import_id}/columns", response=responses(ImportRunDetail, BAD_REQUEST, NOT_FOUND, FORBIDDEN),
             summary="Choisir les colonnes d'un import CSV en attente")
def set_import_columns(request, import_id: int, data: ColumnsIn):
    """For a `draft` CSV import: the profile and the column of each field (`csv_header` lists the columns)."""
    run = _run(request, import_id)
    try:
        run = services.import_map_columns(actor=request.actor, run=run, options=data.dict(), request=request)
    except (ValidationError, PermissionDenied) as exc:
        raise _refused(exc) from None
    return run_detail(request.actor, run)


@router.post("/imports/{import_id}/confirm",
             response=responses(ImportRunDetail, BAD_REQUEST, NOT_FOUND, FORBIDDEN, status=201),
             summary="Confirmer une simulation : lancer l'import des mêmes fichiers")
def confirm_import(request, import_id: int):
    run = _run(request, import_id)
    try:
        new = services.import_confirm(actor=request.actor, run=run, request=request)
    except (ValidationError, PermissionDenied) as exc:
        raise _refused(exc) from None
    new.refresh_from_db()
    return Status(201, run_detail(request.actor, new))
