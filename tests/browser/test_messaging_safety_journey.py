"""Journey: a parent reports a message, the CPE hides it from every inbox and blocks the conversation, releases a
held send; the head pauses pupils' messaging — on a phone, every page checked with axe-core."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from preau.access.policy import Actor
from preau.directory.testing import TEST_PASSWORD
from preau.messaging import services
from preau.messaging.models import Delivery, Message, MessagingRules, Report

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser


def _send(sender, establishment, to, subject):
    request = RequestFactory().post("/", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    return services.send_message(actor=Actor(sender), establishment=establishment,
                                 addresses={"to": [{"type": "person", "id": p.pk} for p in to], "cc": [], "bcc": []},
                                 subject=subject, body="<p>Texte du message.</p>", request=request)


def test_report_hide_block_release_and_pause(phone_journey, world):
    one = world.one
    MessagingRules.objects.create(establishment=one.establishment, quiet_hours=False, hold_new_device=False)
    reported = _send(one.teacher_a, one.establishment, [one.mother_b, one.father_b], "Message déplacé")
    held = _send(one.pupil_b, one.establishment, [one.teacher_b, one.head, one.secretary, one.nurse],
                 "Message de la classe")
    assert Message.objects.get(pk=held.pk).state == Message.State.HELD
    journey, page = phone_journey, phone_journey.page

    # The mother reports the message.
    journey.login(one.mother_b.username, TEST_PASSWORD)
    journey.visit(f"/messagerie/moderation/signaler/{reported.pk}/")
    page.get_by_label("Pourquoi signalez-vous ce message ?").fill("Propos menaçants envers mon enfant.")
    with page.expect_navigation():
        page.get_by_role("button", name="Signaler ce message").click()
    assert Report.objects.filter(message=reported, reporter=one.mother_b).exists()
    journey.logout()

    # The CPE sees it in the queue, hides it everywhere and blocks the conversation; releases the held send.
    journey.login(one.cpe.username, TEST_PASSWORD)
    journey.visit("/messagerie/moderation/")
    main = page.locator("main")
    assert "Propos menaçants envers mon enfant." in main.inner_text()
    assert "au-delà de 3 pour un élève" in main.inner_text()
    report_card = page.locator("li.moderation-item", has_text="Propos menaçants")
    report_card.get_by_label("Motif du blocage (facultatif)").fill("Menaces")
    with page.expect_navigation():
        report_card.get_by_role("button", name="Bloquer la conversation").click()
    journey.assert_accessible()
    assert "plus personne ne peut y répondre" in page.get_by_role("status").inner_text()
    report_card = page.locator("li.moderation-item", has_text="Propos menaçants")
    with page.expect_navigation():
        report_card.get_by_role("button", name="Masquer dans toutes les boîtes").click()
    journey.assert_accessible()
    assert not Delivery.objects.filter(message=reported, box="inbox", withdrawn_at__isnull=True).exists()
    held_card = page.locator("li.moderation-item", has_text="Message de la classe")
    with page.expect_navigation():
        held_card.get_by_role("button", name="Distribuer").click()
    journey.assert_accessible()
    assert Message.objects.get(pk=held.pk).state in (Message.State.QUEUED, Message.State.DELIVERED)
    assert "Aucun message n'attend de vérification." in page.locator("main").inner_text()
    assert "Conversation bloquée (1)" in page.locator("main").inner_text()
    journey.logout()

    # The head pauses pupils' messaging.
    journey.login(one.head.username, TEST_PASSWORD)
    journey.visit("/messagerie/regles/")
    page.get_by_label("Messagerie des élèves suspendue").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer les règles").click()
    journey.assert_accessible()
    assert MessagingRules.objects.get(establishment=one.establishment).pupils_paused
    assert page.get_by_label("Messagerie des élèves suspendue").is_checked()
