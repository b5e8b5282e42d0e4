"""Messaging, as JSON (/api/v1/messaging/...): the caller's mailbox (keyset pages), counts, a message and its
thread, sending, replying, forwarding, drafts (with attachments uploaded as multipart), read marks and moves in
bulk, folders, search, read receipts, address suggestions.

The same selectors and services as the pages under /messagerie/ (docs/messaging.md). Only the caller's own copies
are ever read: another person's message answers 404, like a missing one. A refusal by the who-may-write rules or
the establishment's safety rules answers 403 with its French reason, bad input 400.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from django.http import Http404
from django.urls import NoReverseMatch, reverse
from ninja import Field, File, Router, Schema, Status, UploadedFile

from preau.access import policy
from preau.messaging import addresses as address_book
from preau.messaging import selectors, services
from preau.messaging.errors import MessagingError, MessagingRefused
from preau.messaging.models import Delivery, Message

from ..errors import BAD_REQUEST, FORBIDDEN, NOT_FOUND, api_error, responses
from ..schemas import MAX_DB_INT, EstablishmentRef, PersonRef

router = Router(tags=["messagerie"])

Id = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
AddressType = Literal[tuple(sorted(address_book.ADDRESS_TYPES))]  # type: ignore[valid-type]
BoxName = Literal[tuple(Delivery.Box.values)]  # type: ignore[valid-type]
MoveTarget = Literal["inbox", "sent", "trash", "folder"]
Cursor = Annotated[str | None, Field(max_length=60)]
MAX_LIST = services.MAX_ADDRESSES_PER_LIST


# --- Schemas ----------------------------------------------------------------------------------------------------

class AddressIn(Schema):
    type: AddressType = Field(description="person, class_guardians, class_pupils, class_teachers, group_*, "
                                          "establishment_*, my_classes_pupils, my_classes_guardians.")
    id: Id = Field(description="La personne, la classe, le groupe ou l'établissement désigné.")


class AddressOut(Schema):
    type: str
    id: int
    label: str


class Recipients(Schema):
    to: list[AddressIn] = Field(default_factory=list, max_length=MAX_LIST)
    cc: list[AddressIn] = Field(default_factory=list, max_length=MAX_LIST)
    bcc: list[AddressIn] = Field(default_factory=list, max_length=MAX_LIST, description="Copie cachée : "
                                 "les autres destinataires ne la voient pas.")


class SendIn(Recipients):
    establishment_id: Id | None = Field(None, description="L'établissement depuis lequel écrire (par défaut le "
                                                          "premier de GET /messaging/establishments).")
    subject: str = Field("", max_length=services.SUBJECT_MAX)
    body: str = Field("", max_length=services.BODY_MAX, description="Texte brut ou HTML simple (nettoyé).")
    draft_id: Id | None = Field(None, description="Envoyer ce brouillon (ses pièces jointes comprises).")


class ReplyIn(Schema):
    body: str = Field(max_length=services.BODY_MAX)
    reply_all: bool = Field(False, description="Répondre aussi aux destinataires visibles (jamais aux copies "
                                               "cachées).")


class ForwardIn(Recipients):
    body: str = Field("", max_length=services.BODY_MAX)


class DraftIn(Recipients):
    establishment_id: Id | None = None
    subject: str = Field("", max_length=services.SUBJECT_MAX)
    body: str = Field("", max_length=services.BODY_MAX)
    kind: Literal["new", "reply", "forward"] = "new"
    parent_id: Id | None = Field(None, description="Pour une réponse ou un transfert : le message d'origine.")


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    download_url: str = Field(description="Adresse de téléchargement (session du navigateur).")


class MailboxItem(Schema):
    id: int = Field(description="Le message (les actions prennent cet identifiant).")
    conversation_id: int
    subject: str
    excerpt: str
    sender: PersonRef
    sent_at: datetime.datetime | None
    box: str
    folder_id: int | None
    role: str = Field(description="sender, to, cc ou bcc : ce que vous êtes pour ce message.")
    read: bool
    state: str = Field(description="draft, queued, held, delivered, refused, recalled.")
    has_attachments: bool
    recipients: list[str] = Field(description="Destinataires visibles (à, copie).")


class MailboxPage(Schema):
    items: list[MailboxItem]
    next_cursor: str | None = Field(description="À passer en `cursor` pour la page suivante ; vide à la fin.")


class FolderCount(Schema):
    id: int
    unread: int


class CountsOut(Schema):
    inbox_unread: int
    drafts: int
    trash: int
    folders: list[FolderCount]


class MessageDetail(MailboxItem):
    kind: str
    parent_id: int | None
    body: str = Field(description="HTML nettoyé.")
    body_text: str
    to: list[str]
    cc: list[str]
    bcc: list[str] = Field(description="Toutes les copies cachées pour l'expéditeur ; vous seul pour un "
                                       "destinataire en copie cachée ; vide sinon.")
    attachments: list[AttachmentOut]
    can_reply: bool
    conversation_blocked: bool
    recipient_count: int | None = Field(description="Pour l'expéditeur seulement.")
    to_families: bool


class ThreadOut(Schema):
    conversation_id: int
    subject: str
    items: list[MessageDetail]


class DraftOut(Schema):
    id: int
    establishment_id: int | None
    kind: str
    parent_id: int | None
    subject: str
    body: str
    body_text: str
    to: list[AddressOut]
    cc: list[AddressOut]
    bcc: list[AddressOut]
    attachments: list[AttachmentOut]
    updated_at: datetime.datetime


class IdsIn(Schema):
    message_ids: list[Id] = Field(max_length=services.MAX_IDS)


class MarkIn(IdsIn):
    read: bool = True


class MoveIn(IdsIn):
    box: MoveTarget = Field(description="trash, folder (avec folder_id), ou inbox/sent : retour à sa boîte.")
    folder_id: Id | None = None


class UpdatedOut(Schema):
    updated: int


class FolderOut(Schema):
    id: int
    name: str
    unread: int


class FolderList(Schema):
    items: list[FolderOut]


class FolderIn(Schema):
    name: str = Field(min_length=1, max_length=services.FOLDER_NAME_MAX)


class ReceiptOut(Schema):
    person: PersonRef
    role: str
    read_at: datetime.datetime | None


class ReceiptsOut(Schema):
    message_id: int
    total: int
    read: int
    unread: int
    lists_people: bool = Field(description="Les personnes sont listées pour les messages aux familles ; sinon "
                                           "seulement les nombres.")
    items: list[ReceiptOut]
    next_cursor: str | None


class SuggestionOut(Schema):
    type: str
    id: int
    label: str
    count: int


class SuggestionList(Schema):
    items: list[SuggestionOut]


class EstablishmentList(Schema):
    items: list[EstablishmentRef]


# --- Serialisers ------------------------------------------------------------------------------------------------

def _person(user) -> dict:
    return {"id": user.pk, "first_name": user.first_name, "last_name": user.last_name}


def _download_url(attachment_id: int) -> str:
    try:
        return reverse("messaging:attachment", args=[attachment_id])
    except NoReverseMatch:
        return ""


def _attachment(a) -> dict:
    return {"id": a.pk, "name": a.name, "size": a.size, "content_type": a.content_type,
            "download_url": _download_url(a.pk)}


def _item(d: Delivery) -> dict:
    m = d.message
    labels = m.address_labels or {}
    return {
        "id": m.pk, "conversation_id": m.conversation_id, "subject": m.subject,
        "excerpt": " ".join((m.body_text or "").split())[:140], "sender": _person(m.sender), "sent_at": m.sent_at,
        "box": d.box, "folder_id": d.folder_id, "role": d.role, "read": d.read_at is not None, "state": m.state,
        "has_attachments": bool(getattr(d, "has_attachments", False)),
        "recipients": list(labels.get("to") or []) + list(labels.get("cc") or []),
    }


def _detail(actor, d: Delivery, attachments, shown: dict | None = None) -> dict:
    m = d.message
    shown = shown if shown is not None else selectors.shown_addresses(actor, m)
    mine = m.sender_id == actor.id
    return {
        **_item(d), "has_attachments": bool(attachments), "kind": m.kind, "parent_id": m.parent_id,
        "body": m.body, "body_text": m.body_text, "to": shown["to"], "cc": shown["cc"], "bcc": shown["bcc"],
        "attachments": [_attachment(a) for a in attachments],
        "can_reply": policy.can_reply(actor, m, holds_copy=True),
        "conversation_blocked": m.conversation.blocked_at is not None,
        "recipient_count": m.recipient_count if mine else None, "to_families": m.to_families,
    }


def _addresses_out(items) -> list[dict]:
    items = list(items or [])
    labels = address_book.labels(items) if items else []
    return [{"type": a["type"], "id": int(a["id"]), "label": label} for a, label in zip(items, labels, strict=True)]


def _draft(message: Message) -> dict:
    lists = message.addresses or {}
    return {
        "id": message.pk, "establishment_id": message.establishment_id, "kind": message.kind,
        "parent_id": message.parent_id, "subject": message.subject, "body": message.body,
        "body_text": message.body_text, "to": _addresses_out(lists.get("to")), "cc": _addresses_out(lists.get("cc")),
        "bcc": _addresses_out(lists.get("bcc")), "attachments": [_attachment(a) for a in message.attachments.all()],
        "updated_at": message.updated_at,
    }


def _lists(data: Recipients) -> dict:
    return {name: [a.dict() for a in getattr(data, name)] for name in ("to", "cc", "bcc")}


def _refused(exc: MessagingError):
    return api_error(403 if isinstance(exc, MessagingRefused) else 400, str(exc))


def _bad_cursor():
    return api_error(400, "Curseur de page invalide.")


def _page(page) -> dict:
    return {"items": [_item(d) for d in page.items], "next_cursor": page.next_cursor}


def _establishment(actor, establishment_id):
    if establishment_id is None:
        found = policy.messaging_establishments(actor)
        if not found:
            raise api_error(403, "La messagerie ne vous est ouverte dans aucun établissement.")
        return found[0]
    for establishment in policy.messaging_establishments(actor):
        if establishment.pk == establishment_id:
            return establishment
    raise Http404


def _sent(actor, message: Message):
    delivery = selectors.access_delivery(actor, message.pk)
    return Status(201, _detail(actor, delivery, list(delivery.message.attachments.all())))


# --- Mailbox ----------------------------------------------------------------------------------------------------

@router.get("/messaging/establishments", response=responses(EstablishmentList),
            summary="Établissements depuis lesquels j'écris")
def messaging_establishments(request):
    return {"items": [{"id": e.pk, "uai": e.uai, "name": e.name}
                      for e in policy.messaging_establishments(request.actor)]}


@router.get("/messaging/mailbox", response=responses(MailboxPage, BAD_REQUEST, NOT_FOUND),
            summary="Ma boîte : une page de messages, du plus récent au plus ancien")
def mailbox(request, box: BoxName = "inbox", folder: Id | None = None, cursor: Cursor = None,
            limit: Annotated[int, Field(ge=1, le=selectors.MAX_PAGE)] = 50, unread_only: bool = False):
    """`box`: inbox, sent, drafts, trash, or folder (with `folder`, one of mine). Pages follow `next_cursor`."""
    actor = request.actor
    if box == Delivery.Box.FOLDER:
        if folder is None:
            raise api_error(400, "Indiquez le dossier.")
        selectors.access_folder(actor, folder)
    try:
        page = selectors.mailbox_page(actor, box=box, folder_id=folder, cursor=cursor, limit=limit,
                                      unread_only=unread_only)
    except ValueError:
        raise _bad_cursor() from None
    return _page(page)


@router.get("/messaging/counts", response=responses(CountsOut), summary="Mes non-lus, brouillons et corbeille")
def counts(request):
    found = selectors.mailbox_counts(request.actor)
    return {**found, "folders": [{"id": pk, "unread": n} for pk, n in sorted(found["folders"].items())]}


@router.get("/messaging/search", response=responses(MailboxPage, BAD_REQUEST), summary="Chercher dans mes messages")
def search(request, q: Annotated[str, Field(min_length=1, max_length=200)], box: BoxName | None = None,
           cursor: Cursor = None, limit: Annotated[int, Field(ge=1, le=selectors.MAX_PAGE)] = 50):
    """Objet, texte et nom de l'expéditeur (recherche plein texte en français sur PostgreSQL)."""
    try:
        page = selectors.search(request.actor, q, box=box, cursor=cursor, limit=limit)
    except ValueError:
        raise _bad_cursor() from None
    return _page(page)


@router.post("/messaging/read", response=responses(UpdatedOut, BAD_REQUEST),
             summary="Marquer des messages lus ou non lus")
def mark_read(request, data: MarkIn):
    try:
        return {"updated": services.mark_read(actor=request.actor, message_ids=data.message_ids, read=data.read)}
    except MessagingError as exc:
        raise _refused(exc) from None


@router.post("/messaging/move", response=responses(UpdatedOut, BAD_REQUEST, NOT_FOUND),
             summary="Déplacer des messages (corbeille, dossier, retour)")
def move(request, data: MoveIn):
    try:
        return {"updated": services.move(actor=request.actor, message_ids=data.message_ids, box=data.box,
                                         folder_id=data.folder_id)}
    except MessagingError as exc:
        raise _refused(exc) from None


@router.post("/messaging/trash/empty", response=responses(UpdatedOut), summary="Vider la corbeille")
def empty_trash(request):
    return {"updated": services.empty_trash(actor=request.actor)}


# --- Messages ---------------------------------------------------------------------------------------------------

@router.get("/messaging/messages/{message_id}", response=responses(MessageDetail, NOT_FOUND),
            summary="Un de mes messages")
def message_detail(request, message_id: int):
    """Does not mark it read: POST /messaging/read does."""
    delivery = selectors.access_delivery(request.actor, message_id)
    return _detail(request.actor, delivery, list(delivery.message.attachments.all()))


@router.get("/messaging/messages/{message_id}/thread", response=responses(ThreadOut, NOT_FOUND),
            summary="La conversation d'un message : mes exemplaires, du plus ancien au plus récent")
def thread(request, message_id: int):
    actor = request.actor
    delivery = selectors.access_delivery(actor, message_id)
    items = selectors.thread(actor, delivery)
    return {"conversation_id": delivery.message.conversation_id, "subject": delivery.message.conversation.subject,
            "items": [_detail(actor, d, list(d.message.attachments.all()), shown)
                      for d, shown in zip(items, selectors.shown_addresses_of(actor, [d.message for d in items]),
                                          strict=True)]}


@router.post("/messaging/messages", response=responses(MessageDetail, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Envoyer un message (ou un brouillon)")
def send(request, data: SendIn):
    """Accepted at once: the recipients' copies are written in the background (`state`: queued, then delivered;
    held when it waits for a moderator's review). 403: the who-may-write or safety rules refuse (French reason)."""
    actor = request.actor
    establishment = None if data.draft_id else _establishment(actor, data.establishment_id)
    try:
        message = services.send_message(actor=actor, establishment=establishment, addresses=_lists(data),
                                         subject=data.subject, body=data.body, draft_id=data.draft_id,
                                         request=request)
    except MessagingError as exc:
        raise _refused(exc) from None
    return _sent(actor, message)


@router.post("/messaging/messages/{message_id}/reply",
             response=responses(MessageDetail, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Répondre (à l'expéditeur, ou à tous)")
def reply(request, message_id: int, data: ReplyIn):
    try:
        message = services.reply(actor=request.actor, message_id=message_id, body=data.body,
                                 reply_all=data.reply_all, request=request)
    except MessagingError as exc:
        raise _refused(exc) from None
    return _sent(request.actor, message)


@router.post("/messaging/messages/{message_id}/forward",
             response=responses(MessageDetail, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Transférer (avec les pièces jointes)")
def forward(request, message_id: int, data: ForwardIn):
    try:
        message = services.forward(actor=request.actor, message_id=message_id, addresses=_lists(data),
                                   body=data.body, request=request)
    except MessagingError as exc:
        raise _refused(exc) from None
    return _sent(request.actor, message)


@router.get("/messaging/messages/{message_id}/receipts", response=responses(ReceiptsOut, BAD_REQUEST, NOT_FOUND),
            summary="Accusés de lecture d'un message que j'ai envoyé")
def receipts(request, message_id: int, cursor: Cursor = None,
             limit: Annotated[int, Field(ge=1, le=selectors.MAX_PAGE)] = 50):
    try:
        found = selectors.read_receipts(request.actor, message_id, cursor=cursor, limit=limit)
    except ValueError:
        raise _bad_cursor() from None
    return {"message_id": found.message.pk, "total": found.total, "read": found.read, "unread": found.unread,
            "lists_people": found.lists_people, "next_cursor": found.next_cursor,
            "items": [{"person": _person(r.person), "role": r.role, "read_at": r.read_at} for r in found.items]}


@router.get("/messaging/suggestions", response=responses(SuggestionList, NOT_FOUND),
            summary="Destinataires possibles (personnes, classes, groupes) pour un texte saisi")
def suggestions(request, q: Annotated[str, Field(max_length=100)] = "", establishment: Id | None = None,
                limit: Annotated[int, Field(ge=1, le=50)] = 20):
    """Only what I may write to. Without text: the groups (my classes first)."""
    actor = request.actor
    if establishment is None and not policy.messaging_establishments(actor):
        return {"items": []}
    target = _establishment(actor, establishment)
    return {"items": selectors.address_suggestions(actor, target, q, limit=limit)}


# --- Drafts -----------------------------------------------------------------------------------------------------

def _own_draft(actor, draft_id) -> Message:
    delivery = selectors.access_delivery(actor, draft_id)
    if delivery.role != Delivery.Role.SENDER or delivery.message.state != Message.State.DRAFT:
        raise Http404
    return delivery.message


@router.post("/messaging/drafts", response=responses(DraftOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Créer un brouillon")
def create_draft(request, data: DraftIn):
    actor = request.actor
    establishment = None if data.parent_id else _establishment(actor, data.establishment_id)
    try:
        draft = services.save_draft(actor=actor, establishment=establishment, addresses=_lists(data),
                                    subject=data.subject, body=data.body, parent_id=data.parent_id, kind=data.kind)
    except MessagingError as exc:
        raise _refused(exc) from None
    return Status(201, _draft(Message.objects.get(pk=draft.pk)))


@router.get("/messaging/drafts/{draft_id}", response=responses(DraftOut, NOT_FOUND), summary="Un brouillon")
def get_draft(request, draft_id: int):
    return _draft(_own_draft(request.actor, draft_id))


@router.put("/messaging/drafts/{draft_id}", response=responses(DraftOut, BAD_REQUEST, NOT_FOUND),
            summary="Modifier un brouillon")
def update_draft(request, draft_id: int, data: DraftIn):
    actor = request.actor
    draft = _own_draft(actor, draft_id)
    try:
        services.save_draft(actor=actor, establishment=draft.establishment_id, draft_id=draft.pk,
                            addresses=_lists(data), subject=data.subject, body=data.body)
    except MessagingError as exc:
        raise _refused(exc) from None
    return _draft(Message.objects.get(pk=draft.pk))


@router.delete("/messaging/drafts/{draft_id}", response=responses(UpdatedOut, NOT_FOUND),
               summary="Supprimer un brouillon")
def delete_draft(request, draft_id: int):
    services.delete_draft(actor=request.actor, message_id=_own_draft(request.actor, draft_id).pk)
    return {"updated": 1}


@router.post("/messaging/drafts/{draft_id}/attachments",
             response=responses(AttachmentOut, BAD_REQUEST, NOT_FOUND, status=201),
             summary="Joindre un fichier à un brouillon (multipart/form-data)")
def add_attachment(request, draft_id: int, file: Annotated[UploadedFile, File(description="Le fichier.")]):
    """Checked by extension and by content (PREAU_MESSAGING_ATTACHMENT_TYPES), at most
    PREAU_MESSAGING_MAX_ATTACHMENT_BYTES and PREAU_MESSAGING_MAX_ATTACHMENTS per message."""
    try:
        attachment = services.add_draft_attachment(actor=request.actor, draft_id=draft_id, upload=file)
    except MessagingError as exc:
        raise _refused(exc) from None
    return Status(201, _attachment(attachment))


@router.delete("/messaging/drafts/{draft_id}/attachments/{attachment_id}", response=responses(DraftOut, NOT_FOUND),
               summary="Retirer une pièce jointe d'un brouillon")
def remove_attachment(request, draft_id: int, attachment_id: int):
    services.remove_draft_attachment(actor=request.actor, draft_id=draft_id, attachment_id=attachment_id)
    return _draft(_own_draft(request.actor, draft_id))


# --- Folders ----------------------------------------------------------------------------------------------------

def _folders(actor) -> dict:
    unread = selectors.mailbox_counts(actor)["folders"]
    return {"items": [{"id": f.pk, "name": f.name, "unread": unread.get(f.pk, 0)}
                      for f in selectors.folders_of(actor)]}


@router.get("/messaging/folders", response=responses(FolderList), summary="Mes dossiers")
def folders(request):
    return _folders(request.actor)


@router.post("/messaging/folders", response=responses(FolderOut, BAD_REQUEST, status=201),
             summary="Créer un dossier")
def create_folder(request, data: FolderIn):
    try:
        folder = services.create_folder(actor=request.actor, name=data.name)
    except MessagingError as exc:
        raise _refused(exc) from None
    return Status(201, {"id": folder.pk, "name": folder.name, "unread": 0})


@router.patch("/messaging/folders/{folder_id}", response=responses(FolderOut, BAD_REQUEST, NOT_FOUND),
              summary="Renommer un dossier")
def rename_folder(request, folder_id: int, data: FolderIn):
    try:
        folder = services.rename_folder(actor=request.actor, folder_id=folder_id, name=data.name)
    except MessagingError as exc:
        raise _refused(exc) from None
    unread = selectors.mailbox_counts(request.actor)["folders"].get(folder.pk, 0)
    return {"id": folder.pk, "name": folder.name, "unread": unread}


@router.delete("/messaging/folders/{folder_id}", response=responses(UpdatedOut, NOT_FOUND),
               summary="Supprimer un dossier (ses messages reviennent dans leur boîte)")
def delete_folder(request, folder_id: int):
    services.delete_folder(actor=request.actor, folder_id=folder_id)
    return {"updated": 1}
