"""Second factor (TOTP): enrolment with QR and key, login second step, recovery codes, disabling, and the
establishment's rule that staff must use it."""

import re

import pytest
from django.core.exceptions import PermissionDenied

from preau.accounts import services
from preau.accounts.models import RecoveryCode, TOTPDevice
from preau.audit.models import AuditEvent
from preau.directory.testing import TEST_PASSWORD

from .helpers import text, totp_for

pytestmark = pytest.mark.django_db


def enrol(client, user):
    page = client.get("/compte/double-authentification/activer/")
    assert page.status_code == 200
    totp = totp_for(user)
    response = client.post("/compte/double-authentification/activer/", {"code": totp.now()})
    assert response.status_code == 302
    codes_page = client.get(response["Location"])
    codes = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", codes_page.content.decode())
    return totp, codes


def use_previous_step(user):
    """Let the same 30-second step be used again (tests run faster than the clock)."""
    TOTPDevice.objects.filter(user=user).update(last_used_step=0)


def test_totp_enrolment_teacher_qr_key_confirm_and_recovery_codes(client, world, login):
    user = world.one.teacher_a
    login(user)
    page = client.get("/compte/double-authentification/activer/")
    body = page.content.decode()
    assert '<img src="data:image/svg+xml' in body
    assert "<script" not in body
    secret = totp_for(user).secret
    assert " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in body
    # The secret is not stored in clear.
    assert secret not in TOTPDevice.objects.get(user=user).encrypted_secret
    wrong = client.post("/compte/double-authentification/activer/", {"code": "000000"})
    assert "Code incorrect" in text(wrong)
    assert not TOTPDevice.objects.get(user=user).is_confirmed
    _, codes = enrol(client, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.get(user=user).is_confirmed
    assert RecoveryCode.objects.filter(user=user).count() == 10
    assert not RecoveryCode.objects.filter(code_hash__in=[c.replace("-", "") for c in codes]).exists()
    assert AuditEvent.objects.filter(action="totp_enabled", subject=user).exists()
    # Shown once only.
    assert client.get("/compte/double-authentification/codes-de-secours/").status_code == 302
    assert "Activée" in text(client.get("/compte/profil/"))


def test_totp_login_asks_second_step_then_accepts_code(client, world, login, post_login):
    user = world.one.teacher_a
    login(user)
    totp, _ = enrol(client, user)
    client.post("/compte/deconnexion/")
    use_previous_step(user)
    response = post_login(user.username)
    assert response["Location"] == "/compte/connexion/verification/"
    assert "_auth_user_id" not in client.session  # not logged in before the second step
    assert client.get("/").status_code == 302
    wrong = client.post("/compte/connexion/verification/", {"code": "123456"})
    assert "Code incorrect" in text(wrong)
    assert AuditEvent.objects.filter(action="totp_failed", subject=user).exists()
    response = client.post("/compte/connexion/verification/", {"code": totp.now()})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk
    assert AuditEvent.objects.filter(action="login", subject=user, details__method="password+totp").exists()


def test_totp_code_cannot_be_replayed(client, world, login, post_login):
    user = world.one.teacher_a
    login(user)
    totp, _ = enrol(client, user)  # the enrolment used the current step
    client.post("/compte/deconnexion/")
    post_login(user.username)
    response = client.post("/compte/connexion/verification/", {"code": totp.now()})
    assert "Code incorrect" in text(response)


def test_totp_login_with_recovery_code_single_use(client, world, login, post_login):
    user = world.one.head
    login(user)
    _, codes = enrol(client, user)
    client.post("/compte/deconnexion/")
    post_login(user.username)
    response = client.post("/compte/connexion/verification/", {"code": codes[0].lower()}, follow=True)
    assert int(client.session["_auth_user_id"]) == user.pk
    assert "Il vous en reste 9" in text(response)
    assert AuditEvent.objects.filter(action="totp_recovery_code_used", subject=user).exists()
    client.post("/compte/deconnexion/")
    post_login(user.username)
    again = client.post("/compte/connexion/verification/", {"code": codes[0]})
    assert "Code incorrect" in text(again)
    assert "_auth_user_id" not in client.session


def test_totp_second_step_throttled(settings, client, world, login, post_login):
    settings.PREAU_LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    user = world.one.head
    login(user)
    totp, _ = enrol(client, user)
    client.post("/compte/deconnexion/")
    use_previous_step(user)
    post_login(user.username)
    for _ in range(2):
        client.post("/compte/connexion/verification/", {"code": "000000"})
    locked = client.post("/compte/connexion/verification/", {"code": "000000"})
    assert "Trop de tentatives infructueuses" in text(locked)
    refused = client.post("/compte/connexion/verification/", {"code": totp.now()})
    assert "Trop de tentatives" in text(refused)
    assert "_auth_user_id" not in client.session


def test_totp_second_step_without_password_step_redirects_to_login(client, world):
    response = client.get("/compte/connexion/verification/")
    assert response["Location"] == "/compte/connexion/"


def test_totp_disable_needs_password(client, world, login, post_login):
    user = world.one.teacher_b
    login(user)
    enrol(client, user)
    wrong = client.post("/compte/double-authentification/desactiver/", {"password": "faux"})
    assert "Mot de passe incorrect" in text(wrong)
    assert TOTPDevice.objects.filter(user=user).exists()
    client.post("/compte/double-authentification/desactiver/", {"password": TEST_PASSWORD})
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="totp_disabled", subject=user).exists()
    client.post("/compte/deconnexion/")
    assert post_login(user.username)["Location"] == "/"


def test_totp_recovery_codes_regenerate_replaces_old_ones(client, world, login):
    user = world.one.teacher_b
    login(user)
    _, old = enrol(client, user)
    response = client.post("/compte/double-authentification/codes-de-secours/renouveler/",
                           {"password": TEST_PASSWORD})
    new = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", client.get(response["Location"]).content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert RecoveryCode.objects.filter(user=user).count() == 10


def test_totp_required_for_staff_sent_to_enrol_before_anything(client, world, login, post_login):
    establishment = world.one.establishment
    establishment.require_staff_2fa = True
    establishment.save()
    user = world.one.cpe
    response = post_login(user.username)
    assert response["Location"] == "/"
    home = client.get("/")
    assert home["Location"].startswith("/compte/double-authentification/activer/")
    assert client.get("/compte/profil/").status_code == 302
    api = client.get("/api/v1/me")
    assert api.status_code == 403 and api.json()["pending_step"] == "second_factor"
    totp, _ = enrol(client, user)
    assert client.get("/").status_code == 200
    # Cannot be turned off while the establishment requires it.
    client.post("/compte/double-authentification/desactiver/", {"password": TEST_PASSWORD})
    assert TOTPDevice.objects.filter(user=user).exists()


def test_totp_required_for_staff_not_for_pupils_and_parents(client, world, login):
    establishment = world.one.establishment
    establishment.require_staff_2fa = True
    establishment.save()
    for person in (world.one.pupil_b, world.one.mother_b):
        login(person)
        assert client.get("/").status_code == 200
    login(world.two.teacher_a)  # another establishment, no rule there
    assert client.get("/").status_code == 200
    login(world.one.teacher_a)
    assert client.get("/").status_code == 302


def test_totp_required_rule_switched_on_reaches_open_sessions(client, world, login):
    login(world.one.head)
    assert client.get("/").status_code == 200
    establishment = world.one.establishment
    establishment.require_staff_2fa = True
    establishment.save()
    assert client.get("/").status_code == 302


def test_totp_reset_by_admin_scope(world, client, login):
    user = world.one.teacher_a
    login(user)
    enrol(client, user)
    with pytest.raises(PermissionDenied):
        services.totp_reset_by_admin(actor=world.two.ent_admin, user=user)
    assert TOTPDevice.objects.filter(user=user).exists()
    services.totp_reset_by_admin(actor=world.one.ent_admin, user=user)
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="totp_reset_by_admin", actor=world.one.ent_admin, subject=user).exists()


def test_totp_activation_code_then_second_step_when_enrolled(client, world, login):
    user = world.one.teacher_a
    login(user)
    totp, _ = enrol(client, user)
    client.post("/compte/deconnexion/")
    use_previous_step(user)
    code = services.admin_reset_password(actor=world.one.ent_admin, user=user)
    client.post("/compte/activation/", {"username": user.username, "code": code})
    response = client.post("/compte/activation/mot-de-passe/", {"new_password1": "Autre-cartable-2026",
                                                                "new_password2": "Autre-cartable-2026"})
    assert response["Location"] == "/compte/connexion/verification/"
    assert "_auth_user_id" not in client.session
    client.post("/compte/connexion/verification/", {"code": totp.now()})
    assert int(client.session["_auth_user_id"]) == user.pk


def test_totp_secret_survives_secret_key_rotation_with_fallback(settings, client, world, login):
    user = world.one.teacher_a
    login(user)
    totp, codes = enrol(client, user)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-for-the-rotation-test-0123456789"
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert totp_for(user).secret == totp.secret
    # Recovery codes (keyed hashes) still match under the fallback key.
    use_previous_step(user)
    result = services.second_factor_verify(request=None, user=user, code=codes[1])
    assert result.method == "recovery_code"


def test_totp_second_step_expires_after_five_minutes(client, world, login, post_login, monkeypatch):
    import time as time_module

    from preau.accounts import views

    user = world.one.teacher_a
    login(user)
    totp, _ = enrol(client, user)
    client.post("/compte/deconnexion/")
    use_previous_step(user)
    post_login(user.username)
    real = time_module.time
    monkeypatch.setattr(views.time, "time", lambda: real() + 6 * 60)
    response = client.post("/compte/connexion/verification/", {"code": totp.now()})
    assert response["Location"] == "/compte/connexion/"
    assert "_auth_user_id" not in client.session
