"""Imports run from the administration: start (policy, file checks), the background task, dry run then confirm,
progress, failures, interrupted runs, clean-up of the uploaded files, and the command line's options."""

import datetime
import importlib
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.http import Http404
from django.utils import timezone

from preau.access import policy
from preau.accounts.models import User
from preau.audit.models import AuditEvent
from preau.imports import services
from preau.imports.aaf import AafImporter
from preau.imports.models import ImportRun, ImportUpload

from .test_aaf import etab, school_files

pytestmark = pytest.mark.django_db


def aaf_body(*records: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<ficAlimMENESR>' + "".join(records)
            + "</ficAlimMENESR>").encode()


def uploads_of(paths) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/xml") for path in paths]


def aaf_uploads(tmp_path) -> list[SimpleUploadedFile]:
    """A small académie export: one collège, its MEF and subject, a teacher and head, two pupils, three guardians."""
    return uploads_of(school_files(tmp_path))


def actor(user):
    return policy.actor_for(user)


def start(user, files, **kwargs):
    kwargs.setdefault("kind", "aaf")
    kwargs.setdefault("dry_run", True)
    return services.import_start(actor=actor(user), files=files, **kwargs)


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks (the task is queued on commit; Celery runs it eagerly in tests)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


PUPILS_CSV = "Identifiant;Nom;Prénom;Classe\n101;Petit;Nina;5B\n102;Durand;Noé;5A\n".encode()
PUPILS_OPTIONS = {"profile": "pupil", "mapping": {"external_id": "Identifiant", "last_name": "Nom",
                                                  "first_name": "Prénom", "class_code": "Classe"}}


def csv_upload(body: bytes = PUPILS_CSV, name: str = "eleves.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="text/csv")


def audit_steps(run_ids) -> list[str]:
    return [e.details["step"] for e in AuditEvent.objects.filter(action="directory_import").order_by("pk")
            if e.details.get("run") in run_ids]


def test_runs_global_admin_dry_run_then_confirm(world, tmp_path, run_tasks):
    with run_tasks():
        run = start(world.global_admin, aaf_uploads(tmp_path))
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert run.dry_run and run.establishment is None and run.created_by == world.global_admin
    assert run.counts["pupils"]["created"] == 2
    assert not User.objects.filter(external_id="e1").exists()  # a simulation writes nothing
    uploads = list(run.uploads.all())
    assert [u.name for u in uploads] == run.files and len(uploads) == 6
    assert all(u.path and default_storage.exists(u.path) for u in uploads)  # kept for the confirmation
    assert services.confirm_refusal(run) == ""

    with run_tasks():
        real = services.import_confirm(actor=actor(world.global_admin), run=run)
    real.refresh_from_db()
    assert real.status == ImportRun.Status.SUCCEEDED, real.error
    assert (real.confirms, real.dry_run, real.files, real.kind) == (run, False, run.files, "aaf")
    lea = User.objects.get(external_id="e1")
    assert lea.activated_at is None
    # The files changed hands, then were deleted once the real import finished.
    assert not any(u.path for u in run.uploads.all()) and not any(u.path for u in real.uploads.all())
    assert not any(default_storage.exists(u.path) for u in uploads)
    # Accounts were created in classes 5B and 5A: their activation codes can be printed per class.
    classes = {row["label"]: row for row in real.new_account_classes}
    assert set(classes) == {"5B", "5A"}
    assert classes["5B"]["pupils"] == 1 and classes["5B"]["guardians"] == 2
    assert classes["5B"]["class_id"] == lea.class_enrolments.get().school_class_id
    assert audit_steps({run.pk, real.pk}) == ["start", "finish", "confirm", "finish"]

    with pytest.raises(ValidationError, match="déjà été confirmée"):
        services.import_confirm(actor=actor(world.global_admin), run=run)
    with pytest.raises(ValidationError, match="Seule une simulation"):
        services.import_confirm(actor=actor(world.global_admin), run=real)


def test_runs_real_import_started_directly(world, tmp_path, run_tasks):
    with run_tasks():
        run = start(world.global_admin, aaf_uploads(tmp_path), dry_run=False)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED and not run.dry_run
    assert User.objects.filter(external_id__in=["e1", "e2", "g1"]).count() == 3
    assert run.records_done >= 0 and run.current_file == "" and run.finished_at
    assert not any(u.path for u in run.uploads.all())


def test_runs_teacher_and_pupil_are_refused(world, tmp_path):
    for user in (world.one.teacher_a, world.one.pupil_b, world.one.head):
        with pytest.raises(PermissionDenied):
            start(user, aaf_uploads(tmp_path), establishment=world.one.establishment)
    assert not ImportRun.objects.exists()
    assert not policy.import_runs_visible_to(actor(world.one.teacher_a)).exists()


def test_runs_ent_admin_never_imports_aaf(world, tmp_path):
    with pytest.raises(PermissionDenied) as exc:
        start(world.one.ent_admin, aaf_uploads(tmp_path), establishment=world.one.establishment)
    assert "administrateur général" in str(exc.value)
    assert not policy.can_import(actor(world.one.ent_admin), world.one.establishment.pk, "aaf")
    assert policy.can_import(actor(world.global_admin), None, "aaf")


def test_runs_ent_admin_of_another_establishment_gets_not_found(world):
    with pytest.raises(Http404):
        start(world.one.ent_admin, [csv_upload()], kind="csv", establishment=world.two.establishment)
    with pytest.raises(ValidationError) as exc:  # an ENT admin says which of their establishments
        start(world.one.ent_admin, [csv_upload()], kind="csv")
    assert exc.value.message_dict["establishment"] == [
        "Choisissez l'établissement auquel ces fichiers appartiennent."]
    assert not ImportRun.objects.exists()


def test_runs_ent_admin_imports_a_csv_for_their_establishment_and_sees_only_theirs(world, tmp_path, run_tasks):
    one = world.one.establishment
    with run_tasks():
        run = start(world.one.ent_admin, [csv_upload()], kind="csv", establishment=one, dry_run=False,
                    options=PUPILS_OPTIONS)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED, (run.error, list(run.rejections.values_list("reason")))
    assert run.establishment == one and run.options["profile"] == "pupil"
    assert User.objects.get(first_name="Nina", last_name="Petit").class_enrolments.get().school_class == \
        world.one.class_b
    assert {row["label"]: row["pupils"] for row in run.new_account_classes} == {"5e A": 1, "5e B": 1}
    with run_tasks():
        global_run = start(world.global_admin, aaf_uploads(tmp_path))
    assert set(policy.import_runs_visible_to(actor(world.one.ent_admin))) == {run}
    assert not policy.import_runs_visible_to(actor(world.two.ent_admin)).exists()
    assert set(policy.import_runs_visible_to(actor(world.global_admin))) == {run, global_run}


def test_runs_csv_without_options_waits_for_its_columns(world, run_tasks):
    one = world.one.establishment
    run = start(world.one.ent_admin, [csv_upload()], kind="csv", establishment=one)
    assert run.status == ImportRun.Status.DRAFT and run.options == {}
    assert services.run_csv_headers(run) == [("eleves.csv", ["Identifiant", "Nom", "Prénom", "Classe"])]
    with pytest.raises(ValidationError) as exc:
        services.import_map_columns(actor=actor(world.one.ent_admin), run=run,
                                    options={"profile": "pupil", "mapping": {"last_name": "Nom",
                                                                             "first_name": "Absente"}})
    messages = exc.value.message_dict["mapping"]
    assert any("Absente" in message for message in messages)
    assert "Choisissez la colonne du champ obligatoire « Identifiant »." in messages
    with pytest.raises(Http404):
        services.import_map_columns(actor=actor(world.two.ent_admin), run=run, options=PUPILS_OPTIONS)
    with run_tasks():
        services.import_map_columns(actor=actor(world.one.ent_admin), run=run, options=PUPILS_OPTIONS)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED and run.dry_run
    assert not User.objects.filter(first_name="Nina").exists()
    assert audit_steps({run.pk}) == ["start", "columns", "finish"]
    with pytest.raises(ValidationError, match="déjà été lancé"):
        services.import_map_columns(actor=actor(world.one.ent_admin), run=run, options=PUPILS_OPTIONS)


def test_runs_csv_options_checked_against_the_file_at_start(world):
    with pytest.raises(ValidationError) as exc:
        start(world.global_admin, [csv_upload()], kind="csv", establishment=world.one.establishment,
              options={"profile": "martien", "mapping": {}})
    assert exc.value.message_dict["mapping"][0].startswith("Profil inconnu « martien »")
    with pytest.raises(ValidationError) as exc:
        start(world.global_admin, [csv_upload(b"\x00\x01\x02")], kind="csv", establishment=world.one.establishment,
              options=PUPILS_OPTIONS)
    assert exc.value.message_dict["files"][0].startswith("« eleves.csv » : ")
    assert not ImportRun.objects.exists()


def test_runs_abandoned_csv_draft_failed_and_its_files_deleted(world):
    run = start(world.one.ent_admin, [csv_upload()], kind="csv", establishment=world.one.establishment)
    path = run.uploads.get().path
    later = timezone.now() + datetime.timedelta(hours=25)
    assert services.import_cleanup(later) == {"interrupted": 0, "abandoned": 1, "files_deleted": 1, "runs_deleted": 0}
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and run.error.startswith("Abandonné")
    assert not default_storage.exists(path)


def test_runs_kind_needing_an_establishment(world, tmp_path):
    with pytest.raises(ValidationError) as exc:
        start(world.global_admin, [csv_upload()], kind="csv")
    assert exc.value.message_dict["establishment"] == ["Choisissez l'établissement : ces fichiers ne le disent pas."]
    with pytest.raises(ValidationError) as exc:
        start(world.global_admin, aaf_uploads(tmp_path), kind="nope")
    assert exc.value.message_dict["kind"] == ["Type d'import inconnu."]


def test_runs_file_checks_in_french(world, settings):
    admin = world.global_admin
    cases = [
        ([], "Choisissez au moins un fichier."),
        ([SimpleUploadedFile("eleves.csv", b"a;b")], "« eleves.csv » : extension non acceptée pour ce type d'import "
                                                     "(attendu : .xml)."),
        ([SimpleUploadedFile("vide.xml", b"")], "« vide.xml » est vide."),
        ([SimpleUploadedFile("a.xml", b"<x/>"), SimpleUploadedFile("a.xml", b"<y/>")],
         "Deux fichiers portent le même nom « a.xml »."),
    ]
    for files, message in cases:
        with pytest.raises(ValidationError) as exc:
            start(admin, files)
        assert message in exc.value.message_dict["files"]
    settings.PREAU_IMPORT_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as exc:
        start(admin, [SimpleUploadedFile("gros.xml", b"x" * 1500)])
    assert exc.value.message_dict["files"] == [
        "Les fichiers font 1,5\xa0Kio en tout, au-delà de la limite de 1000\xa0octets par import."]
    assert not ImportRun.objects.exists() and not ImportUpload.objects.exists()


def test_runs_file_names_are_cleaned_and_folders_dropped(world, run_tasks):
    files = [SimpleUploadedFile("C:\\Exports\\ENT Complet_EtabEducNat_0000.xml", aaf_body(etab()))]
    with run_tasks():
        run = start(world.global_admin, files)
    run.refresh_from_db()
    assert run.files == ["ENT_Complet_EtabEducNat_0000.xml"]
    assert run.status == ImportRun.Status.SUCCEEDED, run.error


def test_runs_task_failure_marks_the_run_failed_in_french(world, tmp_path, run_tasks, monkeypatch):
    def explode(self, paths):
        raise RuntimeError("disque plein")

    monkeypatch.setattr(AafImporter, "run", explode)
    with run_tasks():
        run = start(world.global_admin, aaf_uploads(tmp_path))
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and run.finished_at
    assert run.error == ("La simulation s'est arrêtée sur une erreur inattendue (RuntimeError: disque plein). "
                         "Rien n'a été enregistré.")
    assert not any(u.path for u in run.uploads.all())  # nothing to confirm: the files are gone
    assert "rien pu importer" in services.confirm_refusal(run)


def test_runs_unreachable_broker_fails_the_run(world, tmp_path, run_tasks, monkeypatch):
    from preau.imports import tasks

    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.run_import, "delay", refuse)
    with run_tasks():
        run = start(world.global_admin, aaf_uploads(tmp_path))
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert "tâche de fond n'a pas pu être lancée" in run.error


def test_runs_task_claims_a_run_once(world, tmp_path, run_tasks):
    with run_tasks():
        run = start(world.global_admin, aaf_uploads(tmp_path))
    assert services.import_execute(run.pk) is None  # delivered twice: the second delivery does nothing
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED
    assert audit_steps({run.pk}) == ["start", "finish"]


def test_runs_interrupted_runs_failed_by_the_cleanup(world, tmp_path):
    run = start(world.global_admin, aaf_uploads(tmp_path))  # queued, its task never ran (no commit)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING)
    run.refresh_from_db()
    assert not services.is_stale(run)
    later = timezone.now() + datetime.timedelta(hours=7)
    assert services.is_stale(run, later)
    paths = list(run.uploads.values_list("path", flat=True))
    assert services.import_cleanup(later) == {"interrupted": 1, "abandoned": 0, "files_deleted": 6, "runs_deleted": 0}
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and run.error.startswith("Interrompu")
    assert not any(default_storage.exists(path) for path in paths)


def test_runs_dry_run_files_kept_for_a_day(world, tmp_path, run_tasks):
    with run_tasks():
        run = start(world.global_admin, aaf_uploads(tmp_path))
    run.refresh_from_db()
    assert services.import_cleanup() == {"interrupted": 0, "abandoned": 0, "files_deleted": 0, "runs_deleted": 0}
    ImportRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - datetime.timedelta(hours=25))
    run.refresh_from_db()
    assert "ne sont plus conservés" in services.confirm_refusal(run)
    with pytest.raises(ValidationError, match="ne sont plus conservés"):
        services.import_confirm(actor=actor(world.global_admin), run=run)
    assert services.import_cleanup()["files_deleted"] == 6
    assert not run.uploads.exclude(path="").exists()


def test_runs_progress_written_at_most_once_a_second(world, tmp_path):
    run, _report = services.import_run(kind="aaf", paths=school_files(tmp_path))
    recorder = services.ProgressRecorder(run)
    recorder(500, "/tmp/x/ENT_Eleve_0000.xml")
    run.refresh_from_db()
    assert (run.records_done, run.current_file) == (500, "ENT_Eleve_0000.xml")
    recorder(1000, "ENT_Eleve_0001.xml")  # within the second: not written
    run.refresh_from_db()
    assert run.records_done == 500 and recorder.records_done == 1000


def test_runs_dry_run_progress_lives_in_the_cache(world):
    run = ImportRun.objects.create(kind="aaf", dry_run=True, status=ImportRun.Status.RUNNING)
    services.ProgressRecorder(run)(1500, "ENT_PersRelEleve_0000.xml")
    run.refresh_from_db()
    assert run.records_done == 0  # the row is untouched (it would be rolled back with the simulation)
    assert services.live_progress(run)["records_done"] == 1500
    assert services.live_progress(run)["current_file"] == "ENT_PersRelEleve_0000.xml"


def test_runs_import_run_keeps_working_for_the_command_line(world, tmp_path):
    run, report = services.import_run(kind="aaf", paths=school_files(tmp_path), establishment=world.one.establishment,
                                      options={"note": "x"})
    assert run.status == ImportRun.Status.SUCCEEDED and run.establishment == world.one.establishment
    assert run.options == {"note": "x"} and report.get("pupils", "created") == 2
    assert run.total_bytes > 0


def test_runs_command_line_options(world, tmp_path, capsys):
    files = [str(path) for path in school_files(tmp_path)]
    with pytest.raises(CommandError, match="Aucun établissement d'UAI « 0000000Z »"):
        call_command("import", "aaf", *files, "--uai", "0000000Z")
    with pytest.raises(CommandError, match="a besoin de l'établissement des fichiers : --uai UAI"):
        call_command("import", "csv", "x.csv")
    with pytest.raises(CommandError, match="Option mal formée"):
        call_command("import", "aaf", *files, "--option", "sans-egal")
    command = importlib.import_module("preau.imports.management.commands.import").Command
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"last_name": "Nom"}))
    assert command.options(["profile=pupil", "full=true"], str(mapping)) == {
        "mapping": {"last_name": "Nom"}, "profile": "pupil", "full": True}
    mapping.write_text(json.dumps({"profile": "guardian", "mapping": {"first_name": "Prénom"}}))
    assert command.options([], str(mapping)) == {"profile": "guardian", "mapping": {"first_name": "Prénom"}}
    mapping.write_text("[1, 2]")
    with pytest.raises(CommandError, match="objet JSON"):
        command.options([], str(mapping))

    call_command("import", "aaf", *files, "--uai", world.one.establishment.uai.lower(), "--dry-run")
    run = ImportRun.objects.get()
    assert run.establishment == world.one.establishment and run.dry_run
    assert "Simulation : rien n'a été enregistré." in capsys.readouterr().out


def test_runs_command_line_csv_with_a_mapping_file(world, tmp_path, capsys):
    data = tmp_path / "eleves.csv"
    data.write_bytes(PUPILS_CSV)
    mapping = tmp_path / "colonnes.json"
    mapping.write_text(json.dumps(PUPILS_OPTIONS["mapping"]))
    with pytest.raises(CommandError, match="Profil inconnu"):
        call_command("import", "csv", str(data), "--uai", world.one.establishment.uai, "--mapping", str(mapping))
    call_command("import", "csv", str(data), "--uai", world.one.establishment.uai, "--mapping", str(mapping),
                 "--option", "profile=pupil")
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.SUCCEEDED and run.options["profile"] == "pupil"
    assert User.objects.filter(first_name="Noé", class_enrolments__school_class=world.one.class_a).exists()
    assert "Import enregistré." in capsys.readouterr().out


def test_runs_reports_deleted_after_the_retention_period(tmp_path, settings):
    settings.PREAU_IMPORT_RUN_KEEP_DAYS = 400
    old, _report = services.import_run(kind="aaf", paths=school_files(tmp_path))
    recent, _report = services.import_run(kind="aaf", paths=school_files(tmp_path))
    ImportRun.objects.filter(pk=old.pk).update(finished_at=timezone.now() - datetime.timedelta(days=401))
    running = ImportRun.objects.create(kind="aaf", status=ImportRun.Status.RUNNING,
                                       started_at=timezone.now() - datetime.timedelta(days=500))
    ImportRun.objects.filter(pk=running.pk).update(finished_at=None)
    done = services.import_cleanup()
    assert done["runs_deleted"] == 1
    # The old report went; the recent one and the unfinished run (failed as interrupted just now) stay.
    assert set(ImportRun.objects.values_list("pk", flat=True)) == {recent.pk, running.pk}
    assert AuditEvent.objects.filter(action="directory_import", details__run=old.pk).exists()
