"""Reading a thread (/messagerie/messages/<id>/): only the person's own copies (404 for anyone else), shown
addresses (bcc for the sender only), attachments downloaded through the access check, reply, reply all, forward,
move, report and recall buttons, read receipts; a constant query count whatever the thread's length."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from preau.messaging.models import Attachment, Conversation, Delivery, Folder, Message

from .pages_support import calm_school, copy_of, fill_mailbox, pdf, person, reply, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(world):
    return calm_school(world)


def text(response) -> str:
    return html.unescape(response.content.decode())


def thread_url(message) -> str:
    return f"/messagerie/messages/{message.pk}/"


@pytest.fixture
def outing(school, django_capture_on_commit_callbacks):
    """Mr B's message to Léa's mother, copy to her father, blind copy to the head, with a PDF."""
    return send(django_capture_on_commit_callbacks, school.teacher_b, [person(school.mother_b)],
                cc=[person(school.father_b)], bcc=[person(school.head)], subject="Sortie au musée",
                body="Bonjour,\n\nLa sortie a lieu jeudi.", attachments=[pdf("autorisation.pdf")])


def addresses_block(page: str, message) -> str:
    return re.search(rf'id="message-{message.pk}".*?</dl>', page, re.S).group(0)


def test_owner_reads_the_message_and_it_becomes_read(school, outing, login, client):
    login(school.mother_b)
    assert copy_of(school.mother_b, outing).read_at is None
    response = client.get(thread_url(outing))
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Sortie au musée</h1>" in page
    assert "<p>Bonjour,</p><p>La sortie a lieu jeudi.</p>" in page
    block = addresses_block(page, outing)
    assert school.mother_b.full_name in block and school.father_b.full_name in block
    assert "Cci" not in block and school.head.full_name not in page
    assert copy_of(school.mother_b, outing).read_at is not None
    # Reply, reply all, forward, report; no recall nor read receipts (not the sender).
    assert f'href="/messagerie/messages/{outing.pk}/repondre/"' in page
    assert f'href="/messagerie/messages/{outing.pk}/repondre-a-tous/"' in page
    assert f'href="/messagerie/messages/{outing.pk}/transferer/"' in page
    assert f'action="/messagerie/moderation/signaler/{outing.pk}/"' in page
    assert "/moderation/rappeler/" not in page and "/lectures/" not in page


def test_bcc_is_shown_to_the_sender_and_to_the_blind_recipient_alone(school, outing, login, client):
    login(school.teacher_b)
    block = addresses_block(text(client.get(thread_url(outing))), outing)
    assert "<dt>Cci</dt>" in block and school.head.full_name in block
    login(school.head)
    block = addresses_block(text(client.get(thread_url(outing))), outing)
    assert "<dt>Cci</dt>" in block and school.head.full_name in block
    login(school.father_b)
    assert "<dt>Cci</dt>" not in text(client.get(thread_url(outing)))


def test_sender_sees_recall_and_read_receipts_not_report(school, outing, login, client):
    login(school.teacher_b)
    page = text(client.get(thread_url(outing)))
    assert f'action="/messagerie/moderation/rappeler/{outing.pk}/"' in page
    assert f'href="/messagerie/messages/{outing.pk}/lectures/"' in page
    assert "/moderation/signaler/" not in page
    assert f'href="/messagerie/messages/{outing.pk}/repondre/"' not in page  # no reply to oneself


def test_other_people_get_404(school, world, outing, login, client):
    for other in (school.guardian_a, school.teacher_a, school.ent_admin, world.two.head, world.global_admin):
        login(other)
        for url in (thread_url(outing), thread_url(outing) + "repondre/", thread_url(outing) + "transferer/"):
            assert client.get(url).status_code == 404, (other, url)
        assert client.post(thread_url(outing) + "deplacer/", {"folder": "trash"}).status_code == 404
        attachment = Attachment.objects.get(message=outing)
        assert client.get(f"/messagerie/pieces-jointes/{attachment.pk}/").status_code == 404
    # Read receipts: the sender, or a moderator of the establishment (msg's read_receipts), nobody else.
    for other in (school.mother_b, school.guardian_a, school.teacher_a, world.two.head):
        login(other)
        assert client.get(thread_url(outing) + "lectures/").status_code == 404, other
    login(school.mother_b)
    for url in ("/messagerie/messages/987654/", "/messagerie/messages/99999999999999999999999/",
                "/messagerie/pieces-jointes/99999999999999999999/"):
        assert client.get(url).status_code == 404, url


def test_attachment_is_downloaded_never_shown_inline(school, outing, login, client):
    attachment = Attachment.objects.get(message=outing)
    login(school.mother_b)
    page = text(client.get(thread_url(outing)))
    assert f'href="/messagerie/pieces-jointes/{attachment.pk}/" download>autorisation.pdf</a>' in page
    response = client.get(f"/messagerie/pieces-jointes/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "autorisation.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_a_withdrawn_message_is_gone(school, outing, login, client):
    Delivery.objects.filter(message=outing, owner=school.mother_b).update(withdrawn_at=timezone.now())
    login(school.mother_b)
    assert client.get(thread_url(outing)).status_code == 404


def test_thread_query_count_does_not_depend_on_its_length(school, login, client):
    def conversation_of(size):
        conversation = Conversation.objects.create(establishment=school.establishment, subject="Long fil")
        fill_mailbox(school.teacher_b, school.mother_b, size // 2, establishment=school.establishment,
                     conversation=conversation, attachments_every=4)
        fill_mailbox(school.mother_b, school.teacher_b, size // 2, establishment=school.establishment,
                     conversation=conversation)
        return Message.objects.filter(conversation=conversation, sender=school.teacher_b).latest("sent_at")

    login(school.mother_b)
    client.get("/messagerie/")
    small, large = conversation_of(10), conversation_of(200)
    with CaptureQueriesContext(connection) as few:
        assert client.get(thread_url(small)).status_code == 200
    with CaptureQueriesContext(connection) as many:
        response = client.get(thread_url(large))
    assert text(response).count('class="thread__item') == 200
    assert len(many) == len(few), [q["sql"][:100] for q in many.captured_queries]
    # Opening unread messages also reads their notifications (two UPDATEs).
    assert len(many) <= 17, [q["sql"][:100] for q in many.captured_queries]


# --- Reply, reply all, forward ------------------------------------------------------------------------------------

def test_reply_goes_to_the_sender_in_the_same_conversation(school, outing, login, client,
                                                            django_capture_on_commit_callbacks):
    login(school.mother_b)
    page = text(client.get(thread_url(outing) + "repondre/"))
    assert "Répondre" in page and f"<strong>À :</strong> {school.teacher_b.full_name}</p>" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(thread_url(outing) + "repondre/", {"body": "Merci, c'est noté."})
    answer = Message.objects.get(kind="reply")
    assert response.status_code == 302
    assert response["Location"] == f"{thread_url(outing)}#message-{answer.pk}"
    assert answer.conversation_id == outing.conversation_id and answer.subject == "RE : Sortie au musée"
    assert copy_of(school.teacher_b, answer).box == "inbox"
    assert not Delivery.objects.filter(message=answer, owner=school.father_b).exists()
    followed = text(client.get(response["Location"]))
    assert "Réponse envoyée." in followed and "Merci, c'est noté." in followed
    # The teacher sees the reply in the thread too.
    login(school.teacher_b)
    assert "Merci, c'est noté." in text(client.get(thread_url(answer)))


def test_reply_all_reaches_the_visible_recipients(school, outing, login, client, django_capture_on_commit_callbacks):
    login(school.father_b)
    page = text(client.get(thread_url(outing) + "repondre-a-tous/"))
    assert school.teacher_b.full_name in page and school.mother_b.full_name in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(thread_url(outing) + "repondre-a-tous/", {"body": "Nous serons là."})
    answer = Message.objects.get(kind="reply")
    owners = set(Delivery.objects.filter(message=answer).exclude(role="sender").values_list("owner_id", flat=True))
    assert owners == {school.teacher_b.pk, school.mother_b.pk}  # never the bcc


def test_reply_errors_are_french(school, outing, login, client):
    login(school.mother_b)
    response = client.post(thread_url(outing) + "repondre/", {"body": "   "})
    assert response.status_code == 200
    assert "Écrivez votre réponse." in text(response) and 'aria-invalid="true"' in text(response)
    assert not Message.objects.filter(kind="reply").exists()


def test_reply_in_a_blocked_conversation_is_refused(school, outing, login, client):
    Conversation.objects.filter(pk=outing.conversation_id).update(blocked_at=timezone.now())
    login(school.mother_b)
    page = text(client.get(thread_url(outing)))
    assert "Cette conversation a été fermée par l'établissement" in page
    assert "/repondre/" not in page
    assert client.get(thread_url(outing) + "repondre/").status_code == 403
    assert client.post(thread_url(outing) + "repondre/", {"body": "Et pourtant"}).status_code == 403
    assert not Message.objects.filter(kind="reply").exists()


def test_forward_checks_the_new_addresses(school, outing, login, client, django_capture_on_commit_callbacks):
    login(school.mother_b)
    page = text(client.get(thread_url(outing) + "transferer/"))
    assert "Transférer le message" in page and "autorisation.pdf" in page
    refused = client.post(thread_url(outing) + "transferer/", {"to": [f"person:{school.guardian_a.pk}"]})
    assert refused.status_code == 200
    assert f"Vous ne pouvez pas écrire à : {school.guardian_a.full_name}." in text(refused)
    missing = client.post(thread_url(outing) + "transferer/", {"body": "Pour info"})
    assert "Ajoutez au moins un destinataire." in text(missing)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(thread_url(outing) + "transferer/",
                               {"to": [f"person:{school.head.pk}"], "body": "Pour information."})
    assert response.status_code == 302
    forwarded = Message.objects.get(kind="forward")
    assert forwarded.subject == "TR : Sortie au musée"
    assert Attachment.objects.filter(message=forwarded, name="autorisation.pdf").exists()
    assert copy_of(school.head, forwarded).box == "inbox"


# --- Move, receipts -----------------------------------------------------------------------------------------------

def test_move_from_the_thread(school, outing, login, client):
    folder = Folder.objects.create(owner=school.mother_b, name="Sorties")
    login(school.mother_b)
    response = client.post(thread_url(outing) + "deplacer/", {"folder": str(folder.pk)})
    assert response["Location"] == thread_url(outing)
    assert copy_of(school.mother_b, outing).folder_id == folder.pk
    page = text(client.get(thread_url(outing)))
    assert f'<option value="{folder.pk}" selected>Sorties</option>' in page
    response = client.post(thread_url(outing) + "deplacer/", {"folder": "trash"})
    assert response["Location"] == f"/messagerie/dossiers/{folder.pk}/"
    assert copy_of(school.mother_b, outing).box == "trash"
    response = client.post(thread_url(outing) + "deplacer/", {"folder": "nowhere"})
    assert "Choisissez le dossier de destination." in text(client.get(response["Location"]))


def test_read_receipts_for_the_sender_of_a_message_to_families(school, login, client,
                                                               django_capture_on_commit_callbacks):
    message = send(django_capture_on_commit_callbacks, school.teacher_b,
                   [{"type": "class_guardians", "id": school.class_b.pk}], subject="Réunion")
    login(school.mother_b)
    client.get(thread_url(message))
    login(school.teacher_b)
    response = client.get(thread_url(message) + "lectures/")
    assert response.status_code == 200
    page = text(response)
    assert "Accusés de lecture" in page
    assert re.search(r"1\s*</strong>\s*lu", page) and re.search(r"1\s*</strong>\s*non lu", page)
    assert school.mother_b.full_name in page and school.father_b.full_name in page
    assert client.get(thread_url(message) + "lectures/?apres=x").status_code == 400
    login(school.mother_b)
    assert client.get(thread_url(message) + "lectures/").status_code == 404


def test_reply_from_the_thread_reaches_the_teachers_inbox(school, outing, login, client,
                                                          django_capture_on_commit_callbacks):
    answer = reply(django_capture_on_commit_callbacks, school.mother_b, outing, body="Bien reçu.")
    login(school.teacher_b)
    inbox = text(client.get("/messagerie/"))
    assert f'data-id="{copy_of(school.teacher_b, answer).pk}"' in inbox and "RE : Sortie au musée" in inbox
