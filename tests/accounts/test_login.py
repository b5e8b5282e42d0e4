"""Login and logout through the real pages: French errors, throttling per account and per IP, audit rows."""

import datetime

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.utils import timezone

from preau.accounts import throttling
from preau.audit.models import AuditEvent
from preau.directory.testing import TEST_PASSWORD

from .helpers import text

pytestmark = pytest.mark.django_db

WRONG = "Identifiant ou mot de passe incorrect"
LOCKED = "Trop de tentatives infructueuses"


def actions(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("at", "pk").values_list("action", flat=True))


def test_login_success_pupil_lands_on_home_and_is_audited(client, world, post_login):
    pupil = world.one.pupil_b
    response = post_login(pupil.username)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert int(client.session["_auth_user_id"]) == pupil.pk
    assert actions(subject=pupil) == ["login"]


def test_login_success_respects_safe_next_only(client, world, post_login):
    response = post_login(world.one.teacher_a.username, next="/annuaire/")
    assert response["Location"] == "/annuaire/"
    client.logout()
    response = post_login(world.one.teacher_a.username, next="https://evil.example/")
    assert response["Location"] == "/"


def test_login_failure_wrong_password_french_message_and_audit(client, world, post_login):
    response = post_login(world.one.teacher_a.username, "mauvais-mot-de-passe")
    assert response.status_code == 200
    assert WRONG in text(response)
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="login_failed")
    assert event.username_tried == world.one.teacher_a.username
    assert event.ip == "127.0.0.1"


def test_login_failure_unknown_account_same_message_as_wrong_password(world, post_login):
    unknown = text(post_login("personne-inconnue", "mauvais-mot-de-passe"))
    known = text(post_login(world.one.teacher_a.username, "mauvais-mot-de-passe"))
    assert WRONG in unknown and WRONG in known


def test_login_inactive_account_refused(world, post_login, client):
    user = world.one.teacher_a
    user.is_active = False
    user.save()
    response = post_login(user.username)
    assert WRONG in text(response)
    assert "_auth_user_id" not in client.session


def test_login_not_activated_account_cannot_log_in(world, post_login, client):
    user = world.one.pupil_a
    user.activated_at = None
    user.set_unusable_password()
    user.save()
    response = post_login(user.username)
    assert WRONG in text(response)
    assert "Activer mon compte" in text(response) or "activer" in text(response)


def test_login_lockout_per_account_after_max_failures_even_with_right_password(settings, world, post_login, client):
    settings.PREAU_LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    user = world.one.head
    for _ in range(2):
        assert WRONG in text(post_login(user.username, "faux"))
    response = post_login(user.username, "faux")
    body = text(response)
    assert LOCKED in body
    assert "dans 1 minute" in body
    assert "_auth_user_id" not in client.session
    # Even the right password is refused while locked, with the time to retry.
    body = text(post_login(user.username, TEST_PASSWORD))
    assert LOCKED in body and "jusqu'à" in body
    assert "_auth_user_id" not in client.session
    assert actions(action="login_locked") == ["login_locked"]
    # Other accounts from another IP are not affected.
    assert post_login(world.one.cpe.username, ip="10.0.0.9").status_code == 302


def test_login_lockout_unknown_account_locks_the_same_way(settings, world, post_login):
    settings.PREAU_LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    post_login("fantome", "faux")
    assert LOCKED in text(post_login("fantome", "faux"))


def test_login_lockout_delay_increases_and_expires(settings, world, post_login, client, monkeypatch):
    settings.PREAU_LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    user = world.one.head
    clock = [timezone.now().timestamp()]
    monkeypatch.setattr(throttling, "_now", lambda: clock[0])
    post_login(user.username, "faux")
    assert "dans 1 minute" in text(post_login(user.username, "faux"))
    clock[0] += 61  # the first lock (1 minute) is over
    post_login(user.username, "faux")
    assert "dans 5 minutes" in text(post_login(user.username, "faux"))
    clock[0] += 5 * 60 + 1
    post_login(user.username, "faux")
    assert "dans 15 minutes" in text(post_login(user.username, "faux"))
    clock[0] += 15 * 60 + 1
    assert post_login(user.username).status_code == 302  # success once the lock is over


def test_login_lockout_per_ip_across_accounts(settings, world, post_login, client):
    settings.PREAU_LOGIN_MAX_FAILURES_PER_IP = 4
    s = world.one
    for user in (s.pupil_a, s.pupil_b, s.pupil_b2):
        assert WRONG in text(post_login(user.username, "faux", ip="203.0.113.7"))
    assert LOCKED in text(post_login(s.teacher_a.username, "faux", ip="203.0.113.7"))
    # Anyone from that IP is now refused, even with the right password...
    assert LOCKED in text(post_login(s.mother_b.username, ip="203.0.113.7"))
    # ...while the same account from another IP logs in.
    assert post_login(s.mother_b.username, ip="198.51.100.1").status_code == 302


def test_login_success_resets_account_failures(settings, world, post_login, client):
    settings.PREAU_LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    user = world.one.teacher_b
    post_login(user.username, "faux")
    post_login(user.username, "faux")
    assert post_login(user.username).status_code == 302
    client.post("/compte/deconnexion/")
    post_login(user.username, "faux")
    post_login(user.username, "faux")
    assert post_login(user.username).status_code == 302


def test_logout_post_ends_session_and_is_audited(client, world, post_login):
    user = world.one.cpe
    post_login(user.username)
    response = client.post("/compte/deconnexion/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert actions(subject=user) == ["login", "logout"]
    assert client.get("/").status_code == 302


def test_logout_get_asks_for_confirmation(client, world, login):
    login(world.one.cpe)
    response = client.get("/compte/deconnexion/")
    assert response.status_code == 200
    assert "Se déconnecter ?" in text(response)
    assert "_auth_user_id" in client.session


def test_login_page_authenticated_person_redirected(client, world, login):
    login(world.one.cpe)
    assert client.get("/compte/connexion/").status_code == 302


def test_login_argon2_used_for_real_password(settings, world, post_login):
    from preau.settings.base import PASSWORD_HASHERS

    settings.PASSWORD_HASHERS = PASSWORD_HASHERS  # the production list, not the test suite's fast hasher
    user = world.one.teacher_a
    user.set_password("Un-mot-de-passe-solide-2026")
    user.save()
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert post_login(user.username, "Un-mot-de-passe-solide-2026").status_code == 302


def test_login_upgrades_hashes_made_with_other_argon2_parameters(settings, world, post_login):
    from django.contrib.auth.hashers import Argon2PasswordHasher, make_password

    from preau.settings.base import PASSWORD_HASHERS

    settings.PASSWORD_HASHERS = PASSWORD_HASHERS
    user = world.one.teacher_a
    user.password = make_password("Un-mot-de-passe-solide-2026", hasher=Argon2PasswordHasher())
    user.save()
    assert "m=102400,t=2,p=8" in user.password
    assert post_login(user.username, "Un-mot-de-passe-solide-2026").status_code == 302
    user.refresh_from_db()
    assert "m=19456,t=2,p=1" in user.password


def test_login_lock_message_tells_when_to_retry(settings, world, post_login):
    settings.PREAU_LOGIN_MAX_FAILURES_PER_ACCOUNT = 1
    body = text(post_login(world.one.head.username, "faux"))
    expected = timezone.localtime(timezone.now() + datetime.timedelta(minutes=1)).strftime("%H:%M")
    earlier = timezone.localtime(timezone.now() + datetime.timedelta(seconds=55)).strftime("%H:%M")
    assert expected in body or earlier in body
