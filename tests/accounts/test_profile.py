"""The profile page: identity read-only, contact preferences, links to security settings."""

import pytest

from preau.audit.models import AuditEvent

from .helpers import text

pytestmark = pytest.mark.django_db


def test_profile_pupil_sees_identity_and_class(client, world, login):
    login(world.one.pupil_b)
    response = client.get("/compte/profil/")
    body = text(response)
    assert response.status_code == 200
    assert "Léa" in body and "Martin" in body
    assert world.one.pupil_b.username in body
    assert "5e B" in body
    assert "Collège Jean Moulin" in body


def test_profile_guardian_sees_children(client, world, login):
    login(world.one.mother_b)
    assert "Léa Martin" in text(client.get("/compte/profil/"))


def test_profile_update_contact_preferences_audited(client, world, login):
    user = world.one.mother_b
    login(user)
    response = client.post("/compte/profil/", {
        "contact-email": "maman.martin@example.org", "contact-phone": "06 12 34 56 78",
        "contact-language": "fr"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.email, user.phone, user.contact_by_email) == ("maman.martin@example.org", "06 12 34 56 78", False)
    event = AuditEvent.objects.get(action="account_changed", subject=user)
    assert sorted(event.details["fields"]) == ["contact_by_email", "email", "phone"]


def test_profile_update_invalid_values_french_errors_nothing_saved(client, world, login):
    user = world.one.mother_b
    login(user)
    response = client.post("/compte/profil/", {
        "contact-email": "pas-une-adresse", "contact-phone": "appelez-moi", "contact-language": "xx"})
    body = text(response)
    assert response.status_code == 200
    assert "Saisissez une adresse de courriel valide." in body
    assert "numéro de téléphone valide" in body
    user.refresh_from_db()
    assert user.email.endswith("@example.org") and user.phone == ""
    assert not AuditEvent.objects.filter(action="account_changed").exists()


def test_profile_identity_fields_cannot_be_changed(client, world, login):
    user = world.one.pupil_b
    login(user)
    client.post("/compte/profil/", {"contact-email": user.email, "contact-language": "fr",
                                    "contact-first_name": "Autre", "first_name": "Autre", "contact-username": "x"})
    user.refresh_from_db()
    assert (user.first_name, user.username) == ("Léa", world.one.pupil_b.username)


def test_profile_anonymous_redirected_to_login(client, world):
    response = client.get("/compte/profil/")
    assert response.status_code == 302
    assert response["Location"].startswith("/compte/connexion/")


def test_profile_shows_second_factor_and_charter_links(client, world, login):
    login(world.one.teacher_a)
    body = text(client.get("/compte/profil/"))
    assert "/compte/double-authentification/activer/" in body
    assert "Aucune charte acceptée" in body
