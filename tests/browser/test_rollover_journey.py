"""Journey: an ENT admin passes to the next school year (bascule), then reads the archived year's classes."""

from __future__ import annotations

import pytest

from preau.directory.models import SchoolYear
from preau.directory.testing import TEST_PASSWORD

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser


def test_rollover_journey_confirm_archive_and_read_the_history(journey, world):
    one = world.one
    e = one.establishment.pk
    journey.login(one.ent_admin.username, TEST_PASSWORD)
    journey.visit(f"/admin/etablissements/{e}/annees/")
    page = journey.page
    with page.expect_navigation():
        page.get_by_role("link", name="Passer à l'année suivante (bascule)").click()
    journey.assert_accessible()
    assert page.get_by_label("Libellé de la nouvelle année").input_value() == "2027-2028"
    assert page.get_by_label("Trimestres").is_checked()

    # Without the confirmation: the error is announced and tied to the checkbox; nothing happens.
    with page.expect_navigation():
        page.get_by_role("button", name="Archiver 2026-2027 et ouvrir la nouvelle année").click()
    journey.assert_accessible()
    assert "Cochez cette case pour confirmer la bascule." in page.get_by_role("alert").inner_text()
    confirm = page.get_by_role("checkbox", name="J'ai compris que l'année 2026-2027 sera archivée", exact=False)
    assert confirm.get_attribute("aria-invalid") == "true"
    assert SchoolYear.objects.get(pk=one.year.pk).is_current

    page.get_by_label("Semestres").check()
    page.get_by_label("Recopier les classes et les groupes dans la nouvelle année").check()
    confirm.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Archiver 2026-2027 et ouvrir la nouvelle année").click()
    journey.assert_accessible()
    assert "L'année 2026-2027 est archivée ; 2027-2028 est l'année en cours." in page.locator("main").inner_text()
    assert "Semestre 2" in page.locator("main").inner_text()

    # The archived year's classes are still there, read-only.
    with page.expect_navigation():
        page.get_by_role("link", name="Classes de 2026-2027").click()
    journey.assert_accessible()
    assert "archivée" in page.get_by_role("heading", level=1).inner_text()
    with page.expect_navigation():
        page.get_by_role("link", name="5e B").click()
    journey.assert_accessible()
    assert page.get_by_role("link", name="Modifier").count() == 0
    assert "Martin Léa" in page.locator("main").inner_text()
