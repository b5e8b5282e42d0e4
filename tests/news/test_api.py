"""The news and carnet de liaison API: same rules as the pages, JSON errors in French, bounded queries."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from preau.news.models import LiaisonTarget, NewsItem

from .conftest import image_bytes, publish, send_note

pytestmark = pytest.mark.django_db
API = "/api/v1"


def as_user(user):
    client = Client()
    client.force_login(user)
    return client


def post(client, path, data):
    return client.post(API + path, json.dumps(data), content_type="application/json")


def test_api_news_create_read_update(world, notified):
    one = world.one
    teacher = as_user(one.teacher_b)
    body = {"establishment_id": one.establishment.pk, "title": "Contrôle de maths", "body": "<p>Jeudi</p>"
            "<script>x()</script>", "whole_establishment": False, "classes": [one.class_b.pk],
            "audience": ["pupils", "guardians"]}
    with notified():
        response = post(teacher, "/news", body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["body"] == "<p>Jeudi</p>" and data["status"] == "published" and data["can_manage"]
    assert data["classes"] == [{"id": one.class_b.pk, "code": one.class_b.code, "label": "5e B"}]
    assert len(notified.recipients("news")) == 4
    news_id = data["id"]
    pupil = as_user(one.pupil_b)
    listed = pupil.get(API + "/news").json()
    assert listed["count"] == 1 and listed["items"][0]["title"] == "Contrôle de maths"
    assert pupil.get(f"{API}/news/{news_id}").json()["can_manage"] is False
    assert as_user(one.pupil_a).get(f"{API}/news/{news_id}").status_code == 404
    assert as_user(one.pupil_a).get(API + "/news").json()["count"] == 0
    # Update: the author may; a pupil's attempt looks like a missing item.
    update = {**body, "title": "Contrôle reporté"}
    response = teacher.put(f"{API}/news/{news_id}", json.dumps(update), content_type="application/json")
    assert response.status_code == 200 and response.json()["title"] == "Contrôle reporté"
    response = pupil.put(f"{API}/news/{news_id}", json.dumps(update), content_type="application/json")
    assert response.status_code == 404 and "detail" in response.json()


def test_api_news_refusals_in_french(world):
    one = world.one
    teacher = as_user(one.teacher_b)
    base = {"establishment_id": one.establishment.pk, "title": "T", "body": "B"}
    response = post(teacher, "/news", base)  # the whole establishment
    assert response.status_code == 403 and "classes" in response.json()["detail"]
    response = post(teacher, "/news", {**base, "whole_establishment": False})
    assert response.status_code == 400 and "Choisissez" in response.json()["detail"]
    response = post(teacher, "/news", {**base, "establishment_id": world.two.establishment.pk})
    assert response.status_code == 404
    response = post(as_user(one.head), "/news", {**base, "audience": ["everyone"]})
    assert response.status_code == 400
    response = post(as_user(one.head), "/news", {**base, "title": ""})
    assert response.status_code == 400 and response.json()["detail"] == "Donnez un titre."
    response = post(as_user(one.head), "/news", {"title": "x"})
    assert response.status_code == 422
    assert Client().get(API + "/news").status_code == 401
    assert not NewsItem.objects.exists()


def test_api_news_image_upload(world):
    one = world.one
    item = publish(one.head, one.establishment)
    head = as_user(one.head)
    response = head.post(f"{API}/news/{item.pk}/images", {
        "file": SimpleUploadedFile("a.gif", image_bytes("GIF")), "alt": "Un dessin"})
    assert response.status_code == 201, response.content
    url = response.json()["url"]
    assert response.json()["content_type"] == "image/gif"
    assert as_user(one.pupil_b).get(url).status_code == 200
    assert as_user(world.two.pupil_b).get(url).status_code == 404
    response = head.post(f"{API}/news/{item.pk}/images", {"file": SimpleUploadedFile("a.png", b"nope")})
    assert response.status_code == 400 and "image" in response.json()["detail"]
    response = as_user(one.teacher_b).post(f"{API}/news/{item.pk}/images",
                                           {"file": SimpleUploadedFile("a.png", image_bytes())})
    assert response.status_code == 404


def test_api_liaison_flow(world, notified):
    one = world.one
    cpe = as_user(one.cpe)
    with notified():
        response = post(cpe, "/liaison/notes", {"establishment_id": one.establishment.pk, "title": "Photo de classe",
                                                "body": "Merci de signer", "classes": [one.class_b.pk]})
    assert response.status_code == 201 and response.json()["pupils"] == 2
    note_id = response.json()["id"]
    mother = as_user(one.mother_b)
    carnet = mother.get(API + "/liaison/carnet").json()
    assert carnet["count"] == 1 and carnet["items"][0]["can_acknowledge"] is True
    entry_id = carnet["items"][0]["id"]
    response = post(mother, f"/liaison/entries/{entry_id}/acknowledge", {})
    assert response.status_code == 200
    data = response.json()
    assert data["acknowledged_by"]["id"] == one.mother_b.pk and data["can_acknowledge"] is False
    # The pupil reads but cannot sign; another family does not see it.
    pupil = as_user(one.pupil_b)
    assert pupil.get(API + "/liaison/carnet").json()["count"] == 1
    response = post(pupil, f"/liaison/entries/{entry_id}/acknowledge", {})
    assert response.status_code == 403 and "responsable" in response.json()["detail"]
    assert post(as_user(one.guardian_a), f"/liaison/entries/{entry_id}/acknowledge", {}).status_code == 404
    # The author's dashboard and reminder.
    dashboard = cpe.get(f"{API}/liaison/notes/{note_id}/dashboard").json()
    assert dashboard["counts"] == {"total": 2, "signed": 1, "unsigned": 1, "unreached": 1}
    assert dashboard["count"] == 2
    unsigned = cpe.get(f"{API}/liaison/notes/{note_id}/dashboard?unsigned=true").json()
    assert [row["pupil"]["id"] for row in unsigned["items"]] == [one.pupil_b2.pk]
    response = post(cpe, f"/liaison/notes/{note_id}/remind", {})
    assert response.status_code == 400 and "Aucune famille" in response.json()["detail"]  # pupil_b2: no guardian
    listed = cpe.get(API + "/liaison/notes").json()
    assert listed["items"][0]["signed"] == 1 and listed["items"][0]["pupils"] == 2
    for user in (one.teacher_a, one.mother_b, world.two.head):
        assert as_user(user).get(f"{API}/liaison/notes/{note_id}/dashboard").status_code == 404
    response = post(as_user(one.teacher_b), "/liaison/notes", {
        "establishment_id": one.establishment.pk, "title": "x", "body": "y", "classes": [one.class_a.pk]})
    assert response.status_code == 403


def test_api_liaison_remind_reaches_unsigned(world, notified):
    one = world.one
    note = send_note(one.teacher_b, one.establishment, classes=[one.class_b])
    with notified():
        response = post(as_user(one.teacher_b), f"/liaison/notes/{note.pk}/remind", {})
    assert response.status_code == 200 and response.json()["reminded"] == 2
    assert response.json()["note"]["reminder_count"] == 1


def test_api_lists_bounded_queries(world, django_assert_max_num_queries):
    one = world.one
    for n in range(15):
        publish(one.teacher_b, one.establishment, title=f"N{n}", whole_establishment=False, classes=[one.class_b])
        send_note(one.teacher_b, one.establishment, classes=[one.class_b], title=f"M{n}")
    mother = as_user(one.mother_b)
    mother.get(API + "/news")
    with django_assert_max_num_queries(10):
        assert mother.get(API + "/news").json()["count"] == 15
    with django_assert_max_num_queries(10):
        assert mother.get(API + "/liaison/carnet").json()["count"] == 15
    teacher = as_user(one.teacher_b)
    teacher.get(API + "/liaison/notes")
    with django_assert_max_num_queries(10):
        assert teacher.get(API + "/liaison/notes").json()["count"] == 15
    note_id = LiaisonTarget.objects.first().note_id
    with django_assert_max_num_queries(12):
        assert teacher.get(f"{API}/liaison/notes/{note_id}/dashboard").status_code == 200
