"""Journey on a phone (attfix2): Léa's mother announces an absence to come; the CPE sees the follow-up threshold
(4 unjustified half-days in a month) on the dashboard's month page, moves and deactivates a reason, edits a record.
Every page passes axe-core."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from preau.attendance import services
from preau.attendance.models import AbsenceReason, AttendanceRecord
from preau.directory.testing import TEST_PASSWORD

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser


def test_announce_threshold_reasons_and_record_edit_on_a_phone(phone_journey, world):
    one = world.one
    tz = timezone.get_current_timezone()
    # Léa missed Monday 5 to Wednesday 7 October 2026 mornings without justification: 2 + 1 + 1 half-days.
    for day, end in ((5, 17), (6, 12), (7, 12)):
        services.record_absence(pupil=one.pupil_b, by=one.cpe,
                                starts_at=datetime.datetime(2026, 10, day, 8, tzinfo=tz),
                                ends_at=datetime.datetime(2026, 10, day, end, tzinfo=tz))
    page = phone_journey.page

    phone_journey.login(one.mother_b.username, TEST_PASSWORD)
    phone_journey.visit(f"/vie-scolaire/famille/{one.pupil_b.pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Signaler une absence").click()
    phone_journey.assert_accessible()
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    page.get_by_label("Absent à partir du").fill(f"{tomorrow.isoformat()}T14:00")
    page.get_by_label("Jusqu'au").fill(f"{tomorrow.isoformat()}T16:00")
    page.get_by_label("Motif").select_option(label="Rendez-vous médical")
    with page.expect_navigation():
        page.get_by_role("button", name="Signaler l'absence").click()
    phone_journey.assert_accessible()
    assert "Absence signalée" in page.get_by_role("status").inner_text()
    assert AttendanceRecord.objects.filter(pupil=one.pupil_b, source="family", state="pending").exists()
    phone_journey.logout()

    phone_journey.login(one.cpe.username, TEST_PASSWORD)
    phone_journey.visit("/vie-scolaire/")
    phone_journey.assert_accessible()
    phone_journey.visit("/vie-scolaire/suivi/?mois=2026-10")
    phone_journey.assert_accessible()
    assert "Martin Léa" in page.get_by_role("table").inner_text()

    with page.expect_navigation():
        page.get_by_role("link", name="Vie scolaire").first.click()
    with page.expect_navigation():
        page.get_by_role("link", name="Motifs d'absence").click()
    phone_journey.assert_accessible()
    with page.expect_navigation():
        page.get_by_role("button", name="Descendre Maladie").click()
    order = list(AbsenceReason.objects.filter(establishment=one.establishment).order_by("position", "label")
                 .values_list("code", flat=True))
    assert order[:2] == ["RDV", "MAL"]
    with page.expect_navigation():
        page.get_by_role("button", name="Désactiver Autre").click()
    phone_journey.assert_accessible()
    assert not AbsenceReason.objects.get(establishment=one.establishment, code="AUT").is_active

    record = AttendanceRecord.objects.filter(pupil=one.pupil_b, source="vie_scolaire").order_by("starts_at").first()
    phone_journey.visit(f"/vie-scolaire/eleve/{one.pupil_b.pk}/?periode=1")
    with page.expect_navigation():
        page.locator(f"a[href='/vie-scolaire/absences/{record.pk}/modifier/']").click()
    phone_journey.assert_accessible()
    page.get_by_label("Motif").select_option(label="Maladie")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer").click()
    record.refresh_from_db()
    assert record.state == "justified" and record.reason.code == "MAL"
