"""Timetable pages in a real browser (ttpages): on a phone, one day at a time with day tabs (no JavaScript); on a
desktop, the week grid; a CPE cancels a course from the occurrence page. Every page passes axe-core. Skipped when
Chromium is missing (see tests/browser/support.py)."""

from __future__ import annotations

import pytest

from preau.directory.testing import TEST_PASSWORD
from preau.timetable.models import CourseChange
from tests.browser import conftest as browser_fixtures
from tests.browser.support import SKIP_REASON

from .fixtures_pages import full_week

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser

# The browser fixtures of tests/browser (one Chromium per module, a context and a page per test).
chromium = browser_fixtures.chromium
browser_context = browser_fixtures.browser_context
phone_context = browser_fixtures.phone_context
journey = browser_fixtures.journey
phone_journey = browser_fixtures.phone_journey


@pytest.fixture
def world(transactional_db):
    from preau.directory.testing import make_world

    return make_world()


def visible(page, selector: str) -> bool:
    return page.locator(selector).is_visible()


def test_phone_shows_one_day_with_tabs(phone_journey, world):
    one = world.one
    full_week(one)
    phone, page = phone_journey, phone_journey.page
    phone.login(one.pupil_a.username, TEST_PASSWORD)
    phone.visit("/emploi-du-temps/?date=2026-12-07")
    assert visible(page, "#jour-2026-12-07") and not visible(page, "#jour-2026-12-08")
    assert page.locator("#jour-2026-12-07 .tt-course").count() == 6
    assert not visible(page, ".tt-times")  # no grid on a phone
    page.get_by_role("navigation", name="Jours de la semaine").get_by_role("link", name="mar 8").click()
    page.wait_for_url("**#jour-2026-12-08")
    assert visible(page, "#jour-2026-12-08") and not visible(page, "#jour-2026-12-07")
    assert "Latin" in page.locator("#jour-2026-12-08").inner_text()
    phone.assert_accessible()
    # The day view, server side.
    phone.visit("/emploi-du-temps/?date=2026-12-09&vue=jour")
    assert page.locator(".tt-course").count() == 4
    assert page.get_by_role("heading", level=2).first.inner_text().startswith("mercredi 9 décembre 2026")


def test_desktop_grid_and_a_cancellation(journey, world):
    one = world.one
    data = full_week(one)
    page = journey.page
    journey.login(one.cpe.username, TEST_PASSWORD)
    journey.visit(f"/emploi-du-temps/classe/{one.class_a.pk}/?date=2026-12-07")
    assert page.locator(".tt-week").evaluate("e => getComputedStyle(e).display") == "grid"
    assert visible(page, "#jour-2026-12-07") and visible(page, "#jour-2026-12-11") and visible(page, ".tt-times")
    # Tuesday 08:00: 5e A's course and the Latin group side by side.
    lanes = page.locator("#jour-2026-12-08 .tt-course").evaluate_all(
        "items => items.slice(0, 2).map(e => Math.round(e.getBoundingClientRect().left))")
    assert lanes[0] != lanes[1]
    first = page.locator("#jour-2026-12-07 .tt-course__link").first
    with page.expect_navigation():
        first.click()
    journey.assert_accessible()
    with page.expect_navigation():
        page.get_by_role("link", name="Modifier ce cours").click()
    journey.assert_accessible()
    page.get_by_label("Motif de l'annulation").fill("Sortie au musée")
    with page.expect_navigation():
        page.get_by_role("button", name="Annuler ce cours").click()
    journey.assert_accessible()
    assert "Cours annulé" in page.get_by_role("status").inner_text()
    assert "Annulé : Sortie au musée" in page.locator("main").inner_text()
    assert CourseChange.objects.get(course=data["courses"][0]).status == "cancelled"
