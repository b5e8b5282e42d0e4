"""Journey on a phone: a teacher adds a class trip to the agenda, a pupil of that class finds it in their week and
subscribes to their calendar feed (the secret URL is shown once and serves iCalendar). Every page passes axe-core."""

from __future__ import annotations

import datetime

import icalendar
import pytest

from preau.directory.testing import TEST_PASSWORD
from preau.timetable.models import AgendaEvent, CalendarFeedToken

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser


def test_agenda_journey_on_a_phone(phone_journey, world):
    one = world.one
    journey, page = phone_journey, phone_journey.page
    day = datetime.date.today() + datetime.timedelta(days=7)
    journey.login(one.teacher_b.username, TEST_PASSWORD)
    journey.visit(f"/agenda/nouveau/?date={day.isoformat()}")
    page.get_by_label("Titre").fill("Sortie au musée des Confluences")
    page.get_by_label("Type").select_option("trip")
    page.get_by_label("Heure de début").fill("08:30")
    page.get_by_label("Heure de fin").fill("16:30")
    page.get_by_label("Lieu").fill("Musée des Confluences")
    page.get_by_role("checkbox", name="5e B").check()
    page.get_by_role("checkbox", name="Personnels").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer").click()
    journey.assert_accessible()
    assert "Événement enregistré." in page.get_by_role("status").inner_text()
    event = AgendaEvent.objects.get()
    assert event.audience_roles == ["pupil", "guardian", "teacher"]
    assert page.get_by_role("heading", level=1).inner_text() == "Sortie au musée des Confluences"
    journey.logout()

    journey.login(one.pupil_b.username, TEST_PASSWORD)
    journey.visit(f"/agenda/?date={day.isoformat()}")
    with page.expect_navigation():
        page.get_by_role("link", name="Sortie au musée des Confluences").click()
    journey.assert_accessible()
    assert "Musée des Confluences" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Modifier").count() == 0

    journey.visit("/agenda/abonnement/")
    with page.expect_navigation():
        page.get_by_role("button", name="Créer mon lien d'abonnement").click()
    journey.assert_accessible()
    url = page.get_by_label("Adresse de l'agenda").input_value()
    assert url.endswith(".ics") and CalendarFeedToken.objects.filter(user=one.pupil_b).exists()
    feed = page.request.get(url.replace("http://127.0.0.1:8000", journey.base_url))
    assert feed.status == 200 and feed.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(feed.body())
    assert [str(e["summary"]) for e in calendar.walk("VEVENT")] == ["Sortie au musée des Confluences"]
    journey.visit("/agenda/abonnement/")
    assert page.get_by_label("Adresse de l'agenda").count() == 0  # shown once
