"""The mailbox pages (/messagerie/...): boxes and folders with their counts, rows, "more" pagination, bulk actions,
empty trash, folders management, search, the live rows fragment, the header badge; constant query counts."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from preau.messaging.models import Delivery, Folder, Message

from .pages_support import calm_school, copy_of, fill_mailbox, pdf, person, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(world):
    return calm_school(world)

INBOX = "/messagerie/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def rows(response) -> list[str]:
    """The data-id of each mailbox row, in order."""
    return re.findall(r'<li class="mail-row[^"]*" data-id="(\d+)"', response.content.decode())


def test_urls():
    assert reverse("messaging:inbox") == INBOX
    assert reverse("messaging:sent") == "/messagerie/envoyes/"
    assert reverse("messaging:drafts") == "/messagerie/brouillons/"
    assert reverse("messaging:trash") == "/messagerie/corbeille/"
    assert reverse("messaging:compose") == "/messagerie/ecrire/"
    assert reverse("messaging:thread", args=[3]) == "/messagerie/messages/3/"


def test_anonymous_goes_to_the_login_page(client):
    for url in (INBOX, "/messagerie/envoyes/", "/messagerie/ecrire/", "/messagerie/recherche/?q=a",
                "/messagerie/dossiers/", "/messagerie/nouveaux/", "/messagerie/destinataires/?q=ab"):
        response = client.get(url)
        assert response.status_code == 302 and "/compte/connexion/" in response["Location"], url


def test_inbox_lists_the_persons_own_copies_unread_in_bold(school, login, client, django_capture_on_commit_callbacks):
    message = send(django_capture_on_commit_callbacks, school.teacher_b, [person(school.mother_b)],
                   subject="Sortie au musée", attachments=[pdf()])
    login(school.mother_b)
    response = client.get(INBOX)
    assert response.status_code == 200
    page = response.content.decode()
    assert rows(response) == [str(copy_of(school.mother_b, message).pk)]
    assert "mail-row mail-row--unread" in page
    assert "Non lu :" in page and school.teacher_b.full_name in page and "Sortie au musée" in page
    assert 'aria-label="Avec pièce jointe"' in page
    # Navigation with the unread count (live), the header badge too.
    assert re.search(r'id="nav-inbox-count" data-live-count="messages" data-count="1">1</span>', page)
    assert 'data-testid="messages-badge"' in page

    # The sender sees it in "sent" with its recipients, not in their inbox; another family sees nothing.
    login(school.teacher_b)
    assert rows(client.get(INBOX)) == []
    sent = client.get("/messagerie/envoyes/")
    assert rows(sent) == [str(copy_of(school.teacher_b, message).pk)]
    assert f"À : {school.mother_b.full_name}" in sent.content.decode()
    login(school.guardian_a)
    assert rows(client.get(INBOX)) == [] and rows(client.get("/messagerie/envoyes/")) == []


def test_read_messages_are_not_bold_and_unread_filter(school, login, client):
    messages = fill_mailbox(school.teacher_b, school.mother_b, 3, establishment=school.establishment)
    Delivery.objects.filter(owner=school.mother_b, message=messages[0]).update(read_at=messages[0].sent_at)
    login(school.mother_b)
    page = client.get(INBOX).content.decode()
    assert page.count("mail-row--unread") == 2
    unread = client.get(INBOX + "?non-lus=1")
    assert len(rows(unread)) == 2 and "Non lus seulement" in unread.content.decode()


def test_more_pagination_is_keyset(school, login, client):
    fill_mailbox(school.teacher_b, school.mother_b, 60, establishment=school.establishment)
    login(school.mother_b)
    first = client.get(INBOX)
    assert len(rows(first)) == 50
    more = re.search(r'<a href="([^"]+)" rel="next" data-more[^>]*>Messages plus anciens</a>', first.content.decode())
    assert more
    second = client.get(more.group(1).replace("&amp;", "&"))
    assert len(rows(second)) == 10
    assert not set(rows(first)) & set(rows(second))
    assert "Revenir aux plus récents" in second.content.decode()
    assert "Messages plus anciens" not in second.content.decode()
    assert client.get(INBOX + "?apres=n'importe-quoi").status_code == 400


@pytest.mark.parametrize("box", ["", "envoyes/", "corbeille/"])
def test_mailbox_query_count_does_not_depend_on_its_size(school, login, client, box):
    url = INBOX + box
    login(school.mother_b)
    fill_mailbox(school.teacher_b, school.mother_b, 10, establishment=school.establishment, attachments_every=3)
    fill_mailbox(school.mother_b, school.teacher_b, 10, establishment=school.establishment)
    Delivery.objects.filter(owner=school.mother_b).update(box=Delivery.Box.TRASH) if box == "corbeille/" else None
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    fill_mailbox(school.teacher_b, school.mother_b, 190, establishment=school.establishment, attachments_every=3)
    fill_mailbox(school.mother_b, school.teacher_b, 190, establishment=school.establishment)
    Delivery.objects.filter(owner=school.mother_b).update(box=Delivery.Box.TRASH) if box == "corbeille/" else None
    with CaptureQueriesContext(connection) as large:
        response = client.get(url)
    assert len(rows(response)) == 50
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
    assert len(large) <= 10, [q["sql"] for q in large.captured_queries]


def test_custom_folders_navigation_and_another_persons_folder(school, login, client):
    mine = Folder.objects.create(owner=school.mother_b, name="Sorties")
    theirs = Folder.objects.create(owner=school.father_b, name="Secret")
    messages = fill_mailbox(school.teacher_b, school.mother_b, 2, establishment=school.establishment)
    Delivery.objects.filter(owner=school.mother_b, message=messages[0]).update(box=Delivery.Box.FOLDER, folder=mine)
    login(school.mother_b)
    inbox = client.get(INBOX).content.decode()
    assert f'href="/messagerie/dossiers/{mine.pk}/"' in inbox and "Sorties" in inbox and "Secret" not in inbox
    folder = client.get(f"/messagerie/dossiers/{mine.pk}/")
    assert folder.status_code == 200 and rows(folder) == [str(copy_of(school.mother_b, messages[0]).pk)]
    assert client.get(f"/messagerie/dossiers/{theirs.pk}/").status_code == 404
    assert client.get("/messagerie/dossiers/99999999999999999999/").status_code == 404


# --- Bulk actions --------------------------------------------------------------------------------------------------

def bulk(client, ids, action, **extra):
    return client.post("/messagerie/actions/", {"ids": [str(i) for i in ids], "action": action, **extra})


def test_bulk_mark_read_unread(school, login, client):
    messages = fill_mailbox(school.teacher_b, school.mother_b, 3, establishment=school.establishment)
    login(school.mother_b)
    response = bulk(client, [m.pk for m in messages[:2]], "read", next="/messagerie/?non-lus=1")
    assert response.status_code == 302 and response["Location"] == "/messagerie/?non-lus=1"
    assert Delivery.objects.filter(owner=school.mother_b, read_at__isnull=False).count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "2 messages marqués comme lus." in page
    bulk(client, [messages[0].pk], "unread")
    assert Delivery.objects.filter(owner=school.mother_b, read_at__isnull=True).count() == 2


def test_bulk_move_trash_restore_and_empty_trash(school, login, client):
    folder = Folder.objects.create(owner=school.mother_b, name="Sorties")
    messages = fill_mailbox(school.teacher_b, school.mother_b, 3, establishment=school.establishment)
    ids = [m.pk for m in messages]
    login(school.mother_b)
    bulk(client, ids[:1], "move", folder=str(folder.pk))
    assert copy_of(school.mother_b, messages[0]).folder_id == folder.pk
    bulk(client, ids[1:], "trash")
    assert set(Delivery.objects.filter(owner=school.mother_b, box="trash").values_list("message_id", flat=True)) \
        == set(ids[1:])
    trash = client.get("/messagerie/corbeille/")
    assert len(rows(trash)) == 2 and "Vider la corbeille" in trash.content.decode()
    bulk(client, ids[1:2], "restore")
    assert copy_of(school.mother_b, messages[1]).box == "inbox"
    response = client.post("/messagerie/corbeille/vider/")
    assert response.status_code == 302
    assert copy_of(school.mother_b, messages[2]).deleted_at is not None
    assert "La corbeille est vidée (1 message supprimé)." in client.get(response["Location"]).content.decode()
    # The sender's copies are untouched.
    assert Delivery.objects.filter(owner=school.teacher_b, box="sent").count() == 3


def test_bulk_never_touches_another_persons_copies(school, login, client):
    messages = fill_mailbox(school.teacher_b, school.mother_b, 2, establishment=school.establishment)
    login(school.father_b)
    response = bulk(client, [m.pk for m in messages], "trash")
    assert response.status_code == 302
    assert not Delivery.objects.filter(box="trash").exists()
    assert "Aucun des messages sélectionnés n'a changé." in text(client.get(INBOX))
    theirs = Folder.objects.create(owner=school.mother_b, name="Sorties")
    login(school.mother_b)
    bulk(client, [messages[0].pk], "move", folder=str(theirs.pk))
    login(school.father_b)
    response = bulk(client, [messages[0].pk], "move", folder=str(theirs.pk))
    assert "Choisissez le dossier de destination." in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("data, error", [
    ({"action": "read"}, "Sélectionnez au moins un message."),
    ({"ids": ["abc"], "action": "read"}, "Sélection invalide."),
    ({"ids": [str(2**70)], "action": "read"}, "Sélection invalide."),
    ({"ids": ["1"], "action": "explode"}, "Sélection invalide."),
    ({"ids": ["1"], "action": "move"}, "Choisissez le dossier de destination."),
    ({"ids": ["1"], "action": "move", "folder": "999999"}, "Choisissez le dossier de destination."),
    ({"ids": [str(i) for i in range(1, 600)], "action": "read"}, "Trop de messages sélectionnés"),
])
def test_bulk_bad_input_is_a_french_message(school, login, client, data, error):
    login(school.mother_b)
    response = client.post("/messagerie/actions/", data)
    assert response.status_code == 302
    assert error in text(client.get(response["Location"]))


def test_bulk_comes_back_only_inside_messaging(school, login, client):
    messages = fill_mailbox(school.teacher_b, school.mother_b, 1, establishment=school.establishment)
    login(school.mother_b)
    for target in ("https://evil.example/", "//evil.example/", "/compte/profil/"):
        response = bulk(client, [messages[0].pk], "read", next=target)
        assert response["Location"] == INBOX, target
    assert client.get("/messagerie/actions/").status_code == 405


# --- Folders management -----------------------------------------------------------------------------------------

def test_folders_create_rename_delete(school, login, client):
    login(school.mother_b)
    assert client.get("/messagerie/dossiers/").status_code == 200
    response = client.post("/messagerie/dossiers/", {"new-name": "  Sorties   scolaires "})
    assert response.status_code == 302
    folder = Folder.objects.get(owner=school.mother_b)
    assert folder.name == "Sorties scolaires"
    duplicate = client.post("/messagerie/dossiers/", {"new-name": "sorties scolaires"})
    assert duplicate.status_code == 200
    assert "Vous avez déjà un dossier « sorties scolaires »." in duplicate.content.decode()
    empty = client.post("/messagerie/dossiers/", {"new-name": "   "})
    assert "Donnez un nom au dossier." in empty.content.decode()
    assert 'aria-invalid="true"' in empty.content.decode()

    client.post(f"/messagerie/dossiers/{folder.pk}/renommer/", {f"f{folder.pk}-name": "Voyages"})
    folder.refresh_from_db()
    assert folder.name == "Voyages"
    response = client.post(f"/messagerie/dossiers/{folder.pk}/renommer/", {f"f{folder.pk}-name": ""})
    assert "Donnez un nom au dossier." in client.get(response["Location"]).content.decode()

    messages = fill_mailbox(school.teacher_b, school.mother_b, 1, establishment=school.establishment)
    Delivery.objects.filter(owner=school.mother_b).update(box="folder", folder=folder)
    client.post(f"/messagerie/dossiers/{folder.pk}/supprimer/")
    assert not Folder.objects.filter(pk=folder.pk).exists()
    assert copy_of(school.mother_b, messages[0]).box == "inbox"


def test_another_persons_folder_cannot_be_renamed_or_deleted(school, login, client):
    theirs = Folder.objects.create(owner=school.father_b, name="Secret")
    login(school.mother_b)
    assert client.post(f"/messagerie/dossiers/{theirs.pk}/renommer/",
                       {f"f{theirs.pk}-name": "À moi"}).status_code == 404
    assert client.post(f"/messagerie/dossiers/{theirs.pk}/supprimer/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Secret"


# --- Search ----------------------------------------------------------------------------------------------------

def test_search_finds_only_the_persons_messages(school, login, client, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, school.teacher_b, [person(school.mother_b)],
         subject="Sortie au musée des Confluences")
    send(django_capture_on_commit_callbacks, school.teacher_a, [person(school.guardian_a)],
         subject="Sortie au musée Gallo-romain")
    login(school.mother_b)
    empty = client.get("/messagerie/recherche/")
    assert empty.status_code == 200 and "Cherchez un mot" in empty.content.decode()
    response = client.get("/messagerie/recherche/", {"q": "musée"})
    page = response.content.decode()
    assert "Confluences" in page and "Gallo-romain" not in page
    assert "1 message trouvé pour « musée »" in page
    assert "Aucun message ne contient « piscine »." in client.get(
        "/messagerie/recherche/", {"q": "piscine"}).content.decode()
    assert client.get("/messagerie/recherche/", {"q": "musée", "apres": "x"}).status_code == 400


# --- Live rows --------------------------------------------------------------------------------------------------

def test_new_rows_fragment_renders_what_is_newer_than_the_marker(school, login, client):
    messages = fill_mailbox(school.teacher_b, school.mother_b, 3, establishment=school.establishment)
    login(school.mother_b)
    page = client.get(INBOX).content.decode()
    marker = re.search(r'data-newest="([^"]+)"', page).group(1)
    assert client.get("/messagerie/nouveaux/", {"depuis": marker}).content.decode().strip() == ""
    newer = fill_mailbox(school.teacher_b, school.mother_b, 1, establishment=school.establishment,
                         subject="Nouvelle sortie")
    Delivery.objects.filter(message=newer[0]).update(sent_at=messages[-1].sent_at.replace(year=2100))
    response = client.get("/messagerie/nouveaux/", {"depuis": marker})
    fragment = response.content.decode()
    assert rows(response) == [str(copy_of(school.mother_b, newer[0]).pk)]
    assert "mail-row--fresh" in fragment
    assert f"Nouveau message de {school.teacher_b.full_name} : Nouvelle sortie" in fragment
    assert response["X-Newest"].endswith(f"|{copy_of(school.mother_b, newer[0]).pk}")
    assert response["Cache-Control"].startswith("max-age=0")
    # Another person gets their own rows only; a broken marker means "everything on the first page".
    login(school.father_b)
    assert rows(client.get("/messagerie/nouveaux/", {"depuis": marker})) == []
    login(school.mother_b)
    assert len(rows(client.get("/messagerie/nouveaux/", {"depuis": "garbage"}))) == 4


def test_header_badge_on_every_page(school, login, client):
    fill_mailbox(school.teacher_b, school.mother_b, 2, establishment=school.establishment)
    login(school.mother_b)
    home = text(client.get("/"))
    badge = re.search(r'<a href="/messagerie/" class="header-bell" data-bell="messages" '
                      r'aria-labelledby="messages-badge-label messages-badge-count">.*?</a>', home, re.S).group(0)
    assert '<span class="visually-hidden" id="messages-badge-label">Messagerie, messages non lus :</span>' in badge
    assert re.search(r'id="messages-badge-count" data-live-count="messages" data-count="2"[^>]*>2</span>', badge)
    login(school.father_b)
    assert re.search(r'data-live-count="messages" data-count="0" data-testid="messages-badge" hidden>0</span>',
                     client.get("/").content.decode())


def test_draft_rows_link_to_the_draft(school, login, client):
    login(school.teacher_b)
    client.post("/messagerie/ecrire/", {"action": "draft", "subject": "À finir", "body": "…"})
    draft = Message.objects.get(state="draft")
    page = client.get("/messagerie/brouillons/").content.decode()
    assert f'href="/messagerie/brouillons/{draft.pk}/"' in page and "À finir" in page
