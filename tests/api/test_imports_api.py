"""The imports API: list, start (multipart), detail with progress and report, rejections, confirmation; French
errors; administrators only; runs of other establishments are 404."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from preau.imports.models import ImportRejection, ImportRun
from tests.imports.test_aaf import etab, pupil
from tests.imports.test_runs_services import (  # noqa: F401 - fixtures
    PUPILS_OPTIONS,
    aaf_body,
    aaf_uploads,
    csv_upload,
    run_tasks,
)

from .conftest import API

pytestmark = pytest.mark.django_db

IMPORTS = f"{API}/imports"


def test_imports_api_anonymous_401_non_admins_403(as_user, world):
    run = ImportRun.objects.create(kind="aaf", establishment=world.one.establishment)
    assert as_user(None).get(IMPORTS).status_code == 401
    for user in (world.one.teacher_a, world.one.head, world.one.pupil_b):
        client = as_user(user)
        for response in (client.get(IMPORTS), client.get(f"{IMPORTS}/{run.pk}"),
                         client.get(f"{IMPORTS}/{run.pk}/rejections"),
                         client.post(f"{IMPORTS}/{run.pk}/confirm"),
                         client.post(IMPORTS, {"kind": "aaf", "files": [SimpleUploadedFile("a.xml", b"<x/>")]})):
            assert response.status_code == 403, (user, response.content)
            assert response.json() == {"detail": "L'import de l'annuaire est réservé aux administrateurs."}
    assert ImportRun.objects.count() == 1


def test_imports_api_scoping(as_user, world):
    mine = ImportRun.objects.create(kind="csv", establishment=world.one.establishment, status="succeeded")
    theirs = ImportRun.objects.create(kind="csv", establishment=world.two.establishment, status="succeeded")
    academy = ImportRun.objects.create(kind="aaf", status="succeeded")
    client = as_user(world.one.ent_admin)
    body = client.get(IMPORTS).json()
    assert body["count"] == 1 and [item["id"] for item in body["items"]] == [mine.pk]
    for run in (theirs, academy):
        for url in (f"{IMPORTS}/{run.pk}", f"{IMPORTS}/{run.pk}/rejections"):
            response = client.get(url)
            assert response.status_code == 404
            assert response.json()["detail"].startswith("Cette ressource n'existe pas")
    assert client.get(f"{IMPORTS}/{2**63}").status_code == 404
    body = as_user(world.global_admin).get(IMPORTS, {"establishment": world.two.establishment.pk}).json()
    assert [item["id"] for item in body["items"]] == [theirs.pk]
    assert as_user(world.global_admin).get(IMPORTS).json()["count"] == 3
    assert as_user(world.global_admin).get(IMPORTS, {"establishment": 0}).status_code == 422


def test_imports_api_start_with_a_token_simulate_then_confirm(bearer, world, tmp_path, run_tasks):  # noqa: F811
    client, headers = bearer(world.global_admin)
    with run_tasks():
        response = client.post(IMPORTS, {"kind": "aaf", "files": aaf_uploads(tmp_path)}, headers=headers)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["dry_run"] is True and created["status"] == "queued" and created["establishment"] is None
    assert len(created["files"]) == 6 and all(f["kept"] for f in created["files"])
    run_id = created["id"]
    body = client.get(f"{IMPORTS}/{run_id}", headers=headers).json()
    assert body["status"] == "succeeded" and body["status_label"] == "Terminé"
    assert body["in_progress"] is False and body["can_confirm"] is True and body["confirm_refusal"] == ""
    pupils = next(row for row in body["counts"] if row["kind"] == "pupils")
    assert pupils == {"kind": "pupils", "label": "Élèves", "created": 2, "updated": 0, "deactivated": 0,
                      "unchanged": 0, "leaving": 0}
    assert body["progress"]["current_file"] == "" and body["finished_at"]

    with run_tasks():
        response = client.post(f"{IMPORTS}/{run_id}/confirm", headers=headers)
    assert response.status_code == 201, response.content
    real_id = response.json()["id"]
    real = client.get(f"{IMPORTS}/{real_id}", headers=headers).json()
    assert (real["confirms"], real["dry_run"], real["status"]) == (run_id, False, "succeeded")
    assert {row["label"] for row in real["new_account_classes"]} == {"5A", "5B"}
    assert client.get(f"{IMPORTS}/{run_id}", headers=headers).json()["confirmed_by"] == real_id
    again = client.post(f"{IMPORTS}/{run_id}/confirm", headers=headers)
    assert again.status_code == 400
    assert again.json() == {"detail": "Cette simulation a déjà été confirmée."}


def test_imports_api_session_needs_csrf_for_start(world, tmp_path):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.global_admin)
    response = client.post(IMPORTS, {"kind": "aaf", "files": aaf_uploads(tmp_path)})
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not ImportRun.objects.exists()


def test_imports_api_start_errors_in_french(as_user, world):
    client = as_user(world.global_admin)
    response = client.post(IMPORTS, {"kind": "aaf", "files": [SimpleUploadedFile("eleves.csv", b"a;b")]})
    assert response.status_code == 400
    assert response.json() == {"detail": "« eleves.csv » : extension non acceptée pour ce type d'import "
                                         "(attendu : .xml)."}
    response = client.post(IMPORTS, {"kind": "nope", "files": [SimpleUploadedFile("a.xml", b"<x/>")]})
    assert response.json() == {"detail": "Type d'import inconnu."}
    response = client.post(IMPORTS, {"kind": "aaf", "options": "{pas du json",
                                     "files": [SimpleUploadedFile("a.xml", b"<x/>")]})
    assert response.status_code == 400 and response.json() == {"detail": "Les options doivent être un objet JSON."}
    response = client.post(IMPORTS, {"kind": "csv", "files": [csv_upload()]})
    assert response.json() == {"detail": "Choisissez l'établissement : ces fichiers ne le disent pas."}
    assert client.post(IMPORTS, {"kind": "aaf"}).status_code == 422  # no file at all
    # An ENT admin: never AAF (403), never another establishment (404).
    client = as_user(world.one.ent_admin)
    response = client.post(IMPORTS, {"kind": "aaf", "establishment": world.one.establishment.pk,
                                     "files": [SimpleUploadedFile("a.xml", b"<x/>")]})
    assert response.status_code == 403
    assert response.json()["detail"].startswith("Seul l'administrateur général importe ce type de fichiers")
    response = client.post(IMPORTS, {"kind": "csv", "establishment": world.two.establishment.pk,
                                     "files": [csv_upload()]})
    assert response.status_code == 404
    assert not ImportRun.objects.exists()


def test_imports_api_ent_admin_imports_a_csv_with_its_options(as_user, world, run_tasks):  # noqa: F811
    one = world.one.establishment
    client = as_user(world.one.ent_admin)
    with run_tasks():
        response = client.post(IMPORTS, {"kind": "csv", "establishment": one.pk, "dry_run": "false",
                                         "options": json.dumps(PUPILS_OPTIONS), "files": [csv_upload()]})
    assert response.status_code == 201, response.content
    body = client.get(f"{IMPORTS}/{response.json()['id']}").json()
    assert body["establishment"] == {"id": one.pk, "uai": one.uai, "name": one.name}
    assert body["status"] == "succeeded" and body["dry_run"] is False and body["can_confirm"] is False
    assert body["options"]["mapping"] == PUPILS_OPTIONS["mapping"]
    assert {row["label"] for row in body["new_account_classes"]} == {"5e A", "5e B"}
    bad = dict(PUPILS_OPTIONS, mapping={**PUPILS_OPTIONS["mapping"], "class_code": "Division"})
    response = client.post(IMPORTS, {"kind": "csv", "establishment": one.pk, "options": json.dumps(bad),
                                     "files": [csv_upload()]})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("La colonne « Division » choisie pour « Classe » n'est pas dans")


def test_imports_api_csv_draft_then_columns(as_user, world, run_tasks):  # noqa: F811
    client = as_user(world.one.ent_admin)
    response = client.post(IMPORTS, {"kind": "csv", "establishment": world.one.establishment.pk,
                                     "files": [csv_upload()]})
    body = response.json()
    assert body["status"] == "draft" and body["csv_header"] == ["Identifiant", "Nom", "Prénom", "Classe"]
    url = f"{IMPORTS}/{body['id']}/columns"
    response = client.post(url, {"profile": "pupil", "mapping": {"last_name": "Nom"}},
                           content_type="application/json")
    assert response.status_code == 400 and "« Identifiant »" in response.json()["detail"]
    with run_tasks():
        response = client.post(url, PUPILS_OPTIONS, content_type="application/json")
    assert response.status_code == 200, response.content
    body = client.get(f"{IMPORTS}/{body['id']}").json()
    assert body["status"] == "succeeded" and body["dry_run"] is True and body["can_confirm"] is True


def test_imports_api_rejections_paginated(as_user, world, tmp_path, run_tasks):  # noqa: F811
    client = as_user(world.global_admin)
    with run_tasks():
        response = client.post(IMPORTS, {"kind": "aaf", "files": [
            SimpleUploadedFile("ENT_EtabEducNat_0000.xml", aaf_body(etab())),
            SimpleUploadedFile("ENT_Eleve_0000.xml", aaf_body(pupil("e1")))]})
    run = ImportRun.objects.get(pk=response.json()["id"])
    ImportRejection.objects.bulk_create([ImportRejection(run=run, file="f.xml", record=n, reason=f"motif {n}")
                                         for n in range(1, 6)])
    body = client.get(f"{IMPORTS}/{run.pk}/rejections", {"limit": 2, "offset": 1}).json()
    total = run.rejections.count()
    assert body["count"] == total and body["limit"] == 2 and body["offset"] == 1
    first = list(run.rejections.order_by("id")[1:3])
    assert body["items"] == [{"id": r.pk, "file": r.file, "record": r.record, "attribute": r.attribute,
                              "reason": r.reason} for r in first]
    assert client.get(f"{IMPORTS}/{run.pk}/rejections", {"limit": 500}).status_code == 422


def test_imports_api_columns_refused_for_a_run_that_is_not_a_draft(as_user, world):
    run = ImportRun.objects.create(kind="csv", status="succeeded", establishment=world.one.establishment)
    response = as_user(world.one.ent_admin).post(f"{IMPORTS}/{run.pk}/columns",
                                                 {"profile": "pupil", "mapping": {}}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Cet import a déjà été lancé."}
