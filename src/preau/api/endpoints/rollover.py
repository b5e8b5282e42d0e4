"""The year rollover (*bascule*) of an establishment, for its administrators: what it will archive, and doing it.

The same service as the administration screen (`preau.directory.rollover`). A person who administers nothing gets
403; an establishment the caller does not administer answers 404, like a missing one.
"""

from __future__ import annotations

import datetime
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import Field, Router, Schema, Status

from preau.access import policy
from preau.directory import rollover as rollover_service
from preau.directory import selectors as directory_selectors
from preau.directory.models import Establishment

from ..errors import BAD_REQUEST, FORBIDDEN, NOT_FOUND, api_error, responses
from ..schemas import SchoolYearDetail

router = Router(tags=["années scolaires"])

PeriodScheme = Literal[tuple(Establishment.PeriodScheme.values)]  # type: ignore[valid-type]


class YearCountsOut(Schema):
    classes: int = Field(description="Classes de l'année.")
    groups: int = Field(description="Groupes de l'année.")
    enrolments: int = Field(description="Inscriptions d'élèves dans une classe.")
    group_memberships: int = Field(description="Inscriptions d'élèves dans un groupe.")
    assignments: int = Field(description="Services d'enseignement (enseignant, matière, classe ou groupe).")


class ArchivableYear(Schema):
    id: int
    label: str
    start: datetime.date
    end: datetime.date
    is_current: bool
    is_archived: bool


class SuggestedYear(Schema):
    label: str
    start: datetime.date
    end: datetime.date
    period_scheme: PeriodScheme


class RolloverPreviewOut(Schema):
    current_year: ArchivableYear | None = Field(description="L'année en cours, qui sera archivée (null : aucune, "
                                                            "la bascule est impossible).")
    counts: YearCountsOut | None = Field(description="Ce que l'année en cours contient, conservé en lecture seule.")
    suggested: SuggestedYear | None = Field(description="La nouvelle année proposée (libellé, dates, découpage).")


class RolloverIn(Schema):
    label: str = Field(max_length=9, description="Libellé de la nouvelle année, sous la forme 2027-2028.")
    start: datetime.date
    end: datetime.date
    period_scheme: PeriodScheme | None = Field(None, description="Trimestres ou semestres (par défaut, le "
                                                                  "découpage de l'établissement, qu'il remplace).")
    copy_structure: bool = Field(False, description="Recopier les classes et les groupes (codes, libellés, "
                                                    "niveaux, MEF ; ni élèves ni enseignants).")


class NewYearOut(SchoolYearDetail):
    is_archived: bool


class RolloverOut(Schema):
    archived_year: ArchivableYear
    school_year: NewYearOut = Field(description="La nouvelle année en cours, avec ses périodes.")
    archived_counts: YearCountsOut
    copied_classes: int
    copied_groups: int


def _administered_establishment(request, establishment_id) -> Establishment:
    if not policy.is_admin(request.actor):
        raise PermissionDenied
    try:
        return directory_selectors.access_administered_establishment(request.actor, establishment_id)
    except OverflowError:  # an id beyond the database's range does not exist
        raise Http404 from None


def _year_out(year) -> dict:
    return {"id": year.pk, "label": year.label, "start": year.start, "end": year.end,
            "is_current": year.is_current, "is_archived": year.is_archived}


@router.get("/establishments/{establishment_id}/rollover",
            response=responses(RolloverPreviewOut, NOT_FOUND, FORBIDDEN),
            summary="Préparer la bascule : ce qui sera archivé, la nouvelle année proposée")
def get_rollover(request, establishment_id: int):
    """For the establishment's administrators: the current year, what it holds (it will be archived, read-only),
    and the suggested next year (label, dates one year later, period scheme)."""
    establishment = _administered_establishment(request, establishment_id)
    preview = rollover_service.rollover_preview(actor=request.actor, establishment=establishment)
    if preview.current is None:
        return {"current_year": None, "counts": None, "suggested": None}
    return {"current_year": _year_out(preview.current), "counts": preview.counts.as_dict(),
            "suggested": {"label": preview.label, "start": preview.start, "end": preview.end,
                          "period_scheme": preview.period_scheme}}


@router.post("/establishments/{establishment_id}/rollover",
             response=responses(RolloverOut, NOT_FOUND, FORBIDDEN, BAD_REQUEST, status=201),
             summary="Passer à l'année suivante (bascule)")
def post_rollover(request, establishment_id: int, data: RolloverIn):
    """Archive the current year (its classes, groups, enrolments and services are kept, read-only) and open the new
    one as the current year, with its periods; optionally copy the class and group structure. 400 when there is no
    current year; 422 with one `errors` item per field (`loc` `["body", "label"]`...) when the new year is refused
    (label used or malformed, dates before the end of the current year or overlapping another year)."""
    establishment = _administered_establishment(request, establishment_id)
    try:
        result = rollover_service.school_year_rollover(
            actor=request.actor, establishment=establishment, new_label=data.label, new_start=data.start,
            new_end=data.end, period_scheme=data.period_scheme, copy_structure=data.copy_structure)
    except DjangoValidationError as error:
        if not hasattr(error, "error_dict"):
            raise api_error(400, " ".join(error.messages)) from None
        errors = [{"loc": ["body", field], "msg": message, "type": "value_error"}
                  for field, messages in error.message_dict.items() for message in messages]
        return Status(422, {"detail": errors[0]["msg"], "errors": errors})
    year = result.school_year
    periods = [{"id": p.pk, "index": p.index, "label": p.label, "start": p.start, "end": p.end}
               for p in year.periods.order_by("index")]
    return Status(201, {
        "archived_year": _year_out(result.archived),
        "school_year": {**_year_out(year), "periods": periods},
        "archived_counts": result.counts.as_dict(),
        "copied_classes": result.copied_classes, "copied_groups": result.copied_groups,
    })
