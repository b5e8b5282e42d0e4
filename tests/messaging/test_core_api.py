"""The messaging JSON API (/api/v1/messaging/...)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from preau.messaging.models import Delivery, Message

from .core_helpers import address, person, send
from .core_helpers import school as school_fixture

pytestmark = pytest.mark.django_db
school = school_fixture
API = "/api/v1/messaging"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client, path, data):
    return client.post(f"{API}{path}", data, content_type="application/json")


def test_send_read_reply_by_api(school, django_capture_on_commit_callbacks):
    one = school
    teacher, mother = client_for(one.teacher_b), client_for(one.mother_b)
    assert teacher.get(f"{API}/establishments").json() == {"items": [
        {"id": one.establishment.pk, "uai": one.establishment.uai, "name": one.establishment.name}]}
    with django_capture_on_commit_callbacks(execute=True):
        response = post(teacher, "/messages", {"to": [address("class_guardians", one.class_b.pk)],
                                               "subject": "Sortie", "body": "Départ à 8 h."})
    assert response.status_code == 201, response.content
    sent = response.json()
    assert sent["state"] == "queued" and sent["role"] == "sender" and sent["box"] == "sent"
    assert sent["to"] == ["Responsables de 5e B"] and sent["recipient_count"] == 2 and sent["to_families"]
    message_id = sent["id"]

    assert mother.get(f"{API}/counts").json() == {"inbox_unread": 1, "drafts": 0, "trash": 0, "folders": []}
    page = mother.get(f"{API}/mailbox").json()
    assert [i["id"] for i in page["items"]] == [message_id] and page["next_cursor"] is None
    item = page["items"][0]
    assert item["read"] is False and item["sender"]["id"] == one.teacher_b.pk and item["excerpt"] == "Départ à 8 h."
    detail = mother.get(f"{API}/messages/{message_id}").json()
    assert detail["body"] == "<p>Départ à 8 h.</p>" and detail["can_reply"] and detail["bcc"] == []
    assert detail["recipient_count"] is None  # the sender's only
    assert post(mother, "/read", {"message_ids": [message_id]}).json() == {"updated": 1}
    assert mother.get(f"{API}/counts").json()["inbox_unread"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = post(mother, f"/messages/{message_id}/reply", {"body": "Merci", "reply_all": True})
    assert response.status_code == 201
    answer = response.json()
    assert answer["subject"] == "RE : Sortie" and answer["to"] == [one.teacher_b.full_name]
    thread = teacher.get(f"{API}/messages/{answer['id']}/thread").json()
    assert [i["id"] for i in thread["items"]] == [message_id, answer["id"]] and thread["subject"] == "Sortie"
    receipts = teacher.get(f"{API}/messages/{message_id}/receipts").json()
    assert (receipts["total"], receipts["read"], receipts["lists_people"]) == (2, 1, True)
    assert {r["person"]["id"]: r["read_at"] is not None for r in receipts["items"]} == {
        one.mother_b.pk: True, one.father_b.pk: False}


def test_other_peoples_messages_are_404_and_refusals_403(school, django_capture_on_commit_callbacks):
    one = school
    message = send(django_capture_on_commit_callbacks, one.teacher_b, [person(one.mother_b)])
    stranger = client_for(one.guardian_a)
    for path in (f"/messages/{message.pk}", f"/messages/{message.pk}/thread", f"/messages/{message.pk}/receipts",
                 f"/drafts/{message.pk}"):
        response = stranger.get(f"{API}{path}")
        assert response.status_code == 404 and response.json()["detail"].startswith("Cette ressource n'existe pas")
    assert client_for(one.mother_b).get(f"{API}/messages/{message.pk}/receipts").status_code == 404
    assert post(stranger, f"/messages/{message.pk}/reply", {"body": "x"}).status_code == 404
    assert post(stranger, "/read", {"message_ids": [message.pk]}).json() == {"updated": 0}
    # A pupil writing to a whole class: 403 with the reason, nothing written.
    response = post(client_for(one.pupil_b), "/messages", {"to": [address("class_pupils", one.class_b.pk)],
                                                           "subject": "Fête", "body": "Venez"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Vous ne pouvez pas écrire à : Élèves de 5e B."}
    # Bad input: 400 in French, or 422 for the shape.
    response = post(client_for(one.head), "/messages", {"to": [person(one.cpe)], "subject": "", "body": "x"})
    assert response.status_code == 400 and response.json() == {"detail": "Indiquez l'objet du message."}
    response = post(client_for(one.head), "/messages", {"to": [{"type": "everyone", "id": 1}], "subject": "x"})
    assert response.status_code == 422
    assert client_for(one.head).get(f"{API}/mailbox", {"cursor": "nope"}).status_code == 400
    assert client_for(one.head).get(f"{API}/mailbox", {"box": "folder", "folder": 999}).status_code == 404
    # Another establishment: 404.
    response = post(client_for(one.head), "/messages", {"establishment_id": 10**9, "to": [person(one.cpe)],
                                                        "subject": "x", "body": "y"})
    assert response.status_code == 404
    assert Message.objects.count() == 1
    # Anonymous: 401.
    assert Client().get(f"{API}/mailbox").status_code == 401


def test_drafts_and_attachments_by_api(school, django_capture_on_commit_callbacks):
    one = school
    head = client_for(one.head)
    response = post(head, "/drafts", {"to": [person(one.cpe)], "bcc": [person(one.nurse)], "subject": "Projet",
                                      "body": "À relire"})
    assert response.status_code == 201
    draft = response.json()
    assert draft["to"] == [{"type": "person", "id": one.cpe.pk, "label": one.cpe.full_name}]
    assert draft["bcc"][0]["id"] == one.nurse.pk
    upload = SimpleUploadedFile("plan.pdf", b"%PDF-1.7 plan", content_type="application/pdf")
    response = head.post(f"{API}/drafts/{draft['id']}/attachments", {"file": upload})
    assert response.status_code == 201, response.content
    attachment = response.json()
    assert (attachment["name"], attachment["size"], attachment["content_type"]) == ("plan.pdf", 13,
                                                                                    "application/pdf")
    fake = SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = head.post(f"{API}/drafts/{draft['id']}/attachments", {"file": fake})
    assert response.status_code == 400 and "ne correspond pas à son extension" in response.json()["detail"]
    # Someone else's draft: 404 for everything.
    other = client_for(one.cpe)
    assert other.get(f"{API}/drafts/{draft['id']}").status_code == 404
    assert other.post(f"{API}/drafts/{draft['id']}/attachments", {"file": upload}).status_code == 404
    response = head.put(f"{API}/drafts/{draft['id']}", {"to": [person(one.cpe)], "subject": "Projet v2",
                                                        "body": "Relu"}, content_type="application/json")
    assert response.json()["subject"] == "Projet v2" and response.json()["bcc"] == []
    assert len(response.json()["attachments"]) == 1
    assert head.get(f"{API}/mailbox", {"box": "drafts"}).json()["items"][0]["id"] == draft["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = post(head, "/messages", {"draft_id": draft["id"], "to": [person(one.cpe)], "subject": "Projet v2",
                                            "body": "Relu"})
    assert response.status_code == 201 and response.json()["id"] == draft["id"]
    received = client_for(one.cpe).get(f"{API}/messages/{draft['id']}").json()
    assert [a["name"] for a in received["attachments"]] == ["plan.pdf"]
    # Delete a draft and one of its attachments.
    second = post(head, "/drafts", {"subject": "Jetable"}).json()
    upload.seek(0)
    added = head.post(f"{API}/drafts/{second['id']}/attachments", {"file": upload}).json()
    response = head.delete(f"{API}/drafts/{second['id']}/attachments/{added['id']}")
    assert response.status_code == 200 and response.json()["attachments"] == []
    assert head.delete(f"{API}/drafts/{second['id']}").json() == {"updated": 1}
    assert not Message.objects.filter(pk=second["id"]).exists()


def test_folders_move_search_and_suggestions_by_api(school, django_capture_on_commit_callbacks):
    one = school
    first = send(django_capture_on_commit_callbacks, one.teacher_b, [person(one.mother_b)], subject="Piscine",
                 body="Apportez un maillot.")
    second = send(django_capture_on_commit_callbacks, one.head, [person(one.mother_b)], subject="Cantine",
                  body="Menu de la semaine.")
    mother = client_for(one.mother_b)
    response = post(mother, "/folders", {"name": "Sport"})
    assert response.status_code == 201
    folder = response.json()
    assert post(mother, "/folders", {"name": "sport"}).status_code == 400
    assert post(mother, "/move", {"message_ids": [first.pk], "box": "folder", "folder_id": folder["id"]}).json() == {
        "updated": 1}
    assert mother.get(f"{API}/folders").json() == {"items": [{"id": folder["id"], "name": "Sport", "unread": 1}]}
    assert mother.get(f"{API}/counts").json()["folders"] == [{"id": folder["id"], "unread": 1}]
    page = mother.get(f"{API}/mailbox", {"box": "folder", "folder": folder["id"]}).json()
    assert [i["id"] for i in page["items"]] == [first.pk]
    response = mother.patch(f"{API}/folders/{folder['id']}", {"name": "Sports"}, content_type="application/json")
    assert response.json()["name"] == "Sports"
    assert client_for(one.father_b).delete(f"{API}/folders/{folder['id']}").status_code == 404
    assert mother.delete(f"{API}/folders/{folder['id']}").json() == {"updated": 1}
    assert post(mother, "/move", {"message_ids": [second.pk], "box": "trash"}).json() == {"updated": 1}
    assert mother.get(f"{API}/counts").json()["trash"] == 1
    assert post(mother, "/trash/empty", {}).json() == {"updated": 1}
    # Search: the subject, the text, the sender's name.
    assert [i["id"] for i in mother.get(f"{API}/search", {"q": "maillot"}).json()["items"]] == [first.pk]
    assert [i["id"] for i in mother.get(f"{API}/search", {"q": "piscine"}).json()["items"]] == [first.pk]
    assert [i["id"] for i in mother.get(f"{API}/search",
                                         {"q": one.teacher_b.last_name}).json()["items"]] == [first.pk]
    assert mother.get(f"{API}/search", {"q": "cantine"}).json()["items"] == []  # deleted from the trash
    assert client_for(one.father_b).get(f"{API}/search", {"q": "maillot"}).json()["items"] == []
    # Suggestions: only what the caller may write to.
    found = mother.get(f"{API}/suggestions", {"q": one.teacher_b.last_name[:4]}).json()["items"]
    assert {"type": "person", "id": one.teacher_b.pk} in [{"type": i["type"], "id": i["id"]} for i in found]
    assert all(i["type"] == "person" for i in found)
    groups = client_for(one.teacher_b).get(f"{API}/suggestions").json()["items"]
    assert groups[0] == {"type": "my_classes_pupils", "id": one.establishment.pk,
                         "label": "Les élèves de mes classes", "count": 2}
    assert {"type": "class_guardians", "id": one.class_b.pk, "label": "Responsables de 5e B", "count": 2} in groups
    assert client_for(one.teacher_b).get(f"{API}/suggestions", {"establishment": 10**9}).status_code == 404
    assert Delivery.objects.filter(owner=one.mother_b).count() == 2


def test_the_audit_of_a_send_names_the_session_without_its_key(school, django_capture_on_commit_callbacks):
    from preau.audit.models import AuditEvent

    teacher = client_for(school.teacher_b)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(teacher, "/messages", {"to": [person(school.head)], "subject": "Conseil", "body": "Mardi."})
    assert response.status_code == 201
    event = AuditEvent.objects.get(action="message_sent")
    key = teacher.session.session_key
    assert event.details["session"].startswith("session:") and key not in event.details["session"]
    assert event.ip == "127.0.0.1" and event.details["device"]
