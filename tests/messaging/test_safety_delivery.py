"""Abuse resistance end to end, through the messaging core's send_message / reply and delivery: held sends not
delivered until released, refused, recalled from every inbox, reported and hidden in one action, blocked
conversations, and the rules applied to real sends — with the audit rows (who, how many, IP)."""

import datetime

import pytest
from django.http import Http404
from django.utils import timezone

from preau.audit.models import AuditEvent
from preau.directory.models import StaffFunction
from preau.directory.testing import make_staff
from preau.messaging import moderation, selectors, services
from preau.messaging.errors import MessagingError, MessagingRefused
from preau.messaging.models import Delivery, Message, MessagingRules, Report
from preau.notifications.models import Notification

from .safety_helpers import FIREFOX_LINUX, SAFARI_IPHONE, actor, login_event, request_from

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
IP = "198.51.100.77"


@pytest.fixture
def school(world):
    """The first school with rules that do not depend on the hour the suite runs (no quiet hours)."""
    for s in (world.one, world.two):
        MessagingRules.objects.create(establishment=s.establishment, quiet_hours=False, hold_new_device=False)
    return world.one


def person(user):
    return {"type": "person", "id": user.pk}


def send(capture, sender, to, *, request=None, subject="Sortie au musée", establishment=None, **kwargs):
    with capture(execute=True):
        return services.send_message(
            actor=actor(sender), establishment=establishment or sender.memberships.first().establishment,
            addresses={"to": list(to), "cc": [], "bcc": []}, subject=subject, body="<p>Bonjour à tous.</p>",
            request=request or request_from(FIREFOX_LINUX, ip=IP), **kwargs)


def inbox(message):
    return set(Delivery.objects.filter(message=message, box=Delivery.Box.INBOX, withdrawn_at__isnull=True)
               .values_list("owner_id", flat=True))


def unread(user):
    return selectors.unread_count(actor(user))


def event(action):
    return AuditEvent.objects.filter(action=action).order_by("-pk").first()


# --- Held sends ------------------------------------------------------------------------------------------------

def test_an_unusual_send_is_held_and_delivered_only_when_released(school, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    people = [school.teacher_b, school.head, school.secretary, school.nurse]
    message = send(capture, school.pupil_b, [person(p) for p in people], establishment=school.establishment)
    message.refresh_from_db()
    assert message.state == Message.State.HELD and "au-delà de 3" in message.held_reason
    assert inbox(message) == set() and unread(school.teacher_b) == 0
    held_event = event(Action.MESSAGE_HELD)
    assert held_event.actor == school.pupil_b and held_event.ip == IP
    assert held_event.details["recipients"] == 4
    # Its sender, a teacher or another school's CPE cannot release it.
    for outsider in (school.pupil_b, school.teacher_b, school.secretary):
        with pytest.raises(Http404):
            moderation.release_held(actor=actor(outsider), message_id=message.pk)
    with capture(execute=True):
        moderation.release_held(actor=actor(school.cpe), message_id=message.pk,
                                request=request_from(FIREFOX_LINUX, ip="192.0.2.1"))
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED and message.reviewed_by == school.cpe
    assert inbox(message) == {p.pk for p in people} and unread(school.teacher_b) == 1
    released = event(Action.MESSAGE_RELEASED)
    assert released.actor == school.cpe and released.subject == school.pupil_b and released.ip == "192.0.2.1"
    assert released.details["recipients"] == 4


def test_a_refused_held_send_reaches_nobody_and_its_sender_is_told(school, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    people = [school.teacher_b, school.head, school.secretary, school.nurse]
    message = send(capture, school.pupil_b, [person(p) for p in people], establishment=school.establishment,
                   subject="Alerte")
    with capture(execute=True):
        moderation.refuse_held(actor=actor(school.head), message_id=message.pk, reason="Envoi non autorisé")
    message.refresh_from_db()
    assert message.state == Message.State.REFUSED and inbox(message) == set()
    notice = Notification.objects.get(recipient=school.pupil_b, source=f"messaging.refused:{message.pk}")
    assert "Alerte" in notice.title and notice.body == "Envoi non autorisé"
    # The sender still sees it among their sent messages, refused.
    assert selectors.access_delivery(actor(school.pupil_b), message.pk).message.state == Message.State.REFUSED


def test_a_send_from_a_new_device_is_held_then_the_device_is_known(school, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    # A new device holds sends to more than hold_recipients_above people: two, here.
    MessagingRules.objects.filter(establishment=school.establishment).update(hold_new_device=True,
                                                                               hold_recipients_above=1)
    login_event(school.teacher_b, FIREFOX_LINUX, timezone.now() - datetime.timedelta(days=10))
    to = [person(school.mother_b), person(school.father_b)]
    usual = send(capture, school.teacher_b, to, request=request_from(FIREFOX_LINUX))
    assert Message.objects.get(pk=usual.pk).state == Message.State.DELIVERED
    phone = send(capture, school.teacher_b, to, request=request_from(SAFARI_IPHONE))
    phone.refresh_from_db()
    assert phone.state == Message.State.HELD and "appareil" in phone.held_reason
    with capture(execute=True):
        moderation.release_held(actor=actor(school.cpe), message_id=phone.pk)
    # Released, the phone's sends are no longer new.
    again = send(capture, school.teacher_b, to, request=request_from(SAFARI_IPHONE))
    assert Message.objects.get(pk=again.pk).state == Message.State.DELIVERED


def test_the_rules_apply_to_real_sends(school, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    MessagingRules.objects.filter(establishment=school.establishment).update(pupils_paused=True)
    with pytest.raises(MessagingRefused, match="suspendue"):
        send(capture, school.pupil_b, [person(school.teacher_b)])
    assert not Message.objects.filter(sender=school.pupil_b).exists()
    # Guardians are not concerned; six recipients is over their limit of five.
    send(capture, school.mother_b, [person(school.teacher_b)])
    librarian = make_staff(school.establishment, StaffFunction.LIBRARIAN)
    six = [school.teacher_b, school.head, school.cpe, school.secretary, school.nurse, librarian]
    with pytest.raises(MessagingRefused, match="plus de 5 destinataires"):
        send(capture, school.mother_b, [person(p) for p in six])


# --- Recall ----------------------------------------------------------------------------------------------------

def test_recall_removes_the_message_from_every_inbox(school, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    message = send(capture, school.teacher_b, [{"type": "class_guardians", "id": school.class_b.pk}])
    guardians = {school.mother_b.pk, school.father_b.pk}
    assert guardians <= inbox(message)
    assert unread(school.mother_b) == 1 and unread(school.father_b) == 1
    selectors.access_delivery(actor(school.father_b), message.pk)
    services.mark_read(actor=actor(school.father_b), message_ids=[message.pk])
    # Only its sender may recall it.
    for other in (school.teacher_a, school.head, school.mother_b):
        with pytest.raises(Http404):
            moderation.recall_message(actor=actor(other), message_id=message.pk)
    with capture(execute=True):
        moderation.recall_message(actor=actor(school.teacher_b), message_id=message.pk, request=request_from(
            FIREFOX_LINUX, ip=IP))
    message.refresh_from_db()
    assert message.state == Message.State.RECALLED and message.recalled_at
    assert inbox(message) == set()
    assert unread(school.mother_b) == 0 and unread(school.father_b) == 0
    for guardian in (school.mother_b, school.father_b):
        with pytest.raises(Http404):
            selectors.access_delivery(actor(guardian), message.pk)
        assert selectors.mailbox_page(actor(guardian), box="inbox").items == []
    # The sender keeps their copy.
    assert selectors.access_delivery(actor(school.teacher_b), message.pk).message.state == Message.State.RECALLED
    recalled = event(Action.MESSAGE_RECALLED)
    assert recalled.actor == school.teacher_b and recalled.ip == IP
    assert recalled.details["recipients"] == message.recipient_count
    assert recalled.details["copies_withdrawn"] == message.recipient_count
    with pytest.raises(MessagingError, match="déjà été rappelé"):
        moderation.recall_message(actor=actor(school.teacher_b), message_id=message.pk)


def test_only_teachers_and_staff_recall_and_only_for_a_while(school, django_capture_on_commit_callbacks, settings):
    capture = django_capture_on_commit_callbacks
    by_guardian = send(capture, school.mother_b, [person(school.teacher_b)])
    assert not moderation.can_recall(actor(school.mother_b), by_guardian)
    with pytest.raises(MessagingError, match="professeurs et des personnels"):
        moderation.recall_message(actor=actor(school.mother_b), message_id=by_guardian.pk)
    old = send(capture, school.teacher_b, [person(school.mother_b)])
    assert moderation.can_recall(actor(school.teacher_b), old)
    Message.objects.filter(pk=old.pk).update(sent_at=timezone.now() - datetime.timedelta(days=8))
    old.refresh_from_db()
    assert not moderation.can_recall(actor(school.teacher_b), old)
    with pytest.raises(MessagingError, match="dans les 7 jours"):
        moderation.recall_message(actor=actor(school.teacher_b), message_id=old.pk)
    settings.PREAU_MESSAGING_RECALL_DAYS = 30
    with capture(execute=True):
        moderation.recall_message(actor=actor(school.teacher_b), message_id=old.pk)
    assert inbox(old) == set()


# --- Reports and hiding ----------------------------------------------------------------------------------------

def test_a_reported_message_is_hidden_from_every_inbox_in_one_action(school, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    message = send(capture, school.teacher_a, [{"type": "class_guardians", "id": school.class_b.pk},
                                                person(school.pupil_b)])
    holders = inbox(message)
    assert {school.mother_b.pk, school.father_b.pk, school.pupil_b.pk} <= holders
    with capture(execute=True):
        first = moderation.report_message(actor=actor(school.mother_b), message_id=message.pk,
                                          reason="Propos déplacés", request=request_from(FIREFOX_LINUX, ip=IP))
    moderation.report_message(actor=actor(school.father_b), message_id=message.pk)
    assert first.establishment == school.establishment
    reported = event(Action.MESSAGE_REPORTED)
    assert reported.subject == school.teacher_a and reported.details["outcome"] == "pending"
    # Moderators are told (in-app notification linking to the queue).
    for moderator in (school.cpe, school.head, school.ent_admin):
        notice = Notification.objects.get(recipient=moderator, source=f"messaging.report:{first.pk}")
        assert notice.url == "/messagerie/moderation/" and "Sortie au musée" in notice.title
    assert not Notification.objects.filter(recipient=school.teacher_b, source=f"messaging.report:{first.pk}")
    # One report per person; the sender and people without a copy cannot report.
    with pytest.raises(MessagingError, match="déjà signalé"):
        moderation.report_message(actor=actor(school.mother_b), message_id=message.pk)
    with pytest.raises(MessagingError, match="vous avez envoyé"):
        moderation.report_message(actor=actor(school.teacher_a), message_id=message.pk)
    with pytest.raises(Http404):
        moderation.report_message(actor=actor(school.guardian_a), message_id=message.pk)
    with pytest.raises(MessagingError, match="trop long"):
        moderation.report_message(actor=actor(school.pupil_b), message_id=message.pk, reason="x" * 2001)
    # A teacher, or another school's CPE, cannot hide it.
    for outsider in (school.teacher_b, school.secretary, world_two_cpe(school)):
        with pytest.raises(Http404):
            moderation.hide_message(actor=actor(outsider), message_id=message.pk)
    with capture(execute=True):
        moderation.hide_message(actor=actor(school.cpe), message_id=message.pk,
                                request=request_from(FIREFOX_LINUX, ip="192.0.2.8"))
    message.refresh_from_db()
    assert message.hidden_at and message.hidden_by == school.cpe
    assert inbox(message) == set()
    for holder in (school.mother_b, school.father_b, school.pupil_b):
        assert unread(holder) == 0
        with pytest.raises(Http404):
            selectors.access_delivery(actor(holder), message.pk)
    assert set(Report.objects.filter(message=message).values_list("outcome", flat=True)) == {"hidden"}
    hidden = event(Action.MESSAGE_HIDDEN)
    assert hidden.actor == school.cpe and hidden.subject == school.teacher_a and hidden.ip == "192.0.2.8"
    assert hidden.details["reports_closed"] == 2 and hidden.details["copies_withdrawn"] == len(holders)
    with pytest.raises(MessagingError, match="déjà masqué"):
        moderation.hide_message(actor=actor(school.head), message_id=message.pk)


def world_two_cpe(school):
    from preau.accounts.models import User

    return User.objects.get(username="vh_cpe")


def test_a_blocked_conversation_takes_no_reply(school, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    message = send(capture, school.mother_b, [person(school.teacher_b)])
    with capture(execute=True):
        services.reply(actor=actor(school.teacher_b), message_id=message.pk, body="Bien reçu.")
    moderation.block_conversation(actor=actor(school.cpe), conversation_id=message.conversation_id,
                                  reason="Harcèlement", request=request_from(FIREFOX_LINUX, ip=IP))
    for who in (school.teacher_b, school.mother_b):
        with pytest.raises(MessagingError), capture(execute=True):
            services.reply(actor=actor(who), message_id=message.pk, body="Encore un mot.")
    assert Message.objects.filter(conversation_id=message.conversation_id).count() == 2
    assert event(Action.CONVERSATION_BLOCKED).ip == IP
    moderation.unblock_conversation(actor=actor(school.cpe), conversation_id=message.conversation_id)
    with capture(execute=True):
        services.reply(actor=actor(school.mother_b), message_id=message.pk, body="Merci.")
    assert Message.objects.filter(conversation_id=message.conversation_id).count() == 3


# --- The report and recall pages, the API's report / recall / hide / release -----------------------------------

def test_report_and_recall_pages(school, client, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    message = send(capture, school.teacher_b, [person(school.mother_b), person(school.father_b)])
    url = f"/messagerie/moderation/signaler/{message.pk}/"
    client.force_login(school.guardian_a)
    assert client.get(url).status_code == 404
    client.force_login(school.mother_b)
    page = client.get(url).content.decode()
    assert "Signaler un message" in page and "Sortie au musée" in page
    response = client.post(url, {"reason": "Insultant", "next": f"/messagerie/messages/{message.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/messagerie/messages/{message.pk}/"
    assert Report.objects.get(message=message, reporter=school.mother_b).reason == "Insultant"
    response = client.post(url, {"reason": "Encore"})
    assert response.status_code == 400 and "déjà signalé" in response.content.decode()
    assert client.post(url, {"reason": "x" * 2001}).status_code == 400

    recall = f"/messagerie/moderation/rappeler/{message.pk}/"
    assert client.get(recall).status_code == 404  # not her message
    client.force_login(school.teacher_b)
    assert "sera retiré des boîtes de ses 2 destinataires" in client.get(recall).content.decode()
    with capture(execute=True):
        response = client.post(recall, {"next": "/messagerie/envoyes/"})
    assert response.status_code == 302 and response["Location"] == "/messagerie/envoyes/"
    assert inbox(message) == set()
    page = client.get(recall).content.decode()
    assert "déjà été rappelé" in page
    assert client.post(recall).status_code == 400

    by_guardian = send(capture, school.mother_b, [person(school.teacher_b)])
    client.force_login(school.mother_b)
    assert "professeurs et des personnels" in client.get(
        f"/messagerie/moderation/rappeler/{by_guardian.pk}/").content.decode()


def test_api_report_recall_hide_release(school, django_capture_on_commit_callbacks):
    from django.test import Client

    capture = django_capture_on_commit_callbacks
    api = "/api/v1/messaging/moderation"

    def as_user(user):
        c = Client()
        c.force_login(user)
        return c

    message = send(capture, school.teacher_b, [person(school.mother_b), person(school.father_b)])
    assert as_user(school.guardian_a).post(f"{api}/messages/{message.pk}/report", {},
                                           content_type="application/json").status_code == 404
    with capture(execute=True):
        response = as_user(school.mother_b).post(f"{api}/messages/{message.pk}/report", {"reason": "Menace"},
                                                 content_type="application/json")
    assert response.status_code == 201 and response.json()["outcome"] == "pending"
    again = as_user(school.mother_b).post(f"{api}/messages/{message.pk}/report", {},
                                          content_type="application/json")
    assert again.status_code == 400 and "déjà signalé" in again.json()["detail"]
    assert as_user(world_two_cpe(school)).post(f"{api}/messages/{message.pk}/hide").status_code == 404
    with capture(execute=True):
        response = as_user(school.cpe).post(f"{api}/messages/{message.pk}/hide")
    assert response.status_code == 200 and response.json()["hidden_at"]
    assert inbox(message) == set()
    assert Report.objects.get(message=message).outcome == "hidden"

    other = send(capture, school.teacher_b, [person(school.mother_b)])
    assert as_user(school.mother_b).post(f"{api}/messages/{other.pk}/recall").status_code == 404
    with capture(execute=True):
        response = as_user(school.teacher_b).post(f"{api}/messages/{other.pk}/recall")
    assert response.status_code == 200 and response.json()["state"] == "recalled"

    people = [school.teacher_b, school.head, school.secretary, school.nurse]
    held = send(capture, school.pupil_b, [person(p) for p in people])
    with capture(execute=True):
        response = as_user(school.cpe).post(f"{api}/held/{held.pk}/release")
    assert response.status_code == 200 and response.json()["reviewed_at"]
    assert inbox(held) == {p.pk for p in people}
