"""The pages: the list (own only, unread first, bounded queries), opening and marking read, preferences, the bell."""

import datetime

import pytest
from django.urls import reverse

from preau.notifications.models import Notification, NotificationPreferences

from .factories import make_notifications

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:list")


def test_anonymous_is_sent_to_login(client):
    assert client.get(LIST).status_code == 302


def test_list_shows_own_unread_first(world, client):
    mother = world.one.mother_b
    read = make_notifications(mother, 2, read=True, start=10)  # the newest, but read
    unread = make_notifications(mother, 2, start=20)
    make_notifications(world.one.father_b, 1, start=30)  # someone else's
    client.force_login(mother)
    page = client.get(LIST).content.decode()
    order = [page.index(n.title) for n in unread + read]
    assert order == sorted(order)
    assert "Notification 30" not in page
    assert page.count("Non lue<") == 2
    assert "Tout marquer comme lu" in page


def test_list_query_count_does_not_grow(world, client, django_assert_max_num_queries):
    mother = world.one.mother_b
    make_notifications(mother, 3)
    client.force_login(mother)
    client.get(LIST)
    with django_assert_max_num_queries(10) as small:
        assert client.get(LIST).status_code == 200
    make_notifications(mother, 120, start=100)
    make_notifications(mother, 40, start=300, read=True)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(LIST)
    assert response.status_code == 200
    assert response.content.decode().count('class="notification ') == 25  # one page


def test_open_marks_read_and_follows_the_link(world, client):
    mother = world.one.mother_b
    [n] = make_notifications(mother, 1, url="/messages/12/")
    client.force_login(mother)
    assert client.get(reverse("notifications:open", args=[n.pk])).status_code == 405  # POST only
    response = client.post(reverse("notifications:open", args=[n.pk]))
    assert response.status_code == 302 and response["Location"] == "/messages/12/"
    n.refresh_from_db()
    assert n.read_at is not None


def test_another_persons_notification_is_404(world, client):
    [theirs] = make_notifications(world.one.father_b, 1)
    client.force_login(world.one.mother_b)
    for name in ("notifications:open", "notifications:mark_read"):
        assert client.post(reverse(name, args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.post(reverse("notifications:open", args=[999999])).status_code == 404


def test_mark_one_and_all_read(world, client):
    mother = world.one.mother_b
    first, second, third = make_notifications(mother, 3)
    [theirs] = make_notifications(world.one.father_b, 1, start=50)
    client.force_login(mother)
    response = client.post(reverse("notifications:mark_read", args=[first.pk]), {"page": "1"})
    assert response["Location"] == f"{LIST}?page=1"
    assert Notification.objects.filter(recipient=mother, read_at__isnull=True).count() == 2
    client.post(reverse("notifications:mark_all_read"))
    assert not Notification.objects.filter(recipient=mother, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_bell_shows_unread_count_hidden_at_zero(world, client):
    mother = world.one.mother_b
    client.force_login(mother)
    page = client.get("/").content.decode()
    assert 'aria-labelledby="bell-label bell-count bell-suffix"' in page
    assert 'data-live-count="notifications" data-count="0"' in page and " hidden>0</span>" in page
    assert '<span class="visually-hidden" id="bell-suffix">non lue</span>' in page
    make_notifications(mother, 3)
    page = client.get("/").content.decode()
    assert 'data-live-count="notifications" data-count="3"' in page and ">3</span>" in page
    assert '<span class="visually-hidden" id="bell-suffix">non lues</span>' in page
    assert f'href="{LIST}"' in page


def test_preferences_page_saves_grid_and_quiet_hours(world, client):
    mother = world.one.mother_b
    client.force_login(mother)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'name="news__digest"' in page and "checked" in page
    assert "Droit à la déconnexion" in page
    data = {"quiet_start": "21:00", "quiet_end": "06:30", "news__in_app": "on", "news__email": "on",
            "liaison__in_app": "on"}
    response = client.post(reverse("notifications:preferences"), data)
    assert response.status_code == 302
    prefs = NotificationPreferences.objects.get(user=mother)
    assert (prefs.quiet_start, prefs.quiet_end, prefs.quiet_weekends) == (
        datetime.time(21), datetime.time(6, 30), False)
    assert prefs.channels["news"] == {"email": True, "digest": False}
    assert prefs.channels["liaison"] == {"email": False}
    assert prefs.channels["message"] == {"in_app": False, "digest": False}
    assert prefs.channels["account"] == {"email": False}  # its in-app channel is locked: not stored


def test_preferences_bad_time_is_a_french_form_error(world, client):
    client.force_login(world.one.pupil_b)
    response = client.post(reverse("notifications:preferences"), {"quiet_start": "25:99", "quiet_end": "07:00"})
    assert response.status_code == 200
    assert "Saisissez une heure valide" in response.content.decode()
    assert not NotificationPreferences.objects.exists()


def test_tile_on_the_dashboard(world, client):
    client.force_login(world.one.pupil_b)
    assert f'href="{LIST}"' in client.get("/").content.decode()


def test_page_tells_realtime_where_to_resync_counters(world, client):
    client.force_login(world.one.mother_b)
    page = client.get("/").content.decode()
    assert 'data-counters-url="/api/v1/me/counters"' in page
    assert "<script" not in page.split('data-counters-url')[1].split("</header>")[0]  # the bell needs no script
