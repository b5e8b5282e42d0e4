"""The imports' administration pages: access, the new-import form, live progress, the report, confirmation,
activation-code links, rejections (paginated and as CSV)."""

import datetime
import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from preau.imports import services
from preau.imports.models import ImportRejection, ImportRun

from .test_aaf import add, etab, pupil
from .test_runs_services import aaf_body, aaf_uploads, csv_upload, run_tasks  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

LIST = "/admin/imports/"
NEW = "/admin/imports/nouveau/"


def detail(run):
    return reverse("imports:run_detail", args=[run.pk])


def text(response) -> str:
    return html.unescape(response.content.decode())


def logged(client, user):
    client.force_login(user)
    return client


def test_runs_views_non_admins_forbidden_anonymous_sent_to_login(client, world):
    run = ImportRun.objects.create(kind="aaf", establishment=world.one.establishment)
    for user in (world.one.teacher_a, world.one.head, world.one.pupil_b, world.one.mother_b):
        logged(client, user)
        for url in (LIST, NEW, detail(run), reverse("imports:rejections_csv", args=[run.pk])):
            assert client.get(url).status_code == 403, (user, url)
        assert client.post(reverse("imports:run_confirm", args=[run.pk])).status_code == 403
    client.logout()
    response = client.get(LIST)
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]


def test_runs_views_ent_admin_sees_their_establishments_runs_only(client, world):
    mine = ImportRun.objects.create(kind="csv", establishment=world.one.establishment, status="succeeded")
    theirs = ImportRun.objects.create(kind="csv", establishment=world.two.establishment, status="succeeded")
    academy = ImportRun.objects.create(kind="aaf", status="succeeded")
    logged(client, world.one.ent_admin)
    page = text(client.get(LIST))
    assert detail(mine) in page and detail(theirs) not in page and detail(academy) not in page
    assert client.get(detail(mine)).status_code == 200
    assert client.get(detail(theirs)).status_code == 404
    assert client.get(detail(academy)).status_code == 404
    assert client.get(reverse("imports:rejections_csv", args=[theirs.pk])).status_code == 404
    logged(client, world.global_admin)
    page = text(client.get(LIST))
    assert all(detail(run) in page for run in (mine, theirs, academy))
    # Filtered on one establishment (the link from the establishment's page).
    page = text(client.get(LIST + f"?etablissement={world.two.establishment.pk}"))
    assert detail(theirs) in page and detail(mine) not in page


def test_runs_views_form_offers_kinds_by_role(client, world):
    page = text(logged(client, world.global_admin).get(NEW))
    assert 'value="aaf"' in page and 'enctype="multipart/form-data"' in page
    assert 'name="dry_run" checked' in page or 'checked' in page.split('name="dry_run"')[1].split(">")[0]
    logged(client, world.one.ent_admin)
    page = text(client.get(NEW + f"?etablissement={world.one.establishment.pk}"))
    assert 'value="aaf"' not in page  # AAF spans establishments: the global admin's only
    assert world.two.establishment.name not in page
    assert f'value="{world.one.establishment.pk}" selected' in page


def test_runs_views_form_errors_in_french(client, world):
    logged(client, world.global_admin)
    response = client.post(NEW, {"kind": "aaf", "dry_run": "on"})
    assert response.status_code == 400
    assert "Choisissez au moins un fichier." in text(response)
    response = client.post(NEW, {"kind": "aaf", "dry_run": "on",
                                 "files": [SimpleUploadedFile("eleves.csv", b"a;b")]})
    assert response.status_code == 400
    assert "« eleves.csv » : extension non acceptée pour ce type d'import (attendu : .xml)." in text(response)
    assert not ImportRun.objects.exists()


def test_runs_views_ent_admin_refused_other_establishment_in_form(client, world):
    logged(client, world.one.ent_admin)
    response = client.post(NEW, {"kind": "csv", "establishment": world.two.establishment.pk,
                                 "files": [csv_upload()]})
    assert response.status_code == 400  # not among the choices
    assert "Sélectionnez un choix valide" in text(response)
    assert not ImportRun.objects.exists()


def test_runs_views_csv_second_step_maps_the_columns(client, world, run_tasks):  # noqa: F811
    logged(client, world.one.ent_admin)
    response = client.post(NEW, {"kind": "csv", "establishment": world.one.establishment.pk, "dry_run": "on",
                                 "files": [csv_upload()]})
    run = ImportRun.objects.get()
    columns = reverse("imports:run_columns", args=[run.pk])
    assert response.status_code == 302 and response["Location"] == columns
    page = text(client.get(columns))
    assert "Colonnes du fichier : Identifiant · Nom · Prénom · Classe" in page
    assert 'name="profil"' in page and 'name="col_last_name"' not in page
    page = text(client.get(columns + "?profil=pupil"))
    assert '<option value="Nom" selected>Nom</option>' in page  # guessed from the usual headers
    assert "Identifiant (obligatoire)" in page and 'name="col_pupil_external_ids"' not in page
    response = client.post(columns + "?profil=pupil", {"col_external_id": "", "col_last_name": "Nom",
                                                        "col_first_name": "Prénom"})
    assert response.status_code == 400
    assert "Choisissez la colonne du champ obligatoire « Identifiant »." in text(response)
    with run_tasks():
        response = client.post(columns + "?profil=pupil", {
            "col_external_id": "Identifiant", "col_last_name": "Nom", "col_first_name": "Prénom",
            "col_class_code": "Classe"})
    assert response.status_code == 302 and response["Location"] == detail(run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED and run.options["mapping"]["class_code"] == "Classe"
    assert "<th scope=\"row\">Élèves</th><td>2</td>" in text(client.get(detail(run)))
    assert client.get(columns)["Location"] == detail(run)  # no second mapping
    logged(client, world.two.ent_admin)
    assert client.get(columns).status_code == 404


def test_runs_views_simulate_report_confirm_and_print_codes(client, world, tmp_path, run_tasks):  # noqa: F811
    logged(client, world.global_admin)
    with run_tasks():
        response = client.post(NEW, {"kind": "aaf", "dry_run": "on", "files": aaf_uploads(tmp_path)})
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(run)
    page = text(client.get(detail(run)))
    assert "Simulation n° " in page and "Simulation : rien n'a été enregistré" in page
    assert "<th scope=\"row\">Élèves</th><td>2</td>" in page
    assert "Confirmer l'import" in page and "data-import-progress" not in page
    with run_tasks():
        response = client.post(reverse("imports:run_confirm", args=[run.pk]))
    real = ImportRun.objects.get(confirms=run)
    assert response["Location"] == detail(real)
    page = text(client.get(detail(real)))
    assert "Import enregistré." in page and "Confirmer l'import" not in page
    assert f'href="{detail(run)}"' in page
    five_b = real.new_account_classes[0]
    codes = reverse("directory_admin:class_codes", args=[five_b["establishment_id"], five_b["class_id"]])
    assert f'href="{codes}"' in page and "Codes de la classe 5A" in page
    assert client.get(codes).status_code == 200
    # The dry run now links to its confirmation, and cannot be confirmed twice.
    page = text(client.get(detail(run)))
    assert f'href="{detail(real)}"' in page and "Confirmer l'import" not in page
    response = client.post(reverse("imports:run_confirm", args=[run.pk]), follow=True)
    assert "Cette simulation a déjà été confirmée." in text(response)
    assert ImportRun.objects.filter(confirms=run).count() == 1


def test_runs_views_running_import_shows_live_progress(client, world):
    run = ImportRun.objects.create(kind="aaf", dry_run=True, status=ImportRun.Status.RUNNING,
                                   files=["ENT_Eleve_0000.xml"])
    services.ProgressRecorder(run)(1500, "ENT_Eleve_0000.xml")
    page = text(logged(client, world.global_admin).get(detail(run)))
    assert f'data-import-progress="/api/v1/imports/{run.pk}"' in page
    assert "<dd data-records>1500</dd>" in page and "<dd data-file>ENT_Eleve_0000.xml</dd>" in page
    assert '<script src="/static/imports/progress.js" defer></script>' in page
    assert "<script>" not in page and "style=" not in page  # strict CSP: no inline script or style
    assert "Compte rendu" not in page
    # With no sign of life for hours, it is shown as interrupted.
    ImportRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - datetime.timedelta(hours=8))
    from django.core.cache import cache

    cache.clear()
    page = text(client.get(detail(run)))
    assert "Interrompu" in page and "data-import-progress" not in page


def test_runs_views_rejections_paginated_and_downloadable(client, world, tmp_path, run_tasks):  # noqa: F811
    logged(client, world.global_admin)
    bad = [add("categoriePersonne", "Eleve", f"x{i}", sn="Sans", givenName="Jointure",
               ENTPersonStructRattach="9001") for i in range(3)]
    files = [SimpleUploadedFile("ENT_Complet_EtabEducNat_0000.xml", aaf_body(etab())),
             SimpleUploadedFile("ENT_Delta_Eleve_0000.xml", aaf_body(pupil("e1"), *bad))]
    with run_tasks():
        client.post(NEW, {"kind": "aaf", "files": files})
    run = ImportRun.objects.get()
    ImportRejection.objects.bulk_create([ImportRejection(run=run, file="f.xml", record=n, reason=f"motif {n}")
                                         for n in range(60)] + [
        ImportRejection(run=run, file="=HYPERLINK(\"x\")", record=None, attribute="@a", reason="+1")])
    ImportRun.objects.filter(pk=run.pk).update(rejection_count=run.rejections.count())
    run.refresh_from_db()
    page = text(client.get(detail(run)))
    assert "Page 1 sur 2" in page and "Télécharger les rejets (CSV)" in page
    assert "motif 1</td>" in page
    page2 = text(client.get(detail(run) + "?page=2"))
    assert "motif 59</td>" in page2
    response = client.get(reverse("imports:rejections_csv", args=[run.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="import-{run.pk}-rejets.csv"'
    body = b"".join(response.streaming_content).decode()
    lines = body.splitlines()
    assert lines[0] == "\ufeffFichier;Enregistrement;Attribut;Motif"
    assert len(lines) == 1 + run.rejection_count
    assert "f.xml;0;;motif 0" in lines
    assert '"\'=HYPERLINK(""x"")";;\'@a;\'+1' in lines  # never run as a formula by a spreadsheet


def test_runs_views_establishment_pages_link_to_imports(client, world):
    logged(client, world.one.ent_admin)
    link = f'{LIST}?etablissement={world.one.establishment.pk}'
    assert link in text(client.get("/admin/"))
    assert link in text(client.get(f"/admin/etablissements/{world.one.establishment.pk}/"))
