"""The vie scolaire dashboard's follow-up block: the pupils over the official threshold this month
(`management.pupils_over_threshold`), rendered where the dashboard includes `attendance/manage/_dashboard.html`."""

from django import template
from django.utils import timezone

from preau.access import policy

from .. import management, selectors

register = template.Library()
DASHBOARD_ROWS = 10


@register.inclusion_tag("attendance/manage/_threshold_card.html", takes_context=True)
def threshold_card(context):
    """This month's pupils with 4 unjustified half-days or more, for vie scolaire of the page's establishment
    (nothing for anyone else). The pupils shown are logged as sensitive reads (one INSERT)."""
    request = context.get("request")
    establishment = context.get("establishment")
    actor = getattr(request, "actor", None)
    if establishment is None or not policy.can_manage_attendance(actor, establishment.pk):
        return {"allowed": False}
    month = timezone.localdate().replace(day=1)
    rows = management.pupils_over_threshold(establishment, month)
    shown = rows[:DASHBOARD_ROWS]
    selectors.record_attendance_reads(actor=request.user, pupils=[row.pupil for row in shown], request=request,
                                      establishment_id=establishment.pk)
    return {"allowed": True, "rows": shown, "total": len(rows), "month": month,
            "threshold": management.THRESHOLD_HALF_DAYS}
