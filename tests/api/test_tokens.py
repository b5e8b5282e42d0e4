"""Personal API tokens: JSON endpoints and the /compte/jetons-api/ pages (create shown once, list, revoke), audited."""

import pytest
from django.test import Client

from preau.api.models import ApiToken
from preau.api.services import MAX_ACTIVE_TOKENS
from preau.audit.models import AuditEvent

from .conftest import API, make_token

pytestmark = pytest.mark.django_db


# --- JSON ----------------------------------------------------------------------------------------------------------

def test_api_tokens_create_session_201_shown_once_and_audited(world, as_user):
    client = as_user(world.one.teacher_a)
    response = client.post(f"{API}/tokens", {"name": "Export", "expires_in_days": 30},
                           content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("preau_") and body["status"] == "active" and body["expires_at"]
    token = ApiToken.objects.get(pk=body["id"])
    assert token.user == world.one.teacher_a and token.name == "Export"
    event = AuditEvent.objects.get(action="api_token_created")
    assert event.actor == world.one.teacher_a and event.details["token_id"] == token.pk
    assert body["token"] not in str(event.details)
    listed = client.get(f"{API}/tokens").json()
    assert listed["count"] == 1 and "token" not in listed["items"][0]
    assert listed["items"][0]["prefix"] == f"preau_{token.prefix}_…"
    assert "token" not in client.get(f"{API}/tokens/{token.pk}").json()
    # The token works.
    assert Client().get(f"{API}/me", headers={"Authorization": f"Bearer {body['token']}"}).status_code == 200


def test_api_tokens_create_with_a_token_401(world):
    _token, clear = make_token(world.one.teacher_a)
    response = Client().post(f"{API}/tokens", {"name": "Copy"}, content_type="application/json",
                             headers={"Authorization": f"Bearer {clear}"})
    assert response.status_code == 401
    assert ApiToken.objects.count() == 1


def test_api_tokens_create_limit_400(world, as_user):
    for i in range(MAX_ACTIVE_TOKENS):
        make_token(world.one.pupil_b, name=f"t{i}")
    response = as_user(world.one.pupil_b).post(f"{API}/tokens", {"name": "one more"},
                                               content_type="application/json")
    assert response.status_code == 400
    assert "jetons actifs" in response.json()["detail"]


def test_api_tokens_create_blank_name_400(world, as_user):
    response = as_user(world.one.pupil_b).post(f"{API}/tokens", {"name": "   "}, content_type="application/json")
    assert response.status_code == 400 and response.json()["detail"] == "Donnez un nom au jeton."
    assert not ApiToken.objects.exists()


def test_api_tokens_list_only_own(world, as_user):
    make_token(world.one.head, name="head's")
    mine, _ = make_token(world.one.cpe, name="cpe's")
    body = as_user(world.one.cpe).get(f"{API}/tokens").json()
    assert [i["id"] for i in body["items"]] == [mine.pk]


def test_api_tokens_retrieve_or_revoke_other_person_token_404(world, as_user):
    other, clear = make_token(world.one.head)
    client = as_user(world.global_admin)
    assert client.get(f"{API}/tokens/{other.pk}").status_code == 404
    assert client.post(f"{API}/tokens/{other.pk}/revoke").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_api_tokens_revoke_200_then_token_fails(world, as_user):
    token, clear = make_token(world.one.cpe)
    client = as_user(world.one.cpe)
    response = client.post(f"{API}/tokens/{token.pk}/revoke")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert Client().get(f"{API}/me", headers={"Authorization": f"Bearer {clear}"}).status_code == 401
    # Revoking again is harmless and audited once.
    assert client.post(f"{API}/tokens/{token.pk}/revoke").status_code == 200
    assert AuditEvent.objects.filter(action="api_token_revoked", actor=world.one.cpe).count() == 1


def test_api_tokens_a_token_can_revoke_itself(world):
    token, clear = make_token(world.one.cpe)
    headers = {"Authorization": f"Bearer {clear}"}
    assert Client().post(f"{API}/tokens/{token.pk}/revoke", headers=headers).status_code == 200
    assert Client().get(f"{API}/me", headers=headers).status_code == 401


def test_api_tokens_anonymous_401(world, client):
    assert client.get(f"{API}/tokens").status_code == 401
    assert client.post(f"{API}/tokens/1/revoke").status_code == 401


# --- HTML pages ----------------------------------------------------------------------------------------------------

def test_pages_tokens_anonymous_redirected_to_login(client):
    response = client.get("/compte/jetons-api/")
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]


def test_pages_tokens_list_and_create_shows_token_once(world, as_user):
    client = as_user(world.one.mother_b)
    page = client.get("/compte/jetons-api/")
    assert page.status_code == 200
    assert "Jetons d'API" in page.content.decode() and "Vous n'avez aucun jeton actif." in page.content.decode()
    response = client.post("/compte/jetons-api/", {"name": "Agenda", "expires_in_days": "90"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    html = response.content.decode()
    token = ApiToken.objects.get(user=world.one.mother_b)
    clear = html.split('id="jeton" value="')[1].split('"')[0]
    assert clear.startswith(f"preau_{token.prefix}_") and token.matches(clear.split("_", 2)[2])
    assert token.expires_at is not None
    listing = client.get("/compte/jetons-api/").content.decode()
    assert "Agenda" in listing and clear not in listing
    assert AuditEvent.objects.filter(action="api_token_created", actor=world.one.mother_b).count() == 1


def test_pages_tokens_create_without_expiry(world, as_user):
    as_user(world.one.teacher_b).post("/compte/jetons-api/", {"name": "Long", "expires_in_days": ""})
    assert ApiToken.objects.get(user=world.one.teacher_b).expires_at is None


@pytest.mark.parametrize("data", [{"name": ""}, {"name": "   "}, {"name": "x" * 101},
                                  {"name": "ok", "expires_in_days": "7000"}, {"name": "ok", "expires_in_days": "-1"}])
def test_pages_tokens_create_invalid_shows_french_errors(world, as_user, data):
    response = as_user(world.one.teacher_b).post("/compte/jetons-api/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and "errorlist" in html
    assert not ApiToken.objects.exists()


def test_pages_tokens_revoke_confirm_then_revoke(world, as_user):
    token, clear = make_token(world.one.head, name="Tableur")
    client = as_user(world.one.head)
    confirm = client.get(f"/compte/jetons-api/{token.pk}/revoquer/")
    assert confirm.status_code == 200 and "Tableur" in confirm.content.decode()
    response = client.post(f"/compte/jetons-api/{token.pk}/revoquer/", follow=True)
    assert response.status_code == 200 and "est révoqué" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Jetons révoqués ou expirés" in response.content.decode()
    assert Client().get(f"{API}/me", headers={"Authorization": f"Bearer {clear}"}).status_code == 401


def test_pages_tokens_revoke_other_person_token_404(world, as_user):
    token, _clear = make_token(world.one.head)
    client = as_user(world.one.cpe)
    assert client.get(f"/compte/jetons-api/{token.pk}/revoquer/").status_code == 404
    assert client.post(f"/compte/jetons-api/{token.pk}/revoquer/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_pages_tokens_revoke_requires_csrf(world):
    token, _clear = make_token(world.one.head)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.one.head)
    assert client.post(f"/compte/jetons-api/{token.pk}/revoquer/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_api_tokens_service_refuses_revoking_another_person_token(world):
    from preau.access import policy
    from preau.api import services

    token, _clear = make_token(world.one.head)
    with pytest.raises(services.TokenError):
        services.api_token_revoke(actor=policy.actor_for(world.one.cpe), token=token)
    token.refresh_from_db()
    assert token.revoked_at is None and not AuditEvent.objects.filter(action="api_token_revoked").exists()


@pytest.mark.parametrize("raw", ["", "preau", "preau__x", "preau_x_", "other_abc_def", "preau_" + "a" * 17 + "_x",
                                 "preau_abc_" + "x" * 129])
def test_api_tokens_split_rejects_malformed(raw):
    from preau.api.selectors import split_token

    assert split_token(raw) is None


def test_api_tokens_split_keeps_underscores_in_secret():
    from preau.api.selectors import split_token

    assert split_token("preau_abc_de_f-g") == ("abc", "de_f-g")


def test_token_page_is_linked_from_the_profile(world, as_user):
    page = as_user(world.one.teacher_b).get("/compte/profil/").content.decode()
    assert 'href="/compte/jetons-api/"' in page
