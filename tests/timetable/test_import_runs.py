"""Timetable imports as import runs: the command line, the administration upload page, the API, who may run them
and see them."""

import html
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.http import Http404
from django.test import Client
from django.urls import reverse

from preau.access import policy
from preau.api import services as api_services
from preau.audit.models import AuditEvent
from preau.directory.models import Establishment
from preau.imports import selectors, services
from preau.imports.models import ImportRun
from preau.timetable.models import Course

from .fixtures_edt import edt_xml, prepare_directory, setup_calendar, write

pytestmark = pytest.mark.django_db

NEW = "/admin/imports/nouveau/"
CSV = "jour;début;fin;matière;classes\nlundi;08:00;09:00;MATH;5A\n"


@pytest.fixture
def edt_world(world):
    prepare_directory(world)
    setup_calendar(world.one)
    return world


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def command(*args) -> str:
    out = StringIO()
    call_command("import", *args, stdout=out)
    return out.getvalue()


def test_cli_edt_dry_run_then_real(edt_world, tmp_path):
    path = write(tmp_path, edt_xml())
    out = command("edt", str(path), "--dry-run")
    assert "Simulation : rien n'a été enregistré." in out and "Cours : 4 créés" in out
    assert "Salles : 2 créés" in out and "Enseignant « Jean INCONNU » non trouvé" in out
    assert not Course.objects.exists()
    out = command("edt", str(path), "--uai", "0690001A")
    assert "Import enregistré." in out and "Cours : 4 créés" in out
    assert Course.objects.filter(source="edt").count() == 4
    run = ImportRun.objects.filter(dry_run=False).get()
    assert run.kind == "edt" and run.status == ImportRun.Status.PARTIAL and run.rejection_count > 0
    assert AuditEvent.objects.filter(action="directory_import", details__run=run.pk,
                                     details__kind="edt").exists()
    out = command("edt", str(path))
    assert "Cours : 0 créés, 0 mis à jour, 0 désactivés, 4 inchangés" in out


def test_cli_edt_refusals(edt_world, tmp_path):
    path = write(tmp_path, edt_xml())
    with pytest.raises(CommandError, match="UAI « 0000000X »"):
        command("edt", str(path), "--uai", "0000000X")
    with pytest.raises(CommandError, match="Rien n'a pu être importé"):
        command("edt", str(path), "--uai", "0690002B")  # the file is another establishment's
    with pytest.raises(CommandError, match="Rien n'a pu être importé"):
        command("edt", str(write(tmp_path, "<pas du xml", "bad.xml")))


def test_cli_timetable_csv_needs_the_establishment(edt_world, tmp_path):
    path = tmp_path / "edt.csv"
    path.write_text(CSV, encoding="utf-8")
    with pytest.raises(CommandError, match="Préau en compte plusieurs : précisez-le avec --uai UAI"):
        command("timetable-csv", str(path))  # two active establishments, the file names none
    assert not ImportRun.objects.exists()
    out = command("timetable-csv", str(path), "--uai", "0690001A", "--dry-run")
    assert "Cours : 1 créés" in out and not Course.objects.exists()
    out = command("timetable-csv", str(path), "--uai", "0690001A")
    assert Course.objects.filter(source="csv").count() == 1


def test_cli_without_uai_single_active_establishment(edt_world, tmp_path):
    """As the issue writes it: `preau import timetable-csv FILE [--dry-run]`, `preau import edt FILE [--dry-run]`."""
    world = edt_world
    Establishment.objects.filter(pk=world.two.establishment.pk).update(is_active=False)
    path = tmp_path / "edt.csv"
    path.write_text(CSV, encoding="utf-8")
    out = command("timetable-csv", str(path), "--dry-run")
    assert "Simulation : rien n'a été enregistré." in out and "Cours : 1 créés" in out
    assert not Course.objects.exists()
    command("timetable-csv", str(path))
    assert Course.objects.filter(source="csv", establishment=world.one.establishment).count() == 1
    assert ImportRun.objects.filter(dry_run=False).get().establishment == world.one.establishment
    # An EDT export without its UAI goes to the only active establishment too.
    edt = write(tmp_path, edt_xml(uai=""))
    out = command("edt", str(edt), "--dry-run")
    assert "Cours : 4 créés" in out and not Course.objects.filter(source="edt").exists()
    command("edt", str(edt))
    assert Course.objects.filter(source="edt", establishment=world.one.establishment).count() == 4


def test_cli_without_uai_the_file_names_the_establishment(edt_world, tmp_path):
    world = edt_world  # two active establishments: the file decides
    out = command("edt", str(write(tmp_path, edt_xml())), "--dry-run")
    assert "Cours : 4 créés" in out
    with pytest.raises(CommandError, match="précisez-le avec --uai UAI \\(ou l'export EDT donne son UAI\\)"):
        command("edt", str(write(tmp_path, edt_xml(uai=""), "sans-uai.xml")), "--dry-run")
    path = tmp_path / "edt.csv"
    path.write_text("uai;jour;début;fin;matière;classes\n0690001a;lundi;08:00;09:00;MATH;5A\n"
                    ";mardi;08:00;09:00;MATH;5A\n", encoding="utf-8")
    command("timetable-csv", str(path))
    assert Course.objects.filter(source="csv", establishment=world.one.establishment).count() == 2
    assert ImportRun.objects.get(kind="timetable-csv").establishment is None
    # --uai still works, and must agree with the column.
    out = command("timetable-csv", str(path), "--uai", "0690001A")
    assert "Cours : 0 créés, 0 mis à jour, 0 désactivés, 2 inchangés" in out
    with pytest.raises(CommandError, match="Rien n'a pu être importé"):
        command("timetable-csv", str(path), "--uai", "0690002B")
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("uai;jour;début;fin;classes\n0690001A;lundi;08:00;09:00;5A\n0690002B;lundi;08:00;09:00;5A\n",
                     encoding="utf-8")
    out = StringIO()
    with pytest.raises(CommandError, match="Rien n'a pu être importé"):
        call_command("import", "timetable-csv", str(mixed), stdout=out)
    assert "plusieurs établissements (colonne uai : 0690001A, 0690002B)" in out.getvalue()


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_admin_page_upload_edt_simulate_then_confirm(client, edt_world, run_tasks):
    world = edt_world
    client.force_login(world.one.ent_admin)
    page = text(client.get(NEW))
    assert '<option value="edt">Emploi du temps EDT / Pronote (ExportEmploiDuTemps)</option>' in page
    assert '<option value="timetable-csv">Emploi du temps (CSV)</option>' in page
    upload = SimpleUploadedFile("EDT_0690001A.xml", edt_xml().encode(), content_type="text/xml")
    with run_tasks():
        response = client.post(NEW, {"kind": "edt", "establishment": world.one.establishment.pk, "dry_run": "on",
                                     "files": [upload]})
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("imports:run_detail", args=[run.pk])
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PARTIAL and run.dry_run and not Course.objects.exists()
    page = text(client.get(response["Location"]))
    assert '<th scope="row">Cours</th><td>4</td>' in page and '<th scope="row">Salles</th><td>2</td>' in page
    assert "Enseignant « Jean INCONNU » non trouvé" in page and "Confirmer l'import" in page
    with run_tasks():
        response = client.post(reverse("imports:run_confirm", args=[run.pk]))
    confirmed = ImportRun.objects.exclude(pk=run.pk).get()
    confirmed.refresh_from_db()
    assert confirmed.status == ImportRun.Status.PARTIAL and not confirmed.dry_run
    assert Course.objects.filter(establishment=world.one.establishment, source="edt").count() == 4


def test_admin_page_refuses_wrong_extension_and_other_establishment(client, edt_world):
    world = edt_world
    client.force_login(world.one.ent_admin)
    upload = SimpleUploadedFile("edt.csv", b"jour\n", content_type="text/csv")
    response = client.post(NEW, {"kind": "edt", "establishment": world.one.establishment.pk, "files": [upload]})
    assert response.status_code == 400 and "extension non acceptée pour ce type d'import" in text(response)
    upload = SimpleUploadedFile("edt.xml", edt_xml().encode(), content_type="text/xml")
    response = client.post(NEW, {"kind": "edt", "establishment": world.two.establishment.pk, "files": [upload]})
    assert response.status_code == 400 and not ImportRun.objects.exists()


def test_api_starts_a_timetable_csv_import(edt_world, run_tasks):
    world = edt_world
    _token, clear = api_services.api_token_create(actor=policy.actor_for(world.one.ent_admin), name="EDT")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {clear}")
    upload = SimpleUploadedFile("edt.csv", CSV.encode(), content_type="text/csv")
    with run_tasks():
        response = client.post("/api/v1/imports", {"kind": "timetable-csv", "establishment": world.one.establishment.pk,
                                                    "dry_run": "false", "files": [upload]})
    assert response.status_code == 201, response.content
    body = response.json()
    detail = client.get(f"/api/v1/imports/{body['id']}").json()
    assert detail["kind"] == "timetable-csv" and detail["status"] == "succeeded"
    assert {"kind": "courses", "label": "Cours", "created": 1, "updated": 0, "deactivated": 0, "unchanged": 0,
            "leaving": 0} in detail["counts"]
    assert Course.objects.filter(source="csv").count() == 1


def test_who_may_import_timetables(edt_world, tmp_path):
    world = edt_world
    one, two = world.one.establishment, world.two.establishment
    for user in (world.one.ent_admin, world.one.head, world.global_admin):
        services.check_can_import(policy.actor_for(user), "edt", one)  # allowed
        assert services.may_import(policy.actor_for(user), one.pk, "timetable-csv")
    for user in (world.one.teacher_a, world.one.cpe, world.one.secretary, world.one.pupil_a, world.one.mother_b):
        with pytest.raises(PermissionDenied):
            services.check_can_import(policy.actor_for(user), "edt", one)
    for user in (world.one.ent_admin, world.one.head):
        with pytest.raises(Http404):
            services.check_can_import(policy.actor_for(user), "timetable-csv", two)
    with pytest.raises(ValidationError):
        services.check_can_import(policy.actor_for(world.global_admin), "edt", None)
    # The head runs it (through the services: the administration pages are the administrators'), and sees the run;
    # the directory imports stay the administrators'.
    head = policy.actor_for(world.one.head)
    upload = SimpleUploadedFile("edt.xml", edt_xml().encode(), content_type="text/xml")
    run = services.import_start(actor=head, kind="edt", files=[upload], establishment=one)
    directory_run = ImportRun.objects.create(kind="csv", establishment=one)
    visible = set(selectors.runs_visible(head))
    assert run in visible and directory_run not in visible
    assert run not in set(selectors.runs_visible(policy.actor_for(world.two.head)))
    assert run in set(selectors.runs_visible(policy.actor_for(world.one.ent_admin)))
    with pytest.raises(PermissionDenied):
        services.check_can_import(head, "csv", one)


def test_cli_unreadable_csv_without_uai_says_why(edt_world, tmp_path):
    path = tmp_path / "edt.csv"
    path.write_bytes(b"")
    out = StringIO()
    with pytest.raises(CommandError, match="Rien n'a pu être importé"):
        call_command("import", "timetable-csv", str(path), stdout=out)
    assert "Fichier vide." in out.getvalue()


def test_api_head_imports_the_timetable_of_their_establishment_only(edt_world, run_tasks):
    world = edt_world
    one, two = world.one.establishment, world.two.establishment
    client = Client()
    client.force_login(world.one.head)
    # The directory stays the administrators' (403, their message).
    response = client.post("/api/v1/imports", {"kind": "csv", "establishment": one.pk,
                                                "files": [SimpleUploadedFile("a.csv", CSV.encode())]})
    assert response.status_code == 403
    assert response.json() == {"detail": "L'import de l'annuaire est réservé aux administrateurs."}
    assert client.get("/api/v1/imports").status_code == 403  # without a timetable kind
    # Another establishment's timetable: 404.
    response = client.post("/api/v1/imports", {"kind": "edt", "establishment": two.pk,
                                                "files": [SimpleUploadedFile("edt.xml", edt_xml().encode())]})
    assert response.status_code == 404 and not ImportRun.objects.exists()
    # Their own: a dry run (the default), nothing written, then confirmed.
    with run_tasks():
        response = client.post("/api/v1/imports", {"kind": "edt", "establishment": one.pk,
                                                    "files": [SimpleUploadedFile("edt.xml", edt_xml().encode())]})
    assert response.status_code == 201, response.content
    run_id = response.json()["id"]
    detail = client.get(f"/api/v1/imports/{run_id}").json()
    assert (detail["kind"], detail["dry_run"], detail["status"], detail["can_confirm"]) == ("edt", True, "partial",
                                                                                             True)
    assert not Course.objects.exists()
    assert client.get(f"/api/v1/imports/{run_id}/rejections").json()["count"] > 0
    listed = client.get("/api/v1/imports?kind=edt").json()
    assert [item["id"] for item in listed["items"]] == [run_id]
    assert client.get("/api/v1/imports?kind=timetable-csv").json()["items"] == []
    with run_tasks():
        response = client.post(f"/api/v1/imports/{run_id}/confirm")
    assert response.status_code == 201 and response.json()["confirms"] == run_id
    assert Course.objects.filter(establishment=one, source="edt").count() == 4
    # Others: a directory run, another head, a teacher.
    directory_run = ImportRun.objects.create(kind="csv", establishment=one)
    assert client.get(f"/api/v1/imports/{directory_run.pk}").status_code == 403
    other = Client()
    other.force_login(world.two.head)
    assert other.get(f"/api/v1/imports/{run_id}").status_code == 403
    assert other.post(f"/api/v1/imports/{run_id}/confirm").status_code == 403
    assert other.get("/api/v1/imports?kind=edt").json()["items"] == []
    teacher = Client()
    teacher.force_login(world.one.teacher_a)
    assert teacher.get("/api/v1/imports?kind=edt").status_code == 403
    response = teacher.post("/api/v1/imports", {"kind": "edt", "establishment": one.pk,
                                                 "files": [SimpleUploadedFile("edt.xml", edt_xml().encode())]})
    assert response.status_code == 403 and ImportRun.objects.count() == 3


def test_api_kind_field_lists_the_timetable_kinds(client):
    schema = client.get("/api/v1/openapi.json").json()
    text = str(schema)
    assert "edt ou timetable-csv (l'emploi du temps)" in text
