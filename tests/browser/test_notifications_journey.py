"""Journey: a guardian has the ENT open; the school notifies her; the header bell moves without reload (its
accessible name with it), she opens the list, follows the notification (marked read), and on a phone chooses how to be
told and sets her quiet hours. Every page passes axe-core."""

from __future__ import annotations

import datetime
import time

import pytest
from django.db import transaction

from preau.directory.testing import TEST_PASSWORD
from preau.notifications.models import Notification, NotificationPreferences
from preau.notifications.services import notify
from preau.realtime.broker import get_broker

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser

BELL = '.site-header [data-bell="notifications"]'


@pytest.fixture(autouse=True)
def _short_heartbeat(settings):
    settings.PREAU_REALTIME_HEARTBEAT_SECONDS = 2


def test_notification_arrives_live_is_opened_and_preferences_are_set(journey, phone_journey, world):
    mother = world.one.mother_b
    page = journey.page
    journey.login(mother.username, TEST_PASSWORD)
    bell = page.locator(BELL)
    assert bell.locator("[data-live-count]").is_hidden()
    assert page.get_by_role("link", name="Notifications, 0 non lue", exact=True).count() == 1
    page.wait_for_selector("body[data-realtime-state=open]", state="attached")

    with transaction.atomic():  # as a service would, inside its own transaction
        notify(recipient_ids=[mother.pk, world.one.father_b.pk], kind="news", title="Sortie au musée jeudi",
               body="Départ à 8 h 30.", url="/notifications/preferences/", source="browser:news:1")
    page.wait_for_function(
        "() => document.querySelector('[data-bell=notifications] [data-live-count]').textContent === '1'")
    assert bell.locator("[data-live-count]").is_visible()
    assert page.get_by_role("link", name="Notifications, 1 non lue", exact=True).count() == 1  # the name follows

    with page.expect_navigation():
        bell.click()
    journey.assert_accessible()
    item = page.locator(".notification--unread")
    assert "Sortie au musée jeudi" in item.inner_text() and "Non lue" in item.inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="Sortie au musée jeudi", exact=True).click()
    assert journey.path == "/notifications/preferences/"
    journey.assert_accessible()
    assert Notification.objects.get(recipient=mother, source="browser:news:1").read_at is not None
    assert Notification.objects.get(recipient=world.one.father_b, source="browser:news:1").read_at is None
    assert page.locator(BELL).locator("[data-live-count]").is_hidden()

    phone = phone_journey.page
    phone_journey.login(mother.username, TEST_PASSWORD)
    phone_journey.visit("/notifications/preferences/")
    phone.get_by_label("Actualité — Résumé quotidien").uncheck()
    phone.get_by_label("Actualité — Courriel immédiat").check()
    phone.get_by_label("Pas de courriel à partir de").fill("21:30")
    phone.get_by_label("Pas de courriel le samedi ni le dimanche").uncheck()
    with phone.expect_navigation():
        phone.get_by_role("button", name="Enregistrer").click()
    phone_journey.assert_accessible()
    assert "préférences de notification sont enregistrées" in phone.get_by_role("status").inner_text()
    prefs = NotificationPreferences.objects.get(user=mother)
    assert prefs.channels["news"] == {"email": True, "digest": False}
    assert (prefs.quiet_start, prefs.quiet_weekends) == (datetime.time(21, 30), False)
    phone_journey.visit("/notifications/")
    assert phone.locator(".notification").count() == 1
    leave([page, phone], mother)


def leave(pages, person):
    """Leave the pages and wait until the live server has ended their streams (at the next heartbeat), so that no
    stream outlives the test and its database."""
    for page in pages:
        page.goto("about:blank")
    deadline = time.monotonic() + 10
    while get_broker().hub.count(person.pk) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert get_broker().hub.count(person.pk) == 0
    time.sleep(0.3)
