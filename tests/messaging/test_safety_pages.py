"""The moderation pages (/messagerie/moderation/, /messagerie/regles/) and their forms, per role."""

import datetime

import pytest
from django.urls import reverse

from preau.audit.models import AuditEvent
from preau.messaging.models import Message, MessagingRules, Report

from .safety_helpers import sent_message

pytestmark = pytest.mark.django_db

QUEUE = "/messagerie/moderation/"
RULES = "/messagerie/regles/"


def held(school, sender=None, **kwargs):
    message = sent_message(sender or school.pupil_b, school.establishment, state=Message.State.HELD, **kwargs)
    message.held_reason = "Envoi à 40 destinataires, au-delà de 3 pour un élève."
    message.sender_ip = "203.0.113.9"
    message.sender_device = "0123456789abcdef0123456789abcdef"
    message.body_text = "Texte du message retenu"
    message.address_labels = {"to": ["Élèves de 5e B (28)"]}
    message.save()
    return message


def reported(school, reporter=None, reason="Menaces"):
    message = sent_message(school.pupil_a, school.establishment, subject="Message signalé")
    return Report.objects.create(message=message, reporter=reporter or school.pupil_b, reason=reason,
                                 establishment=school.establishment)


def test_urls_are_the_contract_ones():
    assert reverse("messaging_moderation:queue") == QUEUE
    assert reverse("messaging_moderation:rules") == RULES
    assert reverse("messaging_moderation:report", args=[7]) == "/messagerie/moderation/signaler/7/"
    assert reverse("messaging_moderation:recall", args=[7]) == "/messagerie/moderation/rappeler/7/"
    assert reverse("messaging_moderation:block", args=[7]) == "/messagerie/moderation/conversations/7/bloquer/"
    assert reverse("messaging_moderation:unblock", args=[7]) == "/messagerie/moderation/conversations/7/debloquer/"


def test_queue_is_for_moderators_only(world, login, client):
    one = world.one
    assert client.get(QUEUE).status_code == 302  # anonymous: to the login page
    for person in (one.teacher_a, one.pupil_b, one.mother_b, one.secretary, one.nurse):
        login(person)
        assert client.get(QUEUE).status_code == 403, person
    for person in (one.cpe, one.head, one.ent_admin, world.global_admin):
        login(person)
        assert client.get(QUEUE).status_code == 200, person


def test_queue_lists_held_sends_and_reports_of_the_moderated_establishment(world, login, client):
    one, two = world.one, world.two
    message = held(one, subject="Sortie au musée")
    report = reported(one, reason="Il me menace")
    held(two, subject="Ailleurs")
    reported(two, reason="Autre collège")
    login(one.cpe)
    page = client.get(QUEUE).content.decode()
    assert "Sortie au musée" in page and "au-delà de 3 pour un élève" in page and "203.0.113.9" in page
    assert "01234567" in page and "Texte du message retenu" in page and "Élèves de 5e B (28)" in page
    assert reverse("messaging_moderation:release", args=[message.pk]) in page
    assert reverse("messaging_moderation:refuse", args=[message.pk]) in page
    assert "Il me menace" in page and reverse("messaging_moderation:hide", args=[report.message_id]) in page
    assert reverse("messaging_moderation:dismiss", args=[report.pk]) in page
    assert reverse("messaging_moderation:block", args=[report.message.conversation_id]) in page
    assert "Ailleurs" not in page and "Autre collège" not in page
    # The HTML of a message is never rendered: its plain text is shown, escaped.
    message.body_text = "<script>alert(1)</script>"
    message.save(update_fields=["body_text"])
    page = client.get(QUEUE).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_queue_query_count_does_not_grow_with_the_queue(world, login, client, django_assert_max_num_queries):
    one = world.one
    login(one.cpe)
    client.get(QUEUE)
    for index in range(3):
        held(one, subject=f"Retenu {index}")
        reported(one, reporter=[one.pupil_b, one.pupil_b2, one.mother_b][index])
    with django_assert_max_num_queries(20) as small:
        client.get(QUEUE)
    for index in range(25):
        held(one, subject=f"Encore {index}")
    for person in (one.father_b, one.guardian_a, one.teacher_a, one.teacher_b):
        reported(one, reporter=person)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(QUEUE)
    assert response.content.decode().count('class="card moderation-item"') == 28 + 7


def test_block_dismiss_and_unblock_from_the_queue(world, login, client):
    one, two = world.one, world.two
    report = reported(one)
    conversation_id = report.message.conversation_id
    login(two.cpe)
    assert client.post(reverse("messaging_moderation:block", args=[conversation_id])).status_code == 404
    assert client.post(reverse("messaging_moderation:dismiss", args=[report.pk])).status_code == 404
    login(one.teacher_b)
    assert client.post(reverse("messaging_moderation:block", args=[conversation_id])).status_code == 403
    login(one.cpe)
    assert client.get(reverse("messaging_moderation:block", args=[conversation_id])).status_code == 405
    response = client.post(reverse("messaging_moderation:block", args=[conversation_id]), {"reason": "Menaces"},
                           REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302 and response["Location"] == QUEUE
    report.message.conversation.refresh_from_db()
    assert report.message.conversation.blocked_reason == "Menaces"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CONVERSATION_BLOCKED)
    assert event.ip == "198.51.100.4" and event.actor == one.cpe
    page = client.get(QUEUE).content.decode()
    assert "Conversations bloquées (1)" in page or "Conversation bloquée (1)" in page
    assert reverse("messaging_moderation:unblock", args=[conversation_id]) in page
    # A second block is refused with a message, not an error page.
    response = client.post(reverse("messaging_moderation:block", args=[conversation_id]), follow=True)
    assert "déjà bloquée" in response.content.decode()
    client.post(reverse("messaging_moderation:dismiss", args=[report.pk]))
    report.refresh_from_db()
    assert report.outcome == Report.Outcome.DISMISSED
    client.post(reverse("messaging_moderation:unblock", args=[conversation_id]), {"next": "//evil.example/"})
    report.message.conversation.refresh_from_db()
    assert report.message.conversation.blocked_at is None


def test_rules_page_per_role(world, login, client):
    one = world.one
    for person in (one.cpe, one.teacher_a, one.pupil_b, one.mother_b, one.nurse):
        login(person)
        assert client.get(RULES).status_code == 403, person
    login(one.head)
    page = client.get(RULES).content.decode()
    assert "Qui peut écrire à qui" in page and "Limites par rôle" in page and "Interrupteurs" in page
    assert 'name="pupil_max_recipients"' in page and 'value="5"' in page and 'value="21:00"' in page
    # Another establishment's rules: not offered, the head's own are shown.
    page = client.get(RULES, {"etablissement": world.two.establishment.pk}).content.decode()
    assert "Collège Jean Moulin" in page and "Victor Hugo" not in page


def rules_post(**overrides):
    data = {"pupils_write_to_staff": "on", "guardians_write_to_staff": "on", "pupil_max_recipients": "5",
            "guardian_max_recipients": "5", "teacher_max_recipients": "0", "staff_max_recipients": "0",
            "pupil_max_per_hour": "10", "guardian_max_per_hour": "10", "teacher_max_per_hour": "100",
            "staff_max_per_hour": "0", "quiet_hours": "on", "quiet_start": "21:00", "quiet_end": "07:00",
            "hold_recipients_above": "3", "hold_new_device": "on"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_rules_form_saves_every_field_and_audits(world, login, client):
    one = world.one
    login(one.ent_admin)
    response = client.post(RULES, rules_post(pupils_paused="on", pupil_max_recipients="2", quiet_start="20:30",
                                             quiet_end="06:45", attachments_off_roles=["pupil", "guardian"],
                                             hold_new_device=None, pupils_write_to_pupils="on"))
    assert response.status_code == 302
    rules = MessagingRules.objects.get(establishment=one.establishment)
    assert rules.pupils_paused and rules.pupil_max_recipients == 2 and rules.pupils_write_to_pupils
    assert rules.quiet_start == datetime.time(20, 30) and rules.quiet_end == datetime.time(6, 45)
    assert rules.attachments_off_roles == ["pupil", "guardian"] and not rules.hold_new_device
    assert rules.updated_by == one.ent_admin
    event = AuditEvent.objects.get(action=AuditEvent.Action.MESSAGING_RULES_CHANGED)
    assert event.establishment_id == one.establishment.pk and "pupils_paused" in event.details["changes"]
    page = client.get(RULES).content.decode()
    assert 'value="20:30"' in page and "Modifiées le" in page


def test_rules_form_errors_are_french_and_write_nothing(world, login, client):
    login(world.one.head)
    response = client.post(RULES, rules_post(pupil_max_recipients="-3", quiet_start="25:00",
                                             attachments_off_roles=["admin"]))
    assert response.status_code == 400
    page = response.content.decode()
    assert "n&#x27;ont pas été enregistrées" in page or "n'ont pas été enregistrées" in page
    assert 'aria-invalid="true"' in page
    assert not MessagingRules.objects.exists()


def test_refuse_from_the_queue(world, login, client, django_capture_on_commit_callbacks):
    one = world.one
    message = held(one, subject="Alerte")
    url = reverse("messaging_moderation:refuse", args=[message.pk])
    login(one.teacher_b)
    assert client.post(url).status_code == 403
    login(world.two.cpe)
    assert client.post(url).status_code == 404
    login(one.cpe)
    response = client.post(url, {"reason": "x" * 501}, follow=True)
    assert "au plus 500 caractères" in response.content.decode()
    message.refresh_from_db()
    assert message.state == Message.State.HELD
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": "Envoi non autorisé"}, follow=True)
    assert "son expéditeur est prévenu" in response.content.decode()
    message.refresh_from_db()
    assert message.state == Message.State.REFUSED
    assert "Aucun message n'attend de vérification." in response.content.decode()
