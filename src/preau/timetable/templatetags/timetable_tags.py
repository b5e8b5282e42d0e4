"""The home dashboard's timetable block: the course under way and the next one, for a pupil, a teacher, and each
child of a guardian (whose link allows the timetable)."""

from __future__ import annotations

import datetime

from django import template
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from preau.directory.models import Role, Service

from .. import display, selectors

register = template.Library()

# Ahead of today: the next course after a weekend or a short break is still found.
LOOKAHEAD_DAYS = 7
# The block is cached per person for a short while: the home page is the Monday-morning peak, and a change made a
# minute ago is shown on the timetable pages (never cached) and notified anyway.
CACHE_SECONDS = 60
MAX_CHILDREN = 6


def _when(day: datetime.date, today: datetime.date) -> str:
    if day == today:
        return _("aujourd'hui")
    if day == today + datetime.timedelta(days=1):
        return _("demain")
    return display.day_label(day)


def _summary(occurrence, viewer_id, today) -> dict | None:
    if occurrence is None:
        return None
    item = display.card(occurrence, viewer_id)
    return {"label": item.label, "start": item.start, "end": item.end, "room": item.room_text, "when": _when(
        item.start.date(), today), "teachers": item.teachers, "states": [s.text for s in item.states],
        "url": item.url}


def _now_and_next(load, viewer_id, now) -> dict:
    today = timezone.localdate(now)
    found = load(today, today + datetime.timedelta(days=LOOKAHEAD_DAYS))
    current, upcoming = selectors.current_and_next(found, now)
    # The answer holds until the current course ends or the next one starts (then it is asked again).
    bounds = [o.end for o in (current,) if o is not None] + [o.start for o in (upcoming,) if o is not None]
    return {"current": _summary(current, viewer_id, today), "next": _summary(upcoming, viewer_id, today),
            "until": min(bounds) if bounds else None}


def _cached(key: str, now, compute) -> dict:
    value = cache.get(key)
    if value is None or (value["until"] is not None and now >= value["until"]):
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


def home_courses(actor, now=None) -> list[dict]:
    """[{"who": None | pupil, "current": {...} | None, "next": {...} | None}] for the person: their own courses
    (pupil, teacher), then each child's (guardian, when the link allows the timetable)."""
    now = now or timezone.now()
    day = timezone.localdate(now).isoformat()
    rows = []
    if actor.has_role(Role.PUPIL):
        rows.append({"who": None, **_cached(f"timetable:home:{actor.id}:{day}", now, lambda: _now_and_next(
            lambda first, last: selectors.occurrences_for_pupil(actor.user, first, last), None, now))})
    elif actor.has_role(Role.TEACHER):
        rows.append({"who": None, **_cached(f"timetable:home:{actor.id}:{day}", now, lambda: _now_and_next(
            lambda first, last: selectors.occurrences_for_teacher(actor.user, first, last), actor.id, now))})
    children = [link.pupil for link in actor.child_links if link.allows(Service.TIMETABLE)][:MAX_CHILDREN]
    for child in children:
        rows.append({"who": child, **_cached(
            f"timetable:home:{actor.id}:{child.pk}:{day}", now, lambda child=child: _now_and_next(
                lambda first, last: selectors.occurrences_for_pupil(child, first, last), None, now))})
    return rows


@register.simple_tag(takes_context=True)
def timetable_home(context):
    request = context.get("request")
    actor = getattr(request, "actor", None)
    if actor is None:
        return []
    return home_courses(actor)
