"""Authentication: sessions (CSRF on unsafe methods) and personal tokens, and rate limits."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from preau.api.models import ApiToken, hash_secret

from .conftest import API, make_token

pytestmark = pytest.mark.django_db


def test_api_me_anonymous_401(client):
    response = client.get(f"{API}/me")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Authentification requise")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_api_me_session_200(world, as_user):
    response = as_user(world.one.pupil_b).get(f"{API}/me")
    assert response.status_code == 200
    assert response.json()["username"] == world.one.pupil_b.username
    assert response.json()["auth"] == "session"


def test_api_me_session_inactive_user_401(world, as_user):
    client = as_user(world.one.pupil_b)
    world.one.pupil_b.is_active = False
    world.one.pupil_b.save(update_fields=["is_active"])
    assert client.get(f"{API}/me").status_code == 401


def test_api_session_unsafe_method_without_csrf_403(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.one.teacher_a)
    response = client.post(f"{API}/tokens", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not ApiToken.objects.exists()


def test_api_session_unsafe_method_with_csrf_header_201(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.one.teacher_a)
    client.get("/compte/jetons-api/")  # sets the csrftoken cookie
    csrf = client.cookies["csrftoken"].value
    response = client.post(f"{API}/tokens", {"name": "x"}, content_type="application/json",
                           headers={"X-CSRFToken": csrf})
    assert response.status_code == 201


def test_api_session_safe_method_needs_no_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.one.teacher_a)
    assert client.get(f"{API}/me").status_code == 200


def test_api_anonymous_unsafe_method_401_not_403():
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"{API}/tokens", {"name": "x"}, content_type="application/json").status_code == 401


def test_api_token_valid_200(world):
    token, clear = make_token(world.one.head)
    response = Client().get(f"{API}/me", headers={"Authorization": f"Bearer {clear}"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == world.one.head.pk and body["auth"] == "token"


def test_api_token_scheme_is_case_insensitive(world):
    _token, clear = make_token(world.one.head)
    assert Client().get(f"{API}/me", headers={"Authorization": f"bearer {clear}"}).status_code == 200


def test_api_token_is_stored_hashed_only(world):
    token, clear = make_token(world.one.head)
    secret = clear.split("_", 2)[2]
    token.refresh_from_db()
    assert token.secret_hash == hash_secret(secret)
    assert secret not in token.secret_hash and clear.split("_")[1] == token.prefix
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(secret not in str(value) for value in stored.values())


@pytest.mark.parametrize("header", [
    "Bearer preau_abc_def",  # unknown prefix
    "Bearer nonsense",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "Token xyz",
])
def test_api_token_malformed_or_unknown_401(world, header):
    response = Client().get(f"{API}/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["detail"]


def test_api_token_wrong_secret_401(world):
    token, clear = make_token(world.one.head)
    wrong = clear[:-4] + ("aaaa" if not clear.endswith("aaaa") else "bbbb")
    assert Client().get(f"{API}/me", headers={"Authorization": f"Bearer {wrong}"}).status_code == 401


def test_api_token_revoked_401(world):
    token, clear = make_token(world.one.head)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    response = Client().get(f"{API}/me", headers={"Authorization": f"Bearer {clear}"})
    assert response.status_code == 401
    assert "révoqué" in response.json()["detail"]


def test_api_token_expired_401(world):
    token, clear = make_token(world.one.head, expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert Client().get(f"{API}/me", headers={"Authorization": f"Bearer {clear}"}).status_code == 401


def test_api_token_not_yet_expired_200(world):
    _token, clear = make_token(world.one.head, expires_in_days=1)
    assert Client().get(f"{API}/me", headers={"Authorization": f"Bearer {clear}"}).status_code == 200


def test_api_token_inactive_user_401(world):
    _token, clear = make_token(world.one.head)
    world.one.head.is_active = False
    world.one.head.save(update_fields=["is_active"])
    assert Client().get(f"{API}/me", headers={"Authorization": f"Bearer {clear}"}).status_code == 401


def test_api_bad_token_does_not_fall_back_to_session(world, as_user):
    client = as_user(world.one.head)
    assert client.get(f"{API}/me", headers={"Authorization": "Bearer preau_x_y"}).status_code == 401


def test_api_token_last_used_at_written_at_most_once_a_minute(world, django_assert_num_queries):
    token, clear = make_token(world.one.head)
    headers = {"Authorization": f"Bearer {clear}"}
    assert token.last_used_at is None
    Client().get(f"{API}/me", headers=headers)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    Client().get(f"{API}/me", headers=headers)
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - datetime.timedelta(minutes=2))
    Client().get(f"{API}/me", headers=headers)
    token.refresh_from_db()
    assert token.last_used_at > first - datetime.timedelta(minutes=2)


def test_api_token_acts_with_the_owner_rights_only(world):
    _token, clear = make_token(world.one.mother_b)
    headers = {"Authorization": f"Bearer {clear}"}
    assert Client().get(f"{API}/people/{world.one.pupil_b.pk}", headers=headers).status_code == 200
    assert Client().get(f"{API}/people/{world.one.pupil_b2.pk}", headers=headers).status_code == 404


def test_api_throttle_per_person_429(world, as_user, settings):
    settings.PREAU_API_RATE = "3/day"
    client = as_user(world.one.teacher_a)
    statuses = [client.get(f"{API}/me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(f"{API}/me")
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Trop de requêtes")
    assert int(response["Retry-After"]) >= 1
    # Another person has their own allowance.
    assert as_user(world.one.teacher_b).get(f"{API}/me").status_code == 200


def test_api_throttle_counts_token_and_session_together(world, as_user, settings):
    settings.PREAU_API_RATE = "2/day"
    _token, clear = make_token(world.one.teacher_a)
    assert Client().get(f"{API}/me", headers={"Authorization": f"Bearer {clear}"}).status_code == 200
    assert as_user(world.one.teacher_a).get(f"{API}/me").status_code == 200
    assert as_user(world.one.teacher_a).get(f"{API}/me").status_code == 429


def test_api_bad_tokens_from_one_address_are_throttled_429(world, settings):
    settings.PREAU_API_BAD_TOKEN_RATE = "3/day"
    _token, clear = make_token(world.one.head)
    client = Client()
    statuses = [client.get(f"{API}/me", headers={"Authorization": "Bearer preau_abc_wrong"}).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    # Even a good token from that address waits for the window to pass.
    assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {clear}"}).status_code == 429
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.get(f"{API}/me", headers={"Authorization": f"Bearer {clear}"}).status_code == 200


def test_api_other_authorization_scheme_falls_back_to_session(world, as_user):
    client = as_user(world.one.head)
    assert client.get(f"{API}/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 200


def test_api_bad_token_throttle_ignores_forged_forwarded_for(world, settings):
    settings.PREAU_API_BAD_TOKEN_RATE = "2/day"
    client = Client()
    statuses = [client.get(f"{API}/me", headers={"Authorization": "Bearer preau_abc_wrong",
                                                 "X-Forwarded-For": f"10.9.9.{i}"}).status_code for i in range(3)]
    assert statuses == [401, 401, 429]


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["not_activated", "must_change_password"])
def test_api_token_refused_while_account_has_pending_step(world, bearer, state):
    from django.utils import timezone

    user = world.one.teacher_b
    client, headers = bearer(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    if state == "not_activated":
        user.activated_at = None
    else:
        user.must_change_password = True
    user.save()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    user.activated_at, user.must_change_password = timezone.now(), False
    user.save()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
