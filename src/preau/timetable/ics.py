"""A person's calendar feed (RFC 5545, built with the `icalendar` library) and its secret URL token.

What the feed holds, for a window of FEED_WEEKS_BACK weeks back to FEED_WEEKS_AHEAD weeks ahead:
- the person's own courses: a pupil's (classes and groups), a teacher's (with the occurrences they replace someone
  in, without those they are replaced in);
- for a guardian, each child's courses (the child's first name before the subject), except the children whose link
  denies the timetable service;
- the agenda events their agenda page shows (`agenda.events_for_person`).

Real calendar clients keep what they have seen by UID, so UIDs never change between two generations:
`course-<course id>-<planned date>@<domain>` for an occurrence (a moved one keeps its planned date in the UID and
shows at its new time), `event-<id>@<domain>` for an agenda event. A cancelled occurrence stays in the feed with
STATUS:CANCELLED (clients then strike it out or drop it themselves). DTSTAMP, LAST-MODIFIED and SEQUENCE come from
the row that last changed what the entry says (the occurrence's change, else its course; the event). Times carry
TZID=Europe/Paris with its VTIMEZONE (generated from zoneinfo), so a course at 08:00 stays at 08:00 local time on
both sides of a DST change. The same data always gives the same bytes (ETag).

The token: 32 random bytes (URL-safe base64), shown once; only its SHA-256 is stored (`CalendarFeedToken`).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from preau.access import policy
from preau.accounts.models import User
from preau.audit.models import AuditEvent
from preau.audit.services import record
from preau.core import richtext
from preau.directory.models import Role, Service

from . import agenda
from .models import AgendaEvent, CalendarFeedToken

PARIS = ZoneInfo("Europe/Paris")
FEED_WEEKS_BACK = 4
FEED_WEEKS_AHEAD = 16
PRODID = "-//Préau//Emploi du temps et agenda//FR"
# SEQUENCE is a 32-bit integer: seconds since this moment fit until 2088.
SEQUENCE_EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
TOKEN_BYTES = 32
# Bump when the feed's text changes for the same data (its fingerprint then changes too).
FEED_FORMAT = 1
FEED_CACHE_SECONDS = 3600
HINT_CHARS = 4


# --- Tokens ---------------------------------------------------------------------------------------------------

def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_token_create(*, user: User, request=None) -> str:
    """A new secret for the person's feed, replacing any previous one (whose URL stops working). Returns the token:
    it is shown once and never stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        # One row per person, replaced in place (two tabs creating at once end with one link, the last one).
        _row, created = CalendarFeedToken.objects.update_or_create(
            user=user, defaults={"token_hash": hash_token(token), "hint": token[-HINT_CHARS:],
                                 "created_at": timezone.now(), "last_used_at": None})
        replaced = not created
        record(AuditEvent.Action.CALENDAR_FEED_CREATED, actor=user, subject=user, request=request,
               target="timetable.calendar_feed", replaced=replaced)
    return token


def feed_token_revoke(*, user: User, request=None) -> bool:
    """Delete the person's feed secret: its URL answers 404 from now on. Returns whether there was one."""
    with transaction.atomic():
        deleted = CalendarFeedToken.objects.filter(user=user).delete()[0] > 0
        if deleted:
            record(AuditEvent.Action.CALENDAR_FEED_REVOKED, actor=user, subject=user, request=request,
                   target="timetable.calendar_feed")
    return deleted


def feed_token_of(user: User) -> CalendarFeedToken | None:
    return CalendarFeedToken.objects.filter(user=user).first()


def feed_token_lookup(token: str) -> CalendarFeedToken | None:
    """The token row of an active account (with its user), or None: unknown, revoked, or account deactivated."""
    if not token or len(token) > 128:
        return None
    row = CalendarFeedToken.objects.select_related("user").filter(token_hash=hash_token(token)).first()
    if row is None or not row.user.is_active:
        return None
    return row


def feed_url(token: str) -> str:
    return settings.PREAU_SITE_URL.rstrip("/") + reverse("agenda:ics", args=[token])


def touch(row: CalendarFeedToken, now=None) -> None:
    """Remember when the feed was last fetched, at most once an hour (no write on most polls)."""
    now = now or timezone.now()
    if row.last_used_at is None or now - row.last_used_at > datetime.timedelta(hours=1):
        CalendarFeedToken.objects.filter(pk=row.pk).update(last_used_at=now)


# --- The feed -------------------------------------------------------------------------------------------------

def feed_window(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    return today - datetime.timedelta(weeks=FEED_WEEKS_BACK), today + datetime.timedelta(weeks=FEED_WEEKS_AHEAD)


def _domain() -> str:
    return urlsplit(settings.PREAU_SITE_URL).hostname or "preau.invalid"


def _sequence(moment: datetime.datetime) -> int:
    return max(0, int((moment - SEQUENCE_EPOCH).total_seconds()))


def _stamp(component, moment: datetime.datetime) -> None:
    moment = moment.astimezone(datetime.UTC).replace(microsecond=0)
    component.add("dtstamp", moment)
    component.add("last-modified", moment)
    component.add("sequence", _sequence(moment))


def _names(items) -> str:
    return ", ".join(str(item) for item in items)


def _course_entries(user: User, actor, first: datetime.date, last: datetime.date) -> dict[str, dict]:
    """{occurrence key: {"occurrence", "children": [first names]}}: the person's own courses, then each allowed
    child's (a course shared by two children, or by a parent who teaches it, is one entry)."""
    from . import selectors

    entries: dict[str, dict] = {}

    def add(occurrences, child_name=None):
        for occurrence in occurrences:
            entry = entries.setdefault(occurrence.key, {"occurrence": occurrence, "children": [], "own": False})
            if child_name is None:
                entry["own"] = True
            elif child_name not in entry["children"]:
                entry["children"].append(child_name)

    if actor.has_role(Role.PUPIL):
        add(selectors.occurrences_for_pupil(user, first, last))
    if actor.has_role(Role.TEACHER):
        add(selectors.occurrences_for_teacher(user, first, last))
    for link in actor.child_links:
        if link.allows(Service.TIMETABLE):
            add(selectors.occurrences_for_pupil(link.pupil, first, last), link.pupil.first_name)
    return entries


def _course_event(entry: dict, domain: str) -> icalendar.Event:
    occurrence = entry["occurrence"]
    course, change = occurrence.course, occurrence.change
    cancelled = occurrence.status == "cancelled"
    summary = occurrence.label
    if occurrence.is_exam:
        summary = _("%(course)s (devoir surveillé)") % {"course": summary}
    if entry["children"] and not entry["own"]:
        summary = f"{', '.join(entry['children'])} — {summary}"
    if cancelled:
        summary = _("Annulé : %(course)s") % {"course": summary}
    event = icalendar.Event()
    event.add("uid", f"course-{course.id}-{occurrence.date.isoformat()}@{domain}")
    event.add("summary", summary)
    event.add("dtstart", occurrence.start.astimezone(PARIS))
    event.add("dtend", occurrence.end.astimezone(PARIS))
    modified = max(course.updated_at, change.updated_at) if change is not None else course.updated_at
    _stamp(event, modified)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if occurrence.room is not None:
        event.add("location", str(occurrence.room))
    lines = []
    if occurrence.teachers:
        lines.append(_("Enseignants : %(names)s") % {
            "names": _names(t.full_name or t.username for t in occurrence.teachers)})
    targets = [c.label for c in course.classes.all()] + [g.label for g in course.groups.all()]
    if targets:
        lines.append(_("Classes et groupes : %(names)s") % {"names": _names(targets)})
    if cancelled:
        lines.append(_("Cours annulé : %(reason)s") % {"reason": change.reason}
                     if change is not None and change.reason else _("Cours annulé."))
    elif occurrence.status == "moved":
        planned = occurrence.date.strftime("%d/%m/%Y")
        lines.append(_("Cours déplacé (prévu le %(date)s) : %(reason)s") % {"date": planned, "reason": change.reason}
                     if change.reason else _("Cours déplacé (prévu le %(date)s).") % {"date": planned})
    if change is not None and change.note:
        lines.append(_("Information : %(note)s") % {"note": change.note})
    if lines:
        event.add("description", "\n".join(lines))
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return event


def _agenda_event(item: AgendaEvent, domain: str, site: str) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"event-{item.pk}@{domain}")
    event.add("summary", item.title)
    if item.all_day:
        event.add("dtstart", timezone.localdate(item.starts_at))
        event.add("dtend", max(timezone.localdate(item.ends_at),
                               timezone.localdate(item.starts_at) + datetime.timedelta(days=1)))
    else:
        event.add("dtstart", item.starts_at.astimezone(PARIS))
        event.add("dtend", item.ends_at.astimezone(PARIS))
    _stamp(event, item.updated_at)
    event.add("status", "CONFIRMED")
    if item.location:
        event.add("location", item.location)
    lines = []
    text = richtext.to_text(item.description)
    if text:
        lines.append(text)
    targets = [c.label for c in item.classes.all()] + [g.label for g in item.groups.all()]
    if targets:
        lines.append(_("Pour : %(names)s") % {"names": _names(targets)})
    if lines:
        event.add("description", "\n\n".join(lines))
    event.add("categories", [str(item.get_kind_display())])
    event.add("url", site + reverse("agenda:event", args=[item.pk]))
    event.add("transp", "TRANSPARENT" if item.all_day else "OPAQUE")
    return event


@dataclass
class FeedData:
    """What one generation of a person's feed holds (read in a constant handful of queries)."""

    user: User
    first: datetime.date
    last: datetime.date
    courses: list[dict]
    events: list[AgendaEvent]


def collect(user: User, *, today: datetime.date | None = None) -> FeedData:
    """The courses and events of the person's feed: the timetable selectors' few queries per person and per
    child, the agenda's three, whatever the number of courses and events."""
    first, last = feed_window(today or timezone.localdate())
    entries = _course_entries(user, policy.actor_for(user), first, last)
    return FeedData(user=user, first=first, last=last, courses=list(entries.values()),
                    events=agenda.events_for_person(user, first, last))


def fingerprint(data: FeedData) -> str:
    """A digest of everything the feed's text says, computed without building it: the ETag, and the key of the
    built text in the cache. Serialising hundreds of events with icalendar is the expensive part of a fetch."""
    user = data.user
    parts: list = [FEED_FORMAT, user.pk, user.full_name or user.username, settings.PREAU_SITE_URL,
                   settings.PREAU_SITE_NAME, data.first, data.last]
    for entry in data.courses:
        occurrence, change = entry["occurrence"], entry["occurrence"].change
        course = occurrence.course
        parts.append((occurrence.key, occurrence.start, occurrence.end, occurrence.status, occurrence.label,
                      occurrence.is_exam, str(occurrence.room) if occurrence.room is not None else None,
                      [t.full_name or t.username for t in occurrence.teachers],
                      [c.label for c in course.classes.all()], [g.label for g in course.groups.all()],
                      course.updated_at, (change.updated_at, change.reason, change.note) if change else None,
                      entry["children"], entry["own"]))
    for item in data.events:
        parts.append((item.pk, item.updated_at, item.title, item.starts_at, item.ends_at, item.all_day,
                      [c.label for c in item.classes.all()], [g.label for g in item.groups.all()]))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:40]


def render(data: FeedData) -> bytes:
    """The feed as RFC 5545 bytes (no query: everything was read by `collect`)."""
    user, first, last = data.user, data.first, data.last
    domain, site = _domain(), settings.PREAU_SITE_URL.rstrip("/")
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{settings.PREAU_SITE_NAME} — {user.full_name or user.username}")
    calendar.add("x-wr-timezone", "Europe/Paris")
    calendar.add("refresh-interval", datetime.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    # The VTIMEZONE for Europe/Paris, from zoneinfo, over whole years around the window (stable output).
    calendar.add_component(icalendar.Timezone.from_tzid("Europe/Paris", first_date=datetime.date(first.year, 1, 1),
                                                        last_date=datetime.date(last.year + 1, 1, 1)))
    components = []
    for entry in data.courses:
        components.append((entry["occurrence"].start, _course_event(entry, domain)))
    for item in data.events:
        components.append((item.starts_at, _agenda_event(item, domain, site)))
    components.sort(key=lambda pair: (pair[0], str(pair[1]["uid"])))
    for _start, component in components:
        calendar.add_component(component)
    return calendar.to_ical()


def build_feed(user: User, *, today: datetime.date | None = None) -> bytes:
    """The person's calendar as RFC 5545 bytes."""
    return render(collect(user, today=today))


def cached_render(data: FeedData, etag: str) -> bytes:
    """The feed's bytes, from the cache when this exact content was built in the last FEED_CACHE_SECONDS."""
    key = f"preau:calendar-feed:body:{etag}"
    body = cache.get(key)
    if body is None:
        body = render(data)
        cache.set(key, body, FEED_CACHE_SECONDS)
    return body
