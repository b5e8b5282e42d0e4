"""Journey on a phone: Léa's mother justifies an absence with a PDF certificate, the CPE accepts it from the queue,
the mother sees it justified; the CPE's discipline pages (incident, punishment, exemption, exit regime forms).
Every page passes axe-core."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from preau.attendance import services
from preau.attendance.models import AttendanceRecord, Justification
from preau.directory.models import Period
from preau.directory.testing import TEST_PASSWORD

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def shown_period_day(school) -> datetime.date:
    """A day inside the period the family page shows by default (the one holding today, else the nearest), so that
    the journey does not depend on the date it runs."""
    periods = list(Period.objects.filter(school_year=school.year).order_by("index"))
    today = timezone.localdate()
    period = next((p for p in periods if p.start <= today <= p.end),
                  periods[-1] if today > periods[-1].end else periods[0])
    return period.start + datetime.timedelta(days=1)


def test_a_mother_justifies_on_her_phone_and_the_cpe_accepts(phone_journey, world, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(tmp_path)}}}
    one = world.one
    day = shown_period_day(one)
    tz = timezone.get_current_timezone()
    record = services.record_absence(
        pupil=one.pupil_b, by=one.cpe, starts_at=datetime.datetime.combine(day, datetime.time(8), tzinfo=tz),
        ends_at=datetime.datetime.combine(day, datetime.time(10), tzinfo=tz))
    incident = services.report_incident(establishment_id=one.establishment.pk, by=one.teacher_b, facts="Chahut.",
                                        occurred_at=timezone.now() - datetime.timedelta(hours=1), pupils=[one.pupil_b])
    services.set_punishment(pupil=one.pupil_b, kind="extra_work", reason="Chahut en cours.", by=one.teacher_b,
                            incident=incident, work="Exercices 3 et 4 page 52")
    services.record_exemption(pupil=one.pupil_b, first_day=day, last_day=day + datetime.timedelta(days=14),
                              by=one.cpe, subject=one.subject, comment="Entorse")
    certificate = tmp_path / "certificat.pdf"
    certificate.write_bytes(PDF)
    page = phone_journey.page

    phone_journey.login(one.mother_b.username, TEST_PASSWORD)
    phone_journey.visit("/")
    with page.expect_navigation():
        page.get_by_role("link", name="Absences et vie scolaire").first.click()
    phone_journey.assert_accessible()
    row = page.locator("tr[id^='absence-']")
    assert "Non justifiée" in row.inner_text()
    assert "Exercices 3 et 4 page 52" in page.get_by_role("article", name="Devoir supplémentaire").inner_text()
    assert "Entorse" in page.get_by_role("article", name="Dispense de Mathématiques").inner_text()
    with page.expect_navigation():
        page.get_by_role("link", name="Justifier des absences").click()
    phone_journey.assert_accessible()
    page.get_by_role("checkbox").first.check()
    page.get_by_label("Motif").select_option(label="Maladie")
    page.get_by_label("Commentaire").fill("Fièvre, certificat joint.")
    page.get_by_label("Justificatif").set_input_files(str(certificate))
    with page.expect_navigation():
        page.get_by_role("button", name="Envoyer la justification").click()
    phone_journey.assert_accessible()
    assert "Justification envoyée" in page.get_by_role("status").inner_text()
    assert "À examiner" in page.locator("tr[id^='absence-']").inner_text()
    phone_journey.logout()

    phone_journey.login(one.cpe.username, TEST_PASSWORD)
    phone_journey.visit("/vie-scolaire/justifications/")
    item = page.get_by_role("article", name="Léa Martin")
    assert "Fièvre, certificat joint." in item.inner_text()
    assert item.get_by_role("link", name="certificat.pdf").count() == 1
    with page.expect_navigation():
        item.get_by_role("button", name="Accepter").click()
    phone_journey.assert_accessible()
    assert "Justification acceptée" in page.get_by_role("status").inner_text()
    assert Justification.objects.get().state == Justification.State.ACCEPTED
    record.refresh_from_db()
    assert record.state == AttendanceRecord.State.JUSTIFIED

    for path in ("/vie-scolaire/incidents/nouveau/", "/vie-scolaire/punitions/nouvelle/",
                 "/vie-scolaire/dispenses/nouvelle/", f"/vie-scolaire/regime-de-sortie/{one.pupil_b.pk}/",
                 "/vie-scolaire/incidents/", "/vie-scolaire/punitions/", "/vie-scolaire/dispenses/"):
        phone_journey.visit(path)
    phone_journey.logout()

    phone_journey.login(one.mother_b.username, TEST_PASSWORD)
    phone_journey.visit(f"/vie-scolaire/famille/{one.pupil_b.pk}/")
    assert "Justifiée" in page.locator("tr[id^='absence-']").inner_text()
    assert page.get_by_role("link", name="Justifier des absences").count() == 0
