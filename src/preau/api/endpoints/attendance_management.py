"""Vie scolaire's follow-up threshold as JSON (docs/attendance.md, "Follow-up threshold"): the pupils with 4
unjustified half-days or more in a month (Code de l'éducation L131-8), the same function as the page
/vie-scolaire/suivi/ (`preau.attendance.management.pupils_over_threshold`). Vie scolaire (CPE, vie scolaire,
leadership) of the establishment only: anyone else, and a missing establishment, answer 404. The pupils listed are
logged as sensitive reads."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from ninja import Field, Router, Schema

from preau.access import policy
from preau.attendance import management, selectors

from ..errors import BAD_REQUEST, NOT_FOUND, api_error, responses
from ..schemas import PersonRef
from .attendance import CountsOut

router = Router(tags=["vie scolaire"])


class ThresholdRow(Schema):
    pupil: PersonRef
    school_class: str
    counts: CountsOut = Field(description="Demi-journées du mois.")


class ThresholdOut(Schema):
    establishment_id: int
    month: str = Field(description="Le mois, AAAA-MM.")
    first_day: datetime.date
    last_day: datetime.date
    threshold: int = Field(description="Demi-journées non justifiées dans le mois à partir desquelles agir (4).")
    items: list[ThresholdRow]


@router.get("/attendance/establishments/{establishment_id}/threshold",
            response=responses(ThresholdOut, BAD_REQUEST, NOT_FOUND),
            summary="Élèves au-dessus du seuil d'absentéisme (4 demi-journées non justifiées dans le mois)")
def threshold(request, establishment_id: int, month: str | None = None):
    """`month` (AAAA-MM, the current month by default). Most unjustified half-days first."""
    actor = request.actor
    if not policy.can_manage_attendance(actor, establishment_id):
        raise Http404
    try:
        first = management.parse_month(month, timezone.localdate())
    except ValidationError as error:
        raise api_error(400, error.messages[0]) from None
    rows = management.pupils_over_threshold(establishment_id, first)
    selectors.record_attendance_reads(actor=request.user, pupils=[row.pupil for row in rows], request=request,
                                      establishment_id=establishment_id)
    first, last = management.month_bounds(first)
    return {"establishment_id": establishment_id, "month": first.strftime("%Y-%m"), "first_day": first,
            "last_day": last, "threshold": management.THRESHOLD_HALF_DAYS,
            "items": [{"pupil": {"id": r.pupil.pk, "first_name": r.pupil.first_name,
                                 "last_name": r.pupil.last_name},
                       "school_class": r.school_class, "counts": r.counts} for r in rows]}
