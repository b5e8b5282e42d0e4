"""The year rollover over the API: GET (preview) and POST (do it) /establishments/{id}/rollover."""

import pytest
from django.test import Client

from preau.audit.models import AuditEvent
from preau.directory.models import ClassEnrolment, Period, SchoolClass, SchoolYear

from .conftest import API

pytestmark = pytest.mark.django_db

BODY = {"label": "2027-2028", "start": "2027-09-01", "end": "2028-07-04"}


def url(establishment):
    return f"{API}/establishments/{establishment.pk}/rollover"


def post(client, establishment, body=None, **headers):
    return client.post(url(establishment), body if body is not None else BODY, content_type="application/json",
                       headers=headers or None)


def unchanged(world):
    return (SchoolYear.objects.get(pk=world.one.year.pk).is_current and SchoolYear.objects.count() == 2
            and not AuditEvent.objects.filter(action=AuditEvent.Action.SCHOOL_YEAR_ROLLOVER).exists())


def test_api_rollover_preview(world, as_user):
    response = as_user(world.one.ent_admin).get(url(world.one.establishment))
    assert response.status_code == 200
    assert response.json() == {
        "current_year": {"id": world.one.year.pk, "label": "2026-2027", "start": "2026-09-01", "end": "2027-07-04",
                         "is_current": True, "is_archived": False},
        "counts": {"classes": 2, "groups": 1, "enrolments": 3, "group_memberships": 1, "assignments": 3},
        "suggested": {"label": "2027-2028", "start": "2027-09-01", "end": "2028-07-04",
                      "period_scheme": "trimesters"},
    }


def test_api_rollover_preview_without_current_year(world, as_user):
    SchoolYear.objects.filter(pk=world.one.year.pk).update(is_current=False)
    response = as_user(world.one.ent_admin).get(url(world.one.establishment))
    assert response.json() == {"current_year": None, "counts": None, "suggested": None}


def test_api_rollover_success(world, as_user):
    one = world.one
    response = post(as_user(one.ent_admin), one.establishment,
                    {**BODY, "period_scheme": "semesters", "copy_structure": True})
    assert response.status_code == 201, response.json()
    data = response.json()
    new = SchoolYear.objects.get(establishment=one.establishment, is_current=True)
    assert data["archived_year"] == {"id": one.year.pk, "label": "2026-2027", "start": "2026-09-01",
                                     "end": "2027-07-04", "is_current": False, "is_archived": True}
    assert {key: data["school_year"][key] for key in ("id", "label", "is_current", "is_archived")} == {
        "id": new.pk, "label": "2027-2028", "is_current": True, "is_archived": False}
    assert [(p["index"], p["label"]) for p in data["school_year"]["periods"]] == [(1, "Semestre 1"), (2, "Semestre 2")]
    assert data["archived_counts"]["enrolments"] == 3
    assert (data["copied_classes"], data["copied_groups"]) == (2, 1)
    assert Period.objects.filter(school_year=new).count() == 2
    assert SchoolClass.objects.filter(school_year=new).count() == 2
    assert ClassEnrolment.objects.filter(school_class__school_year_id=one.year.pk).count() == 3
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SCHOOL_YEAR_ROLLOVER, actor=one.ent_admin).exists()
    # The preview now shows the new year.
    preview = as_user(one.ent_admin).get(url(one.establishment)).json()
    assert preview["current_year"]["label"] == "2027-2028" and preview["suggested"]["label"] == "2028-2029"


def test_api_rollover_with_a_personal_token(world, bearer):
    client, headers = bearer(world.global_admin)
    response = post(client, world.one.establishment, **headers)
    assert response.status_code == 201
    assert SchoolYear.objects.get(establishment=world.one.establishment, is_current=True).label == "2027-2028"


def test_api_rollover_session_needs_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.one.ent_admin)
    response = post(client, world.one.establishment)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert unchanged(world)


@pytest.mark.parametrize(("body", "field", "message"), [
    ({**BODY, "label": "2026-2027"}, "label", "Cette année scolaire existe déjà pour l'établissement."),
    ({**BODY, "label": "2027_2028"}, "label", "Le libellé s'écrit sous la forme 2026-2027."),
    ({**BODY, "start": "2027-07-01"}, "start", "La nouvelle année doit commencer après la fin de l'année en cours"),
    ({**BODY, "end": "2027-08-01"}, "end", "La date de fin doit être postérieure à la date de début."),
])
def test_api_rollover_refused_422_french_errors_by_field(world, as_user, body, field, message):
    response = post(as_user(world.one.ent_admin), world.one.establishment, body)
    assert response.status_code == 422
    data = response.json()
    assert data["detail"].startswith(message)
    assert data["errors"][0]["loc"] == ["body", field] and data["errors"][0]["msg"].startswith(message)
    assert unchanged(world)


@pytest.mark.parametrize("body", [
    {"label": "2027-2028"}, {**BODY, "start": "bientôt"}, {**BODY, "period_scheme": "quarters"},
    {**BODY, "label": "2027-2028-2029"}, {**BODY, "copy_structure": "peut-être"}, [],
])
def test_api_rollover_malformed_body_422(world, as_user, body):
    response = post(as_user(world.one.ent_admin), world.one.establishment, body)
    assert response.status_code == 422
    assert response.json()["detail"] == "Les données envoyées sont invalides."
    assert unchanged(world)


def test_api_rollover_without_current_year_400(world, as_user):
    SchoolYear.objects.filter(pk=world.one.year.pk).update(is_current=False)
    response = post(as_user(world.one.ent_admin), world.one.establishment)
    assert response.status_code == 400
    assert "n'a pas d'année scolaire en cours" in response.json()["detail"]
    assert not SchoolYear.objects.filter(label="2027-2028").exists()


def test_api_rollover_other_establishments_admin_404(world, as_user):
    client = as_user(world.two.ent_admin)
    for response in (client.get(url(world.one.establishment)), post(client, world.one.establishment)):
        assert response.status_code == 404
        assert response.json() == {"detail": "Cette ressource n'existe pas, ou vous n'avez pas le droit de la "
                                             "consulter."}
    assert unchanged(world)


@pytest.mark.parametrize("establishment_id", [999999, 2**63, 2**70])
def test_api_rollover_missing_establishment_404(world, as_user, establishment_id):
    client = as_user(world.global_admin)
    assert client.get(f"{API}/establishments/{establishment_id}/rollover").status_code == 404
    response = client.post(f"{API}/establishments/{establishment_id}/rollover", BODY,
                           content_type="application/json")
    assert response.status_code == 404


@pytest.mark.parametrize("persona", ["teacher_b", "head", "pupil_b", "mother_b"])
def test_api_rollover_non_admin_403(world, as_user, persona):
    client = as_user(getattr(world.one, persona))
    assert client.get(url(world.one.establishment)).status_code == 403
    response = post(client, world.one.establishment)
    assert response.status_code == 403
    assert response.json()["detail"] == "Vous n'avez pas le droit d'effectuer cette action."
    assert unchanged(world)


def test_api_rollover_anonymous_401(world):
    assert Client().get(url(world.one.establishment)).status_code == 401
    assert post(Client(), world.one.establishment).status_code == 401
    assert unchanged(world)


def test_api_rollover_preview_bounded_queries(world, as_user, django_assert_max_num_queries):
    client = as_user(world.one.ent_admin)
    client.get(f"{API}/me")
    with django_assert_max_num_queries(8):
        assert client.get(url(world.one.establishment)).status_code == 200
