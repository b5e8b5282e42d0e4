"""The directory, read-only: establishments, classes, groups, people and subjects, as the policy scopes them."""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Field, Query, Router

from preau.access import policy
from preau.audit.services import record_sensitive_read
from preau.directory.models import Establishment, Role, TeachingGroup

from .. import selectors
from ..errors import NOT_FOUND, responses
from ..schemas import (
    MAX_DB_INT,
    ClassDetail,
    ClassMembers,
    ClassPage,
    EstablishmentDetail,
    EstablishmentPage,
    GroupOut,
    GroupPage,
    PageParams,
    PersonDetail,
    PersonPage,
    SubjectPage,
    paginate,
)

router = Router()

Id = int  # path ids: anything beyond the database's range simply does not exist (404)
FilterId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]  # query filters: out of range is a client error (422)
RoleName = Literal[tuple(Role.values)]  # type: ignore[valid-type]
KIND_LABELS = dict(Establishment.Kind.choices)
GROUP_KIND_LABELS = dict(TeachingGroup.Kind.choices)
CONTACT_TARGET = "directory.contact_details"
SEARCH = Query("", max_length=100, description="Mots à chercher (tous doivent correspondre).")


# --- Serialisers (plain dicts, so that nothing lazy queries the database while rendering) ---------------------

def establishment_ref(e):
    return {"id": e.pk, "uai": e.uai, "name": e.name}


def establishment_out(e):
    return {"id": e.pk, "uai": e.uai, "name": e.name, "kind": e.kind, "kind_label": str(KIND_LABELS.get(e.kind, "")),
            "address": e.address, "postal_code": e.postal_code, "city": e.city, "is_active": e.is_active}


def class_ref(c):
    return {"id": c.pk, "code": c.code, "label": c.label}


def class_out(c):
    return {**class_ref(c), "level": c.level, "establishment": establishment_ref(c.establishment),
            "school_year": {"id": c.school_year_id, "label": c.school_year.label}}


def group_out(g):
    return {"id": g.pk, "code": g.code, "label": g.label, "kind": g.kind,
            "kind_label": str(GROUP_KIND_LABELS.get(g.kind, "")), "establishment": establishment_ref(g.establishment),
            "school_year": {"id": g.school_year_id, "label": g.school_year.label},
            "classes": [class_ref(c) for c in g.classes.all()]}


def person_ref(p):
    return {"id": p.pk, "first_name": p.first_name, "last_name": p.last_name}


def person_out(p):
    return {**person_ref(p),
            "roles": [{"establishment_id": m.establishment_id, "role": m.role,
                       "role_label": str(selectors.ROLE_LABELS.get(m.role, m.role)),
                       "functions": list(m.functions or [])} for m in p.visible_memberships],
            "classes": [class_ref(e.school_class) for e in p.current_enrolments]}


def subject_out(s):
    return {"id": s.pk, "code": s.code, "label": s.label, "short_label": s.short_label,
            "establishment_id": s.establishment_id}


# --- Establishments ---------------------------------------------------------------------------------------------

@router.get("/establishments", response=responses(EstablishmentPage), tags=["établissements"],
            summary="Établissements visibles")
def list_establishments(request, page: Query[PageParams]):
    return paginate(selectors.establishments_list(actor=request.actor), page, establishment_out)


@router.get("/establishments/{establishment_id}", response=responses(EstablishmentDetail, NOT_FOUND),
            tags=["établissements"], summary="Un établissement et son année en cours")
def get_establishment(request, establishment_id: Id):
    establishment, year = selectors.establishment_detail(actor=request.actor, establishment_id=establishment_id)
    school_year = None
    if year is not None:
        school_year = {"id": year.pk, "label": year.label, "start": year.start, "end": year.end,
                       "is_current": year.is_current,
                       "periods": [{"id": p.pk, "index": p.index, "label": p.label, "start": p.start, "end": p.end}
                                   for p in year.periods.all()]}
    return {**establishment_out(establishment), "school_year": school_year}


# --- Classes ------------------------------------------------------------------------------------------------------

@router.get("/classes", response=responses(ClassPage), tags=["classes"], summary="Classes visibles")
def list_classes(request, page: Query[PageParams], establishment: FilterId | None = None, q: str = SEARCH,
                 school_year: FilterId | None = None):
    """Classes of the current school year by default (`school_year` selects another year)."""
    queryset = selectors.classes_list(actor=request.actor, establishment=establishment, q=q,
                                      school_year=school_year)
    return paginate(queryset, page, class_out)


@router.get("/classes/{class_id}", response=responses(ClassDetail, NOT_FOUND), tags=["classes"],
            summary="Une classe")
def get_class(request, class_id: Id):
    c = selectors.class_detail(actor=request.actor, class_id=class_id)
    return {**class_out(c), "mef": c.mef.label if c.mef else None,
            "groups": [{"id": g.pk, "code": g.code, "label": g.label} for g in c.groups.all()]}


@router.get("/classes/{class_id}/members", response=responses(ClassMembers, NOT_FOUND), tags=["classes"],
            summary="Élèves et enseignants d'une classe")
def get_class_members(request, class_id: Id):
    """Staff and teachers of the establishment, and the class's own pupils; 404 for everybody else."""
    c, pupils, assignments = selectors.class_members(actor=request.actor, class_id=class_id)
    return {
        "school_class": class_ref(c),
        "pupils": [person_ref(p) for p in pupils],
        "teachers": [{**person_ref(a.teacher), "is_main_teacher": a.is_main_teacher,
                      "subject": {"id": a.subject.pk, "code": a.subject.code, "label": a.subject.label}}
                     for a in assignments],
    }


# --- Groups -------------------------------------------------------------------------------------------------------

@router.get("/groups", response=responses(GroupPage), tags=["groupes"], summary="Groupes visibles")
def list_groups(request, page: Query[PageParams], establishment: FilterId | None = None, q: str = SEARCH,
                school_year: FilterId | None = None):
    queryset = selectors.groups_list(actor=request.actor, establishment=establishment, q=q,
                                     school_year=school_year)
    return paginate(queryset, page, group_out)


@router.get("/groups/{group_id}", response=responses(GroupOut, NOT_FOUND), tags=["groupes"], summary="Un groupe")
def get_group(request, group_id: Id):
    return group_out(selectors.access_group(actor=request.actor, group_id=group_id))


# --- People ---------------------------------------------------------------------------------------------------------

@router.get("/people", response=responses(PersonPage), tags=["personnes"], summary="Annuaire des personnes")
def list_people(request, page: Query[PageParams], q: str = SEARCH, role: RoleName | None = None,
                establishment: FilterId | None = None):
    """People the caller may see in the directory (names, roles, classes; never contact details)."""
    queryset = selectors.people_list(actor=request.actor, q=q, role=role, establishment=establishment)
    return paginate(queryset, page, person_out)


@router.get("/people/{person_id}", response=responses(PersonDetail, NOT_FOUND), tags=["personnes"],
            summary="Une personne")
def get_person(request, person_id: Id):
    """Contact details only when the policy allows; a read of another person's details by staff is audited."""
    actor = request.actor
    person = selectors.person_detail(actor=actor, person_id=person_id)
    contact = None
    if policy.can_read_contact_details(actor, person):
        contact = {"email": person.email, "phone": person.phone, "birth_date": person.birth_date}
        if person.pk not in actor.child_ids():
            memberships = person.visible_memberships
            record_sensitive_read(actor=actor.user, subject=person, target=CONTACT_TARGET, request=request,
                                  establishment_id=memberships[0].establishment_id if memberships else None)
    return {**person_out(person), "contact": contact}


# --- Subjects -------------------------------------------------------------------------------------------------------

@router.get("/subjects", response=responses(SubjectPage), tags=["matières"], summary="Matières")
def list_subjects(request, page: Query[PageParams], establishment: FilterId | None = None, q: str = SEARCH):
    return paginate(selectors.subjects_list(actor=request.actor, establishment=establishment, q=q), page,
                    subject_out)
