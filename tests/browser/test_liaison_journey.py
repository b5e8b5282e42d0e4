"""Journeys: a teacher writes a note of the carnet de liaison to a class's families, a guardian signs it ("lu et
signé"), the author's dashboard shows it; a head publishes news that a pupil reads on the home page. Every page
passes axe-core."""

from __future__ import annotations

import pytest

from preau.directory.testing import TEST_PASSWORD
from preau.news.models import LiaisonTarget

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser


def test_liaison_journey_note_signed_by_a_guardian_shows_on_the_dashboard(journey, world):
    one = world.one
    page = journey.page
    journey.login(one.teacher_b.username, TEST_PASSWORD)
    journey.visit("/carnet/nouveau/")
    page.get_by_label("Objet").fill("Sortie au musée des Confluences")
    page.get_by_label("Texte").fill("Départ jeudi à 8 h 30.\n\nMerci de signer ce mot.")
    page.get_by_role("checkbox", name="5e B").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Envoyer aux familles").click()
    journey.assert_accessible()
    assert "Mot envoyé aux familles de 2 élève(s)." in page.get_by_role("status").inner_text()
    # Pupils, signed, not signed, without a receiving guardian (Léa's classmate has none in the persona world).
    assert page.get_by_test_id("liaison-counts").locator("dd").all_inner_texts() == ["2", "0", "2", "1"]
    row = page.get_by_role("row", name=f"{one.pupil_b.last_name} {one.pupil_b.first_name}")
    assert "Pas encore signé" in row.inner_text()
    journey.logout()

    journey.login(one.mother_b.username, TEST_PASSWORD)
    journey.visit("/carnet/")
    note = page.get_by_role("article", name="Sortie au musée des Confluences")
    assert "Merci de signer ce mot." in note.inner_text() and "Pas encore signé" in note.inner_text()
    with page.expect_navigation():
        note.get_by_role("button", name="Lu et signé").click()
    journey.assert_accessible()
    assert "Mot signé" in page.get_by_role("status").inner_text()
    note = page.get_by_role("article", name="Sortie au musée des Confluences")
    assert f"par {one.mother_b.first_name} {one.mother_b.last_name}" in note.inner_text()
    assert note.get_by_role("button", name="Lu et signé").count() == 0
    assert LiaisonTarget.objects.get(pupil=one.pupil_b).acknowledged_by_id == one.mother_b.pk
    journey.logout()

    journey.login(one.teacher_b.username, TEST_PASSWORD)
    journey.visit("/carnet/suivi/")
    with page.expect_navigation():
        page.get_by_role("link", name="Sortie au musée des Confluences").click()
    journey.assert_accessible()
    row = page.get_by_role("row", name=f"{one.pupil_b.last_name} {one.pupil_b.first_name}")
    assert "Signé" in row.inner_text() and one.mother_b.last_name in row.inner_text()
    assert page.get_by_test_id("liaison-counts").locator("dd").all_inner_texts() == ["2", "1", "1", "1"]
    with page.expect_navigation():
        page.get_by_role("link", name="Pas encore signés").click()
    journey.assert_accessible()
    assert page.get_by_role("row", name=f"{one.pupil_b.last_name} {one.pupil_b.first_name}").count() == 0
    assert page.get_by_role("row", name=f"{one.pupil_b2.last_name} {one.pupil_b2.first_name}").count() == 1


def test_news_journey_head_publishes_and_a_pupil_reads_on_a_phone(journey, phone_journey, world):
    one = world.one
    page = journey.page
    journey.login(one.head.username, TEST_PASSWORD)
    journey.visit("/actualites/")
    with page.expect_navigation():
        page.get_by_role("link", name="Écrire une actualité").click()
    journey.assert_accessible()
    page.get_by_label("Titre").fill("Portes ouvertes samedi")
    page.get_by_label("Texte").fill("<p>Venez <strong>nombreux</strong> !</p><script>alert(1)</script>")
    page.get_by_label("Épingler en haut de la liste").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Publier").click()
    journey.assert_accessible()
    assert page.get_by_role("heading", level=1).inner_text() == "Portes ouvertes samedi"

    phone = phone_journey.page
    phone_journey.login(one.pupil_b.username, TEST_PASSWORD)
    phone_journey.visit("/")
    news = phone.get_by_role("region", name="Dernières actualités")
    with phone.expect_navigation():
        news.get_by_role("link", name="Portes ouvertes samedi").click()
    phone_journey.assert_accessible()
    body = phone.locator(".news-body").inner_html()
    assert "<strong>nombreux</strong>" in body and "script" not in body
    phone_journey.visit("/actualites/")
    assert "Épinglée" in phone.locator("main").inner_text()
