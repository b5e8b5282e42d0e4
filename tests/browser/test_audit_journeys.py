"""Journeys: the administrators' journal, "who read my data", and the profile's recent activity."""

from __future__ import annotations

import pytest

from preau.audit.services import record_sensitive_read
from preau.directory.testing import TEST_PASSWORD

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser


def test_journal_ent_admin_sees_logins_and_filters_by_person(journey, world):
    one = world.one
    journey.login(one.pupil_b.username, TEST_PASSWORD)
    journey.logout()
    journey.login(one.ent_admin.username, TEST_PASSWORD)
    journey.visit("/journal/")
    page = journey.page
    assert page.get_by_role("heading", level=1).inner_text().strip()
    assert page.locator("main table tbody tr").count() >= 2
    journey.visit(f"/journal/?personne={one.pupil_b.pk}")
    rows = page.locator("main table tbody tr").all_inner_texts()
    assert rows and all(one.pupil_b.last_name in row for row in rows)
    assert journey.visit(f"/journal/?personne={world.two.pupil_b.pk}", check=False).status == 404


def test_who_read_my_data_guardian_sees_reads_about_her_child_and_profile_activity(journey, world):
    one = world.one
    record_sensitive_read(actor=one.cpe, subject=one.pupil_b, target="directory.contact")
    journey.login(one.mother_b.username, TEST_PASSWORD)
    journey.visit("/journal/moi/")
    text = journey.page.locator("main").inner_text()
    assert one.cpe.last_name in text and one.pupil_b.first_name in text
    journey.visit("/compte/profil/")
    assert "Activité récente" in journey.page.locator("main").inner_text()


def test_journal_teacher_is_refused(journey, world):
    journey.login(world.one.teacher_b.username, TEST_PASSWORD)
    assert journey.visit("/journal/", check=False).status == 403
