"""Preferences choose the channels; quiet hours defer immediate emails (urgent ones go through); emails are sent
by tasks, once; the digest gathers a person's unread notifications in one email."""

import datetime

import celery.exceptions
import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from preau.access.policy import actor_for
from preau.notifications import emails, services, tasks
from preau.notifications.kinds import Kind
from preau.notifications.models import Notification, NotificationPreferences

pytestmark = pytest.mark.django_db


def row(user, source):
    return Notification.objects.get(recipient=user, source=source)


def test_defaults_per_audience(world, deliver, clock, mailoutbox):
    clock.set(2026, 10, 6, 10, 0)  # a Tuesday morning
    one = world.one
    people = [one.mother_b, one.pupil_b, one.teacher_b]
    deliver(recipient_ids=[p.pk for p in people], kind=Kind.NEWS, title="Kermesse", source="news:1")
    deliver(recipient_ids=[p.pk for p in people], kind=Kind.LIAISON, title="Mot à signer", source="liaison:1",
            url="/carnet/1/")
    # News: in the list for everyone, in the families' digest; nobody gets an immediate email.
    assert (row(one.mother_b, "news:1").in_app, row(one.mother_b, "news:1").digest) == (True, True)
    assert row(one.pupil_b, "news:1").digest is False
    assert row(one.teacher_b, "news:1").digest is False
    # A carnet de liaison note: emailed at once to the family only.
    assert [m.to for m in mailoutbox] == [[one.mother_b.email]]
    message = mailoutbox[0]
    assert "Mot à signer" in message.subject
    assert "http://127.0.0.1:8000/carnet/1/" in message.body
    assert message.alternatives and "/carnet/1/" in message.alternatives[0][0]
    assert row(one.mother_b, "liaison:1").emailed_at == clock.now
    assert row(one.pupil_b, "liaison:1").email_due_at is None


def test_preferences_override_defaults(world, deliver, clock, mailoutbox):
    clock.set(2026, 10, 6, 10, 0)
    teacher = world.one.teacher_b
    services.preferences_update(actor=actor_for(teacher), channels={"message": {"email": True, "in_app": False}},
                                quiet_start=datetime.time(20), quiet_end=datetime.time(7), quiet_weekends=True)
    deliver(recipient_ids=[teacher.pk], kind=Kind.MESSAGE, title="Réunion", source="messaging.message:9")
    n = row(teacher, "messaging.message:9")
    assert (n.in_app, n.emailed_at is not None) == (False, True)
    assert len(mailoutbox) == 1
    # Out of the list and the counter, but it was emailed.
    assert not services.Notification.objects.filter(recipient=teacher, in_app=True).exists()


def test_everything_off_writes_nothing_and_locked_channel_stays(world, deliver):
    teacher = world.one.teacher_b
    services.preferences_update(actor=actor_for(teacher), channels={"news": {"in_app": False},
                                                                     "account": {"in_app": False}},
                                quiet_start=datetime.time(20), quiet_end=datetime.time(7), quiet_weekends=True)
    deliver(recipient_ids=[teacher.pk], kind=Kind.NEWS, title="Kermesse", source="news:2")
    deliver(recipient_ids=[teacher.pk], kind=Kind.ACCOUNT, title="Mot de passe changé", source="account:1")
    assert list(Notification.objects.filter(recipient=teacher).values_list("source", "in_app")) == [
        ("account:1", True)]


def test_people_without_email_or_refusing_email_get_in_app_only(world, deliver, mailoutbox):
    mother, father = world.one.mother_b, world.one.father_b
    mother.email = ""
    mother.save(update_fields=["email"])
    father.contact_by_email = False
    father.save(update_fields=["contact_by_email"])
    deliver(recipient_ids=[mother.pk, father.pk], kind=Kind.LIAISON, title="Mot", source="liaison:2", urgent=True)
    assert mailoutbox == []
    for person in (mother, father):
        n = row(person, "liaison:2")
        assert (n.in_app, n.email_due_at, n.digest) == (True, None, False)


def test_quiet_hours_defer_the_email_and_it_is_sent_afterwards(world, deliver, clock, mailoutbox):
    mother = world.one.mother_b
    clock.set(2026, 10, 9, 21, 30)  # Friday evening
    deliver(recipient_ids=[mother.pk], kind=Kind.LIAISON, title="Mot du vendredi", source="liaison:3")
    n = row(mother, "liaison:3")
    assert n.email_due_at == datetime.datetime(2026, 10, 12, 5, 0, tzinfo=datetime.UTC)  # Monday 07:00 Paris
    assert mailoutbox == []
    clock.set(2026, 10, 11, 12, 0)  # Sunday: still quiet, the sweep leaves it
    tasks.send_due_emails.delay()
    assert mailoutbox == []
    clock.set(2026, 10, 12, 7, 5)  # Monday morning
    tasks.send_due_emails.delay()
    tasks.send_due_emails.delay()  # a second sweep sends nothing more
    assert len(mailoutbox) == 1 and "Mot du vendredi" in mailoutbox[0].subject
    assert row(mother, "liaison:3").emailed_at == clock.now


def test_a_deferred_email_read_in_the_meantime_is_not_sent(world, deliver, clock, mailoutbox):
    mother = world.one.mother_b
    clock.set(2026, 10, 6, 22, 0)
    deliver(recipient_ids=[mother.pk], kind=Kind.LIAISON, title="Mot", source="liaison:4")
    n = row(mother, "liaison:4")
    services.notification_mark_read(actor=actor_for(mother), notification_id=n.pk)
    clock.set(2026, 10, 7, 8, 0)
    tasks.send_due_emails.delay()
    assert mailoutbox == []
    assert row(mother, "liaison:4").email_due_at is None


def test_personal_quiet_hours(world, deliver, clock, mailoutbox):
    mother = world.one.mother_b
    services.preferences_update(actor=actor_for(mother), channels={}, quiet_start=datetime.time(18),
                                quiet_end=datetime.time(9), quiet_weekends=False)
    clock.set(2026, 10, 10, 10, 0)  # Saturday 10:00: weekends allowed, outside 18:00–09:00
    deliver(recipient_ids=[mother.pk], kind=Kind.LIAISON, title="Mot du samedi", source="liaison:5")
    assert len(mailoutbox) == 1
    clock.set(2026, 10, 12, 8, 0)  # Monday 08:00: still quiet until 09:00
    deliver(recipient_ids=[mother.pk], kind=Kind.LIAISON, title="Mot du lundi", source="liaison:6")
    assert row(mother, "liaison:6").email_due_at == datetime.datetime(2026, 10, 12, 7, 0, tzinfo=datetime.UTC)


def test_urgent_bypasses_quiet_hours(world, deliver, clock, mailoutbox):
    clock.set(2026, 10, 10, 23, 0)  # Saturday night
    deliver(recipient_ids=[world.one.mother_b.pk], kind=Kind.ABSENCE, title="Établissement fermé demain",
            source="account:closure", urgent=True)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject.startswith("[Urgent]")


def test_an_email_is_never_sent_twice(world, deliver, clock, mailoutbox):
    clock.set(2026, 10, 6, 10, 0)
    deliver(recipient_ids=[world.one.mother_b.pk], kind=Kind.LIAISON, title="Mot", source="liaison:7")
    n = row(world.one.mother_b, "liaison:7")
    # The task re-delivered (broker redelivery), the sweep, and a direct call: still one email.
    tasks.send_emails.delay([n.pk])
    tasks.send_due_emails.delay()
    assert emails.send_notification_email(n.pk) is False
    assert len(mailoutbox) == 1


class FlakyBackend(BaseEmailBackend):
    """An SMTP server that fails the first time."""

    failures = 1
    fail_after = None  # accept this many emails, then fail

    def send_messages(self, messages):
        if FlakyBackend.fail_after is not None:
            if FlakyBackend.fail_after <= 0:
                raise ConnectionError("SMTP server gone")
            FlakyBackend.fail_after -= 1
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise ConnectionError("SMTP server unreachable")
        mail.outbox.extend(messages)
        return len(messages)


def test_a_failed_send_is_retried_and_sent_once(world, deliver, clock, settings, mailoutbox):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.failures = 1
    clock.set(2026, 10, 6, 10, 0)
    deliver(recipient_ids=[world.one.mother_b.pk], kind=Kind.LIAISON, title="Mot", source="liaison:8")
    assert FlakyBackend.failures == 0  # the send failed (the task asked Celery for a retry)...
    n = row(world.one.mother_b, "liaison:8")  # ...the notification is written, its email still due
    assert (n.emailed_at, n.email_due_at) == (None, clock.now)
    assert mailoutbox == []
    with pytest.raises(celery.exceptions.Retry):
        FlakyBackend.failures = 1
        tasks.send_emails.delay([n.pk])  # eager mode shows the retry request instead of sleeping
    tasks.send_emails.delay([n.pk])  # Celery's retry
    tasks.send_due_emails.delay()  # and the sweep afterwards: nothing more
    assert len(mailoutbox) == 1
    assert row(world.one.mother_b, "liaison:8").emailed_at == clock.now


def test_a_failure_in_a_batch_keeps_what_was_sent(world, deliver, clock, settings, mailoutbox):
    one = world.one
    guardians = [one.mother_b, one.father_b, one.guardian_a]
    clock.set(2026, 10, 6, 10, 0)
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.failures = 0
    FlakyBackend.fail_after = 1  # the server accepts one email, then fails
    try:
        deliver(recipient_ids=[g.pk for g in guardians], kind=Kind.LIAISON, title="Mot", source="liaison:batch")
    finally:
        FlakyBackend.fail_after = None
    with_emails = Notification.objects.filter(source="liaison:batch")
    assert len(mailoutbox) == 1
    assert with_emails.filter(emailed_at__isnull=False).count() == 1  # the one sent is marked
    tasks.send_emails.delay(list(with_emails.values_list("id", flat=True)))  # Celery's retry
    assert sorted(m.to[0] for m in mailoutbox) == sorted(g.email for g in guardians)
    assert not with_emails.filter(emailed_at__isnull=True).exists()


def test_digest_groups_per_person_and_marks(world, deliver, clock, mailoutbox):
    one = world.one
    clock.set(2026, 10, 6, 9, 0)
    deliver(recipient_ids=[one.mother_b.pk, one.guardian_a.pk], kind=Kind.NEWS, title="Kermesse", source="news:10")
    deliver(recipient_ids=[one.mother_b.pk], kind=Kind.HOMEWORK, title="Exercices page 12", source="hw:1")
    deliver(recipient_ids=[one.mother_b.pk], kind=Kind.GRADE, title="Note de maths", source="grade:1")
    read = row(one.mother_b, "grade:1")
    services.notification_mark_read(actor=actor_for(one.mother_b), notification_id=read.pk)
    deliver(recipient_ids=[one.teacher_b.pk], kind=Kind.NEWS, title="Kermesse", source="news:11")
    assert mailoutbox == []
    clock.set(2026, 10, 6, 18, 0)
    tasks.send_digests.delay()
    by_person = {tuple(m.to): m for m in mailoutbox}
    assert set(by_person) == {(one.mother_b.email,), (one.guardian_a.email,)}  # one email each; staff: none
    mother_mail = by_person[(one.mother_b.email,)]
    assert "2 nouvelles notifications" in mother_mail.subject
    assert "Kermesse" in mother_mail.body and "Exercices page 12" in mother_mail.body
    assert "Note de maths" not in mother_mail.body  # already read
    assert not Notification.objects.filter(digest=True, digested_at__isnull=True).exists()
    tasks.send_digests.delay()  # the next day's run has nothing new
    assert len(mailoutbox) == 2


def test_digest_waits_during_quiet_hours(world, deliver, clock, mailoutbox):
    mother = world.one.mother_b
    clock.set(2026, 10, 9, 17, 0)
    deliver(recipient_ids=[mother.pk], kind=Kind.NEWS, title="Kermesse", source="news:12")
    clock.set(2026, 10, 10, 18, 0)  # Saturday: the digest waits
    tasks.send_digests.delay()
    assert mailoutbox == []
    clock.set(2026, 10, 12, 18, 0)
    tasks.send_digests.delay()
    assert len(mailoutbox) == 1


def test_preferences_store_only_differences(world):
    mother = world.one.mother_b
    prefs = services.preferences_update(
        actor=actor_for(mother), channels={"news": {"in_app": True, "email": False, "digest": False}},
        quiet_start=datetime.time(21), quiet_end=datetime.time(6, 30), quiet_weekends=True)
    assert prefs.channels == {"news": {"digest": False}}
    assert NotificationPreferences.objects.get(user=mother).quiet_start == datetime.time(21)
    with pytest.raises(ValueError):
        services.preferences_update(actor=actor_for(mother), channels={"weather": {"email": True}},
                                    quiet_start=datetime.time(21), quiet_end=datetime.time(6), quiet_weekends=True)


def test_retention(world, deliver, clock, settings):
    settings.PREAU_NOTIFICATION_KEEP_DAYS = 120
    mother = world.one.mother_b
    clock.set(2026, 1, 5, 10, 0)
    deliver(recipient_ids=[mother.pk], kind=Kind.NEWS, title="Ancienne lue", source="old:read")
    deliver(recipient_ids=[mother.pk], kind=Kind.NEWS, title="Ancienne non lue", source="old:unread")
    services.notification_mark_read(actor=actor_for(mother), notification_id=row(mother, "old:read").pk)
    clock.set(2026, 10, 1, 10, 0)
    deliver(recipient_ids=[mother.pk], kind=Kind.NEWS, title="Récente lue", source="new:read")
    services.notification_mark_read(actor=actor_for(mother), notification_id=row(mother, "new:read").pk)
    tasks.purge.delay()
    assert set(Notification.objects.values_list("source", flat=True)) == {"old:unread", "new:read"}
    clock.set(2027, 1, 6, 10, 0)
    tasks.purge.delay()
    assert set(Notification.objects.values_list("source", flat=True)) == {"new:read"}
