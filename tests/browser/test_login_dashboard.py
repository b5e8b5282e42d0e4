"""Journeys: logging in through the real form as each role of the persona world, and the dashboard they land on."""

from __future__ import annotations

import pytest

from preau.directory.models import GuardianLink
from preau.directory.testing import TEST_PASSWORD

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser

# (persona, is an administrator) — one person per role of the persona world.
ROLES = {
    "pupil": (lambda w: w.one.pupil_b, False),
    "guardian": (lambda w: w.one.mother_b, False),
    "teacher": (lambda w: w.one.teacher_b, False),
    "head": (lambda w: w.one.head, False),
    "cpe": (lambda w: w.one.cpe, False),
    "ent_admin": (lambda w: w.one.ent_admin, True),
    "global_admin": (lambda w: w.global_admin, True),
}


def tile_labels(page) -> list[str]:
    return [t.strip() for t in page.locator("main .tile .tile__label").all_inner_texts()]


def nav_labels(page) -> list[str]:
    return [t.strip() for t in page.get_by_role("navigation", name="Services").get_by_role("link").all_inner_texts()]


@pytest.mark.parametrize("role", list(ROLES))
def test_login_role_lands_on_dashboard_with_only_their_services(journey, world, role):
    person_of, is_admin = ROLES[role]
    person = person_of(world)
    journey.login(person.username, TEST_PASSWORD)
    page = journey.page

    assert journey.path == "/"
    assert page.get_by_role("heading", level=1).inner_text().strip() == f"Bonjour {person.first_name}"
    tiles = tile_labels(page)
    assert "Annuaire" in tiles
    assert "Mon compte" in tiles
    assert ("Administration" in tiles) is is_admin
    assert ("Administration" in nav_labels(page)) is is_admin
    # The header names the person and, for members of an establishment, that establishment; never the other one.
    header = page.get_by_role("banner").inner_text()
    assert person.full_name in header
    if role != "global_admin":
        assert "Collège Jean Moulin" in header
    assert "Victor Hugo" not in page.content()
    # Every tile leads to a page that answers (no 404/500 behind a tile offered to this role).
    for tile in page.locator("main .tile a").all():
        href = tile.get_attribute("href")
        response = page.request.get(journey.url(href))
        assert response.status < 400, f"{role}: tile {href} answered {response.status}"


def test_login_wrong_password_shows_french_error(journey, world):
    journey.login(world.one.pupil_b.username, "pas-le-bon-mot-de-passe")
    page = journey.page

    assert journey.path.startswith("/compte/connexion/")
    main = page.locator("main").inner_text()
    assert "mot de passe" in main.lower()
    assert "Please enter" not in main
    assert page.locator("html").get_attribute("lang") == "fr"
    # Still anonymous: the dashboard sends back to the login form.
    journey.visit("/", check=False)
    assert journey.path.startswith("/compte/connexion/")


def test_login_anonymous_dashboard_redirects_to_login_then_back(journey, world):
    journey.visit("/compte/profil/", check=False)
    assert journey.path.startswith("/compte/connexion/")
    journey.assert_accessible()
    journey.fill_login(world.one.teacher_a.username, TEST_PASSWORD)
    assert journey.path == "/compte/profil/"
    journey.assert_accessible()


def test_logout_teacher_returns_to_login(journey, world):
    journey.login(world.one.teacher_a.username, TEST_PASSWORD)
    assert journey.path == "/"
    journey.logout()
    assert journey.path.startswith("/compte/connexion/")
    journey.visit("/", check=False)
    assert journey.path.startswith("/compte/connexion/")


def test_header_guardian_with_two_children_switches_child(journey, world):
    guardian = world.one.guardian_a
    first, second = world.one.pupil_a, world.one.pupil_b2
    GuardianLink.objects.create(guardian=guardian, pupil=second, relation="mother", contact_order=2)

    journey.login(guardian.username, TEST_PASSWORD)
    page = journey.page
    assert page.locator("main").get_by_text(f"Vous consultez l'espace de {first.first_name}.").is_visible()

    switcher = page.get_by_label("Enfant")
    assert switcher.locator("option").count() == 2
    switcher.select_option(str(second.pk))
    with page.expect_navigation():
        page.get_by_test_id("child-switcher").get_by_role("button", name="Changer").click()
    journey.assert_accessible()
    assert journey.path == "/"
    assert page.locator("main").get_by_text(f"Vous consultez l'espace de {second.first_name}.").is_visible()
    assert page.get_by_label("Enfant").input_value() == str(second.pk)

    # The choice sticks for the rest of the session.
    journey.visit("/")
    assert page.get_by_label("Enfant").input_value() == str(second.pk)


def test_header_guardian_with_one_child_has_no_switcher(journey, world):
    journey.login(world.one.mother_b.username, TEST_PASSWORD)
    page = journey.page
    assert page.get_by_test_id("child-switcher").count() == 0
    assert "Léa Martin" in page.get_by_role("banner").inner_text()


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_phone_login_page_and_dashboard_fit_the_screen(phone_journey, world):
    page = phone_journey.page
    phone_journey.visit("/compte/connexion/")
    assert _no_horizontal_scroll(page)
    # Touch-sized controls: the submit button is at least 24 px high (WCAG 2.2 target size, minimum).
    box = page.locator("main form button[type=submit]").first.bounding_box()
    assert box["height"] >= 24
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390

    phone_journey.fill_login(world.one.mother_b.username, TEST_PASSWORD)
    phone_journey.assert_accessible()
    assert phone_journey.path == "/"
    assert _no_horizontal_scroll(page)
    first_tile = page.locator("main .tile").first
    assert first_tile.is_visible()
    tile_box = first_tile.bounding_box()
    assert tile_box["x"] >= 0 and tile_box["x"] + tile_box["width"] <= 390


def test_phone_guardian_two_children_switcher_fits(phone_journey, world):
    guardian = world.one.guardian_a
    GuardianLink.objects.create(guardian=guardian, pupil=world.one.pupil_b2, relation="mother", contact_order=2)
    phone_journey.login(guardian.username, TEST_PASSWORD)
    page = phone_journey.page
    assert _no_horizontal_scroll(page)
    assert page.get_by_label("Enfant").is_visible()
