"""Background work of the notification centre (Celery; eager in-process without a broker).

Every task is idempotent: rows are unique per (recipient, source), and emails are claimed in the same transaction
that marks them sent, so a retried or duplicated task never writes or sends twice.
"""

from __future__ import annotations

from celery import shared_task

RETRY = {"autoretry_for": (Exception,), "retry_backoff": True, "retry_backoff_max": 600,
         "retry_kwargs": {"max_retries": 12}, "acks_late": True, "ignore_result": True}


@shared_task(name="notifications.deliver", **RETRY)
def deliver(payload: dict, recipient_ids: list[int]) -> None:
    """Write one chunk of a notify() call's notifications, publish them, enqueue their emails."""
    from .services import deliver_chunk

    deliver_chunk(payload, recipient_ids)


@shared_task(name="notifications.send_emails", **RETRY)
def send_emails(notification_ids: list[int]) -> None:
    """Send the immediate emails of these notifications (each claimed once; already sent ones are skipped)."""
    from django.core.mail import get_connection

    from .emails import send_notification_emails

    with get_connection() as connection:  # one SMTP session for the batch
        send_notification_emails(notification_ids, connection=connection)


@shared_task(name="notifications.send_due_emails", **RETRY)
def send_due_emails() -> None:
    """Every few minutes (beat): immediate emails whose time has come (deferred past quiet hours), in batches."""
    from .emails import due_email_ids

    for ids in due_email_ids():
        send_emails.delay(ids)


@shared_task(name="notifications.send_digests", **RETRY)
def send_digests() -> None:
    """Daily (beat, PREAU_NOTIFICATION_DIGEST_HOUR): one digest task per batch of people with something pending."""
    from .emails import digest_recipient_batches

    for user_ids in digest_recipient_batches():
        send_digest_batch.delay(user_ids)


@shared_task(name="notifications.send_digest_batch", **RETRY)
def send_digest_batch(user_ids: list[int]) -> None:
    from django.core.mail import get_connection

    from .emails import send_digest

    with get_connection() as connection:
        for user_id in user_ids:
            send_digest(user_id, connection=connection)


@shared_task(name="notifications.purge", **RETRY)
def purge() -> None:
    """Daily (beat): read notifications older than PREAU_NOTIFICATION_KEEP_DAYS and unread ones older than
    PREAU_NOTIFICATION_UNREAD_KEEP_DAYS are deleted."""
    from .services import notifications_purge

    notifications_purge()
