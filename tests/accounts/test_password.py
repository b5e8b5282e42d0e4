"""Password reset by email (no enumeration, email sent after commit by a task) and password change."""

import re

import pytest
from django.core import mail

from preau.audit.models import AuditEvent
from preau.directory.testing import TEST_PASSWORD

from .helpers import text

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Nouveau-cartable-2026"


def request_reset(client, email, capture):
    with capture(execute=True):
        return client.post("/compte/mot-de-passe/oublie/", {"email": email})


def test_password_reset_known_email_sends_french_email_with_link(client, world, django_capture_on_commit_callbacks):
    user = world.one.mother_b
    response = request_reset(client, user.email, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == "/compte/mot-de-passe/oublie/envoye/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "Préau : choisir un nouveau mot de passe"
    assert f"Bonjour {user.full_name}" in message.body
    assert f"Votre identifiant : {user.username}" in message.body
    link = re.search(r"http://testserver(/compte/mot-de-passe/reinitialiser/\S+/)", message.body).group(1)
    assert AuditEvent.objects.filter(action="password_reset_request", subject=user).exists()

    # Following the link: Django redirects to a token-less URL, then the form sets the password.
    step = client.get(link, follow=True)
    assert "Choisir un nouveau mot de passe" in text(step)
    form_url = step.redirect_chain[-1][0]
    weak = client.post(form_url, {"new_password1": "azerty", "new_password2": "azerty"})
    assert "Ce mot de passe est trop court" in text(weak)
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == "/compte/mot-de-passe/reinitialise/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="password_reset", subject=user, details__via="email").exists()
    # The link served once.
    assert "Ce lien n'est pas valable" in text(client.get(link, follow=True))


def test_password_reset_unknown_email_same_page_no_email(client, world, django_capture_on_commit_callbacks):
    known = request_reset(client, world.one.mother_b.email, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    unknown = request_reset(client, "personne@example.org", django_capture_on_commit_callbacks)
    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert mail.outbox == []
    assert AuditEvent.objects.filter(action="password_reset_request", subject__isnull=True).exists()


def test_password_reset_not_activated_or_inactive_account_gets_no_email(client, world,
                                                                       django_capture_on_commit_callbacks):
    pupil = world.one.pupil_a
    pupil.activated_at = None
    pupil.set_unusable_password()
    pupil.save()
    teacher = world.one.teacher_a
    teacher.is_active = False
    teacher.save()
    request_reset(client, pupil.email, django_capture_on_commit_callbacks)
    request_reset(client, teacher.email, django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_password_reset_email_not_sent_when_transaction_rolls_back(client, world):
    # Without running on-commit callbacks (the test transaction never commits) nothing is sent.
    client.post("/compte/mot-de-passe/oublie/", {"email": world.one.mother_b.email})
    assert mail.outbox == []


def test_password_change_from_profile(client, world, login):
    user = world.one.teacher_b
    login(user)
    profile = text(client.get("/compte/profil/"))
    assert "/compte/mot-de-passe/changer/" in profile
    wrong = client.post("/compte/mot-de-passe/changer/", {
        "old_password": "faux", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert "Votre ancien mot de passe est incorrect" in text(wrong)
    response = client.post("/compte/mot-de-passe/changer/", {
        "old_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == "/compte/profil/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get("/compte/profil/").status_code == 200  # still logged in
    assert AuditEvent.objects.filter(action="password_change", subject=user).exists()


def test_password_must_change_person_is_sent_to_change_it_first(client, world, login):
    user = world.one.secretary
    user.must_change_password = True
    user.save()
    login(user)
    response = client.get("/annuaire/")
    assert response["Location"] == "/compte/mot-de-passe/changer/?next=%2Fannuaire%2F"
    assert "vous devez remplacer votre mot de passe" in text(client.get(response["Location"])).lower()
    done = client.post("/compte/mot-de-passe/changer/", {
        "old_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
        "next": "/annuaire/"})
    assert done["Location"] == "/annuaire/"
    user.refresh_from_db()
    assert not user.must_change_password
    assert client.get("/").status_code == 200


def test_password_reset_requests_throttled_silently_per_address(client, world, django_capture_on_commit_callbacks):
    user = world.one.mother_b
    pages = [request_reset(client, user.email, django_capture_on_commit_callbacks) for _ in range(5)]
    assert {(p.status_code, p["Location"]) for p in pages} == {(302, "/compte/mot-de-passe/oublie/envoye/")}
    assert len(mail.outbox) == 3
    assert AuditEvent.objects.filter(action="password_reset_request", details__throttled=True).count() >= 1
