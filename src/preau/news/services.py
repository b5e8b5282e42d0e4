"""Writes of news and of the carnet de liaison.

Every write checks the access policy, runs in one transaction, writes the audit log, and tells people through
the notification centre (`notify`, which does its work once the transaction commits).
"""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from preau.access import policy
from preau.audit.models import AuditEvent
from preau.audit.services import record
from preau.directory.models import ClassEnrolment, GroupMembership, GuardianLink, Service
from preau.directory.selectors import current_classes_and_groups
from preau.notifications.services import notify

from . import selectors
from .content import check_image, plain_text, sanitise_html
from .models import LiaisonDelivery, LiaisonNote, LiaisonTarget, NewsImage, NewsItem

logger = logging.getLogger(__name__)

BULK_BATCH = 1000
AUDIENCE_FLAGS = ("for_pupils", "for_guardians", "for_teachers", "for_staff")


# --- Shared checks --------------------------------------------------------------------------------------------

def _title(value: str) -> str:
    title = " ".join((value or "").split())
    if not title:
        raise ValidationError({"title": _("Donnez un titre.")})
    if len(title) > 200:
        raise ValidationError({"title": _("Le titre ne doit pas dépasser 200 caractères.")})
    return title


def _body(value: str, *, required: bool) -> str:
    try:
        body = sanitise_html(value)
    except ValidationError as error:
        raise ValidationError({"body": error.messages}) from None
    if required and not plain_text(body):
        raise ValidationError({"body": _("Écrivez le texte.")})
    return body


def _ids(values: Iterable | None) -> set[int]:
    result = set()
    for value in values or ():
        pk = getattr(value, "pk", value)
        try:
            result.add(int(pk))
        except (TypeError, ValueError):
            raise ValidationError(_("Identifiant invalide : %(v)s.") % {"v": value}) from None
    return result


# --- News -----------------------------------------------------------------------------------------------------

def _clean_news(actor, establishment_id: int, *, title, body, whole_establishment, classes, groups, audience,
                publish_at, unpublish_at, pinned) -> dict:
    class_ids, group_ids = _ids(classes), _ids(groups)
    if whole_establishment:
        class_ids, group_ids = set(), set()
    elif not class_ids and not group_ids:
        raise ValidationError({"classes": _("Choisissez au moins une classe ou un groupe, ou tout l'établissement.")})
    audience = set(audience or ())
    unknown = audience - {flag.removeprefix("for_") for flag in AUDIENCE_FLAGS}
    if unknown or not audience:
        raise ValidationError({"audience": _("Choisissez à qui s'adresse l'actualité : élèves, responsables, "
                                             "enseignants ou personnels.")})
    scope = policy.news_publish_scope(actor, establishment_id)
    if not scope:
        raise PermissionDenied(_("Vous ne pouvez pas publier d'actualité dans cet établissement."))
    if not scope.covers(class_ids, group_ids):
        raise PermissionDenied(_("Vous ne pouvez publier que pour les classes et les groupes où vous enseignez."))
    if pinned and not scope.whole:
        raise ValidationError({"pinned": _("Seule la direction épingle une actualité.")})
    school_classes, school_groups = current_classes_and_groups(establishment_id, class_ids, group_ids)
    publish_at = publish_at or timezone.now()
    if unpublish_at is not None and unpublish_at <= publish_at:
        raise ValidationError({"unpublish_at": _("La date de retrait doit suivre la date de publication.")})
    return {
        "title": _title(title), "body": _body(body, required=True), "whole_establishment": bool(whole_establishment),
        "classes": school_classes, "groups": school_groups,
        **{flag: flag.removeprefix("for_") in audience for flag in AUDIENCE_FLAGS},
        "publish_at": publish_at, "unpublish_at": unpublish_at, "pinned": bool(pinned),
    }


def news_create(*, actor, establishment, title: str, body: str, whole_establishment: bool = True, classes=(),
                groups=(), audience=("pupils", "guardians", "teachers", "staff"), draft: bool = False,
                publish_at: datetime.datetime | None = None, unpublish_at: datetime.datetime | None = None,
                pinned: bool = False, image=None, image_alt: str = "", request=None) -> NewsItem:
    """Write a news item (a draft, or published now or at publish_at). Raises ValidationError (French, per
    field) or PermissionDenied."""
    data = _clean_news(actor, establishment.pk, title=title, body=body, whole_establishment=whole_establishment,
                       classes=classes, groups=groups, audience=audience, publish_at=publish_at,
                       unpublish_at=unpublish_at, pinned=pinned)
    checked = _check_news_image(image) if image is not None else None
    stored: list[str] = []
    try:
        with transaction.atomic():
            classes_, groups_ = data.pop("classes"), data.pop("groups")
            now = timezone.now()
            item = NewsItem.objects.create(establishment=establishment, author=actor.user, is_draft=bool(draft),
                                           created_at=now, updated_at=now, **data)
            item.classes.set(classes_)
            item.groups.set(groups_)
            if checked is not None:
                stored.append(_store_image(actor, item, checked, image_alt).path)
            if not item.is_draft:
                _published(actor, item, request=request, created=True)
    except BaseException:
        for path in stored:
            default_storage.delete(path)
        raise
    item.refresh_from_db()
    return item


def news_update(*, actor, item: NewsItem, title: str, body: str, whole_establishment: bool = True, classes=(),
                groups=(), audience=("pupils", "guardians", "teachers", "staff"), draft: bool = False,
                publish_at: datetime.datetime | None = None, unpublish_at: datetime.datetime | None = None,
                pinned: bool = False, image=None, image_alt: str = "", request=None) -> NewsItem:
    """Change a news item. A published item cannot go back to draft once its audience has been notified (it can
    be withdrawn with unpublish_at). Its audience is told once only: editing never notifies again."""
    if not policy.can_manage_news(actor, item):
        raise PermissionDenied(_("Vous ne pouvez pas modifier cette actualité."))
    data = _clean_news(actor, item.establishment_id, title=title, body=body,
                       whole_establishment=whole_establishment, classes=classes, groups=groups, audience=audience,
                       publish_at=publish_at or (timezone.now() if item.is_draft else item.publish_at),
                       unpublish_at=unpublish_at, pinned=pinned)
    checked = _check_news_image(image, item=item) if image is not None else None
    stored: list[str] = []
    try:
        with transaction.atomic():
            locked = NewsItem.objects.select_for_update().get(pk=item.pk)
            if draft and locked.notified_at is not None:
                raise ValidationError({"publish_at": _(
                    "Cette actualité a déjà été publiée : elle ne peut plus redevenir un brouillon. Fixez une date "
                    "de retrait pour la retirer.")})
            was_draft = locked.is_draft
            classes_, groups_ = data.pop("classes"), data.pop("groups")
            for field, value in data.items():
                setattr(locked, field, value)
            locked.is_draft = bool(draft)
            locked.updated_at = timezone.now()
            locked.save()
            locked.classes.set(classes_)
            locked.groups.set(groups_)
            if checked is not None:
                stored.append(_store_image(actor, locked, checked, image_alt).path)
            if was_draft and not locked.is_draft:
                _published(actor, locked, request=request, created=False)
    except BaseException:
        for path in stored:
            default_storage.delete(path)
        raise
    locked.refresh_from_db()
    return locked


def _published(actor, item: NewsItem, *, request, created: bool) -> None:
    """A news item leaves draft: audit it, and notify its audience now if its window is open (else the periodic
    task does when it opens)."""
    record(AuditEvent.Action.NEWS_PUBLISHED, actor=actor.user, request=request, establishment_id=item.establishment_id,
           target="news.item", news=item.pk, publish_at=item.publish_at.isoformat(), created=created,
           whole_establishment=item.whole_establishment,
           audience=[flag.removeprefix("for_") for flag in AUDIENCE_FLAGS if getattr(item, flag)])
    if item.publish_at <= timezone.now():
        _notify_news(item.pk)


def _notify_news(news_id: int) -> int:
    """Claim the item's notification (once, whatever the number of callers) and notify its audience. Returns the
    number of people told. Must run inside a transaction."""
    now = timezone.now()
    claimed = NewsItem.objects.filter(pk=news_id, is_draft=False, publish_at__lte=now, notified_at__isnull=True) \
        .filter(Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=now)).update(notified_at=now)
    if not claimed:
        return 0
    item = NewsItem.objects.get(pk=news_id)
    recipients = selectors.news_audience_ids(item)
    notify(recipient_ids=recipients, kind="news", title=item.title, body=plain_text(item.body, 200),
           url=reverse("news:detail", args=[item.pk]), establishment_id=item.establishment_id,
           source=f"news.item:{item.pk}")
    return len(recipients)


def news_notify_due(now=None) -> int:
    """The periodic task's work: notify the audience of every published item whose window has opened and which
    has not been notified yet. Idempotent; returns the number of items notified."""
    now = now or timezone.now()
    # An item whose whole window passed unannounced (workers down) is not announced any more, nor selected again.
    due = list(NewsItem.objects.filter(is_draft=False, notified_at__isnull=True, publish_at__lte=now)
               .filter(Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=now))
               .order_by("publish_at").values_list("pk", flat=True)[:500])
    done = 0
    for news_id in due:
        with transaction.atomic():
            if _notify_news(news_id) or NewsItem.objects.filter(pk=news_id, notified_at__isnull=False).exists():
                done += 1
    return done


def news_delete(*, actor, item: NewsItem, request=None) -> None:
    if not policy.can_manage_news(actor, item):
        raise PermissionDenied(_("Vous ne pouvez pas supprimer cette actualité."))
    paths = list(item.images.values_list("path", flat=True))
    with transaction.atomic():
        NewsItem.objects.filter(pk=item.pk).delete()
        transaction.on_commit(lambda: _delete_files(paths))


def _delete_files(paths: list[str]) -> None:
    for path in paths:
        try:
            default_storage.delete(path)
        except Exception:  # a file left behind is harmless; a page that fails is not
            logger.exception("News image %s could not be deleted", path)


def _check_news_image(upload, item: NewsItem | None = None):
    if item is not None and item.images.count() >= settings.PREAU_NEWS_MAX_IMAGES:
        raise ValidationError({"image": _("Une actualité porte au plus %(n)s images.")
                               % {"n": settings.PREAU_NEWS_MAX_IMAGES}})
    try:
        return check_image(upload)
    except ValidationError as error:
        raise ValidationError({"image": error.messages}) from None


def _store_image(actor, item: NewsItem, checked, alt: str) -> NewsImage:
    alt = " ".join((alt or "").split())
    if len(alt) > 250:
        raise ValidationError({"image_alt": _("La description ne doit pas dépasser 250 caractères.")})
    path = default_storage.save(f"news/{item.pk}/{secrets.token_hex(12)}.{checked.extension}",
                                ContentFile(checked.data))
    return NewsImage.objects.create(news=item, path=path, content_type=checked.content_type, size=len(checked.data),
                                    width=checked.width, height=checked.height, alt=alt, uploaded_by=actor.user)


def news_add_image(*, actor, item: NewsItem, upload, alt: str = "") -> NewsImage:
    if not policy.can_manage_news(actor, item):
        raise PermissionDenied(_("Vous ne pouvez pas modifier cette actualité."))
    checked = _check_news_image(upload, item=item)
    path = None
    try:
        with transaction.atomic():
            image = _store_image(actor, item, checked, alt)
            path = image.path
            NewsItem.objects.filter(pk=item.pk).update(updated_at=timezone.now())
    except BaseException:
        if path:
            default_storage.delete(path)
        raise
    return image


def news_delete_image(*, actor, image: NewsImage) -> None:
    if not policy.can_manage_news(actor, image.news):
        raise PermissionDenied(_("Vous ne pouvez pas modifier cette actualité."))
    path = image.path
    with transaction.atomic():
        NewsImage.objects.filter(pk=image.pk).delete()
        transaction.on_commit(lambda: _delete_files([path]))


# --- Carnet de liaison ----------------------------------------------------------------------------------------

def _liaison_recipients(establishment_id: int, class_ids: set[int], group_ids: set[int], pupil_ids: set[int]):
    """The targeted pupils (with their class) and, for each, the guardians who receive the note: one query.

    A guardian receives it when their link to the child gives them legal authority, makes them a recipient of the
    school's correspondence, and does not deny the messaging service (docs/news.md)."""
    who = Q(school_class_id__in=sorted(class_ids)) if class_ids else Q(pk__in=[])
    if group_ids:
        who |= Q(pupil_id__in=GroupMembership.objects.filter(group_id__in=sorted(group_ids)).values("pupil_id"))
    if pupil_ids:
        who |= Q(pupil_id__in=sorted(pupil_ids))
    rows = (ClassEnrolment.objects
            .filter(who, school_class__establishment_id=establishment_id, school_class__school_year__is_current=True,
                    pupil__is_active=True,
                    pupil__memberships__establishment_id=establishment_id, pupil__memberships__role="pupil",
                    pupil__memberships__is_active=True)
            .order_by("pupil_id", "school_class_id")
            .values_list("pupil_id", "school_class_id", "pupil__guardian_links__guardian_id",
                         "pupil__guardian_links__guardian__is_active", "pupil__guardian_links__legal_authority",
                         "pupil__guardian_links__receives_correspondence",
                         "pupil__guardian_links__denied_services"))
    pupils: dict[int, int] = {}
    guardians: dict[int, set[int]] = {}
    for pupil_id, class_id, guardian_id, active, authority, correspondence, denied in rows:
        pupils.setdefault(pupil_id, class_id)
        guardians.setdefault(pupil_id, set())
        if (guardian_id is not None and active and authority and correspondence
                and Service.MESSAGING not in (denied or [])):
            guardians[pupil_id].add(guardian_id)
    return pupils, guardians


def liaison_send(*, actor, establishment, title: str, body: str, due_date: datetime.date | None = None,
                 classes=(), groups=(), pupils=(), request=None) -> LiaisonNote:
    """Send a note to the families of some classes, groups or pupils. The pupils and their receiving guardians are
    resolved now, in one query; each guardian is notified once, whatever their number of targeted children."""
    scope = policy.liaison_write_scope(actor, establishment.pk)
    if not scope:
        raise PermissionDenied(_("Vous ne pouvez pas écrire dans le carnet de liaison de cet établissement."))
    title, body = _title(title), _body(body, required=True)
    if due_date is not None and due_date < timezone.localdate():
        raise ValidationError({"due_date": _("La date limite ne peut pas être passée.")})
    class_ids, group_ids, pupil_ids = _ids(classes), _ids(groups), _ids(pupils)
    if not (class_ids or group_ids or pupil_ids):
        raise ValidationError({"classes": _("Choisissez au moins une classe, un groupe ou un élève.")})
    if not scope.whole and not scope.covers(class_ids, group_ids) and (class_ids or group_ids):
        raise PermissionDenied(_("Vous ne pouvez écrire qu'aux familles des classes et des groupes où vous "
                                 "enseignez."))
    school_classes, school_groups = current_classes_and_groups(establishment.pk, class_ids, group_ids)
    if pupil_ids:
        allowed = set(policy.liaison_pupils_targetable_by(actor, establishment.pk)
                      .filter(pk__in=sorted(pupil_ids)).values_list("pk", flat=True))
        if allowed != pupil_ids:
            raise ValidationError({"pupils": _("Vous ne pouvez écrire qu'aux familles de vos élèves.")})
    targets, guardians = _liaison_recipients(establishment.pk, class_ids, group_ids, pupil_ids)
    if not targets:
        raise ValidationError({"classes": _("Aucun élève dans les classes ou les groupes choisis.")})
    with transaction.atomic():
        note = LiaisonNote.objects.create(establishment=establishment, author=actor.user, title=title, body=body,
                                          due_date=due_date)
        note.classes.set(school_classes)
        note.groups.set(school_groups)
        rows = LiaisonTarget.objects.bulk_create(
            [LiaisonTarget(note=note, pupil_id=pupil_id, school_class_id=class_id)
             for pupil_id, class_id in targets.items()], batch_size=BULK_BATCH)
        if any(row.pk is None for row in rows):  # a database that returns no ids from a bulk insert
            rows = list(LiaisonTarget.objects.filter(note=note))
        LiaisonDelivery.objects.bulk_create(
            [LiaisonDelivery(target=row, note=note, guardian_id=guardian_id)
             for row in rows for guardian_id in sorted(guardians.get(row.pupil_id, ()))], batch_size=BULK_BATCH)
        recipients = sorted({g for ids in guardians.values() for g in ids})
        record(AuditEvent.Action.LIAISON_NOTE_SENT, actor=actor.user, request=request,
               establishment_id=establishment.pk, target="news.liaison_note", note=note.pk, pupils=len(targets),
               guardians=len(recipients), classes=sorted(class_ids), groups=sorted(group_ids),
               chosen_pupils=len(pupil_ids))
        notify(recipient_ids=recipients, kind="liaison", title=_("Carnet de liaison : %(t)s") % {"t": title},
               body=plain_text(body, 200), url=reverse("liaison:carnet"), establishment_id=establishment.pk,
               source=f"news.liaison_note:{note.pk}")
    note.pupil_count, note.guardian_count = len(targets), len(recipients)
    return note


def liaison_acknowledge(*, actor, target: LiaisonTarget) -> LiaisonTarget:
    """"Lu et signé" by a guardian who received the note for this child. The first signature counts for the
    family; every guardian's is recorded. Signing twice changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (LiaisonDelivery.objects.select_for_update()
                    .filter(target_id=target.pk, guardian_id=actor.id).first())
        if delivery is None or target.pupil_id not in actor.child_ids():
            raise PermissionDenied(_("Seul un responsable destinataire de ce mot peut le signer."))
        if delivery.acknowledged_at is None:
            LiaisonDelivery.objects.filter(pk=delivery.pk).update(acknowledged_at=now)
        LiaisonTarget.objects.filter(pk=target.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=now, acknowledged_by=actor.user)
    target.refresh_from_db()
    return target


def _unsigned_guardian_ids(note: LiaisonNote) -> list[int]:
    """Guardians who received the note for a child whose family has not signed, and are still linked to it."""
    still_linked = GuardianLink.objects.filter(guardian_id=OuterRef("guardian_id"),
                                               pupil_id=OuterRef("target__pupil_id"))
    return sorted(set(LiaisonDelivery.objects.filter(note=note, target__acknowledged_at__isnull=True,
                                                     guardian__is_active=True)
                      .filter(Exists(still_linked)).values_list("guardian_id", flat=True)))


def liaison_remind(*, actor, note: LiaisonNote, request=None) -> int:
    """"Relancer": remind the guardians of the pupils whose family has not signed yet. Returns how many people
    were reminded. At most one reminder by hand every PREAU_LIAISON_REMIND_INTERVAL_MINUTES."""
    if not policy.liaison_notes_followed_by(actor).filter(pk=note.pk).exists():
        raise PermissionDenied(_("Vous ne suivez pas ce mot."))
    interval = datetime.timedelta(minutes=settings.PREAU_LIAISON_REMIND_INTERVAL_MINUTES)
    now = timezone.now()
    with transaction.atomic():
        locked = LiaisonNote.objects.select_for_update().get(pk=note.pk)
        if locked.last_reminded_at is not None and now - locked.last_reminded_at < interval:
            raise ValidationError(_("Une relance a déjà été envoyée il y a moins de %(n)s minutes.")
                                  % {"n": settings.PREAU_LIAISON_REMIND_INTERVAL_MINUTES})
        count = _remind(locked, now)
        if count == 0:
            raise ValidationError(_("Aucune famille à relancer : toutes ont signé, ou aucune n'a reçu ce mot."))
    note.refresh_from_db()
    return count


def _remind(note: LiaisonNote, now) -> int:
    guardians = _unsigned_guardian_ids(note)
    if not guardians:
        return 0
    LiaisonNote.objects.filter(pk=note.pk).update(reminder_count=F("reminder_count") + 1, last_reminded_at=now)
    notify(recipient_ids=guardians, kind="liaison",
           title=_("Rappel — carnet de liaison : %(t)s") % {"t": note.title},
           body=_("Ce mot attend encore votre signature."), url=reverse("liaison:carnet"),
           establishment_id=note.establishment_id,
           source=f"news.liaison_note:{note.pk}:reminder:{note.reminder_count + 1}")
    return len(guardians)


def liaison_remind_due(now=None) -> int:
    """The periodic task's work: one automatic reminder for every note sent PREAU_LIAISON_REMINDER_DAYS ago or more
    that some families have not signed. Idempotent (each note is claimed once). Returns the notes reminded."""
    days = settings.PREAU_LIAISON_REMINDER_DAYS
    if days <= 0:
        return 0
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=days)
    due = list(LiaisonNote.objects.filter(auto_reminded_at__isnull=True, sent_at__lte=cutoff)
               .order_by("sent_at").values_list("pk", flat=True)[:500])
    reminded = 0
    for note_id in due:
        with transaction.atomic():
            if not LiaisonNote.objects.filter(pk=note_id, auto_reminded_at__isnull=True).update(auto_reminded_at=now):
                continue
            note = LiaisonNote.objects.get(pk=note_id)
            if _remind(note, now):
                reminded += 1
    return reminded
