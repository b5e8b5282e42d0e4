"""Writes of messaging: drafts, sending (new, reply, forward), mailbox actions, folders, withdrawal.

Every function takes the policy's Actor, runs in one transaction and raises `MessagingError` (French message;
`MessagingRefused` for a refusal by the policy or the safety rules) on bad input, never a 500 nor half-written
data. Side effects (delivery, notifications, real-time events) are sent with `transaction.on_commit`.

Sending does a constant amount of work whatever the number of recipients: it checks the addresses against the
policy, counts the recipients with ONE query, asks `safety.check_send`, then writes the message, the sender's
copy and the audit row, and enqueues `tasks.deliver_message` on commit. The recipients' copies are written by that
task, in bulk (see tasks.py and docs/messaging.md, "Delivery").
"""

from __future__ import annotations

import hashlib
import html
import re

from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from preau.access import policy
from preau.audit.services import Action, record
from preau.core import richtext
from preau.directory.models import Membership, Role
from preau.notifications.services import notifications_mark_sources_read, notifications_retract

from . import addresses as address_book
from . import attachments as files
from . import safety, selectors
from .errors import MessagingError, MessagingRefused
from .models import Attachment, Conversation, Delivery, Folder, Message

__all__ = [
    "MessagingError", "MessagingRefused", "save_draft", "send_message", "reply", "forward", "mark_read", "move",
    "restore", "empty_trash", "delete_draft", "create_folder", "rename_folder", "delete_folder",
    "enqueue_delivery", "withdraw", "sanitise",
]

Box = Delivery.Box
SUBJECT_MAX = Message._meta.get_field("subject").max_length
FOLDER_NAME_MAX = Folder._meta.get_field("name").max_length
BODY_MAX = 200_000  # characters of HTML
MAX_ADDRESSES_PER_LIST = 100
MAX_IDS = 500  # messages one bulk action takes
MAX_FOLDERS = 100

# --- Helpers ----------------------------------------------------------------------------------------------------

def sanitise(body: str) -> tuple[str, str]:
    """(safe HTML, plain text) of a message body (core.richtext: plain text becomes paragraphs and line breaks)."""
    if len((body or "").strip()) > BODY_MAX:
        raise MessagingError(_("Le message est trop long."))
    safe = richtext.clean(body)
    return safe, richtext.to_text(safe)


def _subject(value: str) -> str:
    subject = " ".join((value or "").split())
    if len(subject) > SUBJECT_MAX:
        raise MessagingError(_("L'objet est trop long (%(max)s caractères au plus).") % {"max": SUBJECT_MAX})
    return subject


def _prefixed(prefix: str, subject: str) -> str:
    if re.match(rf"(?i)^{prefix}\s*:", subject):
        return subject[:SUBJECT_MAX]
    return f"{prefix} : {subject}"[:SUBJECT_MAX]


def _establishment_id(establishment) -> int | None:
    value = getattr(establishment, "pk", establishment)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _split(addresses) -> dict[str, list[dict]]:
    try:
        lists = address_book.split(addresses)
    except address_book.AddressError as exc:
        raise MessagingError(str(exc)) from None
    for name in address_book.LISTS:
        if len(lists[name]) > MAX_ADDRESSES_PER_LIST:
            raise MessagingError(_("Trop de destinataires dans une liste (%(max)s au plus).")
                                 % {"max": MAX_ADDRESSES_PER_LIST})
    return lists


def _ids(message_ids) -> list[int]:
    try:
        ids = sorted({int(i) for i in (message_ids or [])})
    except (TypeError, ValueError):
        raise MessagingError(_("Sélection invalide.")) from None
    if len(ids) > MAX_IDS:
        raise MessagingError(_("Sélectionnez %(max)s messages au plus à la fois.") % {"max": MAX_IDS})
    if any(not 0 < i < 2**63 for i in ids):
        raise MessagingError(_("Sélection invalide."))
    return ids


def _publish_after_commit(user_ids, event: str, data: dict) -> None:
    ids = sorted(set(user_ids))
    if not ids:
        return

    def send():
        from preau.realtime import publish

        publish(ids, event, data)

    transaction.on_commit(send)


def _own_draft(actor, message_id) -> Message:
    delivery = selectors.access_delivery(actor, message_id)
    message = delivery.message
    if delivery.role != Delivery.Role.SENDER or message.state != Message.State.DRAFT:
        raise Http404
    return message


def _held_copy(actor, message_id) -> Message:
    """A message the actor holds a copy of (received or sent), with its conversation; Http404 otherwise."""
    return selectors.access_delivery(actor, message_id).message


def _remove_attachments(message: Message, ids) -> None:
    try:
        wanted = {int(i) for i in ids or ()}
    except (TypeError, ValueError):
        raise MessagingError(_("Pièce jointe inconnue.")) from None
    if not wanted:
        return
    rows = list(Attachment.objects.filter(message=message, pk__in=wanted))
    names = [a.file.name for a in rows]
    Attachment.objects.filter(pk__in=[a.pk for a in rows]).delete()
    transaction.on_commit(lambda: files.delete_files(names))


def _store_all(message: Message, checked: list) -> list[str]:
    """Store uploads; on failure the files already written are deleted."""
    names: list[str] = []
    try:
        for item in checked:
            names.append(files.store(message, item).file.name)
    except Exception:
        files.discard(names)
        raise
    return names


# --- Drafts -----------------------------------------------------------------------------------------------------

def save_draft(*, actor, establishment, draft_id=None, addresses=None, subject="", body="", attachments=(),
               remove_attachment_ids=(), parent_id=None, kind=Message.Kind.NEW) -> Message:
    """Create or update a draft (nothing is checked against the policy until it is sent). A reply or forward draft
    names the message it answers (`parent_id`, a message the actor holds a copy of); a forward draft carries
    that message's attachments."""
    e = _establishment_id(establishment)
    lists = _split(addresses)
    subject = _subject(subject)
    safe, text = sanitise(body)
    if kind not in Message.Kind.values:
        raise MessagingError(_("Type de brouillon inconnu."))
    with transaction.atomic():
        if draft_id is not None:
            message = _own_draft(actor, draft_id)
            conversation = message.conversation
            e = message.establishment_id
        else:
            if not policy.can_message_in(actor, e):
                raise MessagingRefused(_("Vous ne pouvez pas écrire depuis cet établissement."))
            parent = None
            if kind != Message.Kind.NEW:
                if parent_id is None:
                    raise MessagingError(_("Indiquez le message auquel ce brouillon répond."))
                parent = _held_copy(actor, parent_id)
                e = parent.establishment_id
            now = timezone.now()
            if parent is not None:
                conversation = parent.conversation
            else:
                conversation = Conversation.objects.create(establishment_id=e, subject=subject, created_at=now,
                                                           last_message_at=now)
            message = Message(conversation=conversation, establishment_id=e, sender=actor.user, kind=kind,
                              parent=parent, state=Message.State.DRAFT, created_at=now)
        existing = message.attachments.count() if message.pk else 0
        removing = len(set(remove_attachment_ids or ()))
        checked = files.check_all(attachments, existing=max(0, existing - removing))
        message.subject, message.body, message.body_text = subject, safe, text
        message.addresses = lists
        message.address_labels = _visible_labels(lists, actor.user)
        message.save()
        if draft_id is None:
            Delivery.objects.create(message=message, owner=actor.user, role=Delivery.Role.SENDER, box=Box.DRAFTS,
                                    sent_at=message.created_at, read_at=message.created_at)
            if message.kind == Message.Kind.FORWARD and message.parent_id:
                files.copy_to(message, message.parent.attachments.all())
        else:
            Delivery.objects.filter(message=message, owner_id=actor.id).update(sent_at=timezone.now())
            if message.kind == Message.Kind.NEW and conversation.subject != subject:
                Conversation.objects.filter(pk=conversation.pk).update(subject=subject)
        _remove_attachments(message, remove_attachment_ids)
        _store_all(message, checked)
    return message


def add_draft_attachment(*, actor, draft_id, upload) -> Attachment:
    """Attach one uploaded file to a draft (the API's multipart upload)."""
    with transaction.atomic():
        message = _own_draft(actor, draft_id)
        checked = files.check_all([upload], existing=message.attachments.count())
        names = _store_all(message, checked)
    return Attachment.objects.get(message=message, file=names[0])


def remove_draft_attachment(*, actor, draft_id, attachment_id) -> None:
    with transaction.atomic():
        message = _own_draft(actor, draft_id)
        if not Attachment.objects.filter(message=message, pk=attachment_id).exists():
            raise Http404
        _remove_attachments(message, [attachment_id])


def delete_draft(*, actor, message_id) -> None:
    with transaction.atomic():
        message = _own_draft(actor, message_id)
        _delete_drafts([message])


def _delete_drafts(drafts: list[Message]) -> None:
    names = list(Attachment.objects.filter(message__in=drafts).values_list("file", flat=True))
    conversations = {m.conversation_id for m in drafts if m.kind == Message.Kind.NEW}
    Message.objects.filter(pk__in=[m.pk for m in drafts]).delete()
    # A new message's draft made its own conversation: gone with it when nothing else is in it.
    Conversation.objects.filter(pk__in=conversations, messages__isnull=True).delete()
    transaction.on_commit(lambda: files.delete_files(names))


# --- Sending ----------------------------------------------------------------------------------------------------

def _visible_labels(lists: dict[str, list[dict]], sender) -> dict[str, list[str]]:
    visible = lists["to"] + lists["cc"]
    if not visible:
        return {"to": [], "cc": []}
    found = address_book.labels(visible, sender_name=sender.full_name)
    return {"to": found[: len(lists["to"])], "cc": found[len(lists["to"]):]}


def _reaches_families(lists, establishment_id: int) -> bool:
    everything = lists["to"] + lists["cc"] + lists["bcc"]
    if any(a["type"] in address_book.GUARDIAN_TYPES for a in everything):
        return True
    people = [a["id"] for a in everything if a["type"] == address_book.PERSON]
    return bool(people) and Membership.objects.filter(user_id__in=people, establishment_id=establishment_id,
                                                      role=Role.GUARDIAN, is_active=True).exists()


def _reply_people(actor, parent: Message) -> set[int]:
    """The people a reply to `parent` may name without the who-may-write rules: its sender and the people it
    visibly addressed (its bcc too, for its own sender)."""
    people = {parent.sender_id}
    lists = parent.addresses or {}
    names = ["to", "cc", "bcc"] if parent.sender_id == actor.id else ["to", "cc"]
    for name in names:
        for a in lists.get(name) or []:
            if isinstance(a, dict) and a.get("type") == address_book.PERSON:
                try:
                    people.add(int(a["id"]))
                except (TypeError, ValueError):
                    continue
    return people


def _submit(actor, *, request, establishment_id, draft: Message | None, kind: str, parent: Message | None,
            addresses, subject: str, body: str, uploads=(), forwarded=()) -> Message:
    """The common path of every send (new, from a draft, reply, forward)."""
    user = actor.user
    e = establishment_id
    if not policy.can_message_in(actor, e):
        raise MessagingRefused(_("Vous ne pouvez pas écrire depuis cet établissement."))
    lists = _split(addresses)
    everything = lists["to"] + lists["cc"] + lists["bcc"]
    if not everything:
        raise MessagingError(_("Ajoutez au moins un destinataire."))
    refused = policy.refused_addresses(actor, e, everything)
    if parent is not None and kind == Message.Kind.REPLY and refused:
        if not policy.can_reply(actor, parent):
            raise MessagingRefused(_("Cette conversation est fermée : on ne peut plus y répondre."))
        allowed = _reply_people(actor, parent)
        refused = [a for a in refused if not (a["type"] == address_book.PERSON and a["id"] in allowed)]
    if refused:
        raise MessagingRefused(_("Vous ne pouvez pas écrire à : %(who)s.")
                               % {"who": ", ".join(address_book.labels(refused))})
    subject = _subject(subject)
    if not subject:
        raise MessagingError(_("Indiquez l'objet du message."))
    safe, text = sanitise(body)
    existing = draft.attachments.count() if draft is not None else 0
    checked = files.check_all(uploads, existing=existing + len(forwarded))
    if not text and not checked and not existing and not forwarded:
        raise MessagingError(_("Le message est vide."))

    recipient_count = (address_book.resolve(everything, establishment_id=e, sender_id=user.pk)
                       .exclude(pk=user.pk).count())
    if recipient_count == 0:
        raise MessagingError(_("Ces destinataires ne désignent personne à qui écrire pour le moment."))
    has_attachments = bool(checked or existing or forwarded)
    verdict = safety.check_send(actor=actor, establishment=e, recipient_count=recipient_count,
                                has_attachments=has_attachments, request=request, addresses=everything)
    if verdict.refused:
        raise MessagingRefused(verdict.reason)

    now = timezone.now()
    with transaction.atomic():
        if draft is not None:
            message = Message.objects.select_for_update().get(pk=draft.pk)
            if message.state != Message.State.DRAFT:
                raise MessagingError(_("Ce brouillon a déjà été envoyé."))
            conversation = message.conversation
        elif parent is not None:
            conversation = parent.conversation
            message = Message(conversation=conversation, parent=parent, created_at=now)
        else:
            conversation = Conversation.objects.create(establishment_id=e, subject=subject, created_at=now,
                                                       last_message_at=now)
            message = Message(conversation=conversation, created_at=now)
        if conversation.blocked_at is not None:
            raise MessagingRefused(_("Cette conversation est fermée : on ne peut plus y écrire."))
        update = {"last_message_at": now}
        if kind == Message.Kind.NEW and conversation.subject != subject:
            update["subject"] = subject
        Conversation.objects.filter(pk=conversation.pk).update(**update)

        message.establishment_id = e
        message.sender = user
        message.kind = kind
        message.subject, message.body, message.body_text = subject, safe, text
        message.addresses = lists
        message.address_labels = _visible_labels(lists, actor.user)
        message.state = Message.State.HELD if verdict.held else Message.State.QUEUED
        message.held_reason = verdict.reason[:255] if verdict.held else ""
        message.sent_at = now
        message.recipient_count = recipient_count
        message.to_families = _reaches_families(lists, e)
        message.sender_ip = _client_ip(request)
        message.sender_device = safety.device_id(request)
        message.save()

        if draft is not None:
            Delivery.objects.filter(message=message, owner=user).update(box=Box.SENT, folder=None, sent_at=now,
                                                                        read_at=now)
        else:
            Delivery.objects.create(message=message, owner=user, role=Delivery.Role.SENDER, box=Box.SENT,
                                    sent_at=now, read_at=now)
        if forwarded:
            files.copy_to(message, forwarded)
        _store_all(message, checked)

        target = f"messaging.message:{message.pk}"
        details = {"recipients": recipient_count, "kind": kind, "verdict": verdict.kind,
                   "device": message.sender_device, "session": _session_ref(request),
                   "attachments": existing + len(forwarded) + len(checked), "to_families": message.to_families}
        record(Action.MESSAGE_SENT, actor=user, request=request, establishment_id=e, target=target, **details)
        if verdict.held:
            safety.message_held(message=message, request=request)
        else:
            enqueue_delivery(message)
        _publish_after_commit([user.pk], "message.sent", {"id": message.pk, "state": message.state})
    return message


def _session_ref(request) -> str:
    """Which login the send came from, for the audit: a personal API token's id, or a digest of the session key
    (never the key itself, which would let a reader of the journal take over the session)."""
    if request is None:
        return ""
    token = getattr(request, "api_token", None)
    if token is not None:
        return f"token:{token.pk}"
    key = getattr(getattr(request, "session", None), "session_key", None)
    if not key:
        return ""
    return "session:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _client_ip(request):
    from preau.audit.services import client_ip

    return client_ip(request)


def send_message(*, actor, establishment, addresses, subject, body, attachments=(), draft_id=None,
                 request=None) -> Message:
    """Send a new message (or a draft: `draft_id`; a reply or forward draft keeps its kind and conversation).

    Checks every address with the policy (replies may also name the people of the message they answer), counts
    the recipients, asks the safety rules (refuse / hold for review / allow), writes the message, the sender's copy
    in "sent" and the audit row, and enqueues the delivery on commit. A held message is not delivered until a
    moderator releases it."""
    draft = _own_draft(actor, draft_id) if draft_id is not None else None
    if draft is not None:
        e = draft.establishment_id
        kind, parent = draft.kind, draft.parent
        forwarded = ()
    else:
        e = _establishment_id(establishment)
        kind, parent, forwarded = Message.Kind.NEW, None, ()
    if parent is not None and kind == Message.Kind.FORWARD and parent.conversation.blocked_at is not None:
        raise MessagingRefused(_("Cette conversation est fermée : ses messages ne peuvent plus être transférés."))
    return _submit(actor, request=request, establishment_id=e, draft=draft, kind=kind, parent=parent,
                   addresses=addresses, subject=subject, body=body, uploads=attachments, forwarded=forwarded)


def reply(*, actor, message_id, body, reply_all=False, attachments=(), request=None) -> Message:
    """Reply to a message the actor holds a copy of, in its conversation (unless staff blocked it).

    Reply: to its sender (to its own "to" when the actor sent it). Reply all: also its visible "to" and "cc" —
    never its bcc, which the actor does not know — without the actor. Groups it named (a class's families...) are
    kept only when the actor may write to them anyway: a pupil's or a guardian's "reply all" to a message to a
    whole class reaches its sender and the people named, not the class."""
    parent = _held_copy(actor, message_id)
    if not policy.can_reply(actor, parent):
        raise MessagingRefused(_("Cette conversation est fermée : on ne peut plus y répondre."))
    lists = parent.addresses or {}
    me = {"type": address_book.PERSON, "id": actor.id}
    if parent.sender_id == actor.id:
        to = list(lists.get("to") or [])
        cc = list(lists.get("cc") or []) if reply_all else []
    else:
        to = [{"type": address_book.PERSON, "id": parent.sender_id}]
        cc = []
        if reply_all:
            to += list(lists.get("to") or [])
            cc = list(lists.get("cc") or [])
    to = [a for a in to if a != me]
    cc = [a for a in cc if a != me]
    groups = [a for a in to + cc if a.get("type") != address_book.PERSON]
    if groups:
        refused = policy.refused_addresses(actor, parent.establishment_id, groups)
        to = [a for a in to if a not in refused]
        cc = [a for a in cc if a not in refused]
    return _submit(actor, request=request, establishment_id=parent.establishment_id, draft=None,
                   kind=Message.Kind.REPLY, parent=parent, addresses={"to": to, "cc": cc, "bcc": []},
                   subject=_prefixed("RE", parent.subject), body=body, uploads=attachments)


def forward(*, actor, message_id, addresses, body="", attachments=(), request=None) -> Message:
    """Forward a message the actor holds a copy of to new addresses (checked like a new message), with its text
    quoted and its attachments."""
    parent = _held_copy(actor, message_id)
    if parent.conversation.blocked_at is not None:
        raise MessagingRefused(_("Cette conversation est fermée : ses messages ne peuvent plus être transférés."))
    safe, _text = sanitise(body)
    sender = parent.sender
    when = timezone.localtime(parent.sent_at or parent.created_at).strftime("%d/%m/%Y %H:%M")
    quoted = (f"{safe}<hr><p>{html.escape(_('Message transféré'))}<br>"
              f"{html.escape(_('De'))} : {html.escape(sender.full_name)}<br>"
              f"{html.escape(_('Date'))} : {when}<br>"
              f"{html.escape(_('Objet'))} : {html.escape(parent.subject)}</p>"
              f"<blockquote>{parent.body}</blockquote>")
    return _submit(actor, request=request, establishment_id=parent.establishment_id, draft=None,
                   kind=Message.Kind.FORWARD, parent=parent, addresses=addresses,
                   subject=_prefixed("TR", parent.subject), body=quoted, uploads=attachments,
                   forwarded=list(parent.attachments.all()))


def enqueue_delivery(message: Message) -> None:
    """Deliver the message once the current transaction commits (also used when a held message is released)."""
    message_id = message.pk

    def enqueue():
        from .tasks import deliver_message

        deliver_message.delay(message_id)

    # robust: in the eager (no broker) setup a failing delivery is logged and swept up later, and the send
    # itself, already committed, still answers.
    transaction.on_commit(enqueue, robust=True)


def withdraw(message: Message, *, hidden_by=None) -> int:
    """Take a message out of every recipient's mailbox (the sender keeps their copy): one UPDATE. Without
    `hidden_by` it is the sender's recall (state "recalled", recalled_at); with it, a moderator hid it (hidden_at,
    hidden_by). Returns the number of copies withdrawn; copies a delivery still running writes afterwards are
    withdrawn by the delivery itself (`withdraw_copies`)."""
    now = timezone.now()
    with transaction.atomic():
        if hidden_by is not None:
            fields = {"hidden_at": now, "hidden_by": hidden_by}
            message.hidden_at, message.hidden_by = now, hidden_by
        else:
            fields = {"recalled_at": now, "state": Message.State.RECALLED}
            message.recalled_at, message.state = now, Message.State.RECALLED
        Message.objects.filter(pk=message.pk).update(**fields)
        return withdraw_copies(message.pk, now)


def withdraw_copies(message_id: int, now) -> int:
    """Withdraw the recipients' copies of a message not yet withdrawn, take their "new message" notifications away
    (emails not yet sent included), and correct open pages' unread counters ("message.withdrawn", on commit)."""
    with transaction.atomic():
        copies = (Delivery.objects.filter(message_id=message_id, withdrawn_at__isnull=True)
                  .exclude(role=Delivery.Role.SENDER))
        unread = set(copies.filter(box=Box.INBOX, read_at__isnull=True).values_list("owner_id", flat=True))
        owners = set(copies.values_list("owner_id", flat=True))
        count = copies.update(withdrawn_at=now)
        notifications_retract(recipient_ids=owners, source=f"messaging.message:{message_id}")
        _publish_after_commit(unread, "message.withdrawn", {"id": message_id, "counter_deltas": {"messages": -1}})
        _publish_after_commit(owners - unread, "message.withdrawn", {"id": message_id, "counter_deltas": {}})
    return count


# --- Mailbox actions --------------------------------------------------------------------------------------------

def mark_read(*, actor, message_ids, read=True) -> int:
    """Mark the actor's copies of these messages read (or unread): two UPDATEs whatever their number."""
    ids = _ids(message_ids)
    if not ids:
        return 0
    now = timezone.now()
    with transaction.atomic():
        copies = policy.deliveries_visible_to(actor).filter(message_id__in=ids)
        if read:
            copies = copies.filter(read_at__isnull=True)
            value = now
        else:
            copies = copies.filter(read_at__isnull=False).exclude(role=Delivery.Role.SENDER)
            value = None
        in_inbox = copies.filter(box=Box.INBOX).update(read_at=value)
        elsewhere = copies.exclude(box=Box.INBOX).update(read_at=value)
        if read and in_inbox + elsewhere:
            # Read here, so the "new message" notifications of these messages are read too.
            notifications_mark_sources_read(recipient_id=actor.id,
                                            sources=[f"messaging.message:{pk}" for pk in ids])
        if in_inbox:
            _publish_after_commit([actor.id], "message.read", {
                "count": in_inbox, "read": bool(read),
                "counter_deltas": {"messages": -in_inbox if read else in_inbox}})
    return in_inbox + elsewhere


def restore(*, actor, message_ids) -> int:
    """Put copies back in their own box: received → inbox, sent → sent, drafts → drafts."""
    ids = _ids(message_ids)
    if not ids:
        return 0
    with transaction.atomic():
        return _restore(actor, policy.deliveries_visible_to(actor).filter(message_id__in=ids))


def _restore(actor, copies) -> int:
    sender = Q(role=Delivery.Role.SENDER)
    draft = Q(message__state=Message.State.DRAFT)
    gaining = copies.exclude(sender).exclude(box=Box.INBOX).filter(read_at__isnull=True).count()
    count = copies.filter(sender & draft).exclude(box=Box.DRAFTS).update(box=Box.DRAFTS, folder=None)
    count += copies.filter(sender).exclude(draft).exclude(box=Box.SENT).update(box=Box.SENT, folder=None)
    count += copies.exclude(sender).exclude(box=Box.INBOX).update(box=Box.INBOX, folder=None)
    if gaining:
        _publish_after_commit([actor.id], "message.moved", {"counter_deltas": {"messages": gaining}})
    return count


def move(*, actor, message_ids, box, folder_id=None) -> int:
    """Move the actor's copies: to the trash, to one of their folders, or back to their own box ("inbox" or
    "sent": received copies go to the inbox, sent ones to "sent")."""
    ids = _ids(message_ids)
    if box not in (Box.INBOX, Box.SENT, Box.TRASH, Box.FOLDER):
        raise MessagingError(_("Destination inconnue."))
    with transaction.atomic():
        copies = policy.deliveries_visible_to(actor).filter(message_id__in=ids)
        if not ids:
            return 0
        if box in (Box.INBOX, Box.SENT):
            return _restore(actor, copies)
        if box == Box.FOLDER:
            if folder_id is None:
                raise MessagingError(_("Choisissez un dossier."))
            folder = selectors.access_folder(actor, folder_id)
            # Drafts stay with the drafts; a folder holds received and sent messages.
            copies = copies.exclude(message__state=Message.State.DRAFT).exclude(box=Box.FOLDER, folder=folder)
            target = {"box": Box.FOLDER, "folder": folder}
        else:
            copies = copies.exclude(box=Box.TRASH)
            target = {"box": Box.TRASH, "folder": None}
        leaving = copies.filter(box=Box.INBOX, read_at__isnull=True).count()
        count = copies.update(**target)
        if leaving:
            _publish_after_commit([actor.id], "message.moved", {"counter_deltas": {"messages": -leaving}})
    return count


def empty_trash(*, actor) -> int:
    """Delete the trash for good: received and sent copies are marked deleted (the sender's read receipts and the
    audit keep them), drafts are deleted with their attachments."""
    now = timezone.now()
    with transaction.atomic():
        trash = policy.deliveries_visible_to(actor).filter(box=Box.TRASH)
        drafts = list(Message.objects.filter(pk__in=trash.filter(role=Delivery.Role.SENDER)
                                             .values("message_id"), state=Message.State.DRAFT))
        count = len(drafts)
        if drafts:
            _delete_drafts(drafts)
        count += trash.update(deleted_at=now)
    return count


# --- Folders ----------------------------------------------------------------------------------------------------

def _folder_name(name) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise MessagingError(_("Donnez un nom au dossier."))
    if len(name) > FOLDER_NAME_MAX:
        raise MessagingError(_("Le nom du dossier est trop long (%(max)s caractères au plus).")
                             % {"max": FOLDER_NAME_MAX})
    return name


def create_folder(*, actor, name) -> Folder:
    name = _folder_name(name)
    with transaction.atomic():
        mine = Folder.objects.select_for_update().filter(owner_id=actor.id)
        if mine.filter(name__iexact=name).exists():
            raise MessagingError(_("Vous avez déjà un dossier « %(name)s ».") % {"name": name})
        if mine.count() >= MAX_FOLDERS:
            raise MessagingError(ngettext("Vous ne pouvez pas avoir plus de %(max)d dossier.",
                                          "Vous ne pouvez pas avoir plus de %(max)d dossiers.", MAX_FOLDERS)
                                 % {"max": MAX_FOLDERS})
        return Folder.objects.create(owner=actor.user, name=name)


def rename_folder(*, actor, folder_id, name) -> Folder:
    name = _folder_name(name)
    with transaction.atomic():
        folder = selectors.access_folder(actor, folder_id)
        if Folder.objects.filter(owner_id=actor.id, name__iexact=name).exclude(pk=folder.pk).exists():
            raise MessagingError(_("Vous avez déjà un dossier « %(name)s ».") % {"name": name})
        folder.name = name
        folder.save(update_fields=["name"])
    return folder


def delete_folder(*, actor, folder_id) -> None:
    """Delete one of the actor's folders; its messages go back to their own box (inbox, sent)."""
    with transaction.atomic():
        folder = selectors.access_folder(actor, folder_id)
        _restore(actor, Delivery.objects.filter(owner_id=actor.id, folder=folder))
        folder.delete()
