"""The school agenda, as JSON: the same selectors and services as the pages under /agenda/ (docs/agenda.md). An
event the caller may not see answers 404; an action their role may not take answers 403; bad input 400 or 422, in
French."""

from __future__ import annotations

import datetime
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from preau.access import policy
from preau.timetable import agenda
from preau.timetable.models import AgendaEvent

from ..errors import BAD_REQUEST, FORBIDDEN, NOT_FOUND, api_error, responses, service_refusal
from ..schemas import MAX_DB_INT, ClassRef, GroupRef, PersonRef

router = Router(tags=["agenda"])

Id = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
MAX_RANGE_DAYS = 400


class AgendaEventOut(Schema):
    id: int
    establishment_id: int
    kind: str = Field(description="meeting, parents, council, trip, exam, event, other.")
    kind_label: str
    title: str
    location: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime = Field(description="Exclusive pour un événement d'une journée entière (minuit "
                                                   "après le dernier jour).")
    all_day: bool
    first_day: datetime.date
    last_day: datetime.date
    audience_roles: list[str] = Field(description="pupil, guardian, teacher, staff.")
    classes: list[ClassRef]
    groups: list[GroupRef]
    created_by: PersonRef | None
    updated_at: datetime.datetime


class AgendaEventDetail(AgendaEventOut):
    description: str = Field(description="HTML nettoyé (un petit jeu de balises sûres).")
    can_manage: bool


class AgendaEventIn(Schema):
    establishment_id: Id | None = Field(None, description="Obligatoire à la création ; ignoré à la modification.")
    title: str = Field(max_length=200)
    kind: str = AgendaEvent.Kind.OTHER.value
    description: str = Field("", max_length=20_000, description="Texte simple ou HTML (nettoyé).")
    location: str = Field("", max_length=200)
    starts_at: datetime.datetime = Field(description="Un événement d'une journée entière : seule la date compte.")
    ends_at: datetime.datetime | None = Field(None, description="Vide : une heure après le début (le même jour "
                                                                "pour une journée entière). Journée entière : la "
                                                                "date du dernier jour.")
    all_day: bool = False
    audience_roles: list[str] = Field(default_factory=lambda: list(agenda.AUDIENCE_ROLES), max_length=4)
    classes: list[Id] = Field(default_factory=list, max_length=500)
    groups: list[Id] = Field(default_factory=list, max_length=500)


class DeletedOut(Schema):
    deleted: int


class AgendaList(Schema):
    first_day: datetime.date
    last_day: datetime.date
    items: list[AgendaEventOut]


def _person(user) -> dict | None:
    return {"id": user.pk, "first_name": user.first_name, "last_name": user.last_name} if user else None


def _ref(obj) -> dict:
    return {"id": obj.pk, "code": obj.code, "label": obj.label}


def event_out(event: AgendaEvent) -> dict:
    return {
        "id": event.pk, "establishment_id": event.establishment_id, "kind": event.kind,
        "kind_label": str(event.get_kind_display()), "title": event.title, "location": event.location,
        "starts_at": event.starts_at, "ends_at": event.ends_at, "all_day": event.all_day,
        "first_day": timezone.localdate(event.starts_at), "last_day": agenda.last_day(event),
        "audience_roles": list(event.audience_roles), "classes": [_ref(c) for c in event.classes.all()],
        "groups": [_ref(g) for g in event.groups.all()], "created_by": _person(event.created_by),
        "updated_at": event.updated_at,
    }


def event_detail_out(actor, event: AgendaEvent) -> dict:
    return {**event_out(event), "description": event.description,
            "can_manage": policy.can_manage_agenda_event(actor, event)}


def _kwargs(data: AgendaEventIn) -> dict:
    return {"title": data.title, "kind": data.kind, "description": data.description, "location": data.location,
            "starts_at": data.starts_at, "ends_at": data.ends_at, "all_day": data.all_day,
            "audience_roles": data.audience_roles, "classes": data.classes, "groups": data.groups}


def _detail(actor, event_id: int) -> AgendaEvent:
    event = policy.access_agenda_event(actor, event_id)
    return agenda.AgendaEvent.objects.select_related("created_by").prefetch_related("classes", "groups") \
        .get(pk=event.pk)


@router.get("/agenda", response=responses(AgendaList, BAD_REQUEST), summary="Événements de l'agenda que je vois")
def list_events(request, first_day: datetime.date | None = None, last_day: datetime.date | None = None,
                establishment: Id | None = None):
    """Events overlapping [first_day, last_day] (default: today and the next 30 days), in order; at most 400 days."""
    actor = request.actor
    first = first_day or timezone.localdate()
    last = last_day or first + datetime.timedelta(days=30)
    if last < first:
        raise api_error(400, "La fin de la période (last_day) précède son début (first_day).")
    if (last - first).days > MAX_RANGE_DAYS:
        raise api_error(400, f"La période demandée dépasse {MAX_RANGE_DAYS} jours.")
    target = None
    if establishment is not None:
        target = next((e for e in actor.establishments if e.pk == establishment), None)
        if target is None:
            raise Http404
    events = agenda.events_visible_to(actor, first, last, establishment=target)
    return {"first_day": first, "last_day": last, "items": [event_out(e) for e in events]}


@router.get("/agenda/{event_id}", response=responses(AgendaEventDetail, NOT_FOUND), summary="Un événement")
def get_event(request, event_id: int):
    return event_detail_out(request.actor, _detail(request.actor, event_id))


@router.post("/agenda", response=responses(AgendaEventDetail, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Ajouter un événement à l'agenda")
def create_event(request, data: AgendaEventIn):
    """ENT admins, leadership, CPE, vie scolaire and secretary for their establishment; teachers for the classes
    and groups they teach (403 otherwise). The audience is notified."""
    actor = request.actor
    if data.establishment_id is None:
        raise api_error(400, "Indiquez l'établissement (establishment_id).")
    establishment = next((e for e in actor.establishments if e.pk == data.establishment_id), None)
    if establishment is None:
        raise Http404
    try:
        event = agenda.agenda_event_create(actor=actor, establishment=establishment, request=request,
                                           **_kwargs(data))
    except (ValidationError, PermissionDenied) as exc:
        raise service_refusal(exc) from None
    return Status(201, event_detail_out(actor, _detail(actor, event.pk)))


@router.put("/agenda/{event_id}", response=responses(AgendaEventDetail, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
            summary="Modifier un événement")
def update_event(request, event_id: int, data: AgendaEventIn):
    """Replaces every field. The audience is told again only when the date, time or place changed."""
    actor = request.actor
    event = policy.access_agenda_event(actor, event_id, manage=True)
    try:
        agenda.agenda_event_update(actor=actor, event=event, request=request, **_kwargs(data))
    except (ValidationError, PermissionDenied) as exc:
        raise service_refusal(exc) from None
    return event_detail_out(actor, _detail(actor, event.pk))


@router.delete("/agenda/{event_id}", response=responses(DeletedOut, NOT_FOUND),
               summary="Supprimer un événement")
def delete_event(request, event_id: int):
    """An event still to come is announced as cancelled to its audience."""
    actor = request.actor
    event = policy.access_agenda_event(actor, event_id, manage=True)
    try:
        agenda.agenda_event_delete(actor=actor, event=event, request=request)
    except PermissionDenied as exc:
        raise service_refusal(exc) from None
    return {"deleted": 1}
