"""Journey: a teacher takes the roll of a course on a phone (390×844): opens it from "Mes appels", marks one pupil
absent and one late 10 minutes in a few taps, saves, sees the confirmation with the counts; the records exist.
The same roll works without JavaScript. Every page passes axe-core."""

from __future__ import annotations

import pytest
import time_machine

from preau.attendance.models import AttendanceRecord, RollCall
from preau.directory.testing import TEST_PASSWORD, make_pupil

from .support import SKIP_REASON, Journey

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser


@pytest.fixture
def roll_world(world):
    from tests.attendance.fixtures_pages import MONDAY, at, make_course_a

    one = world.one
    course = make_course_a(one)  # Mondays 10:00-11:00, 5e A, teacher_a
    late = make_pupil(one.class_a, username="late_pupil", first_name="Jules", last_name="Abel")
    present = make_pupil(one.class_a, username="present_pupil", first_name="Inès", last_name="Zola")
    with time_machine.travel(at(MONDAY, 10, 5), tick=True):
        yield {"course": course, "absent": one.pupil_a, "late": late, "present": present, "day": MONDAY}


def group_of(page, pupil):
    return page.get_by_role("group", name=f"{pupil.last_name} {pupil.first_name}")


def test_roll_call_on_a_phone_in_a_few_taps(phone_journey, world, roll_world):
    one = world.one
    page = phone_journey.page
    assert page.viewport_size == {"width": 390, "height": 844}
    phone_journey.login(one.teacher_a.username, TEST_PASSWORD)
    phone_journey.visit("/vie-scolaire/appels/")
    assert "À faire" in page.locator("main").inner_text()
    with page.expect_navigation():
        page.get_by_role("link", name="Faire l'appel").first.click()
    phone_journey.assert_accessible()
    assert page.get_by_role("heading", level=1).inner_text() == "Appel — Mathématiques"
    counts = page.get_by_test_id("roll-counts")
    assert "3 présents, 0 absent, 0 en retard." in counts.inner_text()

    absent, late = group_of(page, roll_world["absent"]), group_of(page, roll_world["late"])
    # Big touch targets, and the minutes field only for a late pupil.
    box = absent.locator("label", has_text="Absent").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    assert not late.get_by_role("spinbutton").is_visible()
    absent.locator("label", has_text="Absent").tap()
    late.locator("label", has_text="En retard").tap()  # the minutes appear, with quick buttons
    assert late.get_by_role("spinbutton").is_visible()
    late.get_by_role("button", name="10 minutes de retard").tap()
    assert late.get_by_role("radio", name="En retard").is_checked()
    assert late.get_by_role("spinbutton").input_value() == "10"
    assert "1 présent, 1 absent, 1 en retard." in counts.inner_text()
    phone_journey.assert_accessible()

    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer l'appel").tap()
    phone_journey.assert_accessible()
    assert "Appel enregistré : 1 présent, 1 absent, 1 en retard." in page.get_by_role("status").inner_text()
    assert "Appel fait" in page.locator("main").inner_text()
    assert group_of(page, roll_world["absent"]).get_by_role("radio", name="Absent").is_checked()

    roll = RollCall.objects.get(course=roll_world["course"], date=roll_world["day"])
    assert roll.taken_by_id == one.teacher_a.pk
    records = {r.pupil_id: r for r in AttendanceRecord.objects.filter(roll_call=roll)}
    assert set(records) == {roll_world["absent"].pk, roll_world["late"].pk}
    assert records[roll_world["absent"].pk].kind == "absence"
    assert records[roll_world["late"].pk].kind == "late" and records[roll_world["late"].pk].late_minutes == 10

    # A late pupil without minutes: refused in French, nothing changes.
    present = group_of(page, roll_world["present"])
    present.locator("label", has_text="En retard").tap()
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer les modifications").tap()
    phone_journey.assert_accessible()
    alert = page.get_by_role("alert")
    assert "L'appel n'est pas enregistré" in alert.inner_text()
    assert "Indiquez les minutes de retard." in alert.inner_text()
    assert AttendanceRecord.objects.filter(roll_call=roll).count() == 2

    phone_journey.visit("/vie-scolaire/appels/")
    assert "Fait" in page.locator("main").inner_text()


def test_roll_call_without_javascript(chromium, live_server, world, roll_world):
    one = world.one
    context = chromium.new_context(locale="fr-FR", timezone_id="Europe/Paris", bypass_csp=True,
                                   java_script_enabled=False, viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    try:
        journey = Journey(context.new_page(), live_server.url)
        page = journey.page
        journey.login(one.teacher_a.username, TEST_PASSWORD, check=False)
        course = roll_world["course"]
        page.goto(journey.url(f"/vie-scolaire/appel/{course.pk}/{roll_world['day'].isoformat()}/"))
        late = group_of(page, roll_world["late"])
        late.locator("label", has_text="En retard").click()
        late.get_by_label(f"Minutes de retard de {roll_world['late'].full_name}").fill("7")
        with page.expect_navigation():
            page.get_by_role("button", name="Enregistrer l'appel").click()
        assert "Appel enregistré : 2 présents, 0 absent, 1 en retard." in page.get_by_role("status").inner_text()
        record = AttendanceRecord.objects.get(pupil=roll_world["late"])
        assert record.kind == "late" and record.late_minutes == 7
    finally:
        context.close()
