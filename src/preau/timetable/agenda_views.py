"""Pages of the school agenda (/agenda/, namespace "agenda"): the events of a week or a month, an event, the
create/edit/delete forms. Who sees and writes what is the access policy's (section "Agenda"); an event the person
may not see answers 404 like a missing one. The calendar feed's pages are in feed_views."""

from __future__ import annotations

import calendar
import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from preau.access import policy
from preau.core import context
from preau.directory.admin_views import apply_errors

from . import agenda
from .agenda_forms import AgendaEventForm

VIEW_WEEK, VIEW_MONTH = "semaine", "mois"


def _day(value: str | None) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value or "")
    except ValueError:
        return timezone.localdate()


def _period(day: datetime.date, view: str) -> tuple[datetime.date, datetime.date, datetime.date, datetime.date]:
    """(first day, last day, a day of the previous period, a day of the next period)."""
    if view == VIEW_MONTH:
        first = day.replace(day=1)
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        return first, last, first - datetime.timedelta(days=1), last + datetime.timedelta(days=1)
    first = day - datetime.timedelta(days=day.weekday())
    last = first + datetime.timedelta(days=6)
    return first, last, first - datetime.timedelta(days=7), first + datetime.timedelta(days=7)


def _by_day(events, first: datetime.date, last: datetime.date) -> list[dict]:
    """The days of the period that have events, each with the events that cover it (an event of several days is
    listed on each of them)."""
    days: dict[datetime.date, list] = {}
    for event in events:
        start = max(timezone.localdate(event.starts_at), first)
        end = min(agenda.last_day(event), last)
        day = start
        while day <= end:
            days.setdefault(day, []).append(event)
            day += datetime.timedelta(days=1)
    return [{"day": day, "events": days[day], "is_today": day == timezone.localdate()} for day in sorted(days)]


@login_required
def agenda_list(request):
    actor = request.actor
    view = VIEW_MONTH if request.GET.get("vue") == VIEW_MONTH else VIEW_WEEK
    day = _day(request.GET.get("date"))
    first, last, previous, following = _period(day, view)
    events = agenda.events_visible_to(actor, first, last)
    establishment = context.establishment(request)
    return render(request, "timetable/agenda/list.html", {
        "days": _by_day(events, first, last), "first": first, "last": last, "view": view,
        "previous": previous, "following": following, "today": timezone.localdate(),
        "other_view": VIEW_WEEK if view == VIEW_MONTH else VIEW_MONTH,
        "can_write": establishment is not None and policy.can_write_agenda(actor, establishment.pk),
        "several_establishments": len(actor.establishments) > 1,
    })


@login_required
def agenda_event(request, event_id):
    actor = request.actor
    event = policy.access_agenda_event(actor, event_id)
    return render(request, "timetable/agenda/event.html", {
        "event": event, "last_day": agenda.last_day(event), "classes": list(event.classes.all()),
        "groups": list(event.groups.all()), "can_manage": policy.can_manage_agenda_event(actor, event),
        "audience": _audience_labels(event),
    })


def _audience_labels(event) -> list[str]:
    labels = {value: str(label) for value, label in AgendaEventForm.base_fields["audience_roles"].choices}
    return [labels[role] for role in event.audience_roles if role in labels]


def _form_page(request, establishment, save, *, event=None):
    whole, classes, groups = agenda.agenda_targets(request.actor, establishment)
    posted = request.method == "POST"
    form = AgendaEventForm(request.POST if posted else None,
                           initial=AgendaEventForm.initial_for(event) if event is not None else _initial(request),
                           whole_allowed=whole, classes=classes, groups=groups)
    if posted and form.is_valid():
        try:
            saved = save(**form.service_kwargs())
        except ValidationError as error:
            apply_errors(form, _map_errors(error))
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("Vous n'avez pas le droit d'effectuer cette action."))
        else:
            messages.success(request, _("Événement enregistré."))
            return redirect("agenda:event", saved.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "timetable/agenda/form.html", {"form": form, "event": event,
                                                          "establishment": establishment}, status=status)


def _initial(request) -> dict | None:
    day = request.GET.get("date")
    try:
        return {"start_date": datetime.date.fromisoformat(day)} if day else None
    except ValueError:
        return None


def _map_errors(error: ValidationError) -> ValidationError:
    """The services name times starts_at/ends_at; the form has dates and times."""
    if not hasattr(error, "error_dict"):
        return error
    mapping = {"starts_at": "start_date", "ends_at": "end_date"}
    return ValidationError({mapping.get(field, field): errors for field, errors in error.error_dict.items()})


@login_required
def agenda_create(request):
    actor = request.actor
    establishment = context.establishment(request)
    if establishment is None or not policy.can_write_agenda(actor, establishment.pk):
        raise PermissionDenied
    return _form_page(request, establishment, lambda **kw: agenda.agenda_event_create(
        actor=actor, establishment=establishment, request=request, **kw))


@login_required
def agenda_edit(request, event_id):
    actor = request.actor
    event = policy.access_agenda_event(actor, event_id, manage=True)
    return _form_page(request, event.establishment, lambda **kw: agenda.agenda_event_update(
        actor=actor, event=event, request=request, **kw), event=event)


@login_required
def agenda_delete(request, event_id):
    """GET: confirm; POST: delete."""
    actor = request.actor
    event = policy.access_agenda_event(actor, event_id, manage=True)
    if request.method == "POST":
        agenda.agenda_event_delete(actor=actor, event=event, request=request)
        messages.success(request, _("Événement supprimé."))
        return redirect("agenda:list")
    return render(request, "timetable/agenda/delete.html", {"event": event})
