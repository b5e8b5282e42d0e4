"""Query counts: a mailbox page, the counts, a thread and the API's mailbox cost the same whatever the mailbox size."""

import datetime

import pytest
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from preau.messaging import selectors
from preau.messaging.models import Attachment, Conversation, Delivery, Folder, Message

from .core_helpers import actor
from .core_helpers import school as school_fixture

pytestmark = pytest.mark.django_db
school = school_fixture


def fill(owner, senders, count, *, folder=None, start=0):
    """`count` delivered messages in `owner`'s inbox (or folder), from several senders, some with attachments."""
    now = timezone.now()
    conversations = Conversation.objects.bulk_create([Conversation(subject=f"Sujet {start + i}")
                                                      for i in range(count)])
    messages = Message.objects.bulk_create([
        Message(conversation=c, sender=senders[i % len(senders)], subject=c.subject, body="<p>x</p>", body_text="x",
                state="delivered", sent_at=now - datetime.timedelta(minutes=start + i),
                address_labels={"to": ["Responsables de 5e B"], "cc": []})
        for i, c in enumerate(conversations)])
    Delivery.objects.bulk_create([
        Delivery(message=m, owner=owner, role="to", box="folder" if folder else "inbox", folder=folder,
                 sent_at=m.sent_at, read_at=None if i % 3 else m.sent_at)
        for i, m in enumerate(messages)])
    Attachment.objects.bulk_create([Attachment(message=m, file=f"messaging/x/{m.pk}.pdf", name="a.pdf", size=1,
                                               content_type="application/pdf") for m in messages[::7]])
    return messages


def queries(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured)


def test_mailbox_page_costs_the_same_for_10_and_300_messages(school):
    one = school
    senders = [one.teacher_a, one.teacher_b, one.head, one.cpe]
    owner = one.mother_b
    folder = Folder.objects.create(owner=owner, name="Archives")
    fill(owner, senders, 10)
    fill(owner, senders, 5, folder=folder, start=1000)
    who = actor(owner)

    def page():
        result = selectors.mailbox_page(who, box="inbox", limit=50)
        shown = [(d.message.subject, d.message.sender.full_name, d.has_attachments, d.read_at)
                 for d in result.items]  # what a list shows
        assert len(shown) == len(result.items)
        return result

    def cursor_page():
        first = selectors.mailbox_page(who, box="inbox", limit=5)
        selectors.mailbox_page(who, box="inbox", limit=5, cursor=first.next_cursor)

    small = (queries(page), queries(cursor_page), queries(lambda: selectors.mailbox_counts(who)),
             queries(lambda: selectors.unread_count(who)))
    fill(owner, senders, 290, start=10)
    fill(owner, senders, 100, folder=folder, start=2000)
    large = (queries(page), queries(cursor_page), queries(lambda: selectors.mailbox_counts(who)),
             queries(lambda: selectors.unread_count(who)))
    assert small == large == (1, 2, 1, 1)
    assert len(page().items) == 50


def test_thread_and_api_mailbox_cost_the_same_whatever_the_size(school):
    one = school
    owner = one.mother_b
    senders = [one.teacher_a, one.teacher_b, one.head]
    messages = fill(owner, senders, 3)
    # A long conversation: its messages in one thread.
    conversation = messages[0].conversation
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(conversation=conversation)
    who = actor(owner)
    delivery = selectors.access_delivery(who, messages[0].pk)
    client = Client()
    client.force_login(owner)
    client.get("/api/v1/messaging/mailbox")  # session and throttling warmed up

    def thread():
        shown = [(d.message.sender.full_name, list(d.message.attachments.all()),
                  selectors.shown_addresses(who, d.message)) for d in selectors.thread(who, delivery)]
        assert shown

    def api():
        assert client.get("/api/v1/messaging/mailbox").status_code == 200

    def api_thread():
        assert client.get(f"/api/v1/messaging/messages/{messages[0].pk}/thread").status_code == 200

    small = (queries(thread), queries(api), queries(api_thread))
    more = fill(owner, senders, 120, start=10)
    Message.objects.filter(pk__in=[m.pk for m in more]).update(conversation=conversation)
    large = (queries(thread), queries(api), queries(api_thread))
    assert small == large
    assert small[0] == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans (run the suite on PostgreSQL)")
def test_a_mailbox_page_is_one_index_range_read_in_order(school):
    """No sort of the whole mailbox: the page's rows come from the partial page indexes in (sent_at, id) order,
    on the first page and on the "more" pages (the cursor condition bounds the range)."""
    from preau.access import policy
    Box = Delivery.Box

    one = school
    owner = one.mother_b
    folder = Folder.objects.create(owner=owner, name="Archives")
    fill(owner, [one.teacher_b], 120)
    fill(owner, [one.teacher_b], 30, folder=folder, start=1000)
    first = selectors.mailbox_page(actor(owner), box="inbox", limit=50)
    cursor_at = first.items[-1]

    def plan(queryset) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()

    mine = policy.deliveries_visible_to(actor(owner))
    inbox = mine.filter(box=Box.INBOX, folder__isnull=True).order_by("-sent_at", "-pk")
    at, pk = cursor_at.sent_at, cursor_at.pk
    more = inbox.filter(Q(sent_at__lt=at) | Q(sent_at=at, pk__lt=pk), sent_at__lte=at)  # as _keyset builds it
    archives = mine.filter(box=Box.FOLDER, folder_id=folder.pk).order_by("-sent_at", "-pk")
    for name, queryset in (("delivery_box_page", inbox[:51]), ("delivery_box_page", more[:51]),
                           ("delivery_folder_page", archives[:51])):
        text = plan(queryset)
        assert name in text and "Sort" not in text, text


def test_the_senders_bcc_labels_of_a_thread_cost_one_lookup(school, django_capture_on_commit_callbacks):
    from preau.messaging import services

    one = school
    sender = actor(one.teacher_b)

    def sent(count):
        return [services.send_message(actor=sender, establishment=one.establishment, subject=f"S{i}", body="x",
                                      addresses={"to": [{"type": "person", "id": one.head.pk}],
                                                 "bcc": [{"type": "person", "id": one.cpe.pk}]})
                for i in range(count)]

    few, many = sent(2), sent(8)
    assert queries(lambda: selectors.shown_addresses_of(sender, few)) == queries(
        lambda: selectors.shown_addresses_of(sender, many))
    shown = selectors.shown_addresses_of(sender, many)
    assert {tuple(s["bcc"]) for s in shown} == {(one.cpe.full_name,)}
