"""Journeys: the administration's people list (search, filters, a person's page) and the annuaire."""

from __future__ import annotations

import pytest

from preau.directory.testing import TEST_PASSWORD

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser


def people_rows(page) -> list[str]:
    return [t.strip() for t in page.locator("main table tbody tr").all_inner_texts()]


def open_people_list(journey, establishment_name: str):
    page = journey.page
    with page.expect_navigation():
        page.locator("main .tile").filter(has_text="Administration").get_by_role("link").click()
    assert journey.path == "/admin/"
    journey.assert_accessible()
    section = page.locator("main section").filter(has=page.get_by_role("heading", name=establishment_name))
    with page.expect_navigation():
        section.get_by_role("link", name="Personnes").click()
    journey.assert_accessible()
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Personnes"


def test_admin_people_list_ent_admin_searches_filters_and_opens_a_person(journey, world):
    one = world.one
    journey.login(one.ent_admin.username, TEST_PASSWORD)
    open_people_list(journey, "Collège Jean Moulin")
    page = journey.page
    list_path = journey.path

    rows = "\n".join(people_rows(page))
    assert one.pupil_b.username in rows
    assert one.teacher_a.username in rows
    assert world.two.pupil_b.username not in rows  # never the other establishment's people

    # Filter by role: pupils only.
    page.get_by_label("Rôle").select_option(label="Élève")
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    journey.assert_accessible()
    rows = people_rows(page)
    assert rows and all("Élève" in row for row in rows)
    assert not any(one.teacher_a.username in row for row in rows)

    # Search by name.
    page.get_by_label("Rôle").select_option(value="")
    page.get_by_label("Nom, prénom, identifiant ou courriel").fill("Martin")
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    journey.assert_accessible()
    rows = people_rows(page)
    assert any("Martin Léa" in row for row in rows)

    # A search matching nobody says so, in French.
    page.get_by_label("Nom, prénom, identifiant ou courriel").fill("zzzz-personne")
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    assert "Aucune personne ne correspond." in page.locator("main table").inner_text()

    # Open Léa's page from the list.
    journey.visit(list_path + "?q=Martin")
    with page.expect_navigation():
        page.get_by_role("link", name="Martin Léa").click()
    journey.assert_accessible()
    assert "Léa" in page.get_by_role("heading", level=1).inner_text()


def test_admin_people_list_ent_admin_other_establishment_is_not_found(journey, world):
    journey.login(world.one.ent_admin.username, TEST_PASSWORD)
    response = journey.visit(f"/admin/etablissements/{world.two.establishment.pk}/personnes/")
    assert response.status == 404
    assert "Page introuvable" in journey.page.locator("main").inner_text()


def test_admin_home_teacher_is_refused(journey, world):
    journey.login(world.one.teacher_a.username, TEST_PASSWORD)
    response = journey.visit("/admin/")
    assert response.status == 403
    assert "Accès refusé" in journey.page.locator("main").inner_text()


def test_admin_home_global_admin_sees_every_establishment(journey, world):
    journey.login(world.global_admin.username, TEST_PASSWORD)
    open_people_list(journey, "Collège Victor Hugo")
    assert world.two.pupil_b.username in "\n".join(people_rows(journey.page))


def test_admin_people_list_phone_table_scrolls_inside_its_frame(phone_journey, world):
    phone_journey.login(world.one.ent_admin.username, TEST_PASSWORD)
    phone_journey.visit(f"/admin/etablissements/{world.one.establishment.pk}/personnes/")
    page = phone_journey.page
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("main table").is_visible()


def test_annuaire_pupil_sees_own_class_and_classmates(journey, world):
    one = world.one
    journey.login(one.pupil_b.username, TEST_PASSWORD)
    page = journey.page
    with page.expect_navigation():
        page.locator("main .tile").filter(has_text="Annuaire").get_by_role("link").click()
    journey.assert_accessible()
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Annuaire"
    with page.expect_navigation():
        page.get_by_role("link", name="5e B").click()
    journey.assert_accessible()
    main = page.locator("main").inner_text()
    assert one.pupil_b2.last_name in main
    if one.pupil_a.full_name not in (one.pupil_b.full_name, one.pupil_b2.full_name):
        assert one.pupil_a.full_name not in main  # 5e A is not on 5e B's page


def test_annuaire_guardian_search_finds_teachers_not_other_families(journey, world):
    one = world.one
    journey.login(one.mother_b.username, TEST_PASSWORD)
    journey.visit("/annuaire/")
    page = journey.page
    page.get_by_label("Rechercher une personne").fill(one.teacher_b.last_name)
    with page.expect_navigation():
        page.get_by_role("button", name="Rechercher").click()
    journey.assert_accessible()
    assert one.teacher_b.last_name in page.locator("main").inner_text()
    journey.visit(f"/annuaire/personnes/{one.pupil_a.pk}/", check=False)
    assert "Page introuvable" in page.locator("main").inner_text()
