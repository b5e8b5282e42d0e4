"""`{% recent_account_activity %}`: the profile's "recent activity of my account" section."""

from __future__ import annotations

from django import template

from preau.access import policy

from .. import selectors

register = template.Library()


@register.inclusion_tag("audit/_recent_activity.html", takes_context=True)
def recent_account_activity(context):
    request = context["request"]
    events = selectors.own_security_events(request.user)
    for event in events:
        event.action_label = selectors.action_label(event.action)
        event.short_user_agent = selectors.short_user_agent(event.user_agent)
        event.is_failure = event.action in selectors.FAILURE_ACTIONS
        event.by_someone_else = bool(event.actor_id and event.actor_id != request.user.pk)
    return {"events": events, "is_admin": policy.is_admin(getattr(request, "actor", None)), "request": request}
