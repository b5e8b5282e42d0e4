"""Typed response and input schemas: what the OpenAPI document promises, field by field."""

from __future__ import annotations

import datetime

from ninja import Field, Schema
from pydantic import create_model

MAX_DB_INT = 2**63 - 1
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


class PageParams(Schema):
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE,
                       description=f"Nombre d'éléments par page (1 à {MAX_PAGE_SIZE}).")
    offset: int = Field(0, ge=0, le=10_000_000, description="Nombre d'éléments à sauter.")


class PageBase(Schema):
    count: int = Field(description="Nombre total d'éléments, toutes pages confondues.")
    limit: int
    offset: int


def page_of(item: type[Schema], name: str) -> type[PageBase]:
    return create_model(name, __base__=PageBase, items=(list[item], ...))


def paginate(queryset, page: PageParams, serialize=None) -> dict:
    """One COUNT and one slice of an already ordered queryset."""
    count = queryset.count()
    rows = list(queryset[page.offset:page.offset + page.limit]) if page.offset < count else []
    items = [serialize(row) for row in rows] if serialize else rows
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": items}


# --- References ---------------------------------------------------------------------------------------------

class EstablishmentRef(Schema):
    id: int
    uai: str
    name: str


class SchoolYearRef(Schema):
    id: int
    label: str


class ClassRef(Schema):
    id: int
    code: str
    label: str


class SubjectRef(Schema):
    id: int
    code: str
    label: str


class PersonRef(Schema):
    id: int
    first_name: str
    last_name: str


# --- Establishments -----------------------------------------------------------------------------------------

class PeriodOut(Schema):
    id: int
    index: int
    label: str
    start: datetime.date
    end: datetime.date


class SchoolYearOut(Schema):
    id: int
    label: str
    start: datetime.date
    end: datetime.date
    is_current: bool


class SchoolYearDetail(SchoolYearOut):
    periods: list[PeriodOut]


class EstablishmentOut(Schema):
    id: int
    uai: str
    name: str
    kind: str
    kind_label: str
    address: str
    postal_code: str
    city: str
    is_active: bool


class EstablishmentDetail(EstablishmentOut):
    school_year: SchoolYearDetail | None = Field(description="L'année scolaire en cours, avec ses périodes.")


# --- Classes and groups -------------------------------------------------------------------------------------

class ClassOut(Schema):
    id: int
    code: str
    label: str
    level: str
    establishment: EstablishmentRef
    school_year: SchoolYearRef


class GroupRef(Schema):
    id: int
    code: str
    label: str


class ClassDetail(ClassOut):
    mef: str | None = Field(description="Libellé du MEF (niveau / formation), s'il est connu.")
    groups: list[GroupRef]


class ClassTeacher(PersonRef):
    subject: SubjectRef
    is_main_teacher: bool


class ClassMembers(Schema):
    school_class: ClassRef
    pupils: list[PersonRef]
    teachers: list[ClassTeacher]


class GroupOut(Schema):
    id: int
    code: str
    label: str
    kind: str
    kind_label: str
    establishment: EstablishmentRef
    school_year: SchoolYearRef
    classes: list[ClassRef]


# --- People -------------------------------------------------------------------------------------------------

class PersonRole(Schema):
    establishment_id: int
    role: str
    role_label: str
    functions: list[str]


class PersonOut(PersonRef):
    roles: list[PersonRole] = Field(description="Rôles dans les établissements visibles par l'appelant.")
    classes: list[ClassRef] = Field(description="Classes de l'année en cours (élèves).")


class ContactDetails(Schema):
    email: str
    phone: str
    birth_date: datetime.date | None


class PersonDetail(PersonOut):
    contact: ContactDetails | None = Field(
        description="Coordonnées : présentes seulement si l'appelant a le droit de les lire (lecture tracée).")


class SubjectOut(Schema):
    id: int
    code: str
    label: str
    short_label: str
    establishment_id: int


# --- Me -----------------------------------------------------------------------------------------------------

class MeRole(Schema):
    establishment_id: int
    uai: str
    establishment_name: str
    role: str
    role_label: str
    functions: list[str]


class MeEstablishment(EstablishmentRef):
    school_year: SchoolYearOut | None


class MeChild(PersonRef):
    relation: str
    school_class: ClassRef | None
    establishment_id: int | None
    denied_services: list[str] = Field(description="Services que ce responsable ne peut pas consulter pour cet enfant.")


class MeOut(Schema):
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    is_global_admin: bool
    auth: str = Field(description="« session » ou « token ».")
    roles: list[MeRole]
    establishments: list[MeEstablishment]
    children: list[MeChild]
    current_establishment_id: int | None
    school_year: SchoolYearOut | None = Field(description="Année scolaire en cours de l'établissement courant.")


# --- Tokens -------------------------------------------------------------------------------------------------

class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="Début public du jeton, pour le reconnaître.")
    status: str = Field(description="active, expired ou revoked.")
    created_at: datetime.datetime
    last_used_at: datetime.datetime | None
    expires_at: datetime.datetime | None
    revoked_at: datetime.datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="Le jeton en clair : il n'est montré qu'une fois.")


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(None, ge=1, le=366, description="Durée de validité ; vide : sans expiration.")


EstablishmentPage = page_of(EstablishmentOut, "EstablishmentPage")
ClassPage = page_of(ClassOut, "ClassPage")
GroupPage = page_of(GroupOut, "GroupPage")
PersonPage = page_of(PersonOut, "PersonPage")
SubjectPage = page_of(SubjectOut, "SubjectPage")
TokenPage = page_of(TokenOut, "TokenPage")
