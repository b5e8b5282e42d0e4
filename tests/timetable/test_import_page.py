"""The timetable import page (/emploi-du-temps/import/): heads, deputies and directors upload an EDT export or a
timetable CSV, read the dry run's report, confirm it; everybody else is refused; runs of other establishments are
out of reach."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from preau.audit.models import AuditEvent
from preau.directory.models import StaffFunction
from preau.directory.testing import make_staff
from preau.imports.models import ImportRun
from preau.timetable.models import Course, Room

from . import test_import_runs as runs
from .fixtures_edt import edt_xml

pytestmark = pytest.mark.django_db

# Shared with the runs' tests: the directory and calendar for the EDT fixtures, running the queued task at once.
edt_world, run_tasks = runs.edt_world, runs.run_tasks
CSV, text = runs.CSV, runs.text

IMPORT = "/emploi-du-temps/import/"
# Constant whatever the runs and rejections: 10 with the person's cached state, 16 when it is cold (another test
# process bumping the shared state generation).
MAX_QUERIES = 16


def edt_upload(**kwargs):
    return SimpleUploadedFile("EDT_0690001A.xml", edt_xml(**kwargs).encode(), content_type="text/xml")


def upload(client, run_tasks, kind="edt", file=None):
    with run_tasks():
        return client.post(IMPORT, {"kind": kind, "file": file or edt_upload()})


def test_the_url_is_the_issues():
    assert reverse("timetable:import") == IMPORT
    assert reverse("timetable:import_run", args=[7]) == IMPORT + "7/"


def test_head_imports_edt_dry_run_then_confirm(client, edt_world, run_tasks, django_assert_max_num_queries):
    world = edt_world
    client.force_login(world.one.head)
    page = text(client.get(IMPORT))
    assert "Importer l'emploi du temps" in page and "Collège Jean Moulin (0690001A)" in page
    assert '<option value="edt">Emploi du temps EDT / Pronote (ExportEmploiDuTemps)</option>' in page
    assert '<option value="timetable-csv">Emploi du temps (CSV)</option>' in page
    assert "Aucun import pour l'instant." in page
    response = upload(client, run_tasks)
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("timetable:import_run", args=[run.pk])
    run.refresh_from_db()
    # The dry run: a report, nothing written.
    assert (run.kind, run.dry_run, run.establishment, run.created_by) == ("edt", True, world.one.establishment,
                                                                           world.one.head)
    assert run.status == ImportRun.Status.PARTIAL
    assert not Course.objects.exists() and not Room.objects.exists()
    with django_assert_max_num_queries(MAX_QUERIES):
        page = text(client.get(response["Location"]))
    assert f"Simulation n° {run.pk}" in page and "Simulation : rien n'a été enregistré." in page
    assert '<th scope="row">Cours</th><td>4</td>' in page and '<th scope="row">Salles</th><td>2</td>' in page
    assert "Enseignant « Jean INCONNU » non trouvé" in page
    confirm = reverse("timetable:import_confirm", args=[run.pk])
    assert f'action="{confirm}"' in page and "Confirmer l'import" in page
    assert reverse("timetable:import_rejections", args=[run.pk]) in page and "/admin/" not in page
    # Confirmed: the same file, imported for good.
    with run_tasks():
        response = client.post(confirm)
    new = ImportRun.objects.exclude(pk=run.pk).get()
    assert response.status_code == 302 and response["Location"] == reverse("timetable:import_run", args=[new.pk])
    new.refresh_from_db()
    assert (new.dry_run, new.confirms, new.status) == (False, run, ImportRun.Status.PARTIAL)
    assert Course.objects.filter(establishment=world.one.establishment, source="edt").count() == 4
    assert AuditEvent.objects.filter(action="directory_import", actor=world.one.head, details__step="confirm",
                                     details__run=new.pk).exists()
    page = text(client.get(response["Location"]))
    assert "Import enregistré." in page and "Confirmer l'import" not in page
    # Once only.
    response = client.post(confirm, follow=True)
    assert "Cette simulation a déjà été confirmée." in text(response) and ImportRun.objects.count() == 2
    # The list: both runs, newest first.
    with django_assert_max_num_queries(MAX_QUERIES):
        page = text(client.get(IMPORT))
    assert page.index(reverse("timetable:import_run", args=[new.pk])) < page.index(
        reverse("timetable:import_run", args=[run.pk]))
    ImportRun.objects.bulk_create([ImportRun(kind="timetable-csv", establishment=world.one.establishment,
                                             created_by=make_staff(world.one.establishment, StaffFunction.DEPUTY)
                                             if index % 10 == 0 else world.one.head, status="failed")
                                   for index in range(40)])
    with django_assert_max_num_queries(MAX_QUERIES):
        page = text(client.get(IMPORT))
    assert page.count(f'href="{IMPORT}') >= 30  # a full page of runs, the same queries
    # The rejections as CSV.
    response = client.get(reverse("timetable:import_rejections", args=[run.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "Jean INCONNU" in b"".join(response.streaming_content).decode("utf-8-sig")


def test_timetable_csv_and_deputy_and_director(client, edt_world, run_tasks):
    world = edt_world
    for function in (StaffFunction.DEPUTY, StaffFunction.DIRECTOR):
        client.force_login(make_staff(world.one.establishment, function))
        response = upload(client, run_tasks, "timetable-csv",
                          SimpleUploadedFile("edt.csv", CSV.encode(), content_type="text/csv"))
        assert response.status_code == 302
    runs = ImportRun.objects.all()
    assert [(r.kind, r.dry_run, r.status) for r in runs] == [("timetable-csv", True, "succeeded")] * 2
    assert not Course.objects.exists()


def test_the_page_is_the_timetable_managers(client, edt_world, run_tasks):
    world = edt_world
    for user in (world.one.teacher_a, world.one.cpe, world.one.secretary, world.one.nurse, world.one.pupil_a,
                 world.one.mother_b):
        client.force_login(user)
        assert client.get(IMPORT).status_code == 403, user
        assert upload(client, run_tasks).status_code == 403, user
    assert not ImportRun.objects.exists()
    client.force_login(world.one.head)
    upload(client, run_tasks)
    run = ImportRun.objects.get()
    directory_run = ImportRun.objects.create(kind="csv", establishment=world.one.establishment, dry_run=True,
                                             status="succeeded")
    # Another establishment's head: their own page, never this establishment's runs (404, as for a missing one).
    client.force_login(world.two.head)
    page = text(client.get(IMPORT))
    assert "Collège Victor Hugo" in page and reverse("timetable:import_run", args=[run.pk]) not in page
    for url in (reverse("timetable:import_run", args=[run.pk]), reverse("timetable:import_rejections", args=[run.pk]),
                reverse("timetable:import_run", args=[99999])):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("timetable:import_confirm", args=[run.pk])).status_code == 404
    # A teacher or CPE of the establishment: a run page is not theirs either.
    for user in (world.one.teacher_a, world.one.cpe):
        client.force_login(user)
        assert client.get(reverse("timetable:import_run", args=[run.pk])).status_code == 404
    # The ENT admin sees the timetable runs here, never the directory runs.
    client.force_login(world.one.ent_admin)
    assert client.get(reverse("timetable:import_run", args=[run.pk])).status_code == 200
    assert client.get(reverse("timetable:import_run", args=[directory_run.pk])).status_code == 404
    assert client.post(reverse("timetable:import_confirm", args=[directory_run.pk])).status_code == 404
    assert ImportRun.objects.count() == 2 and not Course.objects.exists()


def test_upload_checks_size_type_and_content(client, edt_world, run_tasks, settings):
    world = edt_world
    client.force_login(world.one.head)
    cases = [
        ("edt", SimpleUploadedFile("edt.csv", CSV.encode()), "extension non acceptée pour ce type d'import"),
        ("timetable-csv", SimpleUploadedFile("edt.xml", edt_xml().encode()),
         "extension non acceptée pour ce type d'import"),
        ("edt", SimpleUploadedFile("edt.xml", b"jour;debut\nlundi;08:00\n"), "n'est pas un document XML"),
        ("timetable-csv", SimpleUploadedFile("edt.csv", b"PK\x03\x04\x14\x00\x06\x00 classeur"),
         "n'est pas un fichier texte"),
        ("timetable-csv", SimpleUploadedFile("edt.csv", b"\x00\x01\x02 binaire"), "n'est pas un fichier texte"),
        ("timetable-csv", SimpleUploadedFile("edt.csv", b""), "Le fichier soumis est vide."),
        ("edt", SimpleUploadedFile("edt.xml", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "n'est pas un document XML"),
        ("aaf", SimpleUploadedFile("edt.xml", edt_xml().encode()), "Sélectionnez un choix valide."),
    ]
    for kind, file, message in cases:
        response = upload(client, run_tasks, kind, file)
        assert response.status_code == 400 and message in text(response), (kind, message, text(response)[-3000:])
    assert not ImportRun.objects.exists()
    # A CSV in UTF-16 (with its BOM: NUL bytes, yet text) passes.
    response = upload(client, run_tasks, "timetable-csv", SimpleUploadedFile("edt.csv", CSV.encode("utf-16")))
    assert response.status_code == 302 and ImportRun.objects.get().status == ImportRun.Status.SUCCEEDED
    ImportRun.objects.all().delete()
    settings.PREAU_IMPORT_MAX_BYTES = 100
    response = upload(client, run_tasks)
    assert response.status_code == 400 and "au-delà de la limite de 100" in text(response)
    assert not ImportRun.objects.exists()


def test_another_establishments_export_is_refused_in_the_report(client, edt_world, run_tasks):
    world = edt_world
    client.force_login(world.one.head)
    response = upload(client, run_tasks, file=edt_upload(uai="0690002B"))
    run = ImportRun.objects.get()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and not Course.objects.exists()
    page = text(client.get(response["Location"]))
    assert "Ce fichier est celui de l'établissement 0690002B, pas de Collège Jean Moulin (0690001A)" in page
    assert "Confirmer l'import" not in page
    assert "Cette simulation n'a rien pu importer" in page


def test_courses_page_links_to_the_import(client, edt_world):
    client.force_login(edt_world.one.head)
    assert f'href="{IMPORT}"' in client.get(reverse("timetable:courses")).content.decode()
