"""The API: own notifications only, mark read, preferences, counters (one query for every counter)."""

import pytest
from django.test import Client

from preau.notifications import counters
from preau.notifications.models import Notification

from .factories import make_notifications

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def api_as():
    def _as(user):
        client = Client(enforce_csrf_checks=False)
        client.force_login(user)
        return client

    return _as


def test_anonymous_gets_401(client):
    assert client.get(f"{API}/notifications").status_code == 401
    assert client.get(f"{API}/me/counters").status_code == 401


def test_list_own_paginated_unread_first(world, api_as, django_assert_max_num_queries):
    mother = world.one.mother_b
    make_notifications(mother, 3, read=True, start=0)
    unread = make_notifications(mother, 4, start=10)
    make_notifications(world.one.father_b, 2, start=50)
    client = api_as(mother)
    client.get(f"{API}/notifications")
    with django_assert_max_num_queries(8):
        body = client.get(f"{API}/notifications?limit=5").json()
    assert body["count"] == 7 and len(body["items"]) == 5
    assert [i["id"] for i in body["items"][:4]] == [n.pk for n in unread]
    assert body["items"][4]["read"] is True
    item = body["items"][0]
    assert set(item) == {"id", "kind", "kind_label", "title", "body", "url", "urgent", "created_at", "read",
                         "read_at"}
    assert item["kind_label"] == "Actualité"
    only_unread = client.get(f"{API}/notifications?unread=true").json()
    assert only_unread["count"] == 4


def test_mark_read_own_only(world, api_as):
    [mine] = make_notifications(world.one.mother_b, 1)
    [theirs] = make_notifications(world.one.father_b, 1, start=5)
    client = api_as(world.one.mother_b)
    response = client.post(f"{API}/notifications/{theirs.pk}/read")
    assert response.status_code == 404 and "detail" in response.json()
    assert client.post(f"{API}/notifications/999999/read").status_code == 404
    body = client.post(f"{API}/notifications/{mine.pk}/read").json()
    assert body["read"] is True and body["id"] == mine.pk
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read(world, api_as):
    make_notifications(world.one.mother_b, 3)
    make_notifications(world.one.father_b, 2, start=5)
    client = api_as(world.one.mother_b)
    assert client.post(f"{API}/notifications/read-all").json() == {"marked": 3}
    assert client.post(f"{API}/notifications/read-all").json() == {"marked": 0}
    assert Notification.objects.filter(recipient=world.one.father_b, read_at__isnull=True).count() == 2


def test_preferences_get_and_put(world, api_as):
    client = api_as(world.one.mother_b)
    body = client.get(f"{API}/me/notification-preferences").json()
    assert body["quiet_start"] == "20:00:00" and body["quiet_end"] == "07:00:00" and body["quiet_weekends"] is True
    news = next(k for k in body["kinds"] if k["kind"] == "news")
    assert {c["channel"]: c["enabled"] for c in news["channels"]} == {"in_app": True, "email": False, "digest": True}
    body = client.put(f"{API}/me/notification-preferences",
                      {"channels": {"news": {"email": True}}, "quiet_weekends": False},
                      content_type="application/json").json()
    news = next(k for k in body["kinds"] if k["kind"] == "news")
    assert {c["channel"]: c["enabled"] for c in news["channels"]} == {"in_app": True, "email": True, "digest": True}
    assert body["quiet_weekends"] is False and body["quiet_start"] == "20:00:00"
    # Another person's preferences are untouched.
    father = api_as(world.one.father_b).get(f"{API}/me/notification-preferences").json()
    assert father["quiet_weekends"] is True


def test_preferences_bad_input(world, api_as):
    client = api_as(world.one.mother_b)
    response = client.put(f"{API}/me/notification-preferences", {"channels": {"weather": {"email": True}}},
                          content_type="application/json")
    assert response.status_code == 400 and "inconnu" in response.json()["detail"]
    response = client.put(f"{API}/me/notification-preferences", {"channels": {"news": {"sms": True}}},
                          content_type="application/json")
    assert response.status_code == 400
    response = client.put(f"{API}/me/notification-preferences", {"quiet_start": "27:00"},
                          content_type="application/json")
    assert response.status_code == 422


def test_counters_in_one_query(world, api_as, django_assert_max_num_queries):
    from preau.access.policy import actor_for
    from preau.notifications.counters import counters_for

    mother = world.one.mother_b
    make_notifications(mother, 2)
    make_notifications(mother, 1, read=True, start=5)
    client = api_as(mother)
    assert client.get(f"{API}/me/counters").json()["notifications"] == 2
    saved = dict(counters._COUNTERS)
    try:
        # Another app's queryset counter joins the same query; an int counter is added as it is.
        counters.register_counter("urgent", lambda actor: Notification.objects.filter(recipient_id=actor.id,
                                                                                      urgent=True))
        counters.register_counter("constant", lambda actor: 7)
        actor = actor_for(mother)
        with django_assert_max_num_queries(1):
            values = counters_for(actor)
        assert values["notifications"] == 2 and values["urgent"] == 0 and values["constant"] == 7
        assert client.get(f"{API}/me/counters").json()["constant"] == 7
    finally:
        counters._COUNTERS.clear()
        counters._COUNTERS.update(saved)
    with pytest.raises(ValueError):
        counters.register_counter("bad key!", lambda actor: 0)
