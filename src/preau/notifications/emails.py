"""Notification emails: immediate emails (by batches) and a person's daily digest.

Every send claims its rows with `select_for_update(skip_locked=True)` (where the database has row locks; SQLite
serialises writers) and marks them sent in that same transaction, so a sent row is never picked again and a row
another worker holds is skipped. If the mail server fails, what was already sent is marked, the transaction
commits, and the error is raised for Celery to retry the rest.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template import loader
from django.urls import reverse
from django.utils import timezone, translation

from .models import Notification, NotificationPreferences
from .quiet import is_quiet

DIGEST_MAX_ITEMS = 30
# Immediate emails claimed and marked per transaction (one commit for this many emails).
EMAIL_BATCH = 50


def absolute(path: str) -> str:
    return settings.PREAU_SITE_URL.rstrip("/") + (path or reverse("notifications:list"))


def _send(user, template: str, context: dict, connection=None) -> None:
    context = {**context, "user": user, "site_name": settings.PREAU_SITE_NAME,
               "preferences_url": absolute(reverse("notifications:preferences")),
               "list_url": absolute(reverse("notifications:list"))}
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = " ".join(loader.render_to_string(f"notifications/email/{template}_subject.txt", context).split())
        text = loader.render_to_string(f"notifications/email/{template}.txt", context)
        html = loader.render_to_string(f"notifications/email/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email], connection=connection)
    message.attach_alternative(html, "text/html")
    message.send()


def _can_email(user) -> bool:
    return bool(user.is_active and user.email and user.contact_by_email)


def send_notification_email(notification_id: int, connection=None) -> bool:
    """Send one notification's immediate email if it is due and not sent yet. True when sent."""
    return send_notification_emails([notification_id], connection=connection) == 1


def send_notification_emails(notification_ids: list[int], connection=None) -> int:
    """Send the due, unsent immediate emails among these notifications; returns how many were sent.

    Rows are claimed by batches of EMAIL_BATCH (`select_for_update(skip_locked=True)`: a row another worker is
    sending is skipped) and marked sent in the claiming transaction, one commit per batch. If the mail server fails,
    the emails already sent are marked, the transaction commits, and the error is raised for Celery to retry the
    rest. `connection`: an open mail connection shared by the batch (one SMTP session for many emails).
    """
    sent = 0
    for start in range(0, len(notification_ids), EMAIL_BATCH):
        batch = notification_ids[start:start + EMAIL_BATCH]
        now = timezone.now()
        error = None
        with transaction.atomic():
            rows = list(Notification.objects.select_for_update(skip_locked=True, of=("self",))
                        .select_related("recipient")
                        .filter(pk__in=batch, emailed_at__isnull=True, email_due_at__lte=now).order_by("pk"))
            done, dropped = [], []
            for notification in rows:
                user = notification.recipient
                if notification.read_at is not None or not _can_email(user):
                    # Seen in the ENT while it waited for the end of quiet hours, or no address any more.
                    dropped.append(notification.pk)
                    continue
                try:
                    _send(user, "notification", {"notification": notification, "link": absolute(notification.url)},
                          connection=connection)
                except Exception as exc:  # noqa: BLE001 - re-raised below, once what was sent is marked
                    error = exc
                    break
                done.append(notification.pk)
            if done:
                Notification.objects.filter(pk__in=done).update(emailed_at=now)
            if dropped:
                Notification.objects.filter(pk__in=dropped).update(email_due_at=None)
        sent += len(done)
        if error is not None:
            raise error
    return sent


def digest_pending(user_id: int):
    return Notification.objects.filter(recipient_id=user_id, digest=True, digested_at__isnull=True)


def send_digest(user_id: int, connection=None) -> bool:
    """Send a person's digest of unread notifications not digested yet; mark them. True when an email went out.
    Skipped (the notifications wait for the next digest) while the person is in quiet hours."""
    now = timezone.now()
    with transaction.atomic():
        prefs = NotificationPreferences.objects.filter(user_id=user_id).first()
        quiet = (prefs.quiet_start, prefs.quiet_end, prefs.quiet_weekends) if prefs else None
        if quiet is None:
            from .models import DEFAULT_QUIET_END, DEFAULT_QUIET_START

            quiet = (DEFAULT_QUIET_START, DEFAULT_QUIET_END, True)
        if is_quiet(now, *quiet):
            return False
        pending = list(digest_pending(user_id).select_for_update(skip_locked=True, of=("self",))
                       .select_related("recipient").order_by("-created_at", "-id"))
        if not pending:
            return False
        ids = [n.pk for n in pending]
        unread = [n for n in pending if n.read_at is None]
        user = pending[0].recipient
        if unread and _can_email(user):
            shown = unread[:DIGEST_MAX_ITEMS]
            _send(user, "digest", {"items": [(n, absolute(n.url)) for n in shown], "count": len(unread),
                                   "more": len(unread) - len(shown)}, connection=connection)
        Notification.objects.filter(pk__in=ids).update(digested_at=now)
        return bool(unread and _can_email(user))


BATCH = 500


def due_email_ids(now=None):
    """Batches of ids of immediate emails due and not sent (oldest first), on the partial index."""
    now = now or timezone.now()
    ids = list(Notification.objects.filter(email_due_at__isnull=False, emailed_at__isnull=True,
                                           email_due_at__lte=now).order_by("email_due_at").values_list("id", flat=True))
    return [ids[start:start + BATCH] for start in range(0, len(ids), BATCH)]


def digest_recipient_batches():
    """Batches of ids of people with notifications waiting for their digest."""
    ids = sorted(set(Notification.objects.filter(digest=True, digested_at__isnull=True)
                     .values_list("recipient_id", flat=True)))
    return [ids[start:start + BATCH] for start in range(0, len(ids), BATCH)]
