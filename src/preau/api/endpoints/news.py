"""News and the carnet de liaison, as JSON: the same selectors and services as the pages under /actualites/ and
/carnet/ (docs/news.md). A news item, an image, a note or a carnet entry the caller may not see answers 404; an
action their role may not take answers 403; bad input 400 or 422, in French."""

from __future__ import annotations

import datetime
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from preau.access import policy
from preau.news import selectors, services
from preau.news.models import LiaisonNote, LiaisonTarget, NewsImage, NewsItem

from ..errors import BAD_REQUEST, FORBIDDEN, NOT_FOUND, api_error, responses, service_refusal
from ..schemas import MAX_DB_INT, ClassRef, GroupRef, PageParams, PersonRef, page_of, paginate

router = Router(tags=["actualités et carnet de liaison"])

Id = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
AUDIENCE_FLAGS = ("for_pupils", "for_guardians", "for_teachers", "for_staff")


# --- Schemas ----------------------------------------------------------------------------------------------------

class NewsImageOut(Schema):
    id: int
    url: str = Field(description="Adresse de l'image (servie seulement aux personnes qui voient l'actualité).")
    alt: str
    content_type: str
    width: int
    height: int


class NewsOut(Schema):
    id: int
    establishment_id: int
    title: str
    author: PersonRef | None
    publish_at: datetime.datetime
    unpublish_at: datetime.datetime | None
    pinned: bool
    status: str = Field(description="draft, scheduled, published ou withdrawn.")
    whole_establishment: bool
    audience: list[str] = Field(description="pupils, guardians, teachers, staff.")
    classes: list[ClassRef]
    groups: list[GroupRef]


class NewsDetail(NewsOut):
    body: str = Field(description="HTML nettoyé (un petit jeu de balises sûres).")
    images: list[NewsImageOut]
    can_manage: bool


class NewsIn(Schema):
    establishment_id: Id | None = Field(None, description="Obligatoire à la création ; ignoré à la modification.")
    title: str = Field(max_length=200)
    body: str = Field(max_length=50_000, description="Texte simple ou HTML (nettoyé).")
    whole_establishment: bool = True
    classes: list[Id] = Field(default_factory=list, max_length=500)
    groups: list[Id] = Field(default_factory=list, max_length=500)
    audience: list[str] = Field(default_factory=lambda: ["pupils", "guardians", "teachers", "staff"],
                                max_length=4, description="pupils, guardians, teachers, staff.")
    draft: bool = False
    publish_at: datetime.datetime | None = Field(None, description="Vide : maintenant.")
    unpublish_at: datetime.datetime | None = None
    pinned: bool = False


class CarnetEntryOut(Schema):
    id: int = Field(description="L'entrée du carnet : un mot, pour un élève.")
    note_id: int
    pupil: PersonRef
    title: str
    body: str
    author: PersonRef | None
    sent_at: datetime.datetime
    due_date: datetime.date | None
    acknowledged_at: datetime.datetime | None = Field(description="Signature de la famille (la première).")
    acknowledged_by: PersonRef | None
    can_acknowledge: bool = Field(description="L'appelant est un responsable destinataire qui n'a pas encore signé.")
    my_acknowledged_at: datetime.datetime | None


class LiaisonNoteOut(Schema):
    id: int
    establishment_id: int
    title: str
    author: PersonRef | None
    sent_at: datetime.datetime
    due_date: datetime.date | None
    pupils: int
    signed: int
    reminder_count: int
    last_reminded_at: datetime.datetime | None


class LiaisonNoteIn(Schema):
    establishment_id: Id
    title: str = Field(max_length=200)
    body: str = Field(max_length=50_000)
    due_date: datetime.date | None = None
    classes: list[Id] = Field(default_factory=list, max_length=500)
    groups: list[Id] = Field(default_factory=list, max_length=500)
    pupils: list[Id] = Field(default_factory=list, max_length=5000)


class LiaisonDeliveryOut(Schema):
    guardian: PersonRef
    acknowledged_at: datetime.datetime | None


class LiaisonRowOut(Schema):
    pupil: PersonRef
    school_class: ClassRef | None
    acknowledged_at: datetime.datetime | None
    acknowledged_by: PersonRef | None
    guardians: list[LiaisonDeliveryOut] = Field(description="Responsables destinataires et leur propre signature.")


class LiaisonCounts(Schema):
    total: int
    signed: int
    unsigned: int
    unreached: int = Field(description="Élèves sans responsable destinataire.")


class LiaisonDashboardOut(Schema):
    note: LiaisonNoteOut
    counts: LiaisonCounts
    count: int = Field(description="Lignes, toutes pages confondues (après filtre).")
    limit: int
    offset: int
    items: list[LiaisonRowOut]


class RemindOut(Schema):
    reminded: int = Field(description="Responsables relancés.")
    note: LiaisonNoteOut


NewsPage = page_of(NewsOut, "NewsPage")
CarnetPage = page_of(CarnetEntryOut, "CarnetPage")
LiaisonNotePage = page_of(LiaisonNoteOut, "LiaisonNotePage")


# --- Serialisers ----------------------------------------------------------------------------------------------

def _person(user) -> dict | None:
    return {"id": user.pk, "first_name": user.first_name, "last_name": user.last_name} if user else None


def _ref(obj) -> dict:
    return {"id": obj.pk, "code": obj.code, "label": obj.label}


def news_out(item: NewsItem) -> dict:
    return {
        "id": item.pk, "establishment_id": item.establishment_id, "title": item.title, "author": _person(item.author),
        "publish_at": item.publish_at, "unpublish_at": item.unpublish_at, "pinned": item.pinned,
        "status": item.status(), "whole_establishment": item.whole_establishment,
        "audience": [flag.removeprefix("for_") for flag in AUDIENCE_FLAGS if getattr(item, flag)],
        "classes": [_ref(c) for c in item.classes.all()], "groups": [_ref(g) for g in item.groups.all()],
    }


def image_out(image: NewsImage) -> dict:
    return {"id": image.pk, "url": reverse("news:image", args=[image.news_id, image.pk]), "alt": image.alt,
            "content_type": image.content_type, "width": image.width, "height": image.height}


def news_detail_out(actor, item: NewsItem) -> dict:
    return {**news_out(item), "body": item.body, "images": [image_out(i) for i in item.images.all()],
            "can_manage": policy.can_manage_news(actor, item)}


def entry_out(entry: LiaisonTarget) -> dict:
    note = entry.note
    mine = getattr(entry, "my_signed_at", None)
    return {
        "id": entry.pk, "note_id": note.pk, "pupil": _person(entry.pupil), "title": note.title, "body": note.body,
        "author": _person(note.author), "sent_at": note.sent_at, "due_date": note.due_date,
        "acknowledged_at": entry.acknowledged_at, "acknowledged_by": _person(entry.acknowledged_by),
        "can_acknowledge": bool(getattr(entry, "delivered_to_me", False)) and mine is None,
        "my_acknowledged_at": mine,
    }


def note_out(note: LiaisonNote, pupils: int | None = None, signed: int | None = None) -> dict:
    return {
        "id": note.pk, "establishment_id": note.establishment_id, "title": note.title, "author": _person(note.author),
        "sent_at": note.sent_at, "due_date": note.due_date,
        "pupils": pupils if pupils is not None else getattr(note, "pupil_total", 0),
        "signed": signed if signed is not None else getattr(note, "signed_total", 0),
        "reminder_count": note.reminder_count, "last_reminded_at": note.last_reminded_at,
    }


def row_out(row: LiaisonTarget) -> dict:
    return {
        "pupil": _person(row.pupil), "school_class": _ref(row.school_class) if row.school_class else None,
        "acknowledged_at": row.acknowledged_at, "acknowledged_by": _person(row.acknowledged_by),
        "guardians": [{"guardian": _person(d.guardian), "acknowledged_at": d.acknowledged_at}
                      for d in row.deliveries.all()],
    }


# --- Helpers --------------------------------------------------------------------------------------------------

def _own_establishment(actor, establishment_id):
    """One of the caller's establishments, or 404."""
    for establishment in actor.establishments:
        if establishment.pk == establishment_id:
            return establishment
    raise Http404


def _news_kwargs(data: NewsIn) -> dict:
    return {"title": data.title, "body": data.body, "whole_establishment": data.whole_establishment,
            "classes": data.classes, "groups": data.groups, "audience": data.audience, "draft": data.draft,
            "publish_at": data.publish_at, "unpublish_at": data.unpublish_at, "pinned": data.pinned}


# --- News -----------------------------------------------------------------------------------------------------

@router.get("/news", response=responses(NewsPage), summary="Actualités publiées que je peux lire")
def list_news(request, page: Query[PageParams], establishment: Id | None = None):
    """Pinned first, newest first; only published items inside their window (`status` published)."""
    actor = request.actor
    target = _own_establishment(actor, establishment) if establishment is not None else None
    return paginate(selectors.news_list(actor, target), page, news_out)


@router.get("/news/{news_id}", response=responses(NewsDetail, NOT_FOUND), summary="Une actualité")
def get_news(request, news_id: int):
    """Readers see published items; their authors and the establishment's leadership also drafts and scheduled
    or withdrawn items."""
    item = policy.access_news(request.actor, news_id)
    return news_detail_out(request.actor, item)


@router.post("/news", response=responses(NewsDetail, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Écrire une actualité")
def create_news(request, data: NewsIn):
    """Published at once (or at `publish_at`) unless `draft`; its audience is notified at publication. Teachers
    address the classes and groups they teach only (403 otherwise)."""
    actor = request.actor
    if data.establishment_id is None:
        raise api_error(400, "Indiquez l'établissement (establishment_id).")
    establishment = _own_establishment(actor, data.establishment_id)
    try:
        item = services.news_create(actor=actor, establishment=establishment, request=request, **_news_kwargs(data))
    except (ValidationError, PermissionDenied) as exc:
        raise service_refusal(exc) from None
    return Status(201, news_detail_out(actor, item))


@router.put("/news/{news_id}", response=responses(NewsDetail, BAD_REQUEST, FORBIDDEN, NOT_FOUND),
            summary="Modifier une actualité")
def update_news(request, news_id: int, data: NewsIn):
    """Replaces every field. An item already announced cannot go back to draft (withdraw it with
    `unpublish_at`); editing never notifies again."""
    actor = request.actor
    item = policy.access_news(actor, news_id, manage=True)
    try:
        item = services.news_update(actor=actor, item=item, request=request, **_news_kwargs(data))
    except (ValidationError, PermissionDenied) as exc:
        raise service_refusal(exc) from None
    return news_detail_out(actor, item)


@router.post("/news/{news_id}/images", response=responses(NewsImageOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND,
                                                           status=201),
             summary="Ajouter une image à une actualité (multipart/form-data)")
def add_news_image(request, news_id: int, file: Annotated[UploadedFile, File(description="PNG, JPEG, WebP ou GIF.")],
                   alt: Annotated[str, Form(max_length=250, description="Ce que montre l'image.")] = ""):
    """Checked by content (not by name), PREAU_NEWS_IMAGE_MAX_BYTES at most, re-encoded without its metadata."""
    actor = request.actor
    item = policy.access_news(actor, news_id, manage=True)
    try:
        image = services.news_add_image(actor=actor, item=item, upload=file, alt=alt)
    except (ValidationError, PermissionDenied) as exc:
        raise service_refusal(exc) from None
    return Status(201, image_out(image))


# --- Carnet de liaison ----------------------------------------------------------------------------------------

@router.get("/liaison/carnet", response=responses(CarnetPage), summary="Mon carnet de liaison (ou celui de mes "
                                                                        "enfants)")
def list_carnet(request, page: Query[PageParams], pupil: Id | None = None):
    """A pupil's own entries; a guardian's for each child (one entry per note and child), or for `pupil` only."""
    return paginate(selectors.carnet_entries(request.actor, pupil), page, entry_out)


@router.post("/liaison/entries/{entry_id}/acknowledge", response=responses(CarnetEntryOut, FORBIDDEN, NOT_FOUND),
             summary="Lu et signé")
def acknowledge_entry(request, entry_id: int):
    """By a guardian who received the note for this child; signing twice changes nothing. A pupil reads but does
    not sign (403)."""
    actor = request.actor
    entry = selectors.access_carnet_entry(actor, entry_id)
    try:
        services.liaison_acknowledge(actor=actor, target=entry)
    except PermissionDenied as exc:
        raise service_refusal(exc) from None
    return entry_out(selectors.access_carnet_entry(actor, entry_id))


@router.get("/liaison/notes", response=responses(LiaisonNotePage), summary="Mots que je suis (envoyés, ou de mon "
                                                                           "établissement pour la direction)")
def list_liaison_notes(request, page: Query[PageParams], establishment: Id | None = None):
    actor = request.actor
    target = _own_establishment(actor, establishment) if establishment is not None else None
    return paginate(selectors.followed_notes(actor, target), page, note_out)


@router.post("/liaison/notes", response=responses(LiaisonNoteOut, BAD_REQUEST, FORBIDDEN, NOT_FOUND, status=201),
             summary="Écrire un mot aux familles")
def create_liaison_note(request, data: LiaisonNoteIn):
    """To the families of classes, groups or pupils (teachers: those they teach). Recipients are resolved now:
    guardians with legal authority who receive the school's correspondence."""
    actor = request.actor
    establishment = _own_establishment(actor, data.establishment_id)
    try:
        note = services.liaison_send(actor=actor, establishment=establishment, title=data.title, body=data.body,
                                     due_date=data.due_date, classes=data.classes, groups=data.groups,
                                     pupils=data.pupils, request=request)
    except (ValidationError, PermissionDenied) as exc:
        raise service_refusal(exc) from None
    return Status(201, note_out(note, pupils=note.pupil_count, signed=0))


@router.get("/liaison/notes/{note_id}/dashboard", response=responses(LiaisonDashboardOut, NOT_FOUND),
            summary="Qui a signé un mot")
def liaison_dashboard(request, note_id: int, page: Query[PageParams], unsigned: bool = False):
    """Counts, and one row per pupil (by class, then name) with who signed and each receiving guardian's own
    signature; `unsigned` keeps the families who have not signed yet."""
    note = policy.access_followed_liaison_note(request.actor, note_id)
    counts = selectors.note_counts(note)
    rows = paginate(selectors.note_dashboard_rows(note, only_unsigned=unsigned), page, row_out)
    return {"note": note_out(note, pupils=counts["total"], signed=counts["signed"]), "counts": counts, **rows}


@router.post("/liaison/notes/{note_id}/remind", response=responses(RemindOut, BAD_REQUEST, NOT_FOUND),
             summary="Relancer les familles qui n'ont pas signé")
def remind_liaison_note(request, note_id: int):
    actor = request.actor
    note = policy.access_followed_liaison_note(actor, note_id)
    try:
        count = services.liaison_remind(actor=actor, note=note, request=request)
    except (ValidationError, PermissionDenied) as exc:
        raise service_refusal(exc) from None
    counts = selectors.note_counts(note)
    return {"reminded": count, "note": note_out(note, pupils=counts["total"], signed=counts["signed"])}
