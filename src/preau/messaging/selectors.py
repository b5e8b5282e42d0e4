"""Reads of messaging: mailbox pages, counts, threads, what a person is shown of a message's addresses, read
receipts, search, address suggestions, attachments.

Every read starts from the access policy's `deliveries_visible_to(actor)` (the person's own copies): nobody reads
another person's mailbox. Pages are keyset-paginated on (sent_at, id) over the (owner, box, folder, sent_at) index,
so a page costs the same few queries whatever the size of the mailbox.
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404

from preau.access import policy
from preau.accounts.models import User
from preau.directory.models import (
    ClassEnrolment,
    Establishment,
    GroupMembership,
    Membership,
    Role,
    SchoolClass,
    TeachingAssignment,
    TeachingGroup,
)

from . import addresses as address_book
from . import search as full_text
from .models import Attachment, Delivery, Folder, Message

Box = Delivery.Box
MAX_PAGE = 200
THREAD_MAX = 500
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@dataclass
class Page:
    items: list
    next_cursor: str | None = None


# --- Cursors --------------------------------------------------------------------------------------------------

def encode_cursor(sent_at: datetime.datetime, pk: int) -> str:
    micros = (sent_at - EPOCH) // datetime.timedelta(microseconds=1)
    return f"{micros}_{pk}"


def decode_cursor(value: str) -> tuple[datetime.datetime, int]:
    """(sent_at, id) of a cursor; ValueError when it is not one."""
    micros, sep, pk = str(value or "").partition("_")
    if not sep or not micros.lstrip("-").isdigit() or not pk.isdigit() or len(value) > 60:
        raise ValueError("invalid cursor")
    try:
        return EPOCH + datetime.timedelta(microseconds=int(micros)), int(pk)
    except OverflowError:
        raise ValueError("invalid cursor") from None


def _limit(limit) -> int:
    return max(1, min(int(limit or 50), MAX_PAGE))


def _keyset(queryset, cursor: str | None, limit: int) -> Page:
    if cursor:
        sent_at, pk = decode_cursor(cursor)
        # The redundant `sent_at <= X` bounds the index range; the OR only breaks ties within it.
        queryset = queryset.filter(Q(sent_at__lt=sent_at) | Q(sent_at=sent_at, pk__lt=pk), sent_at__lte=sent_at)
    rows = list(queryset.order_by("-sent_at", "-pk")[: limit + 1])
    next_cursor = encode_cursor(rows[limit - 1].sent_at, rows[limit - 1].pk) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


def _rows(queryset):
    """Mailbox rows with what a list shows: the message, its sender, whether it has attachments (one query)."""
    return queryset.select_related("message", "message__sender").annotate(
        has_attachments=Exists(Attachment.objects.filter(message_id=OuterRef("message_id"))))


# --- Mailbox --------------------------------------------------------------------------------------------------

def folders_of(actor):
    return Folder.objects.filter(owner_id=actor.id).order_by("name", "pk")


def access_folder(actor, folder_id) -> Folder:
    try:
        return folders_of(actor).get(pk=int(folder_id))
    except (Folder.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None


def mailbox_page(actor, *, box: str, folder_id: int | None = None, cursor: str | None = None, limit: int = 50,
                 unread_only: bool = False) -> Page:
    """One page of a box (inbox, sent, drafts, trash) or of one of the person's folders, newest first; items are
    Delivery rows with `message`, `message.sender` and `has_attachments`. ValueError on an unknown box or a bad
    cursor; a folder that is not the person's is empty."""
    if box not in Box.values:
        raise ValueError("unknown box")
    queryset = policy.deliveries_visible_to(actor).filter(box=box)
    if box == Box.FOLDER:
        if folder_id is None:
            raise ValueError("folder required")
        queryset = queryset.filter(folder_id=int(folder_id))
    else:
        queryset = queryset.filter(folder__isnull=True)
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return _keyset(_rows(queryset), cursor, _limit(limit))


def mailbox_counts(actor) -> dict:
    """{"inbox_unread", "drafts", "trash", "folders": {folder id: unread}} in one grouped query."""
    rows = (policy.deliveries_visible_to(actor)
            .filter(Q(box__in=[Box.INBOX, Box.FOLDER], read_at__isnull=True) | Q(box__in=[Box.DRAFTS, Box.TRASH]))
            .values("box", "folder_id").annotate(n=Count("pk")).order_by())
    counts = {"inbox_unread": 0, "drafts": 0, "trash": 0, "folders": {}}
    for row in rows:
        if row["box"] == Box.INBOX:
            counts["inbox_unread"] += row["n"]
        elif row["box"] == Box.DRAFTS:
            counts["drafts"] += row["n"]
        elif row["box"] == Box.TRASH:
            counts["trash"] += row["n"]
        elif row["folder_id"] is not None:
            counts["folders"][row["folder_id"]] = row["n"]
    return counts


def unread_queryset(actor):
    """The unread copies in the inbox: exactly the partial index `delivery_unread`'s condition."""
    if actor is None:
        return Delivery.objects.none()
    return Delivery.objects.filter(owner_id=actor.id, box=Box.INBOX, read_at__isnull=True, withdrawn_at__isnull=True)


def unread_count(actor) -> int:
    """Unread messages in the inbox (the notification centre's "messages" counter): one indexed count."""
    return unread_queryset(actor).count()


# --- A message and its thread ---------------------------------------------------------------------------------

def _note_role(delivery: Delivery) -> Delivery:
    # What the viewer's copy is (to, cc, bcc, sender): shown_addresses needs it without another query.
    delivery.message._viewer_role = (delivery.owner_id, delivery.role)
    return delivery


def access_delivery(actor, message_id) -> Delivery:
    """The actor's copy of a message (with the message, its sender and conversation), else Http404."""
    try:
        delivery = (policy.deliveries_visible_to(actor)
                    .select_related("message", "message__sender", "message__conversation", "folder")
                    .get(message_id=int(message_id)))
    except (Delivery.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None
    return _note_role(delivery)


def thread(actor, delivery: Delivery) -> list[Delivery]:
    """The actor's copies of the messages of the conversation, oldest first (drafts excluded), with messages,
    senders and attachments: two queries whatever the length."""
    rows = (policy.deliveries_visible_to(actor)
            .filter(message__conversation_id=delivery.message.conversation_id)
            .exclude(message__state=Message.State.DRAFT)
            .select_related("message", "message__sender", "message__conversation")
            .prefetch_related("message__attachments")
            .order_by("sent_at", "pk")[:THREAD_MAX])
    return [_note_role(d) for d in rows]


def shown_addresses(actor, message: Message) -> dict[str, list[str]]:
    """The addresses a person is shown (labels): to and cc for everybody holding a copy; bcc to the sender only
    (every bcc address) and, to a bcc recipient, themself alone. Nobody learns another person's bcc."""
    return shown_addresses_of(actor, [message])[0]


def shown_addresses_of(actor, messages: list[Message]) -> list[dict[str, list[str]]]:
    """`shown_addresses` of several messages (a thread): the sender's bcc labels of all of them in one lookup."""
    result = []
    own_bcc: list[dict] = []
    for message in messages:
        labels = message.address_labels or {}
        result.append({"to": list(labels.get("to") or []), "cc": list(labels.get("cc") or []), "bcc": []})
        if actor is not None and message.sender_id == actor.id:
            own_bcc.extend((message.addresses or {}).get("bcc") or [])
    if actor is None:
        return result
    bcc_labels = iter(address_book.labels(own_bcc)) if own_bcc else iter(())
    for message, shown in zip(messages, result, strict=True):
        if message.sender_id == actor.id:
            shown["bcc"] = [next(bcc_labels) for _address in (message.addresses or {}).get("bcc") or []]
            continue
        noted = getattr(message, "_viewer_role", None)
        if noted is not None and noted[0] == actor.id:
            role = noted[1]
        else:
            role = (policy.deliveries_visible_to(actor).filter(message_id=message.pk)
                    .values_list("role", flat=True).first())
        if role == Delivery.Role.BCC:
            shown["bcc"] = [actor.user.full_name]
    return result


# --- Read receipts ----------------------------------------------------------------------------------------------

@dataclass
class Receipt:
    person: User
    role: str
    read_at: datetime.datetime | None


@dataclass
class ReadReceipts:
    message: Message
    total: int
    read: int
    # Whether the people are listed (messages to families, or a moderator asking): otherwise counts only.
    lists_people: bool
    items: list[Receipt] = field(default_factory=list)
    next_cursor: str | None = None

    @property
    def unread(self) -> int:
        return self.total - self.read


def read_receipts(actor, message_id, *, cursor: str | None = None, limit: int = 50) -> ReadReceipts:
    """Who has read a sent message: its sender (or a moderator of its establishment) only, else Http404.

    Counts always; the people (by name, with when they read) for messages to families — the sender of a message
    to pupils or colleagues sees how many have read, not who. `cursor` is the offset of the next page
    (ValueError when it is not one)."""
    try:
        message = (Message.objects.select_related("sender").exclude(state=Message.State.DRAFT)
                   .get(pk=int(message_id)))
    except (Message.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None
    moderator = message.sender_id != actor.id and policy.can_moderate(actor, message.establishment_id)
    if message.sender_id != actor.id and not moderator:
        raise Http404
    offset = 0
    if cursor:
        if not str(cursor).isdigit() or len(str(cursor)) > 9:
            raise ValueError("invalid cursor")
        offset = int(cursor)
    copies = Delivery.objects.filter(message_id=message.pk).exclude(role=Delivery.Role.SENDER)
    totals = copies.aggregate(total=Count("pk"), read=Count("pk", filter=Q(read_at__isnull=False)))
    result = ReadReceipts(message=message, total=totals["total"], read=totals["read"],
                          lists_people=bool(message.to_families or moderator))
    if result.lists_people:
        limit = _limit(limit)
        rows = list(copies.select_related("owner").order_by("owner__last_name", "owner__first_name", "pk")
                    [offset: offset + limit + 1])
        result.items = [Receipt(person=d.owner, role=d.role, read_at=d.read_at) for d in rows[:limit]]
        result.next_cursor = str(offset + limit) if len(rows) > limit else None
    return result


# --- Search -----------------------------------------------------------------------------------------------------

def search(actor, query: str, *, box: str | None = None, cursor: str | None = None, limit: int = 50) -> Page:
    """The actor's copies whose message matches `query` (see search.py), newest first, keyset-paginated; drafts
    included, trash included unless `box` narrows it. ValueError on a bad box or cursor."""
    condition = full_text.delivery_match_q(query)
    if condition is None:
        return Page(items=[])
    queryset = policy.deliveries_visible_to(actor)
    if box is not None:
        if box not in Box.values:
            raise ValueError("unknown box")
        queryset = queryset.filter(box=box)
    return _keyset(_rows(queryset.filter(condition)), cursor, _limit(limit))


# --- Attachments ------------------------------------------------------------------------------------------------

def access_attachment(actor, attachment_id) -> Attachment:
    """An attachment of a message the actor holds a copy of (sent, received or draft), else Http404."""
    try:
        return Attachment.objects.select_related("message").get(
            pk=int(attachment_id),
            message_id__in=policy.deliveries_visible_to(actor).values("message_id"))
    except (Attachment.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None


# --- Address suggestions ----------------------------------------------------------------------------------------

def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", str(text).lower()) if not unicodedata.combining(c))


def _matches(label: str, terms: list[str]) -> bool:
    folded = _fold(label)
    return all(t in folded for t in terms)


def _pairs_count(pairs) -> dict:
    seen: dict[int, set[int]] = {}
    for owner, person in pairs:
        seen.setdefault(owner, set()).add(person)
    return {k: len(v) for k, v in seen.items()}


def _members(e: int, role: str):
    return Membership.objects.filter(establishment_id=e, role=role, is_active=True).values("user_id")


def _family_pairs(e: int, pupil_path: str, ids: list[int]) -> dict[int, int]:
    """Guardians reached per class or group (`pupil_path`: the link's pupil to the class or group id)."""
    return _pairs_count(address_book.messaging_links(e)
                        .filter(guardian_id__in=_members(e, Role.GUARDIAN), guardian__is_active=True,
                                **{f"{pupil_path}__in": ids})
                        .values_list(pupil_path, "guardian_id"))


def _class_counts(e: int, kind: str, ids: list[int]) -> dict[int, int]:
    if kind == "class_pupils":
        return _pairs_count(ClassEnrolment.objects.filter(school_class_id__in=ids, pupil__is_active=True,
                                                          pupil_id__in=_members(e, Role.PUPIL))
                            .values_list("school_class_id", "pupil_id"))
    if kind == "class_guardians":
        return _family_pairs(e, "pupil__class_enrolments__school_class_id", ids)
    assignments = TeachingAssignment.objects.filter(establishment_id=e, school_year__is_current=True,
                                                    teacher_id__in=_members(e, Role.TEACHER), teacher__is_active=True)
    pairs = list(assignments.filter(school_class_id__in=ids).values_list("school_class_id", "teacher_id"))
    pairs += list(assignments.filter(group__classes__in=ids).values_list("group__classes", "teacher_id"))
    return _pairs_count(pairs)


def _group_counts(e: int, kind: str, ids: list[int]) -> dict[int, int]:
    if kind == "group_pupils":
        return _pairs_count(GroupMembership.objects.filter(group_id__in=ids, pupil__is_active=True,
                                                           pupil_id__in=_members(e, Role.PUPIL))
                            .values_list("group_id", "pupil_id"))
    if kind == "group_guardians":
        return _family_pairs(e, "pupil__group_memberships__group_id", ids)
    return _pairs_count(TeachingAssignment.objects.filter(group_id__in=ids, teacher_id__in=_members(e, Role.TEACHER),
                                                          teacher__is_active=True, school_year__is_current=True)
                        .values_list("group_id", "teacher_id"))


ROLE_HINTS = {Role.PUPIL: "élève", Role.GUARDIAN: "responsable", Role.TEACHER: "professeur",
              Role.STAFF: "personnel", Role.ENT_ADMIN: "administrateur"}


def address_suggestions(actor, establishment, term: str, limit: int = 20) -> list[dict]:
    """What the actor may write to in the establishment that matches `term`: the groups (their classes' families
    and pupils first, then the establishment's lists, then other classes and groups) and, from two letters on,
    people by name. Items `{"type", "id", "label", "count"}`; `count` is the number of people a group reaches
    now (1 for a person). Only addresses `policy.can_address` accepts; a handful of queries whatever the term."""
    e = getattr(establishment, "pk", establishment)
    if actor is None or e is None or not policy.can_message_in(actor, e):
        return []
    limit = max(1, min(int(limit or 20), 100))
    terms = [_fold(t) for t in (term or "").split()][:5]
    types = policy.addressable_group_types(actor, e)
    items: list[dict] = []

    if types & set(address_book.MY_CLASSES_TYPES):
        for kind in address_book.MY_CLASSES_TYPES:
            if kind in types:
                label = str(address_book.TYPE_LABELS[kind])
                if _matches(label, terms):
                    items.append({"type": kind, "id": e, "label": label})
    class_types = [k for k in address_book.CLASS_TYPES if k in types]
    group_types = [k for k in address_book.GROUP_TYPES if k in types]
    taught_classes, taught_groups = actor.taught if Role.TEACHER in actor.roles_in(e) else (set(), set())
    classes = list(SchoolClass.objects.filter(establishment_id=e, school_year__is_current=True)
                   .order_by("level", "label", "pk").values_list("pk", "label")) if class_types else []
    groups = list(TeachingGroup.objects.filter(establishment_id=e, school_year__is_current=True)
                  .order_by("label", "pk").values_list("pk", "label")) if group_types else []
    # Families first: what teachers and staff write to most.
    order = ["class_guardians", "class_pupils", "class_teachers"]
    group_order = ["group_guardians", "group_pupils", "group_teachers"]

    def class_items(only_taught: bool):
        for kind in [k for k in order if k in class_types]:
            for pk, name in classes:
                if (pk in taught_classes) == only_taught:
                    label = str(address_book.TYPE_LABELS[kind]) % {"name": name}
                    if _matches(label, terms) or _matches(name, terms):
                        items.append({"type": kind, "id": pk, "label": label})
        for kind in [k for k in group_order if k in group_types]:
            for pk, name in groups:
                if (pk in taught_groups) == only_taught:
                    label = str(address_book.TYPE_LABELS[kind]) % {"name": name}
                    if _matches(label, terms) or _matches(name, terms):
                        items.append({"type": kind, "id": pk, "label": label})

    class_items(True)
    establishment_name = None
    for kind in address_book.ESTABLISHMENT_TYPES:
        if kind in types:
            if establishment_name is None:
                establishment_name = (establishment.name if isinstance(establishment, Establishment)
                                      else Establishment.objects.values_list("name", flat=True).get(pk=e))
            label = str(address_book.TYPE_LABELS[kind]) % {"name": establishment_name}
            if _matches(label, terms):
                items.append({"type": kind, "id": e, "label": label})
    class_items(False)
    items = items[:limit]

    # People, from two letters on.
    if terms and sum(len(t) for t in terms) >= 2 and len(items) < limit:
        people_q = Q()
        for word in (term or "").split()[:5]:
            people_q &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
        people = list(policy.addressable_people(actor, e).filter(people_q)
                      .order_by("last_name", "first_name", "pk")[: limit - len(items)])
        roles: dict[int, list[str]] = {}
        for user_id, role in (Membership.objects.filter(user_id__in=[p.pk for p in people], establishment_id=e,
                                                        is_active=True).order_by("role")
                              .values_list("user_id", "role")):
            roles.setdefault(user_id, []).append(ROLE_HINTS.get(role, role))
        for person in people:
            hint = ", ".join(roles.get(person.pk, []))
            label = f"{person.first_name} {person.last_name}".strip()
            items.append({"type": address_book.PERSON, "id": person.pk,
                          "label": f"{label} ({hint})" if hint else label, "count": 1})

    _count(actor, e, items)
    return items


def _count(actor, e: int, items: list[dict]) -> None:
    """Fill each group item's `count`: one query per kind of group listed (not per item)."""
    by_kind: dict[str, list[int]] = {}
    for item in items:
        if item["type"] != address_book.PERSON:
            by_kind.setdefault(item["type"], []).append(item["id"])
    counts: dict[tuple[str, int], int] = {}
    for kind, ids in by_kind.items():
        if kind in address_book.CLASS_TYPES:
            found = _class_counts(e, kind, ids)
        elif kind in address_book.GROUP_TYPES:
            found = _group_counts(e, kind, ids)
        else:
            found = {e: address_book.resolve([{"type": kind, "id": e}], establishment_id=e,
                                             sender_id=actor.id).exclude(pk=actor.id).count()}
        for pk in ids:
            counts[(kind, pk)] = found.get(pk, 0)
    for item in items:
        if item["type"] != address_book.PERSON:
            item["count"] = counts.get((item["type"], item["id"]), 0)
