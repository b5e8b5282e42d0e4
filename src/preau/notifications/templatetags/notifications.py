from django import template

from ..counters import counters_for

register = template.Library()


@register.simple_tag(takes_context=True)
def live_counters(context) -> dict[str, int]:
    """The person's unread counters (one query for all of them), computed once per request."""
    request = context.get("request")
    actor = getattr(request, "actor", None)
    if actor is None:
        return {}
    counts = getattr(request, "_preau_counters", None)
    if counts is None:
        counts = counters_for(actor)
        request._preau_counters = counts
    return counts
