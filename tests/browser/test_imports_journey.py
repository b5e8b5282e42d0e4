"""Journeys: a global admin uploads a small AAF export, reads the simulation's report, confirms it, and reaches the
activation codes of a class; a running import's page follows its progress by itself; phone layout of the list."""

from __future__ import annotations

import pytest

from preau.directory.testing import TEST_PASSWORD
from preau.imports.models import ImportRun

from .support import SKIP_REASON

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

from tests.imports.test_aaf import school_files  # noqa: E402 - after the skip, like the other journeys

pytestmark = pytest.mark.browser


def submit(journey, name: str):
    page = journey.page
    with page.expect_navigation():
        page.get_by_role("button", name=name).click()
    journey.assert_accessible()


def test_imports_global_admin_simulates_confirms_and_prints_codes(journey, world, tmp_path):
    journey.login(world.global_admin.username, TEST_PASSWORD)
    page = journey.page
    journey.visit("/admin/")
    with page.expect_navigation():
        page.get_by_role("link", name="Imports de l'annuaire (AAF et autres)").click()
    journey.assert_accessible()
    assert page.get_by_role("heading", level=1).inner_text() == "Imports de l'annuaire"
    assert "Aucun import pour l'instant." in page.locator("main table").inner_text()
    with page.expect_navigation():
        page.get_by_role("link", name="Nouvel import").click()
    journey.assert_accessible()

    # The form: AAF, no establishment (the files name theirs), the six files, simulation ticked by default.
    page.get_by_label("Type de fichiers").select_option("aaf")
    page.locator("input[type=file][name=files]").set_input_files([str(path) for path in school_files(tmp_path)])
    assert page.get_by_label("Simulation d'abord").is_checked()
    submit(journey, "Lancer")

    run = ImportRun.objects.get()
    assert journey.path == f"/admin/imports/{run.pk}/"
    assert page.get_by_role("heading", level=1).inner_text() == f"Simulation n° {run.pk}"
    assert page.get_by_text("Simulation lancée.").is_visible()
    assert page.get_by_text("Simulation : rien n'a été enregistré. Voici ce que l'import ferait.").is_visible()
    counts = page.get_by_role("table", name="Décomptes par type d'enregistrement")
    assert counts.get_by_role("row", name="Élèves").inner_text().split() == ["Élèves", "2", "0", "0", "0", "0"]
    assert page.get_by_role("heading", name="0 rejets").is_visible()

    submit(journey, "Confirmer l'import")
    real = ImportRun.objects.get(confirms=run)
    assert journey.path == f"/admin/imports/{real.pk}/"
    assert page.get_by_text("Import confirmé : il est lancé avec les fichiers de la simulation.").is_visible()
    assert page.get_by_test_id("run-status").inner_text() == "Terminé"
    assert page.get_by_text("Import enregistré.").is_visible()
    assert page.get_by_role("button", name="Confirmer l'import").count() == 0

    with page.expect_navigation():
        page.get_by_role("link", name="Codes de la classe 5B (CLG JEAN MOULIN)").click()
    journey.assert_accessible()
    assert page.get_by_role("heading", level=1).inner_text() == "Codes d'activation de la classe 5B"


def test_imports_running_page_follows_progress_then_shows_the_report(journey, world):
    one = world.one.establishment
    run = ImportRun.objects.create(kind="csv", establishment=one, status=ImportRun.Status.RUNNING,
                                   files=["eleves.csv"], created_by=world.one.ent_admin, records_done=500,
                                   current_file="eleves.csv")
    journey.login(world.one.ent_admin.username, TEST_PASSWORD)
    journey.visit(f"/admin/imports/{run.pk}/")
    page = journey.page
    progress = page.get_by_test_id("import-progress")
    assert progress.get_by_role("heading", name="Progression").is_visible()
    assert progress.locator("[data-records]").inner_text() == "500"
    ImportRun.objects.filter(pk=run.pk).update(records_done=1500)
    page.wait_for_function("() => document.querySelector('[data-records]').textContent.replace(/\\s/g, '') "
                           "=== '1500'")

    from django.utils import timezone

    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.SUCCEEDED, finished_at=timezone.now(),
        counts={"pupils": {"created": 2, "updated": 0, "deactivated": 0, "unchanged": 0, "leaving": 0}})
    page.get_by_role("heading", name="Compte rendu").wait_for()
    journey.assert_accessible()
    assert page.get_by_test_id("import-progress").count() == 0
    assert page.get_by_test_id("run-status").inner_text() == "Terminé"


def test_imports_list_and_report_on_a_phone(phone_journey, world):
    from django.utils import timezone

    from preau.imports.models import ImportRejection

    name = "ENT_0690001A_Complet_20260901_PersRelEleve_0000_avec_un_nom_tres_long.xml"
    run = ImportRun.objects.create(
        kind="csv", establishment=world.one.establishment, status="partial", created_by=world.one.ent_admin,
        rejection_count=1, files=[name], finished_at=timezone.now(),
        counts={"pupils": {"created": 2, "updated": 1, "deactivated": 0, "unchanged": 5, "leaving": 1}})
    ImportRejection.objects.create(run=run, file=name, record=12, attribute="ENTEleveMEF",
                                   reason="MEF inconnu « 10110001110 » ; valeur ignorée.")
    phone_journey.login(world.one.ent_admin.username, TEST_PASSWORD)
    phone_journey.visit(f"/admin/imports/?etablissement={world.one.establishment.pk}")
    page = phone_journey.page
    assert page.get_by_role("link", name="Nouvel import").is_visible()
    row = page.locator("main table tbody tr").first
    assert "Terminé avec des rejets" in row.inner_text()
    # The table scrolls inside its frame: the page itself does not overflow sideways.
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")

    # The report: long file names wrap, the tables scroll inside their (keyboard-reachable) frames.
    phone_journey.visit(f"/admin/imports/{run.pk}/")
    assert page.get_by_role("heading", name="1 rejet").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
