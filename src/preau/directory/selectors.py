"""Reads of the directory for the administration screens and the annuaire.

Scoping always starts from the access policy (`administered_establishments`, `people_administered_by`,
`*_visible_to`); these functions only narrow, search, annotate and prefetch so that a list page costs a handful of
queries whatever its size.
"""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from preau.access import policy
from preau.accounts.models import User

from .models import (
    ClassEnrolment,
    Establishment,
    GroupMembership,
    GuardianLink,
    Membership,
    Role,
    SchoolClass,
    SchoolYear,
    Subject,
    TeachingAssignment,
    TeachingGroup,
)

PAGE_SIZE = 50


def search_terms(q: str | None) -> list[str]:
    return [term for term in (q or "").split() if term][:5]


def _search(queryset: QuerySet, q: str | None, fields: tuple[str, ...]) -> QuerySet:
    """Every word of `q` must match one of `fields` (case-insensitive substring)."""
    for term in search_terms(q):
        condition = Q()
        for name in fields:
            condition |= Q(**{f"{name}__icontains": term})
        queryset = queryset.filter(condition)
    return queryset


# --- Administration -------------------------------------------------------------------------------------------

def administered_establishments(actor: policy.Actor, q: str | None = None) -> QuerySet[Establishment]:
    queryset = policy.administered_establishments(actor)
    return _search(queryset, q, ("name", "uai", "city")).order_by("name")


def access_administered_establishment(actor: policy.Actor, establishment_id) -> Establishment:
    try:
        return policy.administered_establishments(actor).get(pk=establishment_id)
    except (Establishment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def current_year(establishment: Establishment) -> SchoolYear | None:
    return SchoolYear.objects.filter(establishment=establishment, is_current=True).first()


def school_years(establishment: Establishment, *, with_periods: bool = False) -> QuerySet[SchoolYear]:
    queryset = SchoolYear.objects.filter(establishment=establishment).order_by("-start")
    return queryset.prefetch_related("periods") if with_periods else queryset


def access_school_year(establishment: Establishment, year_id) -> SchoolYear:
    try:
        return SchoolYear.objects.select_related("establishment").get(pk=year_id, establishment=establishment)
    except (SchoolYear.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def admin_classes(establishment: Establishment, year: SchoolYear | None, q: str | None = None
                  ) -> QuerySet[SchoolClass]:
    queryset = SchoolClass.objects.filter(establishment=establishment)
    if year is not None:
        queryset = queryset.filter(school_year=year)
    return (_search(queryset, q, ("code", "label", "level"))
            .select_related("mef", "school_year")
            .annotate(pupil_count=Count("enrolments", distinct=True),
                      teacher_count=Count("assignments__teacher", distinct=True))
            .order_by("level", "code"))


def access_admin_class(establishment: Establishment, class_id) -> SchoolClass:
    try:
        return SchoolClass.objects.select_related("school_year", "mef", "establishment").get(
            pk=class_id, establishment=establishment)
    except (SchoolClass.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def admin_groups(establishment: Establishment, year: SchoolYear | None, q: str | None = None
                 ) -> QuerySet[TeachingGroup]:
    queryset = TeachingGroup.objects.filter(establishment=establishment)
    if year is not None:
        queryset = queryset.filter(school_year=year)
    return (_search(queryset, q, ("code", "label"))
            .select_related("school_year")
            .prefetch_related(Prefetch("classes", queryset=SchoolClass.objects.order_by("level", "code")))
            .annotate(pupil_count=Count("members", distinct=True))
            .order_by("code"))


def access_admin_group(establishment: Establishment, group_id) -> TeachingGroup:
    try:
        return TeachingGroup.objects.select_related("school_year", "establishment").get(
            pk=group_id, establishment=establishment)
    except (TeachingGroup.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def subjects(establishment: Establishment) -> QuerySet[Subject]:
    return Subject.objects.filter(establishment=establishment).order_by("label")


def _with_establishment_details(queryset: QuerySet[User], establishment: Establishment) -> QuerySet[User]:
    """Prefetch the person's roles here and their current classes here (two queries for the whole page)."""
    return queryset.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.filter(establishment=establishment).order_by("role"),
                 to_attr="here_memberships"),
        Prefetch("class_enrolments", queryset=ClassEnrolment.objects.filter(
            school_class__establishment=establishment, school_class__school_year__is_current=True,
        ).select_related("school_class"), to_attr="here_enrolments"),
    )


def admin_people(actor: policy.Actor, establishment: Establishment, *, q: str | None = None,
                 role: str | None = None, class_id=None, status: str | None = None) -> QuerySet[User]:
    """People with a role in the establishment, among those the actor administers."""
    here = Membership.objects.filter(user_id=OuterRef("pk"), establishment=establishment)
    queryset = policy.people_administered_by(actor).filter(Exists(here))
    if role in Role.values:
        queryset = queryset.filter(Exists(here.filter(role=role)))
    if class_id:
        queryset = queryset.filter(Exists(ClassEnrolment.objects.filter(
            pupil_id=OuterRef("pk"), school_class_id=class_id, school_class__establishment=establishment)))
    if status == "inactive":
        queryset = queryset.filter(Q(is_active=False) | Exists(here.filter(is_active=False)))
    elif status == "not_activated":
        queryset = queryset.filter(activated_at__isnull=True)
    queryset = _search(queryset, q, ("first_name", "last_name", "username", "email"))
    return _with_establishment_details(queryset, establishment).order_by("last_name", "first_name", "pk")


def access_admin_person(actor: policy.Actor, establishment: Establishment, person_id) -> User:
    try:
        return (policy.people_administered_by(actor)
                .filter(Exists(Membership.objects.filter(user_id=OuterRef("pk"), establishment=establishment)))
                .get(pk=person_id))
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def person_memberships(person: User, establishment: Establishment) -> list[Membership]:
    return list(Membership.objects.filter(user=person, establishment=establishment).order_by("role"))


def person_enrolments(person: User, establishment: Establishment) -> list[ClassEnrolment]:
    return list(ClassEnrolment.objects.filter(pupil=person, school_class__establishment=establishment)
                .select_related("school_class__school_year").order_by("-school_class__school_year__start"))


def guardians_of(pupil: User) -> list[GuardianLink]:
    return list(GuardianLink.objects.filter(pupil=pupil).select_related("guardian")
                .order_by("contact_order", "guardian__last_name"))


def children_of(guardian: User) -> list[GuardianLink]:
    return list(GuardianLink.objects.filter(guardian=guardian).select_related("pupil")
                .order_by("contact_order", "pupil__first_name"))


def access_guardian_link(establishment: Establishment, pupil: User, link_id) -> GuardianLink:
    try:
        return GuardianLink.objects.select_related("guardian", "pupil").get(pk=link_id, pupil=pupil)
    except (GuardianLink.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def teacher_assignments(teacher: User, establishment: Establishment) -> list[TeachingAssignment]:
    return list(TeachingAssignment.objects.filter(teacher=teacher, establishment=establishment)
                .select_related("subject", "school_class", "group", "school_year")
                .order_by("-school_year__start", "subject__label"))


def access_assignment(establishment: Establishment, teacher: User, assignment_id) -> TeachingAssignment:
    try:
        return TeachingAssignment.objects.select_related("teacher", "subject").get(
            pk=assignment_id, teacher=teacher, establishment=establishment)
    except (TeachingAssignment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def class_pupils(school_class: SchoolClass) -> QuerySet[User]:
    return User.objects.filter(class_enrolments__school_class=school_class).order_by("last_name", "first_name")


def class_assignments(school_class: SchoolClass) -> list[TeachingAssignment]:
    return list(TeachingAssignment.objects.filter(school_class=school_class).select_related("teacher", "subject")
                .order_by("subject__label", "teacher__last_name"))


def group_pupils(group: TeachingGroup) -> QuerySet[User]:
    return User.objects.filter(group_memberships__group=group).order_by("last_name", "first_name")


def group_candidates(group: TeachingGroup) -> QuerySet[User]:
    """Pupils who may join a group: enrolled this year in one of the classes it spans (any class if none)."""
    enrolments = ClassEnrolment.objects.filter(school_class__school_year_id=group.school_year_id)
    class_ids = list(group.classes.values_list("pk", flat=True))
    if class_ids:
        enrolments = enrolments.filter(school_class_id__in=class_ids)
    return (User.objects.filter(pk__in=enrolments.values("pupil_id"))
            .annotate(in_group=Exists(GroupMembership.objects.filter(group=group, pupil_id=OuterRef("pk"))))
            .order_by("last_name", "first_name"))


def guardians_in(establishment: Establishment) -> QuerySet[User]:
    return User.objects.filter(memberships__establishment=establishment, memberships__role=Role.GUARDIAN)


def teaching_targets(establishment: Establishment, year: SchoolYear | None) -> tuple[list, list]:
    if year is None:
        return [], []
    classes = list(SchoolClass.objects.filter(establishment=establishment, school_year=year).order_by("level", "code"))
    groups = list(TeachingGroup.objects.filter(establishment=establishment, school_year=year).order_by("code"))
    return classes, groups


# --- The annuaire (everyone) ----------------------------------------------------------------------------------

def visible_classes(actor: policy.Actor) -> QuerySet[SchoolClass]:
    return (policy.classes_visible_to(actor).filter(school_year__is_current=True)
            .select_related("establishment").order_by("establishment__name", "level", "code"))


def visible_groups(actor: policy.Actor) -> QuerySet[TeachingGroup]:
    return (policy.groups_visible_to(actor).filter(school_year__is_current=True)
            .select_related("establishment").order_by("establishment__name", "code"))


def access_visible_group(actor: policy.Actor, group_id) -> TeachingGroup:
    try:
        return policy.groups_visible_to(actor).select_related("establishment", "school_year").get(pk=group_id)
    except (TeachingGroup.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def search_people(actor: policy.Actor, q: str | None = None, role: str | None = None) -> QuerySet[User]:
    queryset = policy.people_visible_to(actor)
    if role in Role.values:
        establishments = _shared_establishment_ids(actor)
        memberships = Membership.objects.filter(user_id=OuterRef("pk"), role=role, is_active=True)
        if establishments is not None:
            memberships = memberships.filter(establishment_id__in=establishments)
        queryset = queryset.filter(Exists(memberships))
    queryset = _search(queryset, q, ("first_name", "last_name", "username"))
    return _with_directory_details(actor, queryset).order_by("last_name", "first_name", "pk")


def _shared_establishment_ids(actor: policy.Actor) -> set[int] | None:
    return None if actor.is_global_admin else actor.establishment_ids()


def _with_directory_details(actor: policy.Actor, queryset: QuerySet[User]) -> QuerySet[User]:
    """Prefetch the roles a person holds in the actor's establishments, and their visible current classes."""
    establishments = _shared_establishment_ids(actor)
    memberships = Membership.objects.filter(is_active=True).select_related("establishment").order_by("role")
    if establishments is not None:
        memberships = memberships.filter(establishment_id__in=establishments)
    enrolments = ClassEnrolment.objects.filter(
        school_class__in=policy.classes_visible_to(actor).filter(school_year__is_current=True),
    ).select_related("school_class")
    return queryset.prefetch_related(
        Prefetch("memberships", queryset=memberships, to_attr="shared_memberships"),
        Prefetch("class_enrolments", queryset=enrolments, to_attr="visible_enrolments"),
    )


def person_card(actor: policy.Actor, person: User) -> dict:
    """What the annuaire shows about a person the actor may see (the caller checked access_person)."""
    person = _with_directory_details(actor, User.objects.filter(pk=person.pk)).get()
    establishments = _shared_establishment_ids(actor)
    assignments = TeachingAssignment.objects.filter(teacher=person, school_year__is_current=True).select_related(
        "subject", "school_class", "group").order_by("subject__label")
    if establishments is not None:
        assignments = assignments.filter(establishment_id__in=establishments)
    return {"person": person, "assignments": list(assignments)}


def class_members(school_class: SchoolClass, actor: policy.Actor) -> dict:
    pupils = policy.people_visible_to(actor).filter(class_enrolments__school_class=school_class).order_by(
        "last_name", "first_name")
    return {"pupils": list(pupils), "assignments": class_visible_assignments(school_class, actor)}


def class_visible_assignments(school_class: SchoolClass, actor: policy.Actor) -> list[TeachingAssignment]:
    teachers = policy.people_visible_to(actor).values("pk")
    return list(TeachingAssignment.objects.filter(school_class=school_class, teacher_id__in=teachers)
                .select_related("teacher", "subject").order_by("subject__label", "teacher__last_name"))


def group_members(group: TeachingGroup, actor: policy.Actor) -> dict:
    visible = policy.people_visible_to(actor)
    pupils = visible.filter(group_memberships__group=group).order_by("last_name", "first_name")
    assignments = TeachingAssignment.objects.filter(group=group, teacher_id__in=visible.values("pk")).select_related(
        "teacher", "subject").order_by("subject__label")
    return {"pupils": list(pupils), "assignments": list(assignments),
            "classes": list(group.classes.order_by("level", "code"))}


def current_classes_and_groups(establishment_id: int, class_ids: set[int], group_ids: set[int]):
    """The classes and groups (ids) as objects of the establishment's current school year, for a service that
    addresses them (news, carnet de liaison, agenda); an unknown one is refused with a French ValidationError."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    classes = list(SchoolClass.objects.filter(pk__in=sorted(class_ids), establishment_id=establishment_id,
                                              school_year__is_current=True)) if class_ids else []
    groups = list(TeachingGroup.objects.filter(pk__in=sorted(group_ids), establishment_id=establishment_id,
                                               school_year__is_current=True)) if group_ids else []
    if len(classes) != len(class_ids):
        raise ValidationError({"classes": _("Une des classes choisies n'existe pas dans cet établissement cette "
                                            "année.")})
    if len(groups) != len(group_ids):
        raise ValidationError({"groups": _("Un des groupes choisis n'existe pas dans cet établissement cette "
                                           "année.")})
    return classes, groups
