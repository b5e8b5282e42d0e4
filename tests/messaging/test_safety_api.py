"""The moderation API (/api/v1/messaging/moderation/...), per role: rules, held sends, reports, conversations."""

import pytest
from django.test import Client

from preau.audit.models import AuditEvent
from preau.messaging.models import Message, MessagingRules, Report

from .safety_helpers import sent_message

pytestmark = pytest.mark.django_db

API = "/api/v1/messaging/moderation"


def as_user(user):
    client = Client()
    client.force_login(user)
    return client


def held(school, **kwargs):
    message = sent_message(school.pupil_b, school.establishment, state=Message.State.HELD, **kwargs)
    message.held_reason = "Envoi inhabituel"
    message.save(update_fields=["held_reason"])
    return message


def test_rules_get_and_put_per_role(world):
    one, two = world.one, world.two
    url = f"{API}/rules/{one.establishment.pk}"
    assert Client().get(url).status_code == 401
    for person in (one.cpe, one.teacher_a, one.pupil_b):
        response = as_user(person).get(url)
        assert response.status_code == 403, person
        assert response.json()["detail"]
    assert as_user(two.head).get(url).status_code == 404
    response = as_user(one.head).get(url)
    assert response.status_code == 200
    body = response.json()
    assert body["pupil_max_recipients"] == 5 and body["quiet_start"] == "21:00:00" and body["updated_at"] is None
    response = as_user(one.head).put(url, {"pupils_paused": True, "attachments_off_roles": ["pupil"],
                                           "quiet_end": "06:30"}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["pupils_paused"] and body["attachments_off_roles"] == ["pupil"] and body["quiet_end"] == "06:30:00"
    assert body["pupil_max_recipients"] == 5  # left out: unchanged
    assert MessagingRules.objects.get(establishment=one.establishment).pupils_paused
    event = AuditEvent.objects.get(action=AuditEvent.Action.MESSAGING_RULES_CHANGED)
    assert event.actor == one.head and event.ip == "127.0.0.1"
    for bad in ({"pupil_max_recipients": -1}, {"attachments_off_roles": ["admin"]}, {"quiet_start": "25:00"}):
        response = as_user(one.head).put(url, bad, content_type="application/json")
        assert response.status_code == 422 and response.json()["detail"], bad
    assert as_user(one.head).put(f"{API}/rules/{2**62}", {}, content_type="application/json").status_code == 404


def test_held_list_is_scoped_and_paginated(world, django_assert_max_num_queries):
    one, two = world.one, world.two
    mine = [held(one, subject=f"Retenu {i}") for i in range(3)]
    held(two, subject="Ailleurs")
    for person in (one.teacher_a, one.pupil_b, one.secretary):
        assert as_user(person).get(f"{API}/held").status_code == 403
    client = as_user(one.cpe)
    client.get(f"{API}/held")
    with django_assert_max_num_queries(8):
        response = client.get(f"{API}/held", {"limit": 2})
    body = response.json()
    assert body["count"] == 3 and [item["id"] for item in body["items"]] == [m.pk for m in mine[:2]]
    assert body["items"][0]["held_reason"] == "Envoi inhabituel" and body["items"][0]["sender"]["id"] == one.pupil_b.pk
    assert client.get(f"{API}/held", {"establishment_id": two.establishment.pk}).status_code == 404
    assert client.get(f"{API}/held", {"establishment_id": one.establishment.pk}).json()["count"] == 3
    assert as_user(world.global_admin).get(f"{API}/held").json()["count"] == 4


def test_refuse_held_and_errors(world, django_capture_on_commit_callbacks):
    one, two = world.one, world.two
    message = held(one)
    assert as_user(two.cpe).post(f"{API}/held/{message.pk}/refuse", {},
                                 content_type="application/json").status_code == 404
    assert as_user(one.teacher_a).post(f"{API}/held/{message.pk}/release").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(one.cpe).post(f"{API}/held/{message.pk}/refuse", {"reason": "Non"},
                                         content_type="application/json")
    assert response.status_code == 200 and response.json()["state"] == "refused"
    response = as_user(one.cpe).post(f"{API}/held/{message.pk}/release")
    assert response.status_code == 400 and "plus en attente" in response.json()["detail"]
    assert as_user(one.cpe).post(f"{API}/held/{2**70}/release").status_code == 404


def test_reports_list_dismiss_block_unblock(world):
    one, two = world.one, world.two
    message = sent_message(one.pupil_a, one.establishment, subject="Signalé")
    report = Report.objects.create(message=message, reporter=one.pupil_b, reason="Menace",
                                   establishment=one.establishment)
    Report.objects.create(message=sent_message(two.pupil_a, two.establishment), reporter=two.pupil_b,
                          establishment=two.establishment)
    assert as_user(one.teacher_b).get(f"{API}/reports").status_code == 403
    client = as_user(one.cpe)
    body = client.get(f"{API}/reports").json()
    assert body["count"] == 1 and body["items"][0]["reason"] == "Menace"
    reported = body["items"][0]["message"]
    assert reported["subject"] == "Signalé" and not reported["conversation_blocked"]
    assert as_user(two.cpe).post(f"{API}/reports/{report.pk}/dismiss").status_code == 404
    conversation = f"{API}/conversations/{message.conversation_id}"
    assert as_user(two.cpe).post(f"{conversation}/block", {}, content_type="application/json").status_code == 404
    response = client.post(f"{conversation}/block", {"reason": "Menaces"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["blocked_reason"] == "Menaces"
    assert client.get(f"{API}/reports").json()["items"][0]["message"]["conversation_blocked"]
    assert client.post(f"{conversation}/block", {}, content_type="application/json").status_code == 400
    assert client.post(f"{conversation}/unblock").json()["blocked_at"] is None
    response = client.post(f"{API}/reports/{report.pk}/dismiss")
    assert response.status_code == 200 and response.json()["outcome"] == "dismissed"
    assert client.get(f"{API}/reports").json()["count"] == 0
    assert client.get(f"{API}/reports", {"outcome": "dismissed"}).json()["count"] == 1


def test_list_endpoints_are_paginated_in_the_schema(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path in [f"{API}/held", f"{API}/reports"]:
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert params["limit"]["schema"]["maximum"] == 200
        ref = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert {"count", "limit", "offset", "items"} <= set(page["properties"])
