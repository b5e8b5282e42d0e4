"""Writes of the notification centre.

Other apps call `notify(...)` inside their own transaction; it writes nothing per recipient there: once the
caller's transaction commits, delivery tasks (tasks.deliver, one per chunk of recipients) write the rows in bulk,
publish the real-time events and enqueue the emails. See docs/notifications.md.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from preau import realtime
from preau.accounts.models import User
from preau.directory.models import Membership, Role

from . import kinds
from .kinds import DIGEST, EMAIL, IN_APP, Channel, audience_of, effective_channels
from .models import DEFAULT_QUIET_END, DEFAULT_QUIET_START, Notification, NotificationPreferences
from .quiet import quiet_until

TITLE_MAX = Notification._meta.get_field("title").max_length
SOURCE_MAX = Notification._meta.get_field("source").max_length
URL_MAX = Notification._meta.get_field("url").max_length


def after_commit(fn, *args) -> None:
    """Run fn(*args) once the current transaction commits; a failure is logged, never raised into the caller
    (their data is committed; what failed here is retried by a task or the next sweep)."""

    def run():
        fn(*args)

    run.__qualname__ = f"notifications.after_commit({getattr(fn, '__qualname__', fn)})"
    transaction.on_commit(run, robust=True)


def chunk_size() -> int:
    return max(1, int(getattr(settings, "PREAU_NOTIFICATION_CHUNK", 1000)))


def _check_url(url: str) -> str:
    """Only paths inside Préau: a notification never links to another site."""
    url = (url or "").strip()
    if url and (not url.startswith("/") or url.startswith("//") or "\\" in url or len(url) > URL_MAX):
        raise ValueError(f"A notification's url must be a path inside Préau, not {url!r}")
    return url


def notify(*, recipient_ids: Iterable[int], kind: str, title: str, body: str = "", url: str = "",
           establishment_id: int | None = None, urgent: bool = False, source: str = "") -> None:
    """Tell people something. Call it inside your transaction: nothing is written or sent if it rolls back.

    `source` names the event ("messaging.message:123"): one notification per person and source, whatever the
    number of calls or task retries. Without one, a unique key is made up (the call still never duplicates).
    `url` is a path inside Préau; `urgent` bypasses quiet hours for immediate emails.
    """
    kinds.spec(kind)  # unknown kinds are a programming error
    title = " ".join((title or "").split())[:TITLE_MAX]
    if not title:
        raise ValueError("A notification needs a title")
    source = (source or "").strip() or f"auto:{uuid.uuid4().hex}"
    if len(source) > SOURCE_MAX:
        raise ValueError(f"A notification's source is at most {SOURCE_MAX} characters")
    ids = sorted({int(i) for i in recipient_ids})
    if not ids:
        return
    payload = {"kind": kind, "title": title, "body": body or "", "url": _check_url(url),
               "establishment_id": establishment_id, "urgent": bool(urgent), "source": source,
               "created_at": timezone.now().isoformat()}
    size = chunk_size()
    chunks = [ids[start:start + size] for start in range(0, len(ids), size)]

    def enqueue():
        from .tasks import deliver

        for chunk in chunks:
            deliver.delay(payload, chunk)

    # robust: the caller's work is committed; a broker outage is logged, never turned into an error page.
    transaction.on_commit(enqueue, robust=True)


def _recipients(ids: list[int]) -> list[dict]:
    """Who can be told, with what they chose: one query for a chunk."""
    memberships = Membership.objects.filter(user_id=OuterRef("pk"), is_active=True, establishment__is_active=True)
    return list(
        User.objects.filter(pk__in=ids, is_active=True)
        .annotate(is_guardian=Exists(memberships.filter(role=Role.GUARDIAN)),
                  is_pupil=Exists(memberships.filter(role=Role.PUPIL)))
        .values("id", "email", "contact_by_email", "is_guardian", "is_pupil",
                "notification_preferences__channels", "notification_preferences__quiet_start",
                "notification_preferences__quiet_end", "notification_preferences__quiet_weekends")
    )


def _quiet_settings(person: dict) -> tuple[datetime.time, datetime.time, bool]:
    weekends = person["notification_preferences__quiet_weekends"]
    if weekends is None:  # no preferences row: the defaults
        return DEFAULT_QUIET_START, DEFAULT_QUIET_END, True
    return (person["notification_preferences__quiet_start"], person["notification_preferences__quiet_end"],
            weekends)


def deliver_chunk(payload: dict, recipient_ids: list[int]) -> int:
    """Write one chunk's notifications (idempotent), then publish and enqueue emails. Returns rows written."""
    now = timezone.now()
    source, kind, urgent = payload["source"], payload["kind"], payload["urgent"]
    created_at = datetime.datetime.fromisoformat(payload["created_at"]) if payload.get("created_at") else now
    with transaction.atomic():
        existing = set(Notification.objects.filter(source=source, recipient_id__in=recipient_ids)
                       .values_list("recipient_id", flat=True))
        todo = [i for i in recipient_ids if i not in existing]
        if not todo:
            return 0
        rows = []
        for person in _recipients(todo):
            channels = effective_channels(kind, audience_of(is_guardian=person["is_guardian"],
                                                            is_pupil=person["is_pupil"]),
                                          person["notification_preferences__channels"])
            may_email = bool(person["email"]) and person["contact_by_email"]
            email = may_email and EMAIL in channels
            digest = may_email and DIGEST in channels and not email
            in_app = IN_APP in channels
            if not (in_app or email or digest):
                continue
            due = None
            if email:
                due = now if urgent else quiet_until(now, *_quiet_settings(person))
            rows.append(Notification(
                recipient_id=person["id"], kind=kind, title=payload["title"], body=payload["body"],
                url=payload["url"], establishment_id=payload["establishment_id"], urgent=urgent, source=source,
                created_at=created_at, in_app=in_app, email_due_at=due, digest=digest,
            ))
        Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=chunk_size())
        shown = [row.recipient_id for row in rows if row.in_app]
        if shown:
            event = {"counter_deltas": {"notifications": 1}, "kind": kind, "title": payload["title"],
                     "url": payload["url"], "urgent": urgent}
            after_commit(realtime.publish, shown, "notification.new", event)
        email_now = [row.recipient_id for row in rows if row.email_due_at is not None and row.email_due_at <= now]
        if email_now:
            due_ids = list(Notification.objects.filter(source=source, recipient_id__in=email_now,
                                                       emailed_at__isnull=True).values_list("id", flat=True))
            # robust: if the enqueue or the send fails, the email stays due and the next sweep sends it.
            after_commit(_enqueue_emails, due_ids)
    return len(rows)


def _enqueue_emails(notification_ids: list[int]) -> None:
    from .tasks import send_emails

    send_emails.delay(notification_ids)


# --- Read state -----------------------------------------------------------------------------------------------

def _publish_read(user_ids: list[int], count: int = 1) -> None:
    """Open pages of these people move their badge down (on commit)."""
    if user_ids and count:
        after_commit(realtime.publish, user_ids, "notification.read", {"counter_deltas": {"notifications": -count}})


def notification_mark_read(*, actor, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read (404 for anyone else's)."""
    from preau.access.policy import access_notification

    with transaction.atomic():
        notification = access_notification(actor, notification_id)
        if notification.read_at is None:
            notification.read_at = timezone.now()
            if Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
                    read_at=notification.read_at):
                _publish_read([actor.id])
    return notification


def notification_mark_all_read(*, actor) -> int:
    from preau.access.policy import notifications_visible_to

    with transaction.atomic():
        count = notifications_visible_to(actor).filter(read_at__isnull=True).update(read_at=timezone.now())
        _publish_read([actor.id], count)
    return count


def notifications_mark_sources_read(*, recipient_id: int, sources: Iterable[str]) -> int:
    """For other apps: one person saw these things themselves (opened messages), so their notifications are read.
    One UPDATE on the (recipient, source) index whatever the number of sources."""
    sources = sorted({source for source in sources if source})
    if not sources:
        return 0
    now = timezone.now()
    unread = Notification.objects.filter(recipient_id=recipient_id, source__in=sources, read_at__isnull=True)
    # Two UPDATEs, no transaction of their own (callers run inside theirs): the in-app rows' count moves the badge.
    shown = unread.filter(in_app=True).update(read_at=now)
    hidden = unread.filter(in_app=False).update(read_at=now)
    _publish_read([recipient_id], shown)
    return shown + hidden


def notifications_retract(*, recipient_ids: Iterable[int], source: str) -> int:
    """For other apps: the thing itself is gone (a message recalled or hidden by moderation), so its notifications
    are deleted, emails not yet sent included; open pages move their badge down. Returns the rows deleted."""
    ids = list({int(i) for i in recipient_ids})
    if not ids or not source:
        return 0
    with transaction.atomic():
        rows = Notification.objects.filter(recipient_id__in=ids, source=source)
        shown = list(rows.filter(read_at__isnull=True, in_app=True).values_list("recipient_id", flat=True))
        count, _ = rows.delete()
        _publish_read(shown)
    return count


# --- Preferences ----------------------------------------------------------------------------------------------

def preferences_update(*, actor, channels: dict[str, dict[str, bool]], quiet_start: datetime.time,
                       quiet_end: datetime.time, quiet_weekends: bool) -> NotificationPreferences:
    """Store a person's choices. `channels` is {kind: {channel: bool}} for known kinds and channels; choices
    equal to the defaults are not stored, so that better defaults later reach everyone who did not choose."""
    audience = audience_for(actor)
    stored: dict[str, dict[str, bool]] = {}
    for kind, choices in channels.items():
        kind_spec = kinds.spec(kind)
        defaults = kind_spec.default_channels(audience)
        for channel, enabled in choices.items():
            if channel not in Channel.values:
                raise ValueError(f"Unknown channel: {channel!r}")
            if channel in kind_spec.locked:
                continue
            if bool(enabled) != (channel in defaults):
                stored.setdefault(kind, {})[channel] = bool(enabled)
    with transaction.atomic():
        prefs, _ = NotificationPreferences.objects.update_or_create(
            user_id=actor.id, defaults={"channels": stored, "quiet_start": quiet_start, "quiet_end": quiet_end,
                                        "quiet_weekends": bool(quiet_weekends)})
    return prefs


def audience_for(actor) -> str:
    return audience_of(is_guardian=actor.has_role(Role.GUARDIAN), is_pupil=actor.has_role(Role.PUPIL))


# --- Retention ------------------------------------------------------------------------------------------------

def notifications_purge(now=None) -> int:
    """Delete read notifications older than PREAU_NOTIFICATION_KEEP_DAYS and unread ones older than
    PREAU_NOTIFICATION_UNREAD_KEEP_DAYS. Returns the number deleted."""
    now = now or timezone.now()
    read_cutoff = now - datetime.timedelta(days=settings.PREAU_NOTIFICATION_KEEP_DAYS)
    unread_cutoff = now - datetime.timedelta(days=settings.PREAU_NOTIFICATION_UNREAD_KEEP_DAYS)
    with transaction.atomic():
        deleted, _ = Notification.objects.filter(read_at__isnull=False, created_at__lt=read_cutoff).delete()
        more, _ = Notification.objects.filter(read_at__isnull=True, created_at__lt=unread_cutoff).delete()
    return deleted + more
