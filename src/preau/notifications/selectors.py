"""Reads of the notification centre, built on the policy's scoped queryset."""

from __future__ import annotations

from django.db.models import F

from preau.access.policy import notifications_visible_to

from . import kinds
from .models import DEFAULT_QUIET_END, DEFAULT_QUIET_START, NotificationPreferences

PAGE_SIZE = 25


def notification_list(actor):
    """The actor's notifications, unread first, then newest first."""
    return notifications_visible_to(actor).order_by(F("read_at").asc(nulls_first=True), "-created_at", "-id").only(
        "id", "kind", "title", "body", "url", "urgent", "created_at", "read_at", "recipient_id")


def unread(actor):
    """The actor's unread notifications (the "notifications" counter: the partial index of unread rows)."""
    return notifications_visible_to(actor).filter(read_at__isnull=True)


def preferences_of(actor) -> NotificationPreferences:
    """The actor's stored preferences, or an unsaved row holding the defaults."""
    prefs = NotificationPreferences.objects.filter(user_id=actor.id).first()
    return prefs or NotificationPreferences(user_id=actor.id, channels={}, quiet_start=DEFAULT_QUIET_START,
                                            quiet_end=DEFAULT_QUIET_END, quiet_weekends=True)


def preference_grid(actor, prefs: NotificationPreferences | None = None) -> list[dict]:
    """Per kind: label, description and, per channel, whether it is on and whether the person may change it."""
    from .services import audience_for

    prefs = prefs or preferences_of(actor)
    audience = audience_for(actor)
    grid = []
    for spec in kinds.KINDS.values():
        on = kinds.effective_channels(spec.kind, audience, prefs.channels)
        grid.append({
            "kind": spec.kind, "label": spec.label, "description": spec.description,
            "channels": [{"channel": channel.value, "label": channel.label, "enabled": channel.value in on,
                          "locked": channel.value in spec.locked} for channel in kinds.Channel],
        })
    return grid
