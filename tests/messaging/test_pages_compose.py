"""Writing (/messagerie/ecrire/, drafts): the recipient lists with and without JavaScript (the suggestions JSON,
the no-JS search), French errors from the form and from the services (policy, safety), held messages, drafts
with attachments, sending a draft."""

from __future__ import annotations

import html
import re

import pytest

from preau.messaging.models import Attachment, Delivery, Message, MessagingRules

from .pages_support import calm_rules, calm_school, copy_of, pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(world):
    return calm_school(world)

COMPOSE = "/messagerie/ecrire/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def options(page: str, name: str) -> dict[str, tuple[str, bool]]:
    """{value: (label, selected)} of the <select name=...> recipient list."""
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
    return {value: (label, bool(selected)) for value, selected, label in
            re.findall(r'<option value="([^"]+)"( selected)?>([^<]*)</option>', select)}


def test_compose_offers_the_groups_the_person_may_write_to(school, login, client):
    login(school.teacher_b)
    response = client.get(COMPOSE)
    assert response.status_code == 200
    page = text(response)
    to = options(page, "to")
    assert f"class_guardians:{school.class_b.pk}" in to
    assert to[f"class_guardians:{school.class_b.pk}"][0] == "Responsables de 5e B (2)"
    assert set(to) == set(options(page, "cc")) == set(options(page, "bcc"))
    assert 'data-suggest-url="/messagerie/destinataires/"' in page
    assert '<button type="submit" name="action" value="search"' in page  # the no-JS search
    # A guardian: no group at all.
    login(school.mother_b)
    assert not [v for v in options(text(client.get(COMPOSE)), "to") if not v.startswith("person:")]


def test_send_to_the_guardians_of_a_class(school, login, client, django_capture_on_commit_callbacks):
    login(school.teacher_b)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(COMPOSE, {
            "action": "send", "to": [f"class_guardians:{school.class_b.pk}"], "subject": "Réunion parents-profs",
            "body": "Bonjour,\nla réunion a lieu mardi <b>à 18 h</b>.", "attachments": [pdf()]})
    assert response.status_code == 302 and response["Location"] == "/messagerie/"
    assert "Message envoyé." in text(client.get("/messagerie/"))
    message = Message.objects.get()
    assert message.state == "delivered" and message.to_families
    assert message.body == "<p>Bonjour,<br>la réunion a lieu mardi &lt;b&gt;à 18 h&lt;/b&gt;.</p>"
    assert message.address_labels["to"] == ["Responsables de 5e B"]
    assert Attachment.objects.filter(message=message, name="sortie.pdf").exists()
    assert {d.owner_id for d in Delivery.objects.filter(message=message, box="inbox")} == {
        school.mother_b.pk, school.father_b.pk}
    login(school.mother_b)
    assert "Réunion parents-profs" in text(client.get("/messagerie/"))


@pytest.mark.parametrize("data, errors", [
    ({"subject": "Objet", "body": "Texte"}, ["Ajoutez au moins un destinataire."]),
    ({"to": ["class_guardians:{class_b}"], "body": "Texte"}, ["Indiquez l'objet du message."]),
    ({"to": ["class_guardians:{class_b}"], "subject": "Objet", "body": "  "}, ["Écrivez votre message."]),
    ({"to": ["nimporte:1"], "subject": "Objet", "body": "Texte"}, ["Destinataire inconnu."]),
    ({"to": ["person:99999999999999999999999"], "subject": "Objet", "body": "Texte"}, ["Destinataire inconnu."]),
    ({"to": ["class_guardians:{class_b}"], "subject": "x" * 201, "body": "Texte"},
     ["Assurez-vous que cette valeur comporte au plus 200 caractères"]),
])
def test_form_errors_are_french_and_nothing_is_written(school, login, client, data, errors):
    data = {key: [v.format(class_b=school.class_b.pk) for v in value] if isinstance(value, list) else value
            for key, value in data.items()}
    login(school.teacher_b)
    response = client.post(COMPOSE, {"action": "send", **data})
    assert response.status_code == 200
    page = text(response)
    for error in errors:
        assert error in page
    assert 'role="alert"' in page
    assert not Message.objects.exists()
    # What was typed is kept.
    if data.get("subject") and len(data["subject"]) < 200:
        assert f'value="{data["subject"]}"' in page


def test_refusals_of_the_policy_are_shown_on_the_form(school, login, client):
    login(school.mother_b)
    response = client.post(COMPOSE, {"action": "send", "to": [f"class_guardians:{school.class_b.pk}"],
                                     "subject": "À tous", "body": "Bonjour"})
    assert response.status_code == 200
    assert "Vous ne pouvez pas écrire à : Responsables de 5e B." in text(response)
    assert not Message.objects.exists()
    # The refused choice stays selected, with its label.
    assert options(text(response), "to")[f"class_guardians:{school.class_b.pk}"] == ("Responsables de 5e B", True)


def test_refusals_of_the_safety_rules_are_shown_on_the_form(school, login, client):
    MessagingRules.objects.filter(establishment=school.establishment).update(pupils_paused=True)
    login(school.pupil_b)
    response = client.post(COMPOSE, {"action": "send", "to": [f"person:{school.teacher_b.pk}"],
                                     "subject": "Devoir", "body": "Bonjour"})
    assert response.status_code == 200
    assert 'class="message message--error" role="alert"' in response.content.decode()
    assert "suspendue" in text(response)
    assert not Message.objects.exclude(state="draft").exists()


def test_an_unusual_send_is_held_for_review(school, login, client, django_capture_on_commit_callbacks):
    calm_rules(school.establishment, hold_recipients_above=1)
    login(school.mother_b)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(COMPOSE, {"action": "send", "subject": "Question",
                                         "to": [f"person:{school.teacher_b.pk}", f"person:{school.head.pk}"],
                                         "body": "Bonjour"})
    assert response.status_code == 302
    assert "Message retenu pour vérification" in text(client.get(response["Location"]))
    message = Message.objects.get()
    assert message.state == "held"
    assert not Delivery.objects.filter(message=message, role="to").exists()
    sent = text(client.get("/messagerie/envoyes/"))
    assert "Retenu pour vérification" in sent


def test_search_without_javascript_adds_people_to_the_lists(school, login, client):
    login(school.mother_b)
    response = client.post(COMPOSE, {"action": "search", "term": school.teacher_b.last_name,
                                     "subject": "Question", "body": "Bonjour"})
    assert response.status_code == 200
    page = text(response)
    found = options(page, "to")
    assert f"person:{school.teacher_b.pk}" in found
    assert "ajouté aux listes ci-dessus" in page or "ajoutés aux listes ci-dessus" in page
    assert 'value="Question"' in page
    assert not Message.objects.exists()
    # A person the guardian may not write to is never offered.
    response = client.post(COMPOSE, {"action": "search", "term": school.guardian_a.last_name})
    assert f"person:{school.guardian_a.pk}" not in options(text(response), "to")


def test_suggestions_json(school, login, client):
    login(school.teacher_b)
    response = client.get("/messagerie/destinataires/", {"q": "5e B"})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    results = response.json()["results"]
    guardians = next(r for r in results if r["value"] == f"class_guardians:{school.class_b.pk}")
    assert guardians == {"value": f"class_guardians:{school.class_b.pk}", "label": "Responsables de 5e B",
                         "count": 2, "group": True}
    assert client.get("/messagerie/destinataires/", {"q": ""}).json() == {"results": []}
    login(school.mother_b)
    values = [r["value"] for r in client.get("/messagerie/destinataires/", {"q": "5e"}).json()["results"]]
    assert not [v for v in values if not v.startswith("person:")]
    name = client.get("/messagerie/destinataires/", {"q": school.guardian_a.last_name}).json()["results"]
    assert f"person:{school.guardian_a.pk}" not in [r["value"] for r in name]


def test_prefilled_recipient_only_when_allowed(school, login, client):
    login(school.mother_b)
    page = text(client.get(COMPOSE, {"a": f"person:{school.teacher_b.pk}"}))
    assert options(page, "to")[f"person:{school.teacher_b.pk}"][1] is True
    page = text(client.get(COMPOSE, {"a": f"person:{school.guardian_a.pk}"}))
    assert f"person:{school.guardian_a.pk}" not in options(page, "to")


def test_draft_save_edit_attach_and_send(school, login, client, django_capture_on_commit_callbacks):
    login(school.teacher_b)
    response = client.post(COMPOSE, {"action": "draft", "to": [f"person:{school.mother_b.pk}"],
                                     "subject": "Brouillon", "body": "Première version", "attachments": [pdf()]})
    draft = Message.objects.get(state="draft")
    assert response.status_code == 302 and response["Location"] == f"/messagerie/brouillons/{draft.pk}/"
    page = text(client.get(response["Location"]))
    assert "Brouillon enregistré." in page and 'value="Brouillon"' in page and "Première version" in page
    assert options(page, "to")[f"person:{school.mother_b.pk}"][1] is True
    attachment = Attachment.objects.get(message=draft)
    assert f'name="remove_attachments" value="{attachment.pk}"' in page
    # Another person cannot open it; opening it as a thread leads to the draft.
    assert client.get(f"/messagerie/messages/{draft.pk}/")["Location"] == f"/messagerie/brouillons/{draft.pk}/"
    login(school.mother_b)
    assert client.get(f"/messagerie/brouillons/{draft.pk}/").status_code == 404
    assert client.post(f"/messagerie/brouillons/{draft.pk}/supprimer/").status_code == 404
    login(school.teacher_b)
    client.post(f"/messagerie/brouillons/{draft.pk}/", {
        "action": "draft", "to": [f"person:{school.mother_b.pk}"], "subject": "Brouillon", "body": "Deuxième",
        "remove_attachments": [str(attachment.pk)]})
    draft.refresh_from_db()
    assert draft.body_text == "Deuxième" and not Attachment.objects.filter(message=draft).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/messagerie/brouillons/{draft.pk}/", {
            "action": "send", "to": [f"person:{school.mother_b.pk}"], "subject": "Brouillon", "body": "Finale"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == "delivered" and copy_of(school.mother_b, draft).box == "inbox"
    assert client.get(f"/messagerie/brouillons/{draft.pk}/").status_code == 404  # no longer a draft


def test_delete_a_draft(school, login, client):
    login(school.teacher_b)
    client.post(COMPOSE, {"action": "draft", "subject": "À jeter"})
    draft = Message.objects.get(state="draft")
    response = client.post(f"/messagerie/brouillons/{draft.pk}/supprimer/")
    assert response["Location"] == "/messagerie/brouillons/"
    assert not Message.objects.exists()


def test_bad_attachment_is_refused_in_french(school, login, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    login(school.teacher_b)
    fake = SimpleUploadedFile("devoir.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = client.post(COMPOSE, {"action": "send", "to": [f"person:{school.mother_b.pk}"], "subject": "PJ",
                                     "body": "Voici", "attachments": [fake]})
    assert response.status_code == 200
    assert "devoir.pdf" in text(response)
    assert not Message.objects.exists()


def test_person_without_messaging_establishment(world, login, client):
    login(world.global_admin)
    response = client.get(COMPOSE)
    assert response.status_code == 403
    assert "aucun établissement" in text(response)
    assert client.get("/messagerie/destinataires/", {"q": "ab"}).json() == {"results": []}


def test_a_draft_put_in_the_trash_still_opens_as_a_draft(school, login, client):
    from preau.access.policy import actor_for
    from preau.messaging import services

    author = actor_for(school.teacher_b)
    draft = services.save_draft(actor=author, establishment=school.establishment, subject="Brouillon jeté",
                                body="À finir", addresses={"to": [{"type": "person", "id": school.head.pk}]})
    services.move(actor=author, message_ids=[draft.pk], box="trash")
    login(school.teacher_b)
    trash = text(client.get("/messagerie/corbeille/"))
    assert f'href="/messagerie/brouillons/{draft.pk}/"' in trash
    assert client.get(f"/messagerie/messages/{draft.pk}/").url == f"/messagerie/brouillons/{draft.pk}/"
    page = client.get(f"/messagerie/brouillons/{draft.pk}/")
    assert page.status_code == 200 and "Brouillon jeté" in text(page)
    # Nobody else reaches it.
    login(school.head)
    assert client.get(f"/messagerie/brouillons/{draft.pk}/").status_code == 404
