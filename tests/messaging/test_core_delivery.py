"""Delivery: bulk, chunked, idempotent; a worker crash half-way loses nothing and duplicates nothing; notifications
and real-time events once per person."""

import contextlib
import json

import pytest
from django.db.models import Count

from preau.directory.testing import make_guardian, make_pupil
from preau.messaging import selectors, services, tasks
from preau.messaging.models import Delivery, Message
from preau.notifications.models import Notification
from preau.realtime.broker import CLOSE, ThreadSubscription, get_broker

from .core_helpers import actor, address, inbox_owners, person, send
from .core_helpers import school as school_fixture

pytestmark = pytest.mark.django_db
school = school_fixture


class WorkerDied(RuntimeError):
    """The fault injected half-way through a delivery (as if the worker process had been killed)."""


@pytest.fixture
def big_class(school):
    """5e B with 12 more pupils, each with a guardian (and one guardian of two of them): 15 families' people."""
    one = school
    pupils = [make_pupil(one.class_b, username=f"extra_pupil{i}") for i in range(12)]
    for i, pupil in enumerate(pupils[:-2]):
        make_guardian(one.establishment, pupil, username=f"extra_parent{i}")
    make_guardian(one.establishment, pupils[-2], pupils[-1], username="extra_parent_of_two")
    return one


def class_b_guardians(one) -> set[int]:
    from preau.messaging import addresses

    return set(addresses.resolve([address("class_guardians", one.class_b.pk)],
                                 establishment_id=one.establishment.pk))


@contextlib.contextmanager
def listening(*users):
    subs = {user.pk: ThreadSubscription(user.pk) for user in users}
    for sub in subs.values():
        get_broker().subscribe(sub)
    try:
        yield subs
    finally:
        for sub in subs.values():
            get_broker().unsubscribe(sub)


def events(sub) -> list[dict]:
    found = []
    while True:
        message = sub.get(timeout=0.2)
        if message is None or message is CLOSE:
            return found
        found.append(json.loads(message))


def test_delivery_writes_every_copy_in_chunks(big_class, settings, django_capture_on_commit_callbacks):
    one = big_class
    settings.PREAU_MESSAGING_DELIVERY_CHUNK = 4
    expected = class_b_guardians(one)
    assert len(expected) == 13  # mother, father, 10 parents, the parent of two
    chunks = []

    def record(message_id, index, owner_ids):
        chunks.append(len(owner_ids))

    tasks.after_chunk, original = record, tasks.after_chunk
    try:
        message = send(django_capture_on_commit_callbacks, one.head, [address("class_guardians", one.class_b.pk)])
    finally:
        tasks.after_chunk = original
    assert chunks == [4, 4, 4, 1]
    assert inbox_owners(message) == expected
    message.refresh_from_db()
    assert message.state == "delivered" and message.recipient_count == 13
    # Running it again changes nothing (the message is delivered).
    assert tasks.deliver(message.pk) == 0


def test_delivery_after_a_worker_crash_loses_nothing_and_duplicates_nothing(big_class, settings,
                                                                            django_capture_on_commit_callbacks):
    one = big_class
    settings.PREAU_MESSAGING_DELIVERY_CHUNK = 5
    settings.PREAU_MESSAGING_SWEEP_AFTER_SECONDS = 0
    expected = class_b_guardians(one)

    def crash_after_first_chunk(message_id, index, owner_ids):
        raise WorkerDied("killed")

    # The send is accepted; its delivery dies after its first chunk of 5 copies.
    message = services.send_message(actor=actor(one.head), establishment=one.establishment, subject="Réunion",
                                    body="Réunion parents-professeurs jeudi.",
                                    addresses={"to": [address("class_guardians", one.class_b.pk)]})
    tasks.after_chunk, original = crash_after_first_chunk, tasks.after_chunk
    try:
        with pytest.raises(WorkerDied), django_capture_on_commit_callbacks(execute=True):
            tasks.deliver(message.pk)
    finally:
        tasks.after_chunk = original
    message.refresh_from_db()
    assert message.state == "queued"
    assert len(inbox_owners(message)) == 5
    first_five = inbox_owners(message)
    # Their notifications went out with their chunk.
    assert set(Notification.objects.filter(source=f"messaging.message:{message.pk}")
               .values_list("recipient_id", flat=True)) == first_five

    # The sweeper finds the message still queued and delivers it again: the rest, once.
    with listening(one.mother_b, one.father_b) as subs, \
            django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep() == [message.pk]
    message.refresh_from_db()
    assert message.state == "delivered" and message.recipient_count == len(expected)
    assert inbox_owners(message) == expected
    duplicates = (Delivery.objects.filter(message=message).values("owner_id").annotate(n=Count("pk"))
                  .filter(n__gt=1))
    assert not duplicates.exists()
    assert Delivery.objects.filter(message=message).count() == len(expected) + 1  # + the sender's
    # One notification per person, whatever the runs.
    notified = list(Notification.objects.filter(source=f"messaging.message:{message.pk}")
                    .values_list("recipient_id", flat=True))
    assert sorted(notified) == sorted(expected)
    # A person of the second run got one "message.new" event; a person of the first run none again.
    for user in (one.mother_b, one.father_b):
        received = [e for e in events(subs[user.pk]) if e["event"] == "message.new"]
        assert len(received) == (0 if user.pk in first_five else 1)
    # Nothing left to sweep.
    assert tasks.sweep() == []


def test_a_failed_task_is_retried_and_its_retry_completes_the_delivery(big_class, settings,
                                                                       django_capture_on_commit_callbacks):
    one = big_class
    settings.PREAU_MESSAGING_DELIVERY_CHUNK = 3
    # The task hands itself back to the broker on any failure (and, acks late, when its worker is lost).
    assert tasks.deliver_message.acks_late and Exception in tasks.deliver_message.autoretry_for
    assert tasks.deliver_message.max_retries >= 5
    calls = []

    def crash_once(message_id, index, owner_ids):
        calls.append(index)
        if len(calls) == 2:
            raise WorkerDied("database connection lost")

    tasks.after_chunk, original = crash_once, tasks.after_chunk
    try:
        # Eagerly (no broker), the failed attempt ends in a Retry: the send itself is committed and answered.
        message = send(django_capture_on_commit_callbacks, one.head, [address("class_guardians", one.class_b.pk)],
                       cc=[address("class_pupils", one.class_b.pk)])
        message.refresh_from_db()
        assert message.state == "queued" and len(inbox_owners(message)) == 6
        # The broker runs the retry.
        with django_capture_on_commit_callbacks(execute=True):
            tasks.deliver_message.apply(args=[message.pk])
    finally:
        tasks.after_chunk = original
    message.refresh_from_db()
    assert message.state == "delivered"
    everyone = class_b_guardians(one) | set(one.class_b.enrolments.values_list("pupil_id", flat=True))
    assert inbox_owners(message) == everyone
    assert Delivery.objects.filter(message=message).count() == len(everyone) + 1
    assert calls[:3] == [0, 1, 0]  # the retry started over, skipping what was written


def test_delivery_leaves_held_and_recalled_messages_alone(school, django_capture_on_commit_callbacks):
    one = school
    message = services.send_message(actor=actor(one.head), establishment=one.establishment, subject="Attente",
                                    body="x", addresses={"to": [person(one.cpe)]})
    Message.objects.filter(pk=message.pk).update(state="held")
    assert tasks.deliver(message.pk) == 0 and inbox_owners(message) == set()
    Message.objects.filter(pk=message.pk).update(state="recalled")
    assert tasks.deliver(message.pk) == 0 and tasks.sweep() == []
    assert tasks.deliver(10**9) == 0


def test_a_message_recalled_during_its_delivery_ends_withdrawn(big_class, settings,
                                                               django_capture_on_commit_callbacks):
    one = big_class
    settings.PREAU_MESSAGING_DELIVERY_CHUNK = 5
    message = services.send_message(actor=actor(one.head), establishment=one.establishment, subject="Erreur",
                                    body="x", addresses={"to": [address("class_guardians", one.class_b.pk)]})

    def recall_after_first_chunk(message_id, index, owner_ids):
        if index == 0:
            services.withdraw(Message.objects.get(pk=message_id))

    tasks.after_chunk, original = recall_after_first_chunk, tasks.after_chunk
    try:
        with django_capture_on_commit_callbacks(execute=True):
            tasks.deliver(message.pk)
    finally:
        tasks.after_chunk = original
    assert Delivery.objects.filter(message=message, role="to").count() == 13
    assert not Delivery.objects.filter(message=message, role="to", withdrawn_at__isnull=True).exists()
    assert selectors.unread_count(actor(one.mother_b)) == 0


def test_recipients_are_told_once_and_the_sender_sees_delivery(school, django_capture_on_commit_callbacks):
    one = school
    with listening(one.mother_b, one.head, one.cpe) as subs:
        message = send(django_capture_on_commit_callbacks, one.head, [person(one.mother_b)], subject="Cantine")
        mother = events(subs[one.mother_b.pk])
        head = events(subs[one.head.pk])
        assert events(subs[one.cpe.pk]) == []
    new = [e for e in mother if e["event"] == "message.new"]
    assert len(new) == 1
    assert new[0]["data"]["id"] == message.pk and new[0]["data"]["counter_deltas"] == {"messages": 1}
    assert new[0]["data"]["subject"] == "Cantine" and new[0]["data"]["sender"] == one.head.full_name
    assert [e["data"] for e in head if e["event"] == "message.delivered"] == [{"id": message.pk,
                                                                            "recipient_count": 1}]
    notification = Notification.objects.get(recipient=one.mother_b, source=f"messaging.message:{message.pk}")
    assert notification.kind == "message" and "Cantine" in notification.title
    assert notification.url == f"/messagerie/messages/{message.pk}/" or notification.url == ""


def test_sweeper_waits_for_the_delay(school, settings):
    one = school
    settings.PREAU_MESSAGING_SWEEP_AFTER_SECONDS = 3600
    services.send_message(actor=actor(one.head), establishment=one.establishment, subject="Récent", body="x",
                          addresses={"to": [person(one.cpe)]})
    assert tasks.sweep() == []
    assert tasks.sweep_undelivered() == 0


def test_counter_corrections_are_published(school, django_capture_on_commit_callbacks):
    one = school
    first = send(django_capture_on_commit_callbacks, one.teacher_b, [person(one.mother_b), person(one.father_b)])
    second = send(django_capture_on_commit_callbacks, one.head, [person(one.mother_b)])
    mother = actor(one.mother_b)
    with listening(one.mother_b, one.father_b) as subs:
        with django_capture_on_commit_callbacks(execute=True):
            # Many ids (most of them not hers): the event stays small.
            assert services.mark_read(actor=mother, message_ids=[first.pk, second.pk, *range(10**17, 10**17 + 498)]
                                      ) == 2
        with django_capture_on_commit_callbacks(execute=True):
            services.move(actor=mother, message_ids=[first.pk], box="trash")  # already read: no correction
            services.mark_read(actor=mother, message_ids=[second.pk], read=False)
            services.move(actor=mother, message_ids=[second.pk], box="trash")
            services.restore(actor=mother, message_ids=[second.pk])
        with django_capture_on_commit_callbacks(execute=True):
            services.withdraw(first)
        received = [(e["event"], e["data"].get("counter_deltas")) for e in events(subs[one.mother_b.pk])]
        father = [(e["event"], e["data"].get("counter_deltas")) for e in events(subs[one.father_b.pk])]
    assert [e for e in received if e[0].startswith("message.")] == [
        ("message.read", {"messages": -2}), ("message.read", {"messages": 1}),
        ("message.moved", {"messages": -1}), ("message.moved", {"messages": 1}), ("message.withdrawn", {})]
    # Reading the messages read their notifications; the recalled one's notification is gone (already read).
    assert [e for e in received if e[0].startswith("notification.")] == [("notification.read", {"notifications": -2})]
    assert father == [("notification.read", {"notifications": -1}), ("message.withdrawn", {"messages": -1})]
    assert selectors.unread_count(mother) == 1 and selectors.unread_count(actor(one.father_b)) == 0


def test_reading_a_message_reads_its_notification_and_a_recall_removes_it(school, django_capture_on_commit_callbacks):
    from preau.notifications.models import Notification

    one = school
    message = send(django_capture_on_commit_callbacks, one.teacher_b, [person(one.mother_b), person(one.father_b)])
    source = f"messaging.message:{message.pk}"
    assert Notification.objects.filter(source=source, read_at__isnull=True).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_read(actor=actor(one.mother_b), message_ids=[message.pk])
    assert Notification.objects.get(source=source, recipient=one.mother_b).read_at is not None
    assert Notification.objects.get(source=source, recipient=one.father_b).read_at is None
    with django_capture_on_commit_callbacks(execute=True):
        services.withdraw(message)
    assert not Notification.objects.filter(source=source).exists()
