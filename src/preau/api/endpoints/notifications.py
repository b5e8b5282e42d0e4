"""The notification centre, as JSON: my notifications (paginated, unread first), mark one or all read, my
preferences (kind × channel, quiet hours), and my unread counters. Everyone sees only their own notifications:
another person's id answers 404 (docs/notifications.md)."""

from __future__ import annotations

import datetime

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel, ConfigDict

from preau.notifications import selectors, services
from preau.notifications.counters import counters_for
from preau.notifications.kinds import KINDS

from ..errors import BAD_REQUEST, NOT_FOUND, api_error, responses
from ..schemas import PageParams, page_of, paginate

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str = Field(description="message, news, liaison, grade, homework, timetable, absence ou account.")
    kind_label: str
    title: str
    body: str
    url: str = Field(description="Chemin dans Préau de ce dont parle la notification (vide : aucun).")
    urgent: bool
    created_at: datetime.datetime
    read: bool
    read_at: datetime.datetime | None


NotificationPage = page_of(NotificationOut, "NotificationPage")


class NotificationFilter(PageParams):
    unread: bool = Field(False, description="Seulement les notifications non lues.")


class MarkedOut(Schema):
    marked: int = Field(description="Nombre de notifications marquées comme lues.")


class ChannelChoice(Schema):
    channel: str = Field(description="in_app (dans l'ENT), email (courriel immédiat) ou digest (résumé quotidien).")
    label: str
    enabled: bool
    locked: bool = Field(description="Toujours actif : ne peut pas être désactivé.")


class KindPreferences(Schema):
    kind: str
    label: str
    description: str
    channels: list[ChannelChoice]


class PreferencesOut(Schema):
    kinds: list[KindPreferences]
    quiet_start: datetime.time = Field(description="Début de la période sans courriel (heure de Paris).")
    quiet_end: datetime.time = Field(description="Fin de la période sans courriel (égale au début : aucune).")
    quiet_weekends: bool = Field(description="Pas de courriel le samedi ni le dimanche.")


class PreferencesIn(Schema):
    channels: dict[str, dict[str, bool]] = Field(
        default_factory=dict,
        description="Par type puis par canal : {\"news\": {\"email\": true}}. Les choix absents restent inchangés.")
    quiet_start: datetime.time | None = None
    quiet_end: datetime.time | None = None
    quiet_weekends: bool | None = None


class CountersOut(BaseModel):
    """Unread counters by key; other services add theirs (for instance `messages`)."""

    model_config = ConfigDict(extra="allow")
    notifications: int = Field(description="Notifications non lues.")


def notification_out(n) -> dict:
    return {"id": n.pk, "kind": n.kind, "kind_label": str(n.get_kind_display()), "title": n.title, "body": n.body,
            "url": n.url, "urgent": n.urgent, "created_at": n.created_at, "read": n.read_at is not None,
            "read_at": n.read_at}


def preferences_out(actor, prefs) -> dict:
    grid = selectors.preference_grid(actor, prefs)
    return {"kinds": [{**row, "label": str(row["label"]), "description": str(row["description"]),
                       "channels": [{**cell, "label": str(cell["label"])} for cell in row["channels"]]}
                      for row in grid],
            "quiet_start": prefs.quiet_start, "quiet_end": prefs.quiet_end, "quiet_weekends": prefs.quiet_weekends}


@router.get("/notifications", response=responses(NotificationPage), summary="Mes notifications (non lues d'abord)")
def list_notifications(request, filters: Query[NotificationFilter]):
    queryset = selectors.notification_list(request.actor)
    if filters.unread:
        queryset = queryset.filter(read_at__isnull=True)
    return paginate(queryset, filters, notification_out)


@router.post("/notifications/read-all", response=responses(MarkedOut),
             summary="Marquer toutes mes notifications comme lues")
def mark_all_read(request):
    return {"marked": services.notification_mark_all_read(actor=request.actor)}


@router.post("/notifications/{notification_id}/read", response=responses(NotificationOut, NOT_FOUND),
             summary="Marquer une de mes notifications comme lue")
def mark_read(request, notification_id: int):
    return notification_out(services.notification_mark_read(actor=request.actor, notification_id=notification_id))


@router.get("/me/notification-preferences", response=responses(PreferencesOut),
            summary="Mes préférences de notification")
def get_preferences(request):
    return preferences_out(request.actor, selectors.preferences_of(request.actor))


@router.put("/me/notification-preferences", response=responses(PreferencesOut, BAD_REQUEST),
            summary="Changer mes préférences de notification")
def put_preferences(request, data: PreferencesIn):
    actor = request.actor
    current = selectors.preferences_of(actor)
    channels = {row["kind"]: {cell["channel"]: cell["enabled"] for cell in row["channels"]}
                for row in selectors.preference_grid(actor, current)}
    for kind, choices in data.channels.items():
        if kind not in KINDS:
            raise api_error(400, _("Type de notification inconnu : %(kind)s.") % {"kind": kind})
        for channel, enabled in choices.items():
            if channel not in channels[kind]:
                raise api_error(400, _("Canal de notification inconnu : %(channel)s.") % {"channel": channel})
            channels[kind][channel] = enabled
    prefs = services.preferences_update(
        actor=actor, channels=channels,
        quiet_start=data.quiet_start if data.quiet_start is not None else current.quiet_start,
        quiet_end=data.quiet_end if data.quiet_end is not None else current.quiet_end,
        quiet_weekends=data.quiet_weekends if data.quiet_weekends is not None else current.quiet_weekends)
    return preferences_out(actor, prefs)


@router.get("/me/counters", response=responses(CountersOut), summary="Mes compteurs de non-lus",
            url_name="me_counters")
def counters(request):
    return counters_for(request.actor)
