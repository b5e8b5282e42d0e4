"""The school's activation flow: one-time code printed by the school, then a password and the charter."""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from preau.accounts import crypto, services
from preau.accounts.models import ActivationCode, CharterAcceptance
from preau.audit.models import AuditEvent
from preau.directory.testing import TEST_PASSWORD, make_pupil

from .helpers import text

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Cartable-bleu-2026"
GENERIC = "Identifiant ou code d'activation incorrect"


@pytest.fixture
def newcomer(world):
    pupil = make_pupil(world.one.class_a, username="nouvel.eleve", first_name="Chloé", last_name="Bénard",
                       activated_at=None)
    pupil.set_unusable_password()
    pupil.save()
    return pupil


def issue(world, user):
    return services.issue_activation_codes(actor=world.one.ent_admin, users=[user])[user.pk]


def activate(client, username, code, password=NEW_PASSWORD, **extra):
    first = client.post("/compte/activation/", {"username": username, "code": code})
    if first.status_code != 302:
        return first
    return client.post("/compte/activation/mot-de-passe/", {"new_password1": password, "new_password2": password,
                                                           **extra})


def test_activation_codes_issue_ent_admin_human_friendly_format(world, newcomer):
    code = issue(world, newcomer)
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{5}-[A-HJKMNP-Z2-9]{5}", code)
    stored = ActivationCode.objects.get(user=newcomer)
    assert stored.code_hash == crypto.code_hash("activation", code)
    assert code.replace("-", "") not in stored.code_hash
    assert stored.issued_by == world.one.ent_admin
    assert stored.expires_at.date() == (timezone.now() + datetime.timedelta(days=120)).date()
    event = AuditEvent.objects.get(action="activation_code_issued")
    assert (event.actor, event.subject) == (world.one.ent_admin, newcomer)


def test_activation_happy_path_newcomer_sets_password_and_is_logged_in(client, world, newcomer):
    code = issue(world, newcomer)
    first = client.post("/compte/activation/", {"username": "nouvel.eleve", "code": code.lower().replace("-", " ")})
    assert first.status_code == 302
    assert first["Location"] == "/compte/activation/mot-de-passe/"
    page = client.get("/compte/activation/mot-de-passe/")
    assert "Chloé Bénard" in text(page)
    response = client.post("/compte/activation/mot-de-passe/",
                           {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == newcomer.pk
    newcomer.refresh_from_db()
    assert newcomer.is_activated
    assert newcomer.check_password(NEW_PASSWORD)
    assert ActivationCode.objects.get(user=newcomer).used_at is not None
    assert client.get("/").status_code == 200
    assert set(AuditEvent.objects.filter(subject=newcomer).values_list("action", flat=True)) >= {
        "activation_code_issued", "activation", "login"}
    # Afterwards the new password works on the login page.
    client.post("/compte/deconnexion/")
    assert client.post("/compte/connexion/", {"username": "nouvel.eleve", "password": NEW_PASSWORD}).status_code == 302


def test_activation_weak_password_french_validator_messages(client, world, newcomer):
    code = issue(world, newcomer)
    response = activate(client, newcomer.username, code, password="123456")
    body = text(response)
    assert response.status_code == 200
    assert "Ce mot de passe est trop court" in body
    assert "entièrement numérique" in body
    newcomer.refresh_from_db()
    assert not newcomer.is_activated
    assert ActivationCode.objects.get(user=newcomer).used_at is None


def test_activation_mismatched_passwords_french_message(client, world, newcomer):
    code = issue(world, newcomer)
    client.post("/compte/activation/", {"username": newcomer.username, "code": code})
    response = client.post("/compte/activation/mot-de-passe/",
                           {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    assert "Les deux mots de passe ne sont pas identiques." in text(response)


def test_activation_wrong_code_generic_message_and_audit(client, world, newcomer):
    issue(world, newcomer)
    response = client.post("/compte/activation/", {"username": newcomer.username, "code": "AAAAA-BBBBB"})
    assert response.status_code == 200
    assert GENERIC in text(response)
    assert AuditEvent.objects.filter(action="activation_failed", username_tried=newcomer.username).exists()


def test_activation_unknown_login_same_message_as_wrong_code(client, world, newcomer):
    code = issue(world, newcomer)
    response = client.post("/compte/activation/", {"username": "inconnu", "code": code})
    assert GENERIC in text(response)


def test_activation_code_of_someone_else_refused(client, world, newcomer):
    code = issue(world, newcomer)
    response = client.post("/compte/activation/", {"username": world.one.pupil_b.username, "code": code})
    assert GENERIC in text(response)


def test_activation_expired_code_refused(client, world, newcomer):
    code = issue(world, newcomer)
    ActivationCode.objects.filter(user=newcomer).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    response = client.post("/compte/activation/", {"username": newcomer.username, "code": code})
    assert "Ce code a expiré" in text(response)
    newcomer.refresh_from_db()
    assert not newcomer.is_activated


def test_activation_used_code_refused_second_time(client, world, newcomer):
    code = issue(world, newcomer)
    assert activate(client, newcomer.username, code).status_code == 302
    client.post("/compte/deconnexion/")
    response = client.post("/compte/activation/", {"username": newcomer.username, "code": code})
    assert "Ce code a déjà été utilisé" in text(response)


def test_activation_new_code_invalidates_older_one(client, world, newcomer):
    old = issue(world, newcomer)
    new = issue(world, newcomer)
    assert old != new
    assert "remplacé par un code plus récent" in text(
        client.post("/compte/activation/", {"username": newcomer.username, "code": old}))
    assert activate(client, newcomer.username, new).status_code == 302


def test_activation_inactive_account_refused(client, world, newcomer):
    code = issue(world, newcomer)
    newcomer.is_active = False
    newcomer.save()
    assert GENERIC in text(client.post("/compte/activation/", {"username": newcomer.username, "code": code}))


def test_activation_throttled_per_account(settings, client, world, newcomer):
    settings.PREAU_LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    code = issue(world, newcomer)
    for _ in range(2):
        client.post("/compte/activation/", {"username": newcomer.username, "code": "ZZZZZ-ZZZZZ"})
    response = client.post("/compte/activation/", {"username": newcomer.username, "code": "ZZZZZ-ZZZZZ"})
    assert "Trop de tentatives infructueuses" in text(response)
    # Even the right code waits for the end of the lock.
    assert "Trop de tentatives" in text(client.post("/compte/activation/",
                                                     {"username": newcomer.username, "code": code}))
    assert AuditEvent.objects.filter(action="login_locked", details__step="activation").exists()


def test_activation_throttled_per_ip(settings, client, world, newcomer):
    settings.PREAU_LOGIN_MAX_FAILURES_PER_IP = 3
    for name in ("a", "b", "c"):
        client.post("/compte/activation/", {"username": name, "code": "ZZZZZ-ZZZZZ"}, REMOTE_ADDR="203.0.113.5")
    code = issue(world, newcomer)
    response = client.post("/compte/activation/", {"username": newcomer.username, "code": code},
                           REMOTE_ADDR="203.0.113.5")
    assert "Trop de tentatives" in text(response)


def test_activation_password_step_without_code_redirects_to_start(client, world):
    response = client.get("/compte/activation/mot-de-passe/")
    assert response.status_code == 302
    assert response["Location"] == "/compte/activation/"


def test_activation_requires_charter_when_one_is_published(client, world, newcomer):
    charter = services.charter_publish(actor=world.one.ent_admin, establishment=world.one.establishment,
                                       text="Article 1 : on respecte les autres.")
    code = issue(world, newcomer)
    response = activate(client, newcomer.username, code)
    assert response.status_code == 200
    assert "Vous devez accepter la charte" in text(response)
    assert "Article 1 : on respecte les autres." in text(response)
    newcomer.refresh_from_db()
    assert not newcomer.is_activated
    response = client.post("/compte/activation/mot-de-passe/", {
        "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, f"charter_{charter.pk}": "on"})
    assert response.status_code == 302
    assert CharterAcceptance.objects.filter(user=newcomer, charter=charter).exists()
    assert client.get("/").status_code == 200  # no further charter step


def test_activation_code_on_activated_account_resets_password(client, world):
    user = world.one.mother_b
    code = services.admin_reset_password(actor=world.one.ent_admin, user=user)
    assert user.check_password(TEST_PASSWORD)  # the old password keeps working until the code is used
    response = activate(client, user.username, code)
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(TEST_PASSWORD)
    assert AuditEvent.objects.filter(action="password_reset_by_admin", actor=world.one.ent_admin,
                                     subject=user).exists()
    assert AuditEvent.objects.filter(action="password_reset", subject=user, details__via="activation_code").exists()
    assert not AuditEvent.objects.filter(action="activation", subject=user).exists()


def test_activation_codes_issue_ent_admin_other_establishment_permission_denied(world):
    with pytest.raises(PermissionDenied):
        services.issue_activation_codes(actor=world.two.ent_admin, users=[world.two.pupil_a, world.one.pupil_a])
    assert not ActivationCode.objects.exists()  # nothing half-written
    assert not AuditEvent.objects.filter(action="activation_code_issued").exists()


def test_admin_reset_password_teacher_permission_denied(world):
    with pytest.raises(PermissionDenied):
        services.admin_reset_password(actor=world.one.teacher_a, user=world.one.pupil_a)
    with pytest.raises(PermissionDenied):
        services.admin_reset_password(actor=world.one.ent_admin, user=world.global_admin)


def test_activation_codes_issue_global_admin_any_person(world):
    codes = services.issue_activation_codes(actor=world.global_admin, users=[world.one.pupil_a, world.two.pupil_a])
    assert set(codes) == {world.one.pupil_a.pk, world.two.pupil_a.pk}
    assert len(set(codes.values())) == 2
