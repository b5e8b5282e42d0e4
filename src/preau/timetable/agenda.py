"""The school agenda: events (meetings, parent-teacher evenings, trips, exams...) for an audience (docs/agenda.md).

Services write (`agenda_event_create` / `_update` / `_delete`: validated in French, checked against the access
policy, audited, their audience notified once the transaction commits); selectors read (`events_visible_to`,
`events_for_pupil`, `events_for_person`), each in a constant handful of queries whatever the number of events.

Audience: roles of the establishment (`directory.Role` values), restricted to classes and groups when the event has
some (then: the pupils of those classes/groups, their guardians, their teachers). Staff and ENT admins see every
event of their establishment (policy section "Agenda").

Times: `starts_at`/`ends_at` are aware datetimes. An all-day event is stored from local midnight of its first day
to local midnight after its last day (an exclusive end, like iCalendar's DTEND;VALUE=DATE).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from preau.access import policy
from preau.accounts.models import User
from preau.audit.models import AuditEvent
from preau.audit.services import record
from preau.core import richtext
from preau.directory.models import (
    ClassEnrolment,
    GroupMembership,
    GuardianLink,
    Membership,
    Role,
    SchoolClass,
    Service,
    TeachingAssignment,
    TeachingGroup,
)
from preau.directory.selectors import current_classes_and_groups
from preau.notifications.services import notify

from .models import AgendaEvent

# Notification kind of agenda events: "timetable" — an event is part of what a person's week holds (it is shown
# beside the timetable and in the calendar feed), and people who silence news still learn that a trip or a
# parent-teacher evening is planned (docs/agenda.md).
NOTIFICATION_KIND = "timetable"
MAX_DESCRIPTION_CHARS = 20_000
MAX_DURATION_DAYS = 366
AUDIENCE_ROLES = (Role.PUPIL, Role.GUARDIAN, Role.TEACHER, Role.STAFF)
MAX_ID = 2 ** 63 - 1


# --- Validation -----------------------------------------------------------------------------------------------

def _ids(values: Iterable | None, field: str) -> set[int]:
    result = set()
    for value in values or ():
        pk = getattr(value, "pk", value)
        try:
            number = int(pk)
        except (TypeError, ValueError):
            number = 0
        if not 0 < number <= MAX_ID:  # no database holds it: refused before any query (no overflow)
            raise ValidationError({field: _("Identifiant invalide : %(v)s.") % {"v": value}})
        result.add(number)
    return result


def _text(value, field: str, limit: int, *, required_message: str | None = None) -> str:
    text = " ".join((value or "").split())
    if required_message and not text:
        raise ValidationError({field: required_message})
    if len(text) > limit:
        raise ValidationError({field: _("Ce champ ne doit pas dépasser %(n)s caractères.") % {"n": limit}})
    return text


def local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _aware(value, field: str) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, datetime.date):
        return local_midnight(value)
    raise ValidationError({field: _("Indiquez une date.")})


def _times(starts_at, ends_at, all_day: bool) -> tuple[datetime.datetime, datetime.datetime]:
    if starts_at is None:
        raise ValidationError({"starts_at": _("Indiquez le début de l'événement.")})
    start = _aware(starts_at, "starts_at")
    end = _aware(ends_at, "ends_at") if ends_at is not None else None
    if all_day:
        first = timezone.localdate(start)
        last = timezone.localdate(end) if end is not None else first
        if last < first:
            raise ValidationError({"ends_at": _("Le dernier jour ne peut pas précéder le premier.")})
        start, end = local_midnight(first), local_midnight(last + datetime.timedelta(days=1))
    else:
        if end is None:
            end = start + datetime.timedelta(hours=1)
        if end < start:
            raise ValidationError({"ends_at": _("La fin de l'événement ne peut pas précéder son début.")})
    if end - start > datetime.timedelta(days=MAX_DURATION_DAYS):
        raise ValidationError({"ends_at": _("Un événement dure au plus un an.")})
    return start, end


def _clean(actor, establishment_id: int, *, title, kind, description, location, starts_at, ends_at, all_day,
           audience_roles, classes, groups) -> dict:
    scope = policy.agenda_publish_scope(actor, establishment_id)
    if not scope:
        raise PermissionDenied(_("Vous ne pouvez pas ajouter d'événement à l'agenda de cet établissement."))
    class_ids, group_ids = _ids(classes, "classes"), _ids(groups, "groups")
    if not scope.covers(class_ids, group_ids):
        if not class_ids and not group_ids:
            raise ValidationError({"classes": _("Choisissez au moins une classe ou un groupe où vous "
                                                "enseignez.")})
        raise PermissionDenied(_("Vous ne pouvez ajouter d'événement que pour les classes et les groupes où vous "
                                 "enseignez."))
    roles = []
    for role in audience_roles or ():
        if role not in AUDIENCE_ROLES:
            raise ValidationError({"audience_roles": _("Public inconnu : %(v)s.") % {"v": role}})
        if role not in roles:
            roles.append(role)
    if not roles:
        raise ValidationError({"audience_roles": _("Choisissez à qui s'adresse l'événement : élèves, responsables, "
                                                   "enseignants ou personnels.")})
    if kind not in AgendaEvent.Kind.values:
        raise ValidationError({"kind": _("Choisissez un type d'événement.")})
    text = (description or "").strip()
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise ValidationError({"description": _("La description ne doit pas dépasser %(n)s caractères.")
                               % {"n": MAX_DESCRIPTION_CHARS}})
    start, end = _times(starts_at, ends_at, bool(all_day))
    school_classes, school_groups = current_classes_and_groups(establishment_id, class_ids, group_ids)
    return {
        "title": _text(title, "title", 200, required_message=_("Donnez un titre.")),
        "kind": kind, "description": richtext.clean(text) if text else "",
        "location": _text(location, "location", 200), "starts_at": start, "ends_at": end, "all_day": bool(all_day),
        # Kept in a fixed order: the same audience is always the same JSON.
        "audience_roles": [role.value for role in AUDIENCE_ROLES if role in roles],
        "classes": school_classes, "groups": school_groups,
    }


# --- Services -------------------------------------------------------------------------------------------------

def agenda_event_create(*, actor, establishment, title: str, starts_at, ends_at=None, all_day: bool = False,
                        kind: str = AgendaEvent.Kind.OTHER, description: str = "", location: str = "",
                        audience_roles=AUDIENCE_ROLES, classes=(), groups=(), request=None, now=None) -> AgendaEvent:
    """Add an event to the establishment's agenda and tell its audience. Raises ValidationError (French, per
    field) or PermissionDenied (not a writer here; a teacher outside their classes and groups)."""
    data = _clean(actor, establishment.pk, title=title, kind=kind, description=description, location=location,
                  starts_at=starts_at, ends_at=ends_at, all_day=all_day, audience_roles=audience_roles,
                  classes=classes, groups=groups)
    with transaction.atomic():
        classes_, groups_ = data.pop("classes"), data.pop("groups")
        event = AgendaEvent.objects.create(establishment=establishment, created_by=actor.user,
                                           created_at=now or timezone.now(), **data)
        event.classes.set(classes_)
        event.groups.set(groups_)
        _audit(actor, event, request=request, change="created")
        _notify(event, _("Agenda : %(t)s") % {"t": event.title}, source=f"agenda.event:{event.pk}", now=now)
    return event


def agenda_event_update(*, actor, event: AgendaEvent, title: str, starts_at, ends_at=None, all_day: bool = False,
                        kind: str = AgendaEvent.Kind.OTHER, description: str = "", location: str = "",
                        audience_roles=AUDIENCE_ROLES, classes=(), groups=(), request=None, now=None) -> AgendaEvent:
    """Change an event (every field). Its audience is told again only when its date, time or place changed."""
    if not policy.can_manage_agenda_event(actor, event):
        raise PermissionDenied(_("Vous ne pouvez pas modifier cet événement."))
    data = _clean(actor, event.establishment_id, title=title, kind=kind, description=description, location=location,
                  starts_at=starts_at, ends_at=ends_at, all_day=all_day, audience_roles=audience_roles,
                  classes=classes, groups=groups)
    with transaction.atomic():
        locked = AgendaEvent.objects.select_for_update().get(pk=event.pk)
        moved = (locked.starts_at, locked.ends_at, locked.all_day, locked.location) != (
            data["starts_at"], data["ends_at"], data["all_day"], data["location"])
        classes_, groups_ = data.pop("classes"), data.pop("groups")
        for field, value in data.items():
            setattr(locked, field, value)
        locked.save()
        locked.classes.set(classes_)
        locked.groups.set(groups_)
        _audit(actor, locked, request=request, change="updated")
        if moved:
            stamp = int(locked.updated_at.timestamp())
            _notify(locked, _("Agenda modifié : %(t)s") % {"t": locked.title},
                    source=f"agenda.event:{locked.pk}:changed:{stamp}", now=now)
    locked.refresh_from_db()
    return locked


def agenda_event_delete(*, actor, event: AgendaEvent, request=None, now=None) -> None:
    """Remove an event; an event still to come is announced as cancelled to its audience."""
    if not policy.can_manage_agenda_event(actor, event):
        raise PermissionDenied(_("Vous ne pouvez pas supprimer cet événement."))
    with transaction.atomic():
        locked = AgendaEvent.objects.select_for_update().filter(pk=event.pk).first()
        if locked is None:
            return
        if locked.ends_at > (now or timezone.now()):
            notify(recipient_ids=audience_ids(locked), kind=NOTIFICATION_KIND,
                   title=_("Agenda : « %(t)s » est annulé") % {"t": locked.title}, body=_when(locked),
                   url=reverse("agenda:list"), establishment_id=locked.establishment_id,
                   source=f"agenda.event:{locked.pk}:deleted")
        _audit(actor, locked, request=request, change="deleted")
        AgendaEvent.objects.filter(pk=locked.pk).delete()


def _audit(actor, event: AgendaEvent, *, request, change: str) -> None:
    record(AuditEvent.Action.AGENDA_EVENT_PUBLISHED, actor=actor.user, request=request,
           establishment_id=event.establishment_id, target="timetable.agenda_event", event=event.pk, change=change,
           title=event.title, starts_at=event.starts_at.isoformat(), audience=list(event.audience_roles))


def _when(event: AgendaEvent) -> str:
    """"le 12 octobre 2026 à 18:00", "du 12 au 14 octobre 2026"... for notifications."""
    start = timezone.localtime(event.starts_at)
    if event.all_day:
        last = timezone.localdate(event.ends_at) - datetime.timedelta(days=1)
        if last <= start.date():
            return _("le %(d)s") % {"d": date_format(start.date(), "j F Y")}
        return _("du %(a)s au %(b)s") % {"a": date_format(start.date(), "j F Y"), "b": date_format(last, "j F Y")}
    return _("le %(d)s à %(t)s") % {"d": date_format(start.date(), "j F Y"), "t": start.strftime("%H:%M")}


def _notify(event: AgendaEvent, title: str, *, source: str, now=None) -> None:
    """Tell the audience of an event still to come (notify writes the rows after the commit)."""
    if event.ends_at <= (now or timezone.now()):
        return
    body = _when(event) + (f" — {event.location}" if event.location else "")
    notify(recipient_ids=audience_ids(event), kind=NOTIFICATION_KIND, title=title, body=body,
           url=reverse("agenda:event", args=[event.pk]), establishment_id=event.establishment_id, source=source)


def audience_ids(event: AgendaEvent) -> list[int]:
    """Everyone the event addresses (except its author), in one set-based query: the chosen roles of the whole
    establishment, or, with classes/groups, their pupils, their guardians (whose link allows the timetable) and
    their teachers this year; staff of the establishment when staff are in the audience."""
    roles = set(event.audience_roles or ())
    members = Membership.objects.filter(establishment_id=event.establishment_id, is_active=True)
    class_ids = list(event.classes.through.objects.filter(agendaevent_id=event.pk)
                     .values_list("schoolclass_id", flat=True))
    group_ids = list(event.groups.through.objects.filter(agendaevent_id=event.pk)
                     .values_list("teachinggroup_id", flat=True))
    parts: list[Q] = []
    if not class_ids and not group_ids:
        wide = roles & {Role.PUPIL, Role.GUARDIAN, Role.TEACHER, Role.STAFF}
        if wide:
            parts.append(Q(pk__in=members.filter(role__in=sorted(wide)).values("user_id")))
    else:
        enrolled = ClassEnrolment.objects.filter(school_class_id__in=class_ids).values("pupil_id")
        grouped = GroupMembership.objects.filter(group_id__in=group_ids).values("pupil_id")
        if Role.PUPIL in roles:
            parts.append((Q(pk__in=enrolled) | Q(pk__in=grouped))
                         & Q(pk__in=members.filter(role=Role.PUPIL).values("user_id")))
        if Role.GUARDIAN in roles:
            links = GuardianLink.objects.filter(Q(pupil_id__in=enrolled) | Q(pupil_id__in=grouped),
                                                pupil__is_active=True)
            allowed = [guardian for guardian, denied in links.values_list("guardian_id", "denied_services")
                       if Service.TIMETABLE not in (denied or [])]
            if allowed:
                parts.append(Q(pk__in=sorted(set(allowed))))
        if Role.TEACHER in roles:
            parts.append(Q(pk__in=TeachingAssignment.objects.filter(
                Q(school_class_id__in=class_ids) | Q(group_id__in=group_ids), school_year__is_current=True)
                .values("teacher_id")))
        if Role.STAFF in roles:
            parts.append(Q(pk__in=members.filter(role=Role.STAFF).values("user_id")))
    if not parts:
        return []
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    queryset = User.objects.filter(combined, is_active=True)
    if event.created_by_id:
        queryset = queryset.exclude(pk=event.created_by_id)
    return list(queryset.values_list("pk", flat=True))


# --- Selectors ------------------------------------------------------------------------------------------------

def _in_range(queryset: QuerySet[AgendaEvent], first_day: datetime.date, last_day: datetime.date):
    """Events overlapping the days [first_day, last_day] (local time), ordered, with their targets: 3 queries."""
    start, end = local_midnight(first_day), local_midnight(last_day + datetime.timedelta(days=1))
    return (queryset.filter(Q(starts_at__lt=end) & (Q(ends_at__gt=start) | Q(starts_at__gte=start)))
            .select_related("establishment", "created_by")
            .prefetch_related(Prefetch("classes", queryset=SchoolClass.objects.order_by("level", "code")),
                              Prefetch("groups", queryset=TeachingGroup.objects.order_by("code")))
            .order_by("starts_at", "ends_at", "pk"))


def events_visible_to(actor, first_day: datetime.date, last_day: datetime.date, *, establishment=None
                      ) -> list[AgendaEvent]:
    """The events the actor may read that overlap these days (their agenda page), in order."""
    queryset = policy.agenda_events_visible_to(actor)
    if establishment is not None:
        queryset = queryset.filter(establishment=establishment)
    return list(_in_range(queryset, first_day, last_day))


def events_for_pupil(pupil: User, first_day: datetime.date, last_day: datetime.date, *, viewer=None
                     ) -> list[AgendaEvent]:
    """What a pupil's timetable shows beside the courses: the events addressed to the pupils of their
    establishment, classes and groups. When `viewer` (an Actor) is one of the pupil's guardians whose link allows
    the timetable, the events addressed to that child's guardians are added (those of the child's classes and
    groups, and those for every guardian of the child's establishment). No access check: callers ask the policy
    (can_read_timetable) first."""
    establishments = set(Membership.objects.filter(user_id=pupil.pk, role=Role.PUPIL, is_active=True)
                         .values_list("establishment_id", flat=True))
    q = policy.agenda_audience_q_for_pupil(pupil.pk, establishments)
    if viewer is not None and pupil.pk in viewer.child_ids(Service.TIMETABLE):
        q |= policy.agenda_audience_q_for_guardian([pupil.pk], establishments & viewer.establishment_ids(Role.GUARDIAN))
    return list(_in_range(AgendaEvent.objects.filter(q), first_day, last_day))


def events_for_person(user: User, first_day: datetime.date, last_day: datetime.date) -> list[AgendaEvent]:
    """The events of a person's calendar feed: those their agenda page shows — for a global administrator (who may
    read every establishment's agenda), only the establishments where they hold a role."""
    actor = policy.actor_for(user)
    queryset = policy.agenda_events_visible_to(actor)
    if actor is not None and actor.is_global_admin:
        queryset = queryset.filter(establishment_id__in=sorted(actor.establishment_ids()))
    return list(_in_range(queryset, first_day, last_day))


def agenda_targets(actor, establishment):
    """What the actor may address events to in the establishment: (whole establishment allowed, classes, groups)."""
    scope = policy.agenda_publish_scope(actor, establishment.pk)
    classes = SchoolClass.objects.filter(establishment=establishment, school_year__is_current=True)
    groups = TeachingGroup.objects.filter(establishment=establishment, school_year__is_current=True)
    if not scope.whole:
        classes = classes.filter(pk__in=sorted(scope.class_ids))
        groups = groups.filter(pk__in=sorted(scope.group_ids))
    return scope.whole, classes.order_by("level", "code"), groups.order_by("code")


def last_day(event: AgendaEvent) -> datetime.date:
    """The last day an event covers (all-day events end at midnight after it)."""
    end = timezone.localtime(event.ends_at)
    if event.all_day or (end.time() == datetime.time.min and event.ends_at > event.starts_at):
        return end.date() - datetime.timedelta(days=1)
    return end.date()


def events_for_division(viewer, first_day: datetime.date, last_day: datetime.date, *, school_class=None,
                        group=None) -> list[AgendaEvent]:
    """What a class's (or a group's) week shows beside its courses: among the events `viewer` (an Actor) may read,
    those of the division's establishment addressed to the class or one of its groups (the group), and those
    addressed to every pupil of the establishment. Three queries, like the other selectors."""
    division = school_class if school_class is not None else group
    if viewer is None or division is None:
        return []
    if school_class is not None:
        targeted = (Q(pk__in=AgendaEvent.classes.through.objects.filter(schoolclass_id=school_class.pk)
                      .values("agendaevent_id"))
                    | Q(pk__in=AgendaEvent.groups.through.objects.filter(
                        teachinggroup_id__in=TeachingGroup.objects.filter(classes=school_class.pk).values("pk"))
                        .values("agendaevent_id")))
    else:
        targeted = Q(pk__in=AgendaEvent.groups.through.objects.filter(teachinggroup_id=group.pk)
                     .values("agendaevent_id"))
    untargeted = (~Q(pk__in=AgendaEvent.classes.through.objects.values("agendaevent_id"))
                  & ~Q(pk__in=AgendaEvent.groups.through.objects.values("agendaevent_id"))
                  & Q(audience_roles__icontains=f'"{Role.PUPIL.value}"'))
    queryset = policy.agenda_events_visible_to(viewer).filter(targeted | untargeted,
                                                              establishment_id=division.establishment_id)
    return list(_in_range(queryset, first_day, last_day))
