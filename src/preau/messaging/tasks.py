"""Background delivery of messages (Celery; eager in-process when no broker is configured).

`deliver_message(message_id)` turns a queued message into its recipients' inbox copies:

1. resolves its addresses into people with one SELECT per list (to, cc, bcc; a person in several lists is
   delivered once, in the first: to, then cc, then bcc; the sender keeps only their "sent" copy);
2. writes the copies in chunks of PREAU_MESSAGING_DELIVERY_CHUNK rows, each chunk ONE statement in its own
   transaction (PostgreSQL: INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING RETURNING; elsewhere
   `bulk_create(..., ignore_conflicts=True)`): the unique (message, owner) constraint makes a second run write
   only what the first did not, so a retry after a crash (worker killed, database error) never duplicates and
   never loses a copy;
3. after each chunk is committed, tells its people: notification (`notifications.services.notify`, one per person
   and message whatever the retries) and real-time "message.new" event;
4. marks the message delivered (one UPDATE) and tells the sender.

The task is retried on failure (acks late: a worker lost mid-way hands it back to the broker) and
`sweep_undelivered` (celery beat, every minute) re-enqueues messages still queued after
PREAU_MESSAGING_SWEEP_AFTER_SECONDS. Both are safe because delivery is idempotent.
"""

from __future__ import annotations

import datetime
import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .models import Delivery, Message

logger = logging.getLogger("preau.messaging")
LISTS = (("to", Delivery.Role.TO), ("cc", Delivery.Role.CC), ("bcc", Delivery.Role.BCC))
SWEEP_BATCH = 500


def chunk_size() -> int:
    return max(1, int(settings.PREAU_MESSAGING_DELIVERY_CHUNK))


def after_chunk(message_id: int, index: int, owner_ids: list[int]) -> None:
    """Called after each chunk of copies is committed and announced. Does nothing: the fault-injection point of
    the crash tests (a test makes it raise to stop a delivery half-way, like a worker dying)."""


def _thread_url(message_id: int) -> str:
    try:
        return reverse("messaging:thread", args=[message_id])
    except NoReverseMatch:  # messaging pages not mounted (an API-only deployment)
        return ""


def _notify(message: Message, owner_ids: list[int]) -> None:
    """The "new message" notification (one per person and message, however often asked)."""
    from preau.notifications.services import notify

    notify(recipient_ids=owner_ids, kind="message", title=f"{message.sender.full_name} : {message.subject}",
           body=(message.body_text or "")[:300], url=_thread_url(message.pk),
           establishment_id=message.establishment_id, source=f"messaging.message:{message.pk}")


def _announce(message: Message, owner_ids: list[int]) -> None:
    """Notification and real-time event for people whose copy was just committed."""
    from preau.realtime import publish

    sender = message.sender.full_name
    _notify(message, owner_ids)
    publish(owner_ids, "message.new", {"counter_deltas": {"messages": 1}, "id": message.pk,
                                       "subject": message.subject, "sender": sender,
                                       "sent_at": message.sent_at.isoformat() if message.sent_at else None})


def plan(message: Message) -> list[tuple[int, str]]:
    """(person id, role) of every recipient: one SELECT per non-empty list."""
    from . import addresses as address_book

    lists = address_book.split(message.addresses or {})
    seen = {message.sender_id}
    result: list[tuple[int, str]] = []
    for name, role in LISTS:
        if not lists[name]:
            continue
        ids = sorted(set(address_book.resolve(lists[name], establishment_id=message.establishment_id,
                                              sender_id=message.sender_id)) - seen)
        seen.update(ids)
        result.extend((pk, role) for pk in ids)
    return result


def _insert_chunk(message_id: int, sent_at, chunk: list[tuple[int, str]], *, check_existing: bool) -> list[int]:
    """Write one chunk of inbox copies, skipping people who already have one; returns the owners written.

    PostgreSQL: one INSERT ... SELECT FROM unnest(ids, roles) ON CONFLICT DO NOTHING RETURNING owner_id (the rows
    are built by the database, and it says which were new). Elsewhere: bulk_create(ignore_conflicts=True), after
    reading which owners already have a copy when this is a retry."""
    if not chunk:
        return []
    if connection.vendor == "postgresql":
        table = Delivery._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (message_id, owner_id, role, box, sent_at) "  # noqa: S608 - constant names
                "SELECT %s, t.owner_id, t.role, %s, %s FROM unnest(%s::bigint[], %s::text[]) AS t(owner_id, role) "
                "ON CONFLICT (message_id, owner_id) DO NOTHING RETURNING owner_id",
                [message_id, Delivery.Box.INBOX, sent_at, [pk for pk, _r in chunk], [r for _pk, r in chunk]])
            return [row[0] for row in cursor.fetchall()]
    existing: set[int] = set()
    if check_existing:
        existing = set(Delivery.objects.filter(message_id=message_id, owner_id__in=[pk for pk, _r in chunk])
                       .values_list("owner_id", flat=True))
    rows = [Delivery(message_id=message_id, owner_id=pk, role=role, box=Delivery.Box.INBOX, sent_at=sent_at)
            for pk, role in chunk if pk not in existing]
    Delivery.objects.bulk_create(rows, batch_size=len(chunk), ignore_conflicts=True)
    return [row.owner_id for row in rows]


def deliver(message_id: int) -> int:
    """Deliver a queued message (see the module docstring); returns the number of copies written by this run.
    Anything but a queued message (delivered, held, recalled...) is left alone."""
    message = Message.objects.select_related("sender").filter(pk=message_id).first()
    if message is None or message.state != Message.State.QUEUED:
        return 0
    recipients = plan(message)
    # A retry finds copies already written: without PostgreSQL's RETURNING it checks each chunk for them first
    # (first runs need not).
    retry = (connection.vendor != "postgresql"
             and Delivery.objects.filter(message_id=message.pk).exclude(role=Delivery.Role.SENDER).exists())
    size = chunk_size()
    written = 0
    already: list[int] = []
    sent_at = message.sent_at or timezone.now()
    live = Message.objects.filter(pk=message.pk, recalled_at__isnull=True, hidden_at__isnull=True)
    announcing = True
    for index, start in enumerate(range(0, len(recipients), size)):
        # Recalled or hidden meanwhile: the copies are still written (and withdrawn below, so that a retry finds
        # the delivery complete), but nobody is told of them any more.
        announcing = announcing and (index == 0 or live.exists())
        chunk = recipients[start:start + size]
        with transaction.atomic():
            fresh = _insert_chunk(message.pk, sent_at, chunk, check_existing=retry)
        chosen = {pk for pk, _role in chunk}
        already.extend(sorted(chosen - set(fresh)))
        written += len(fresh)
        if fresh and announcing:
            transaction.on_commit(lambda fresh=fresh: _announce(message, fresh))
        after_chunk(message.pk, index, fresh)

    now = timezone.now()
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, state=Message.State.QUEUED).update(
            state=Message.State.DELIVERED, delivered_at=now, recipient_count=len(recipients))
        withdrawn = not live.exists()
        if withdrawn:
            # Recalled or hidden while this run wrote copies: those are withdrawn too, with their notifications
            # and the counters of open pages.
            from .services import withdraw_copies

            withdraw_copies(message.pk, now)
    if already and not withdrawn:
        # People whose copy an earlier, interrupted run wrote: their notification may not have gone out (notify
        # writes one per person and message, so asking again never duplicates).
        _notify(message, already)
    if updated:
        from preau.realtime import publish

        publish([message.sender_id], "message.delivered", {"id": message.pk, "recipient_count": len(recipients)})
    return written


@shared_task(name="messaging.deliver_message", bind=True, acks_late=True, ignore_result=True, max_retries=10,
             autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=120, retry_jitter=True)
def deliver_message(self, message_id: int) -> int:
    return deliver(message_id)


def sweep() -> list[int]:
    """Re-enqueue messages still queued PREAU_MESSAGING_SWEEP_AFTER_SECONDS after they were sent (a lost task, a
    worker that died before its retry was recorded). Each message at most once per that delay."""
    delay = max(0, int(settings.PREAU_MESSAGING_SWEEP_AFTER_SECONDS))
    cutoff = timezone.now() - datetime.timedelta(seconds=delay)
    ids = list(Message.objects.filter(state=Message.State.QUEUED, sent_at__lte=cutoff)
               .order_by("sent_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    enqueued = []
    for pk in ids:
        if delay == 0 or cache.add(f"messaging:sweep:{pk}", 1, timeout=delay):
            logger.warning("messaging: message %s still queued, delivery enqueued again", pk)
            deliver_message.delay(pk)
            enqueued.append(pk)
    return enqueued


@shared_task(name="messaging.sweep_undelivered", ignore_result=True)
def sweep_undelivered() -> int:
    return len(sweep())
