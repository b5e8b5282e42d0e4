"""Sending, drafts, folders, trash, bulk read marks, read receipts, forwarding, withdrawal."""

import pytest
from django.http import Http404

from preau.audit.models import AuditEvent
from preau.messaging import selectors, services
from preau.messaging.models import Attachment, Conversation, Delivery, Folder, Message
from preau.messaging.services import MessagingError, MessagingRefused

from .core_helpers import actor, address, copies, inbox_owners, person, rules, send
from .core_helpers import school as school_fixture

pytestmark = pytest.mark.django_db
school = school_fixture
Box = Delivery.Box


def boxes(user, box, folder_id=None):
    return [d.message_id for d in selectors.mailbox_page(actor(user), box=box, folder_id=folder_id).items]


def test_send_writes_the_message_the_senders_copy_and_the_audit(school, django_capture_on_commit_callbacks):
    one = school
    message = send(django_capture_on_commit_callbacks, one.teacher_b, [address("class_guardians", one.class_b.pk)],
                   subject="  Sortie   au musée ", body="<p>Rendez-vous à 8 h.</p><script>alert(1)</script>")
    message.refresh_from_db()
    assert message.subject == "Sortie au musée" and message.conversation.subject == "Sortie au musée"
    assert message.body == "<p>Rendez-vous à 8 h.</p>" and message.body_text == "Rendez-vous à 8 h."
    assert message.state == "delivered" and message.delivered_at is not None and message.to_families
    assert message.address_labels == {"to": ["Responsables de 5e B"], "cc": []}
    assert boxes(one.teacher_b, Box.SENT) == [message.pk] and boxes(one.teacher_b, Box.INBOX) == []
    assert boxes(one.mother_b, Box.INBOX) == [message.pk]
    event = AuditEvent.objects.get(action="message_sent")
    assert event.actor == one.teacher_b and event.target == f"messaging.message:{message.pk}"
    assert event.details["recipients"] == 2 and event.details["verdict"] == "allow"
    assert event.establishment_id == one.establishment.pk
    # Plain text becomes paragraphs.
    plain = send(django_capture_on_commit_callbacks, one.head, [person(one.cpe)], body="Ligne 1\nLigne 2\n\nFin <3")
    assert plain.body == "<p>Ligne 1<br>Ligne 2</p><p>Fin &lt;3</p>"
    assert plain.body_text == "Ligne 1\nLigne 2\n\nFin <3"
    assert not plain.to_families


def test_a_held_send_is_not_delivered(school, django_capture_on_commit_callbacks):
    one = school
    rules(one.establishment, hold_recipients_above=1)
    message = send(django_capture_on_commit_callbacks, one.mother_b, [person(one.teacher_b), person(one.cpe)])
    message.refresh_from_db()
    assert message.state == "held" and "au-delà de 1" in message.held_reason
    assert copies(message) == {one.mother_b.pk: "sender"}
    assert AuditEvent.objects.filter(action="message_held", target=f"messaging.message:{message.pk}").exists()
    # Released later (msgsafe's moderation calls enqueue_delivery): delivered then.
    Message.objects.filter(pk=message.pk).update(state="queued")
    with django_capture_on_commit_callbacks(execute=True):
        services.enqueue_delivery(message)
    assert inbox_owners(message) == {one.teacher_b.pk, one.cpe.pk}


def test_safety_refusals_are_messaging_refusals(school, django_capture_on_commit_callbacks):
    one = school
    rules(one.establishment, pupils_paused=True)
    with pytest.raises(MessagingRefused, match="suspendue"):
        send(django_capture_on_commit_callbacks, one.pupil_b, [person(one.teacher_b)])
    assert not Message.objects.exists()


def test_drafts(school, django_capture_on_commit_callbacks):
    one = school
    teacher = actor(one.teacher_b)
    draft = services.save_draft(actor=teacher, establishment=one.establishment, subject="Brouillon",
                                body="Premier jet", addresses={"to": [person(one.pupil_a)]})
    assert draft.state == "draft" and boxes(one.teacher_b, Box.DRAFTS) == [draft.pk]
    assert selectors.mailbox_counts(teacher)["drafts"] == 1
    assert not inbox_owners(draft)
    # Another person cannot touch it.
    with pytest.raises(Http404):
        services.save_draft(actor=actor(one.teacher_a), establishment=one.establishment, draft_id=draft.pk,
                            subject="x", body="y", addresses={})
    with pytest.raises(Http404):
        services.delete_draft(actor=actor(one.head), message_id=draft.pk)
    same = services.save_draft(actor=teacher, establishment=one.establishment, draft_id=draft.pk,
                               subject="Sortie", body="Texte final",
                               addresses={"to": [address("class_guardians", one.class_b.pk)]})
    assert same.pk == draft.pk and Message.objects.count() == 1
    assert Conversation.objects.get().subject == "Sortie"
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_message(actor=teacher, establishment=one.establishment, draft_id=draft.pk,
                                     subject="Sortie", body="Texte final",
                                     addresses={"to": [address("class_guardians", one.class_b.pk)]})
    assert sent.pk == draft.pk
    assert boxes(one.teacher_b, Box.DRAFTS) == [] and boxes(one.teacher_b, Box.SENT) == [draft.pk]
    assert inbox_owners(sent) == {one.mother_b.pk, one.father_b.pk}
    with pytest.raises(Http404):  # no longer a draft
        services.send_message(actor=teacher, establishment=one.establishment, draft_id=draft.pk, subject="x",
                              body="y", addresses={"to": [person(one.head)]})
    # Deleting a draft deletes its conversation.
    other = services.save_draft(actor=teacher, establishment=one.establishment, subject="À jeter", body="",
                                addresses={})
    services.delete_draft(actor=teacher, message_id=other.pk)
    assert not Message.objects.filter(pk=other.pk).exists()
    assert Conversation.objects.count() == 1


def test_reply_draft_keeps_the_reply_allowance(school, django_capture_on_commit_callbacks):
    one = school
    rules(one.establishment, pupils_write_to_staff=False)
    first = send(django_capture_on_commit_callbacks, one.cpe, [person(one.pupil_b)], subject="Retard")
    pupil = actor(one.pupil_b)
    draft = services.save_draft(actor=pupil, establishment=one.establishment, subject="RE : Retard", body="Pardon",
                                addresses={"to": [person(one.cpe)]}, parent_id=first.pk, kind="reply")
    assert draft.conversation_id == first.conversation_id
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_message(actor=pupil, establishment=None, draft_id=draft.pk, subject="RE : Retard",
                                     body="Pardon", addresses={"to": [person(one.cpe)]})
    assert inbox_owners(sent) == {one.cpe.pk}
    # ...but not to someone outside the conversation.
    draft = services.save_draft(actor=pupil, establishment=one.establishment, subject="RE", body="x",
                                addresses={"to": [person(one.head)]}, parent_id=first.pk, kind="reply")
    with pytest.raises(MessagingRefused):
        services.send_message(actor=pupil, establishment=None, draft_id=draft.pk, subject="RE", body="x",
                              addresses={"to": [person(one.head)]})


def test_folders(school, django_capture_on_commit_callbacks):
    one = school
    mother = actor(one.mother_b)
    first = send(django_capture_on_commit_callbacks, one.teacher_b, [person(one.mother_b)], subject="Un")
    second = send(django_capture_on_commit_callbacks, one.head, [person(one.mother_b)], subject="Deux")
    folder = services.create_folder(actor=mother, name="  Sorties  scolaires ")
    assert folder.name == "Sorties scolaires"
    with pytest.raises(MessagingError, match="déjà un dossier"):
        services.create_folder(actor=mother, name="sorties SCOLAIRES")
    with pytest.raises(MessagingError, match="nom"):
        services.create_folder(actor=mother, name="   ")
    services.create_folder(actor=actor(one.father_b), name="Sorties scolaires")  # another person's: fine
    assert services.move(actor=mother, message_ids=[first.pk], box=Box.FOLDER, folder_id=folder.pk) == 1
    assert boxes(one.mother_b, Box.INBOX) == [second.pk]
    assert boxes(one.mother_b, Box.FOLDER, folder.pk) == [first.pk]
    assert selectors.mailbox_counts(mother) == {"inbox_unread": 1, "drafts": 0, "trash": 0,
                                                "folders": {folder.pk: 1}}
    theirs = Folder.objects.get(owner=one.father_b)
    with pytest.raises(Http404):
        services.move(actor=mother, message_ids=[second.pk], box=Box.FOLDER, folder_id=theirs.pk)
    with pytest.raises(Http404):
        services.rename_folder(actor=mother, folder_id=theirs.pk, name="Pris")
    assert boxes(one.mother_b, Box.FOLDER, theirs.pk) == []
    services.rename_folder(actor=mother, folder_id=folder.pk, name="Sorties")
    assert [f.name for f in selectors.folders_of(mother)] == ["Sorties"]
    services.delete_folder(actor=mother, folder_id=folder.pk)
    assert sorted(boxes(one.mother_b, Box.INBOX)) == sorted([first.pk, second.pk])
    assert not Folder.objects.filter(owner=one.mother_b).exists()


def test_trash_restore_and_empty(school, django_capture_on_commit_callbacks):
    one = school
    teacher = actor(one.teacher_b)
    received = send(django_capture_on_commit_callbacks, one.head, [person(one.teacher_b)], subject="Reçu")
    sent = send(django_capture_on_commit_callbacks, one.teacher_b, [person(one.head)], subject="Envoyé")
    draft = services.save_draft(actor=teacher, establishment=one.establishment, subject="Brouillon", body="",
                                addresses={})
    assert services.move(actor=teacher, message_ids=[received.pk, sent.pk, draft.pk], box=Box.TRASH) == 3
    assert sorted(boxes(one.teacher_b, Box.TRASH)) == sorted([received.pk, sent.pk, draft.pk])
    assert selectors.mailbox_counts(teacher)["trash"] == 3 and selectors.mailbox_counts(teacher)["inbox_unread"] == 0
    assert services.restore(actor=teacher, message_ids=[received.pk, sent.pk, draft.pk]) == 3
    assert boxes(one.teacher_b, Box.INBOX) == [received.pk] and boxes(one.teacher_b, Box.SENT) == [sent.pk]
    assert boxes(one.teacher_b, Box.DRAFTS) == [draft.pk]
    services.move(actor=teacher, message_ids=[received.pk, sent.pk, draft.pk], box=Box.TRASH)
    assert services.empty_trash(actor=teacher) == 3
    assert boxes(one.teacher_b, Box.TRASH) == []
    assert not Message.objects.filter(pk=draft.pk).exists()
    # The head's read receipts still count the deleted copy.
    assert selectors.read_receipts(actor(one.head), received.pk).total == 1
    with pytest.raises(MessagingError):
        services.move(actor=teacher, message_ids=[received.pk], box="drafts")


def test_mark_read_in_bulk(school, django_capture_on_commit_callbacks):
    one = school
    ids = [send(django_capture_on_commit_callbacks, one.teacher_b, [person(one.mother_b)], subject=f"M{i}").pk
           for i in range(3)]
    other = send(django_capture_on_commit_callbacks, one.head, [person(one.father_b)])
    mother = actor(one.mother_b)
    assert selectors.unread_count(mother) == 3
    # Someone else's message id is ignored.
    assert services.mark_read(actor=mother, message_ids=[*ids, other.pk]) == 3
    assert selectors.unread_count(mother) == 0 and selectors.unread_count(actor(one.father_b)) == 1
    assert services.mark_read(actor=mother, message_ids=ids) == 0  # already read
    assert services.mark_read(actor=mother, message_ids=ids[:2], read=False) == 2
    assert selectors.unread_count(mother) == 2
    assert [d.message_id for d in selectors.mailbox_page(mother, box=Box.INBOX, unread_only=True).items] == (
        sorted(ids[:2], reverse=True))
    with pytest.raises(MessagingError):
        services.mark_read(actor=mother, message_ids=list(range(1, 600)))
    with pytest.raises(MessagingError):
        services.mark_read(actor=mother, message_ids=["x"])


def test_read_receipts(school, django_capture_on_commit_callbacks):
    one = school
    families = send(django_capture_on_commit_callbacks, one.teacher_b, [address("class_guardians", one.class_b.pk)])
    services.mark_read(actor=actor(one.mother_b), message_ids=[families.pk])
    receipts = selectors.read_receipts(actor(one.teacher_b), families.pk)
    assert (receipts.total, receipts.read, receipts.unread, receipts.lists_people) == (2, 1, 1, True)
    read = {r.person.pk: r.read_at is not None for r in receipts.items}
    assert read == {one.mother_b.pk: True, one.father_b.pk: False}
    for other in (one.mother_b, one.teacher_a, one.father_b):
        with pytest.raises(Http404):
            selectors.read_receipts(actor(other), families.pk)
    # A moderator of the establishment (the head) may look.
    assert selectors.read_receipts(actor(one.head), families.pk).total == 2
    # Colleagues: counts only.
    colleagues = send(django_capture_on_commit_callbacks, one.teacher_b, [person(one.teacher_a), person(one.cpe)])
    receipts = selectors.read_receipts(actor(one.teacher_b), colleagues.pk)
    assert (receipts.total, receipts.read, receipts.lists_people, receipts.items) == (2, 0, False, [])
    # Pages.
    page = selectors.read_receipts(actor(one.teacher_b), families.pk, limit=1)
    assert len(page.items) == 1 and page.next_cursor == "1"
    rest = selectors.read_receipts(actor(one.teacher_b), families.pk, limit=1, cursor=page.next_cursor)
    assert rest.next_cursor is None and rest.items[0].person != page.items[0].person
    with pytest.raises(ValueError):
        selectors.read_receipts(actor(one.teacher_b), families.pk, cursor="-1")


def test_forward_carries_text_and_attachments(school, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    one = school
    pdf = SimpleUploadedFile("programme.pdf", b"%PDF-1.4 sortie", content_type="application/pdf")
    first = send(django_capture_on_commit_callbacks, one.head, [person(one.teacher_b)], subject="Programme",
                 body="Voici le programme.", attachments=[pdf])
    with django_capture_on_commit_callbacks(execute=True):
        forwarded = services.forward(actor=actor(one.teacher_b), message_id=first.pk,
                                     addresses={"to": [address("class_guardians", one.class_b.pk)]},
                                     body="Pour information.")
    assert forwarded.subject == "TR : Programme" and forwarded.kind == "forward"
    assert "Pour information." in forwarded.body_text and "Voici le programme." in forwarded.body_text
    assert inbox_owners(forwarded) == {one.mother_b.pk, one.father_b.pk}
    shared = Attachment.objects.get(message=forwarded)
    assert shared.file.name == Attachment.objects.get(message=first).file.name
    assert selectors.access_attachment(actor(one.mother_b), shared.pk) == shared
    with pytest.raises(Http404):
        selectors.access_attachment(actor(one.mother_b), Attachment.objects.get(message=first).pk)
    # Forwarding follows the who-may-write rules (no reply allowance).
    with pytest.raises(MessagingRefused):
        services.forward(actor=actor(one.mother_b), message_id=forwarded.pk,
                         addresses={"to": [person(one.guardian_a)]})


def test_withdraw_takes_every_recipients_copy_away(school, django_capture_on_commit_callbacks):
    one = school
    message = send(django_capture_on_commit_callbacks, one.head, [address("class_guardians", one.class_b.pk)])
    services.mark_read(actor=actor(one.father_b), message_ids=[message.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert services.withdraw(message) == 2
    message.refresh_from_db()
    assert message.state == "recalled" and message.recalled_at is not None
    assert selectors.unread_count(actor(one.mother_b)) == 0
    for parent in (one.mother_b, one.father_b):
        with pytest.raises(Http404):
            selectors.access_delivery(actor(parent), message.pk)
    assert boxes(one.head, Box.SENT) == [message.pk]  # the sender keeps their copy
    hidden = send(django_capture_on_commit_callbacks, one.teacher_b, [person(one.mother_b)])
    services.withdraw(hidden, hidden_by=one.head)
    hidden.refresh_from_db()
    assert hidden.hidden_by == one.head and hidden.state == "delivered"
    assert boxes(one.mother_b, Box.INBOX) == []
