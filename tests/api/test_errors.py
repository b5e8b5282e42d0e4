"""Error answers: always JSON {"detail": "<French>"}, never a 500 for bad input."""

import pytest

from .conftest import API

pytestmark = pytest.mark.django_db

DETAIL_ROUTES = ["people", "classes", "groups", "establishments", "tokens"]


def assert_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.parametrize("route", DETAIL_ROUTES)
@pytest.mark.parametrize("bad_id", ["abc", "1.5", "-", "%00", "1e3"])
def test_api_detail_non_numeric_id_422(world, as_user, route, bad_id):
    body = assert_error(as_user(world.global_admin).get(f"{API}/{route}/{bad_id}"), 422)
    assert body["errors"][0]["loc"][0] == "path"


@pytest.mark.parametrize("route", DETAIL_ROUTES)
@pytest.mark.parametrize("big_id", ["99999999999999999999999999", str(2**63), str(2**63 - 1), "0", "-1"])
def test_api_detail_huge_or_out_of_range_id_404(world, as_user, route, big_id):
    assert_error(as_user(world.global_admin).get(f"{API}/{route}/{big_id}"), 404)


def test_api_class_members_huge_id_404(world, as_user):
    assert_error(as_user(world.global_admin).get(f"{API}/classes/{2**70}/members"), 404)


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=abc", "offset=-1", "offset=x",
                                   "establishment=abc", "school_year=1.5", "q=" + "a" * 101])
def test_api_list_wrong_query_types_422(world, as_user, query):
    body = assert_error(as_user(world.one.head).get(f"{API}/classes?{query}"), 422)
    assert body["detail"] == "Les données envoyées sont invalides."
    assert body["errors"] and body["errors"][0]["loc"][0] == "query"


def test_api_people_unknown_role_422(world, as_user):
    assert_error(as_user(world.one.head).get(f"{API}/people?role=wizard"), 422)


@pytest.mark.parametrize("route", ["classes", "groups", "people", "subjects"])
@pytest.mark.parametrize("value", [str(2**70), str(2**63), "0", "-3"])
def test_api_list_out_of_range_filter_ids_422(world, as_user, route, value):
    assert_error(as_user(world.one.head).get(f"{API}/{route}?establishment={value}"), 422)


def test_api_list_unknown_filter_id_is_empty(world, as_user):
    assert as_user(world.one.head).get(f"{API}/classes?establishment={2**63 - 1}").json()["count"] == 0


def test_api_list_offset_past_the_end_is_empty(world, as_user):
    body = as_user(world.one.head).get(f"{API}/classes?offset=1000").json()
    assert body["items"] == [] and body["count"] == 2


def test_api_malformed_json_400(world, as_user):
    body = assert_error(as_user(world.one.head).post(f"{API}/tokens", "{not json",
                                                       content_type="application/json"), 400)
    assert "JSON" in body["detail"]


@pytest.mark.parametrize("payload", [{"name": 3}, {"name": ""}, {}, {"name": "x", "expires_in_days": "soon"},
                                     {"name": "x", "expires_in_days": 0}, {"name": "x" * 101}, [1, 2], '"text"'])
def test_api_wrong_body_types_422(world, as_user, payload):
    body = assert_error(as_user(world.one.head).post(f"{API}/tokens", payload, content_type="application/json"),
                        422)
    assert body["errors"][0]["loc"][0] == "body"


def test_api_unknown_route_404_json(world, as_user):
    assert_error(as_user(world.one.head).get(f"{API}/nothing-here"), 404)


def test_api_wrong_method_405_json(world, as_user):
    assert_error(as_user(world.one.head).delete(f"{API}/me"), 405)


def test_api_anonymous_list_401(client):
    assert_error(client.get(f"{API}/people"), 401)


def test_api_404_has_the_same_answer_for_missing_and_forbidden(world, as_user):
    client = as_user(world.one.mother_b)
    forbidden = client.get(f"{API}/people/{world.one.pupil_b2.pk}")
    missing = client.get(f"{API}/people/987654")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()
    assert forbidden.json()["detail"] == "Cette ressource n'existe pas, ou vous n'avez pas le droit de la consulter."
