"""Journeys: activating an account with its one-time code (new password + charter), accepting a new charter."""

from __future__ import annotations

import pytest

from preau.accounts import services as account_services
from preau.directory.testing import TEST_PASSWORD, make_pupil

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Cartable-vert-2026!"


def _unactivated_pupil(world):
    pupil = make_pupil(world.one.class_b, username="nina.petit", first_name="Nina", last_name="Petit")
    pupil.activated_at = None
    pupil.set_unusable_password()
    pupil.save(update_fields=["activated_at", "password"])
    return pupil


def _publish_charter(world, text="Je respecte les autres. Je protège mon mot de passe."):
    return account_services.charter_publish(actor=world.one.ent_admin, establishment=world.one.establishment,
                                            text=text)


def test_activation_pupil_code_new_password_charter_lands_on_dashboard(journey, world):
    pupil = _unactivated_pupil(world)
    charter = _publish_charter(world)
    code = account_services.issue_activation_codes(actor=world.one.ent_admin, users=[pupil])[pupil.pk]
    page = journey.page

    # From the login page, the first-connection link.
    journey.visit("/compte/connexion/")
    with page.expect_navigation():
        page.get_by_role("link", name="Première connexion").click()
    assert journey.path == "/compte/activation/"
    journey.assert_accessible()

    page.get_by_label("Identifiant").fill(pupil.username)
    page.get_by_label("Code d'activation").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Continuer").click()
    assert journey.path == "/compte/activation/mot-de-passe/"
    journey.assert_accessible()
    assert "Nina Petit" in page.locator("main").inner_text()
    assert page.get_by_role("heading", name=f"{charter.title} — Collège Jean Moulin").is_visible()

    # Forgetting the charter is refused, in French, and nothing is activated yet.
    page.locator("input[name=new_password1]").fill(NEW_PASSWORD)
    page.locator("input[name=new_password2]").fill(NEW_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Activer mon compte").click()
    journey.assert_accessible()
    assert journey.path == "/compte/activation/mot-de-passe/"
    checkbox = page.get_by_role("checkbox")
    assert checkbox.get_attribute("aria-invalid") == "true"
    pupil.refresh_from_db()
    assert pupil.activated_at is None

    page.locator("input[name=new_password1]").fill(NEW_PASSWORD)
    page.locator("input[name=new_password2]").fill(NEW_PASSWORD)
    checkbox.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Activer mon compte").click()
    journey.assert_accessible()
    assert journey.path == "/"
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Bonjour Nina"
    assert "Votre compte est activé" in page.locator("main").inner_text()

    # The code is spent; the new password works through the login form.
    journey.logout()
    journey.login(pupil.username, NEW_PASSWORD)
    assert journey.path == "/"
    pupil.refresh_from_db()
    assert pupil.activated_at is not None


def test_activation_wrong_code_shows_french_error(journey, world):
    pupil = _unactivated_pupil(world)
    account_services.issue_activation_codes(actor=world.one.ent_admin, users=[pupil])
    page = journey.page
    journey.visit("/compte/activation/")
    page.get_by_label("Identifiant").fill(pupil.username)
    page.get_by_label("Code d'activation").fill("AAAAA-BBBBB")
    with page.expect_navigation():
        page.get_by_role("button", name="Continuer").click()
    journey.assert_accessible()
    assert journey.path == "/compte/activation/"
    assert "code d'activation incorrect" in page.get_by_role("alert").inner_text()


def test_activation_unactivated_account_cannot_log_in_with_a_password(journey, world):
    pupil = _unactivated_pupil(world)
    journey.login(pupil.username, TEST_PASSWORD)
    assert journey.path.startswith("/compte/")
    assert "Bonjour" not in journey.page.get_by_role("heading", level=1).inner_text()


def test_charter_new_version_teacher_accepts_then_reaches_dashboard(journey, world):
    _publish_charter(world, text="Version 2 : je respecte le droit à l'image.")
    page = journey.page
    journey.login(world.one.teacher_b.username, TEST_PASSWORD)
    assert journey.path.startswith("/compte/charte/")
    assert "Version 2" in page.locator("main").inner_text()

    # Other pages are out of reach until the charter is accepted.
    journey.visit("/annuaire/", check=False)
    assert journey.path.startswith("/compte/charte/")

    page.get_by_role("checkbox").check()
    with page.expect_navigation():
        page.get_by_role("button", name="J'accepte la charte").click()
    journey.assert_accessible()
    assert "acceptation de la charte est enregistrée" in page.locator("main").inner_text()
    journey.visit("/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == f"Bonjour {world.one.teacher_b.first_name}"


def test_charter_other_establishment_is_not_asked(journey, world):
    _publish_charter(world)
    journey.login(world.two.teacher_b.username, TEST_PASSWORD)
    assert journey.path == "/"
