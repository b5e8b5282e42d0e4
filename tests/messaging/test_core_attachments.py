"""Attachments: size, number, type by extension and by content; stored through the storage API; access-checked."""

import io
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from preau.messaging import attachments, selectors, services
from preau.messaging.models import Attachment, Message
from preau.messaging.services import MessagingError

from .core_helpers import actor, person, send
from .core_helpers import school as school_fixture

pytestmark = pytest.mark.django_db
school = school_fixture


def upload(name, content: bytes):
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


GOOD = {
    "compte-rendu.pdf": b"%PDF-1.4\n1 0 obj\n",
    "photo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "photo.JPG": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "anim.gif": b"GIF89a\x01\x00\x01\x00",
    "image.webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "notes.txt": "Liste des fournitures : cahier, règle.\n".encode(),
    "notes-latin1.txt": "Fournitures : règle".encode("cp1252"),
    "eleves.csv": b"nom;prenom\nMartin;Lea\n",
    "lettre.docx": zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}),
    "tableau.xlsx": zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}),
    "lettre.odt": zipped({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<c/>"}),
    "dictee.mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
}

BAD = {
    "programme.exe": (b"MZ\x90\x00", "n'est pas accepté"),
    "page.html": (b"<html><script>alert(1)</script>", "n'est pas accepté"),
    "image.svg": (b"<svg onload=alert(1)>", "n'est pas accepté"),
    "sans-extension": (b"%PDF-1.4", "n'est pas accepté"),
    "faux.pdf": (b"MZ\x90\x00 this is an executable", "ne correspond pas"),
    "faux.jpg": (b"<html>not an image</html>", "ne correspond pas"),
    "faux.docx": (zipped({"payload.exe": b"MZ"}), "ne correspond pas"),
    "faux.odt": (zipped({"mimetype": b"application/zip", "content.xml": b""}), "ne correspond pas"),
    "binaire.txt": (b"texte\x00\x01\x02binaire", "ne correspond pas"),
    "vide.pdf": (b"", "est vide"),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_accepted_files(name):
    checked = attachments.check(upload(name, GOOD[name]))
    assert checked.name == name and checked.size == len(GOOD[name])
    assert checked.content_type == attachments.KINDS[name.rsplit(".", 1)[1].lower()].content_type


@pytest.mark.parametrize("name", sorted(BAD))
def test_refused_files(name):
    content, reason = BAD[name]
    with pytest.raises(MessagingError, match=reason):
        attachments.check(upload(name, content))


def test_size_number_and_allowed_types_come_from_settings(settings):
    settings.PREAU_MESSAGING_MAX_ATTACHMENT_BYTES = 10
    with pytest.raises(MessagingError, match="trop lourd"):
        attachments.check(upload("gros.pdf", b"%PDF-1.4 more than ten bytes"))
    settings.PREAU_MESSAGING_MAX_ATTACHMENT_BYTES = 1024
    settings.PREAU_MESSAGING_MAX_ATTACHMENTS = 2
    with pytest.raises(MessagingError, match="2 pièces jointes au plus"):
        attachments.check_all([upload(f"{i}.pdf", b"%PDF-1") for i in range(3)])
    with pytest.raises(MessagingError, match="2 pièces jointes au plus"):
        attachments.check_all([upload("a.pdf", b"%PDF-1")], existing=2)
    settings.PREAU_MESSAGING_ATTACHMENT_TYPES = ["pdf"]
    with pytest.raises(MessagingError, match="acceptés : pdf"):
        attachments.check(upload("photo.png", GOOD["photo.png"]))


def test_names_are_cleaned_and_files_stored_under_random_names(school, django_capture_on_commit_callbacks):
    one = school
    assert attachments.clean_name("../../etc/pass\x00wd.pdf") == "pass_wd.pdf"
    assert attachments.clean_name("C:\\Users\\moi\\devoir.pdf") == "devoir.pdf"
    assert len(attachments.clean_name("a" * 300 + ".pdf")) == 200
    message = send(django_capture_on_commit_callbacks, one.head, [person(one.cpe)],
                   attachments=[upload("Compte rendu.pdf", GOOD["compte-rendu.pdf"])])
    stored = Attachment.objects.get(message=message)
    assert stored.name == "Compte rendu.pdf" and stored.content_type == "application/pdf"
    assert stored.file.name.startswith("messaging/") and "Compte" not in stored.file.name
    assert default_storage.open(stored.file.name).read() == GOOD["compte-rendu.pdf"]
    response = attachments.download_response(stored)
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff" and response["Content-Type"] == "application/pdf"


def test_a_bad_attachment_refuses_the_whole_send(school, django_capture_on_commit_callbacks):
    one = school
    with pytest.raises(MessagingError, match="ne correspond pas"):
        send(django_capture_on_commit_callbacks, one.head, [person(one.cpe)],
             attachments=[upload("ok.pdf", GOOD["compte-rendu.pdf"]), upload("faux.pdf", b"MZ")])
    assert not Message.objects.exists() and not Attachment.objects.exists()


def test_access_to_attachments(school, django_capture_on_commit_callbacks):
    one = school
    message = send(django_capture_on_commit_callbacks, one.head, [person(one.cpe)], bcc=[person(one.nurse)],
                   attachments=[upload("plan.pdf", GOOD["compte-rendu.pdf"])])
    stored = Attachment.objects.get(message=message)
    for allowed in (one.head, one.cpe, one.nurse):
        assert selectors.access_attachment(actor(allowed), stored.pk) == stored
    for other in (one.secretary, one.mother_b, one.ent_admin):
        with pytest.raises(Http404):
            selectors.access_attachment(actor(other), stored.pk)
    with pytest.raises(Http404):
        selectors.access_attachment(actor(one.cpe), "x")
    # Withdrawn: gone for the recipients, not for the sender.
    services.withdraw(message)
    with pytest.raises(Http404):
        selectors.access_attachment(actor(one.cpe), stored.pk)
    assert selectors.access_attachment(actor(one.head), stored.pk) == stored


def test_draft_attachments_removed_and_shared_files_kept(school, django_capture_on_commit_callbacks):
    one = school
    head = actor(one.head)
    original = send(django_capture_on_commit_callbacks, one.cpe, [person(one.head)],
                    attachments=[upload("plan.pdf", GOOD["compte-rendu.pdf"])])
    draft = services.save_draft(actor=head, establishment=one.establishment, subject="TR", body="",
                                addresses={}, parent_id=original.pk, kind="forward")
    shared = Attachment.objects.get(message=draft)
    name = shared.file.name
    assert name == Attachment.objects.get(message=original).file.name
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_draft_attachment(actor=head, draft_id=draft.pk, attachment_id=shared.pk)
    assert default_storage.exists(name)  # still the original's
    added = services.add_draft_attachment(actor=head, draft_id=draft.pk, upload=upload("b.pdf", b"%PDF-1.5"))
    own = added.file.name
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_draft(actor=head, message_id=draft.pk)
    assert not default_storage.exists(own)
    assert default_storage.exists(name)


def test_a_storage_failure_midway_leaves_no_file_and_no_row(school, monkeypatch):
    """The storage fails on the second file (a full disk, an S3 outage): the first file, already written, is
    deleted, and nothing of the send remains."""
    stored: list[str] = []
    real_save = default_storage.save

    def failing_second(name, content, *args, **kwargs):
        if stored:
            raise OSError("disque plein")
        stored.append(real_save(name, content, *args, **kwargs))
        return stored[-1]

    monkeypatch.setattr(default_storage, "save", failing_second)
    with pytest.raises(OSError):
        services.send_message(actor=actor(school.teacher_b), establishment=school.establishment, subject="PJ",
                              body="x", addresses={"to": [person(school.head)]},
                              attachments=[upload("a.pdf", GOOD["compte-rendu.pdf"]),
                                           upload("b.png", GOOD["photo.png"])])
    assert stored and not default_storage.exists(stored[0])
    assert not Attachment.objects.exists() and not Message.objects.filter(subject="PJ").exists()
