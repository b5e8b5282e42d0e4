"""Reads for the API app: a person's own API tokens, and the token behind an Authorization header."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from preau.access import policy
from preau.access.policy import Actor
from preau.accounts.models import User
from preau.directory.models import (
    ClassEnrolment,
    Establishment,
    Membership,
    Period,
    Role,
    SchoolClass,
    SchoolYear,
    Subject,
    TeachingAssignment,
    TeachingGroup,
)

from .models import TOKEN_SCHEME, ApiToken


def api_tokens_of(*, actor: Actor) -> QuerySet[ApiToken]:
    """The actor's own tokens (nobody lists another person's tokens; revoking an account disables them)."""
    return ApiToken.objects.filter(user_id=actor.id).order_by("-created_at", "-id")


def access_api_token(*, actor: Actor, token_id) -> ApiToken:
    try:
        return api_tokens_of(actor=actor).get(pk=token_id)
    except (ApiToken.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None


def split_token(raw: str) -> tuple[str, str] | None:
    """`preau_<prefix>_<secret>` → (prefix, secret), or None when it does not have that shape."""
    parts = (raw or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_SCHEME or not parts[1] or not parts[2]:
        return None
    if len(parts[1]) > 16 or len(parts[2]) > 128:
        return None
    return parts[1], parts[2]


def token_for_bearer(raw: str) -> ApiToken | None:
    """The usable token (and its active user) for a clear bearer token; None for anything else."""
    parsed = split_token(raw)
    if parsed is None:
        return None
    prefix, secret = parsed
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not token.matches(secret) or not token.is_usable():
        return None
    user = token.user
    # An account with a pending step (not activated, password to change after a reset) cannot use its tokens.
    if not user.is_active or not user.is_activated or user.must_change_password:
        return None
    return token


# --- Directory reads for the API: every queryset starts from the policy's *_visible_to -------------------------

def establishments_list(*, actor: Actor) -> QuerySet[Establishment]:
    return policy.establishments_visible_to(actor).order_by("name", "id")


def establishment_detail(*, actor: Actor, establishment_id) -> tuple[Establishment, SchoolYear | None]:
    try:
        establishment = policy.establishments_visible_to(actor).get(pk=establishment_id)
    except (Establishment.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None
    year = (SchoolYear.objects.filter(establishment=establishment, is_current=True)
            .prefetch_related(Prefetch("periods", queryset=Period.objects.order_by("index"))).first())
    return establishment, year


def _year_filter(queryset, school_year: int | None):
    if school_year is None:
        return queryset.filter(school_year__is_current=True)
    return queryset.filter(school_year_id=school_year)


def classes_list(*, actor: Actor, establishment: int | None = None, q: str = "",
                 school_year: int | None = None) -> QuerySet[SchoolClass]:
    queryset = _year_filter(policy.classes_visible_to(actor), school_year)
    if establishment is not None:
        queryset = queryset.filter(establishment_id=establishment)
    for word in q.split():
        queryset = queryset.filter(Q(label__icontains=word) | Q(code__icontains=word) | Q(level__icontains=word))
    return queryset.select_related("establishment", "school_year").order_by(
        "establishment__name", "level", "code", "id")


def class_detail(*, actor: Actor, class_id) -> SchoolClass:
    school_class = policy.access_class(actor, class_id)
    return (SchoolClass.objects.select_related("establishment", "school_year", "mef")
            .prefetch_related(Prefetch("groups", queryset=TeachingGroup.objects.order_by("code", "id")))
            .get(pk=school_class.pk))


def class_members(*, actor: Actor, class_id) -> tuple[SchoolClass, list[User], list[TeachingAssignment]]:
    """Pupils and teachers of a class, for those the policy lets list them; everybody else gets a 404."""
    school_class = policy.access_class(actor, class_id)
    if not policy.can_list_class_members(actor, school_class):
        raise Http404
    visible = policy.people_visible_to(actor)
    pupils = list(visible.filter(pk__in=ClassEnrolment.objects.filter(school_class=school_class)
                                 .values("pupil_id")).order_by("last_name", "first_name", "id"))
    assignments = list(TeachingAssignment.objects.filter(
        school_class=school_class, teacher__in=visible,
    ).select_related("teacher", "subject").order_by("teacher__last_name", "teacher__first_name", "subject__label",
                                                    "id"))
    return school_class, pupils, assignments


def groups_list(*, actor: Actor, establishment: int | None = None, q: str = "",
                school_year: int | None = None) -> QuerySet[TeachingGroup]:
    queryset = _year_filter(policy.groups_visible_to(actor), school_year)
    if establishment is not None:
        queryset = queryset.filter(establishment_id=establishment)
    for word in q.split():
        queryset = queryset.filter(Q(label__icontains=word) | Q(code__icontains=word))
    return queryset.select_related("establishment", "school_year").prefetch_related(
        Prefetch("classes", queryset=SchoolClass.objects.order_by("level", "code", "id"))
    ).order_by("establishment__name", "code", "id")


def access_group(*, actor: Actor, group_id) -> TeachingGroup:
    try:
        return policy.groups_visible_to(actor).select_related("establishment", "school_year").prefetch_related(
            Prefetch("classes", queryset=SchoolClass.objects.order_by("level", "code", "id"))
        ).get(pk=group_id)
    except (TeachingGroup.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None


def _people_prefetches(actor: Actor) -> list[Prefetch]:
    """A person's roles, limited to establishments the actor sees, and current classes."""
    memberships = Membership.objects.filter(is_active=True).order_by("establishment_id", "role")
    if not actor.is_global_admin:
        memberships = memberships.filter(establishment_id__in=actor.establishment_ids())
    enrolments = (ClassEnrolment.objects.filter(school_class__school_year__is_current=True)
                  .select_related("school_class").order_by("school_class__code", "id"))
    if not actor.is_global_admin:
        enrolments = enrolments.filter(school_class__establishment_id__in=actor.establishment_ids())
    return [Prefetch("memberships", queryset=memberships, to_attr="visible_memberships"),
            Prefetch("class_enrolments", queryset=enrolments, to_attr="current_enrolments")]


def people_list(*, actor: Actor, q: str = "", role: str | None = None,
                establishment: int | None = None) -> QuerySet[User]:
    queryset = policy.people_visible_to(actor)
    if role is not None or establishment is not None:
        memberships = Membership.objects.filter(is_active=True)
        if role is not None:
            memberships = memberships.filter(role=role)
        if establishment is not None:
            memberships = memberships.filter(establishment_id=establishment)
        queryset = queryset.filter(pk__in=memberships.values("user_id"))
    for word in q.split():
        queryset = queryset.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return queryset.prefetch_related(*_people_prefetches(actor)).order_by("last_name", "first_name", "id")


def person_detail(*, actor: Actor, person_id) -> User:
    try:
        return policy.people_visible_to(actor).prefetch_related(*_people_prefetches(actor)).get(pk=person_id)
    except (User.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None


def subjects_list(*, actor: Actor, establishment: int | None = None, q: str = "") -> QuerySet[Subject]:
    queryset = Subject.objects.filter(establishment__in=policy.establishments_visible_to(actor))
    if establishment is not None:
        queryset = queryset.filter(establishment_id=establishment)
    for word in q.split():
        queryset = queryset.filter(Q(label__icontains=word) | Q(code__icontains=word))
    return queryset.order_by("label", "establishment_id", "id")


def current_years(establishment_ids) -> dict[int, SchoolYear]:
    return {y.establishment_id: y for y in SchoolYear.objects.filter(establishment_id__in=establishment_ids,
                                                                       is_current=True)}


def children_classes(*, actor: Actor) -> dict[int, SchoolClass]:
    """The current class of each of the actor's children (guardians)."""
    children = actor.child_ids()
    if not children:
        return {}
    rows = (ClassEnrolment.objects.filter(pupil_id__in=children, school_class__school_year__is_current=True)
            .select_related("school_class").order_by("school_class__school_year__start", "id"))
    return {row.pupil_id: row.school_class for row in rows}


ROLE_LABELS = dict(Role.choices)
