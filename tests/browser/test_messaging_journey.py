"""Journey: a teacher writes to "Responsables de 5e B" with the recipient picker; a guardian, whose inbox is already
open in another browser, sees the message arrive without reloading (row and badges), opens it and replies; the
teacher sees the reply. Mailbox, compose and thread pages pass axe-core; the mailbox on a phone too; and the
compose form works without JavaScript (plain lists and a search button)."""

from __future__ import annotations

import re
import time

import pytest

from preau.directory.testing import TEST_PASSWORD
from preau.messaging.models import Delivery, Message, MessagingRules

from .support import SKIP_REASON, Journey

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser

ROW = ".mail-list .mail-row"
HEARTBEAT = 1


@pytest.fixture(autouse=True)
def _short_heartbeat(settings):
    # Streams of closed pages end at their next heartbeat: the live server's threads stay few.
    settings.PREAU_REALTIME_HEARTBEAT_SECONDS = HEARTBEAT


@pytest.fixture
def calm(world):
    """Rules without quiet hours (the suite runs at any hour) nor new-device holds."""
    for school in (world.one, world.two):
        MessagingRules.objects.create(establishment=school.establishment, quiet_hours=False, hold_new_device=False)
    return world.one


def new_context(chromium, **kwargs):
    context = chromium.new_context(locale="fr-FR", timezone_id="Europe/Paris", bypass_csp=True,
                                   viewport={"width": 1280, "height": 800}, **kwargs)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def second_context(chromium):
    """Another person's browser (its own cookies), beside conftest's browser_context."""
    context = new_context(chromium)
    yield context
    context.close()


@pytest.fixture
def no_script_context(chromium):
    context = new_context(chromium, java_script_enabled=False)
    yield context
    context.close()


def end_streams(*pages):
    """Close the pages and let the server notice while the test database is still there (a write to a closed
    connection fails at the second heartbeat): a stream ending after the test would log a database error."""
    for page in pages:
        page.close()
    time.sleep(2 * HEARTBEAT + 1)


def click_and_wait(journey: Journey, locator):
    with journey.page.expect_navigation():
        locator.click()
    journey.assert_accessible()


def test_teacher_writes_to_the_families_guardian_sees_it_live_and_replies(browser_context, second_context,
                                                                           live_server, calm):
    school = calm
    guardian_context, teacher_context = browser_context, second_context
    # The mother has her inbox open: empty, and connected to the real-time stream.
    mother = Journey(guardian_context.new_page(), live_server.url)
    mother.login(school.mother_b.username, TEST_PASSWORD)
    mother.visit("/messagerie/")
    mpage = mother.page
    assert mpage.get_by_role("heading", level=1).inner_text() == "Boîte de réception"
    assert mpage.locator(ROW).count() == 0
    assert mpage.get_by_text("Aucun message.").is_visible()
    mpage.wait_for_selector("body[data-realtime-state=open]", state="attached")
    mpage.evaluate("() => { window.stillTheSamePage = true; }")
    loads = mpage.evaluate("() => performance.getEntriesByType('navigation').length")

    # The teacher writes to the families of 5e B with the picker (combobox, suggestions, chips).
    teacher = Journey(teacher_context.new_page(), live_server.url)
    teacher.login(school.teacher_b.username, TEST_PASSWORD)
    teacher.visit("/messagerie/")
    tpage = teacher.page
    click_and_wait(teacher, tpage.get_by_role("link", name="Nouveau message"))
    assert tpage.get_by_role("heading", level=1).inner_text() == "Nouveau message"
    to = tpage.get_by_role("combobox", name="À")
    to.fill("respon 5e B")
    option = tpage.get_by_role("option", name="Responsables de 5e B (2)")
    option.wait_for()
    teacher.assert_accessible()  # with the listbox open
    to.press("ArrowDown")
    assert to.get_attribute("aria-activedescendant") == option.get_attribute("id")
    to.press("Enter")
    chips = tpage.get_by_role("list", name="Destinataires choisis : À")
    assert chips.get_by_role("listitem").inner_text().startswith("Responsables de 5e B (2)")
    assert chips.get_by_role("button", name="Retirer Responsables de 5e B (2)").is_visible()
    tpage.get_by_label("Objet").fill("Sortie au musée jeudi")
    tpage.get_by_label("Message", exact=True).fill("Bonjour,\n\nLa classe visite le musée jeudi. Merci de signer "
                                       "l'autorisation.")
    teacher.assert_accessible()
    click_and_wait(teacher, tpage.get_by_role("button", name="Envoyer", exact=True))
    assert teacher.path == "/messagerie/"
    assert tpage.get_by_text("Message envoyé.").is_visible()
    message = Message.objects.get(subject="Sortie au musée jeudi")
    assert message.state == Message.State.DELIVERED
    assert set(Delivery.objects.filter(message=message, box="inbox").values_list("owner_id", flat=True)) == {
        school.mother_b.pk, school.father_b.pk}

    # The mother's open inbox shows it without reloading: the row (bold, unread), the counts, an announcement.
    row = mpage.locator(ROW, has_text="Sortie au musée jeudi")
    row.wait_for()
    assert "mail-row--unread" in row.get_attribute("class")
    assert school.teacher_b.full_name in row.inner_text()
    mpage.wait_for_function("() => document.querySelector('[data-testid=messages-badge]').textContent === '1'")
    assert mpage.get_by_test_id("messages-badge").is_visible()
    assert mpage.locator('.mail__nav [data-live-count="messages"]').inner_text() == "1"
    assert mpage.get_by_text("Aucun message.").is_hidden()
    mpage.wait_for_function("() => document.querySelector('[data-live-announcer]').textContent.includes("
                            "'Sortie au musée jeudi')")
    assert mpage.evaluate("() => window.stillTheSamePage") is True
    assert mpage.evaluate("() => performance.getEntriesByType('navigation').length") == loads
    mother.assert_accessible()

    # She opens it (read), and replies.
    click_and_wait(mother, row.get_by_role("link"))
    assert mpage.get_by_role("heading", level=1).inner_text() == "Sortie au musée jeudi"
    assert mpage.get_by_text("La classe visite le musée jeudi.").is_visible()
    assert mpage.get_by_test_id("messages-badge").is_hidden()
    click_and_wait(mother, mpage.get_by_role("link", name="Répondre", exact=True))
    mpage.get_by_label("Votre réponse").fill("Bonjour, c'est signé. Bonne sortie !")
    click_and_wait(mother, mpage.get_by_role("button", name="Envoyer la réponse"))
    assert mpage.get_by_text("Réponse envoyée.").is_visible()
    assert mpage.locator(".thread__item").count() == 2

    # The teacher sees the reply in the inbox, opens it, and finds the conversation.
    teacher.visit("/messagerie/")
    reply_row = tpage.locator(ROW, has_text="RE : Sortie au musée jeudi")
    assert school.mother_b.full_name in reply_row.inner_text()
    click_and_wait(teacher, reply_row.get_by_role("link"))
    assert tpage.get_by_text("Bonjour, c'est signé. Bonne sortie !").is_visible()
    assert tpage.locator(".thread__item").count() == 2
    # As the sender of the first message, read receipts: one family has read it.
    click_and_wait(teacher, tpage.get_by_role("link", name="Accusés de lecture"))
    summary = tpage.get_by_role("list", name="Décompte").inner_text()
    assert re.search(r"1\s+lu", summary) and re.search(r"1\s+non lu", summary)
    end_streams(mpage, tpage)


def test_mailbox_on_a_phone_and_bulk_actions(phone_journey, calm):
    from preau.access.policy import Actor
    from preau.messaging import services

    school = calm
    for subject in ("Réunion", "Cantine", "Piscine"):  # delivered at once (autocommit, eager Celery)
        services.send_message(
            actor=Actor(school.head), establishment=school.establishment, subject=subject, body="Texte",
            addresses={"to": [{"type": "person", "id": school.mother_b.pk}], "cc": [], "bcc": []})
    journey, page = phone_journey, phone_journey.page
    journey.login(school.mother_b.username, TEST_PASSWORD)
    journey.visit("/messagerie/")
    assert page.locator(ROW).count() == 3
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.get_by_label("Tout sélectionner").check()
    click_and_wait(journey, page.get_by_role("button", name="Marquer comme lu"))
    assert page.get_by_text("3 messages marqués comme lus.").is_visible()
    assert page.locator(".mail-row--unread").count() == 0
    page.get_by_label("Sélectionner « Cantine »").check()
    click_and_wait(journey, page.get_by_role("button", name="Supprimer"))
    assert page.locator(ROW).count() == 2
    click_and_wait(journey, page.get_by_role("link", name=re.compile("^Corbeille")))
    assert page.locator(ROW, has_text="Cantine").count() == 1
    journey.visit("/messagerie/dossiers/")
    page.get_by_label("Nom du dossier").fill("Vie de la classe")
    click_and_wait(journey, page.get_by_role("button", name="Créer le dossier"))
    assert page.get_by_role("link", name="Vie de la classe").count() >= 1
    journey.visit("/messagerie/recherche/?q=piscine")
    assert page.locator(ROW).count() == 1
    end_streams(page)


def test_older_messages_in_place_and_a_recalled_message_leaves(journey, calm):
    """ "Messages plus anciens" appends the next page without leaving it; a message withdrawn by staff (an event of
    the real-time stream) leaves the open list."""
    from preau import realtime
    from tests.messaging.pages_support import fill_mailbox

    school = calm
    messages = fill_mailbox(school.head, school.mother_b, 60, establishment=school.establishment)
    journey.login(school.mother_b.username, TEST_PASSWORD)
    journey.visit("/messagerie/")
    page = journey.page
    page.wait_for_selector("body[data-realtime-state=open]", state="attached")
    assert page.locator(ROW).count() == 50
    page.evaluate("() => { window.stillTheSamePage = true; }")
    page.get_by_role("link", name="Messages plus anciens").click()
    page.wait_for_function("() => document.querySelectorAll('.mail-list .mail-row').length === 60")
    assert page.get_by_role("link", name="Messages plus anciens").count() == 0
    assert page.evaluate("() => window.stillTheSamePage") is True
    assert page.get_by_role("status").filter(has_text="10 messages plus anciens ajoutés à la liste.").count() == 1
    journey.assert_accessible()

    newest = messages[-1]
    Delivery.objects.filter(message=newest, owner=school.mother_b).update(withdrawn_at=newest.sent_at)
    realtime.publish([school.mother_b.pk], "message.withdrawn", {"id": newest.pk, "counter_deltas": {"messages": -1}})
    page.wait_for_function("() => document.querySelectorAll('.mail-list .mail-row').length === 59")
    assert page.locator(f'{ROW}[data-message-id="{newest.pk}"]').count() == 0
    assert page.get_by_test_id("messages-badge").inner_text() == "59"
    end_streams(page)


def test_compose_without_javascript(no_script_context, live_server, calm):
    """The same form without JavaScript: plain lists of groups, a search button adding people to the lists."""
    school = calm
    context = no_script_context
    journey = Journey(context.new_page(), live_server.url)
    journey.login(school.mother_b.username, TEST_PASSWORD, check=False)
    journey.page.goto(journey.url("/messagerie/ecrire/"))
    page = journey.page
    page.get_by_label("Rechercher un destinataire").fill(school.teacher_b.last_name)
    with page.expect_navigation():
        page.get_by_role("button", name="Chercher").click()
    assert page.get_by_role("status").filter(has_text="aux listes ci-dessus").is_visible()
    page.get_by_label("À", exact=True).select_option(f"person:{school.teacher_b.pk}")
    page.get_by_label("Objet").fill("Question sur la sortie")
    page.get_by_label("Message", exact=True).fill("Faut-il un pique-nique ?")
    with page.expect_navigation():
        page.get_by_role("button", name="Envoyer", exact=True).click()
    assert page.get_by_text("Message envoyé.").is_visible()
    assert Message.objects.filter(subject="Question sur la sortie", sender=school.mother_b).exists()
