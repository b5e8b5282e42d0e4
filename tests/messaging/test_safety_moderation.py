"""Moderation services that act on rows alone: the rules, reports dismissed, conversations blocked and unblocked,
held sends refused — each audited with who, the establishment and the client's address."""

import datetime

import pytest
from django.http import Http404

from preau.audit.models import AuditEvent
from preau.messaging import moderation, safety
from preau.messaging.errors import MessagingError
from preau.messaging.models import Message, MessagingRules, Report
from preau.notifications.models import Notification

from .safety_helpers import actor, request_from, sent_message

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
IP = "198.51.100.23"


def request():
    return request_from("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", ip=IP)


def last_event(action):
    return AuditEvent.objects.filter(action=action).order_by("-pk").first()


# --- Rules -----------------------------------------------------------------------------------------------------

def test_update_rules_creates_the_row_and_audits_the_changes(world):
    one = world.one
    rules = moderation.update_rules(actor=actor(one.head), establishment_id=one.establishment.pk, request=request(),
                                    pupils_paused=True, pupil_max_recipients=2, quiet_start=datetime.time(20, 0),
                                    attachments_off_roles=["guardian", "pupil", "pupil"])
    assert rules.pk and rules.updated_by == one.head
    stored = MessagingRules.objects.get(establishment=one.establishment)
    assert stored.pupils_paused and stored.pupil_max_recipients == 2
    assert stored.quiet_start == datetime.time(20, 0)
    assert stored.attachments_off_roles == ["pupil", "guardian"]
    event = last_event(Action.MESSAGING_RULES_CHANGED)
    assert event.actor == one.head and event.establishment_id == one.establishment.pk and event.ip == IP
    assert event.details["changes"]["pupils_paused"] == [False, True]
    assert event.details["changes"]["quiet_start"] == ["21:00", "20:00"]
    # The rules now apply to sends.
    assert safety.check_send(actor=actor(one.pupil_b), establishment=one.establishment, recipient_count=1,
                             has_attachments=False).refused
    # Nothing changed: nothing audited.
    count = AuditEvent.objects.filter(action=Action.MESSAGING_RULES_CHANGED).count()
    moderation.update_rules(actor=actor(one.ent_admin), establishment_id=one.establishment.pk, pupils_paused=True)
    assert AuditEvent.objects.filter(action=Action.MESSAGING_RULES_CHANGED).count() == count


def test_update_rules_refuses_bad_values_and_other_people(world):
    one = world.one
    for bad in ({"pupil_max_recipients": -1}, {"pupil_max_recipients": "5"}, {"pupils_paused": "oui"},
                {"quiet_start": "21:00"}, {"attachments_off_roles": ["admin"]}, {"attachments_off_roles": "pupil"}):
        with pytest.raises(MessagingError):
            moderation.update_rules(actor=actor(one.head), establishment_id=one.establishment.pk, **bad)
    assert not MessagingRules.objects.exists()
    with pytest.raises(ValueError, match="Unknown"):
        moderation.update_rules(actor=actor(one.head), establishment_id=one.establishment.pk, establishment_id_x=1)
    for person in (one.cpe, one.teacher_a, world.two.head):
        with pytest.raises(Http404):
            moderation.update_rules(actor=actor(person), establishment_id=one.establishment.pk, pupils_paused=True)
    assert not MessagingRules.objects.exists()


# --- Reports and conversations ---------------------------------------------------------------------------------

def test_dismiss_a_report(world):
    one = world.one
    message = sent_message(one.pupil_a, one.establishment)
    report = Report.objects.create(message=message, reporter=one.pupil_b, establishment=one.establishment,
                                   reason="insulte")
    with pytest.raises(Http404):
        moderation.dismiss_report(actor=actor(world.two.cpe), report_id=report.pk)
    with pytest.raises(Http404):
        moderation.dismiss_report(actor=actor(one.teacher_b), report_id=report.pk)
    moderation.dismiss_report(actor=actor(one.cpe), report_id=report.pk, request=request())
    report.refresh_from_db()
    assert report.outcome == Report.Outcome.DISMISSED and report.handled_by == one.cpe and report.handled_at
    event = last_event(Action.MESSAGE_REPORTED)
    assert event.details == {"report": report.pk, "outcome": "dismissed"} and event.ip == IP
    assert event.establishment_id == one.establishment.pk
    with pytest.raises(MessagingError, match="déjà été traité"):
        moderation.dismiss_report(actor=actor(one.cpe), report_id=report.pk)


def test_block_and_unblock_a_conversation(world):
    one = world.one
    conversation = sent_message(one.mother_b, one.establishment).conversation
    with pytest.raises(Http404):
        moderation.block_conversation(actor=actor(one.teacher_b), conversation_id=conversation.pk)
    with pytest.raises(MessagingError):
        moderation.block_conversation(actor=actor(one.cpe), conversation_id=conversation.pk, reason="x" * 300)
    moderation.block_conversation(actor=actor(one.cpe), conversation_id=conversation.pk, reason="Propos menaçants",
                                  request=request())
    conversation.refresh_from_db()
    assert conversation.blocked_at and conversation.blocked_by == one.cpe
    assert conversation.blocked_reason == "Propos menaçants"
    event = last_event(Action.CONVERSATION_BLOCKED)
    assert event.actor == one.cpe and event.ip == IP and event.target == f"messaging.conversation:{conversation.pk}"
    with pytest.raises(MessagingError, match="déjà bloquée"):
        moderation.block_conversation(actor=actor(one.head), conversation_id=conversation.pk)
    moderation.unblock_conversation(actor=actor(one.head), conversation_id=conversation.pk, request=request())
    conversation.refresh_from_db()
    assert conversation.blocked_at is None and conversation.blocked_reason == ""
    assert last_event(Action.CONVERSATION_UNBLOCKED).actor == one.head
    with pytest.raises(MessagingError, match="n'est pas bloquée"):
        moderation.unblock_conversation(actor=actor(one.head), conversation_id=conversation.pk)


# --- Held sends ------------------------------------------------------------------------------------------------

def test_refusing_a_held_send_tells_its_sender(world, django_capture_on_commit_callbacks):
    one = world.one
    held = sent_message(one.pupil_b, one.establishment, state=Message.State.HELD, recipients=30,
                        subject="Alerte")
    held.held_reason = "Envoi à 30 destinataires"
    held.save(update_fields=["held_reason"])
    with pytest.raises(Http404):
        moderation.refuse_held(actor=actor(world.two.cpe), message_id=held.pk)
    with django_capture_on_commit_callbacks(execute=True):
        moderation.refuse_held(actor=actor(one.cpe), message_id=held.pk, reason="Envoi non autorisé",
                               request=request())
    held.refresh_from_db()
    assert held.state == Message.State.REFUSED and held.reviewed_by == one.cpe and held.reviewed_at
    assert not held.deliveries.exclude(owner=one.pupil_b).exists()
    event = last_event(Action.MESSAGE_REFUSED)
    assert event.subject == one.pupil_b and event.ip == IP and event.details["reason"] == "Envoi non autorisé"
    notice = Notification.objects.get(recipient=one.pupil_b)
    assert "Alerte" in notice.title and notice.body == "Envoi non autorisé"
    with pytest.raises(MessagingError, match="plus en attente"):
        moderation.refuse_held(actor=actor(one.cpe), message_id=held.pk)
    with pytest.raises(MessagingError, match="plus en attente"):
        moderation.release_held(actor=actor(one.cpe), message_id=held.pk)


def test_message_held_audits_and_tells_the_moderators(world, django_capture_on_commit_callbacks):
    one = world.one
    message = sent_message(one.pupil_b, one.establishment, state=Message.State.HELD, recipients=12,
                           subject="Tous en 5e", device="abc")
    message.held_reason = "Envoi à 12 destinataires"
    message.save(update_fields=["held_reason"])
    with django_capture_on_commit_callbacks(execute=True):
        safety.message_held(message=message, request=request())
    event = last_event(Action.MESSAGE_HELD)
    assert event.actor == one.pupil_b and event.ip == IP and event.establishment_id == one.establishment.pk
    assert event.details == {"recipients": 12, "reason": "Envoi à 12 destinataires", "device": "abc"}
    told = set(Notification.objects.filter(source=f"messaging.held:{message.pk}").values_list("recipient", flat=True))
    assert told == {one.head.pk, one.cpe.pk, one.ent_admin.pk}
    assert Notification.objects.get(recipient=one.cpe, source=f"messaging.held:{message.pk}").url == \
        "/messagerie/moderation/"
