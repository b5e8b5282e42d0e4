"""Reads of the accounts app: pending account steps, charters, second factors."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from preau.directory.models import ClassEnrolment, Establishment, Membership, Role

from .models import ActivationCode, Charter, CharterAcceptance, RecoveryCode, TOTPDevice, User

# Roles held to the establishment's "second factor required for staff" rule: every adult working there.
SECOND_FACTOR_ROLES = {Role.TEACHER, Role.STAFF, Role.ENT_ADMIN}

# Pending steps, in the order they are asked.
STEP_ACTIVATION = "activation"
STEP_SECOND_FACTOR = "second_factor"
STEP_PASSWORD = "password"
STEP_CHARTER = "charter"

_GENERATION_KEY = "preau:accounts:state-generation"


def state_generation() -> int:
    """Changes whenever something that may add a pending step to many people changes (charter, 2FA rule)."""
    return cache.get(_GENERATION_KEY, 0)


def bump_state_generation() -> None:
    cache.set(_GENERATION_KEY, time.time_ns(), timeout=None)


def active_memberships(user: User) -> list[Membership]:
    return list(
        Membership.objects.filter(user_id=user.pk, is_active=True, establishment__is_active=True)
        .select_related("establishment")
        .only("establishment_id", "role", "establishment__require_staff_2fa", "establishment__name")
    )


def second_factor_required(user: User, memberships: list[Membership] | None = None) -> bool:
    """Whether an establishment the person works in requires a second factor for its staff."""
    memberships = active_memberships(user) if memberships is None else memberships
    return any(m.role in SECOND_FACTOR_ROLES and m.establishment.require_staff_2fa for m in memberships)


def has_second_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed_at__isnull=False).exists()


def second_factor_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user_id=user.pk).first()


def latest_charters(establishment_ids) -> list[Charter]:
    """The latest published charter of each of these establishments."""
    latest: dict[int, Charter] = {}
    rows = (Charter.objects.filter(establishment_id__in=establishment_ids, published_at__lte=timezone.now())
            .select_related("establishment").order_by("establishment_id", "-version"))
    for charter in rows:
        latest.setdefault(charter.establishment_id, charter)
    return list(latest.values())


def pending_charters(user: User, memberships: list[Membership] | None = None) -> list[Charter]:
    """Latest charters of the person's establishments they have not accepted yet (one query)."""
    memberships = active_memberships(user) if memberships is None else memberships
    establishment_ids = {m.establishment_id for m in memberships}
    if not establishment_ids:
        return []
    accepted = CharterAcceptance.objects.filter(user_id=user.pk, charter_id=OuterRef("pk"))
    latest: dict[int, tuple[Charter, bool]] = {}
    rows = (Charter.objects.filter(establishment_id__in=establishment_ids, published_at__lte=timezone.now())
            .annotate(accepted=Exists(accepted)).select_related("establishment")
            .order_by("establishment_id", "-version"))
    for charter in rows:
        latest.setdefault(charter.establishment_id, (charter, charter.accepted))
    return sorted((c for c, ok in latest.values() if not ok), key=lambda c: c.establishment.name)


def accepted_charters(user: User) -> QuerySet[CharterAcceptance]:
    return (CharterAcceptance.objects.filter(user_id=user.pk).select_related("charter__establishment")
            .order_by("-accepted_at"))


def charter_readable_by(actor, charter_id) -> Charter | None:
    """A charter the person may read: one of their establishments', one they accepted, or one they administer."""
    from preau.access import policy

    try:
        charter = Charter.objects.select_related("establishment").get(pk=charter_id)
    except (Charter.DoesNotExist, ValueError, TypeError):
        return None
    if charter.establishment_id in actor.establishment_ids() or policy.can_administer(actor, charter.establishment_id):
        return charter
    if charter.acceptances.filter(user_id=actor.id).exists():
        return charter
    return None


def charters_of(establishment: Establishment) -> QuerySet[Charter]:
    return Charter.objects.filter(establishment=establishment).order_by("-version")


def pending_step(user: User) -> str | None:
    """The first step the person must go through before using Préau, or None (a few small queries)."""
    if not user.is_activated:
        return STEP_ACTIVATION
    memberships = active_memberships(user)
    if second_factor_required(user, memberships) and not has_second_factor(user):
        return STEP_SECOND_FACTOR
    if user.must_change_password:
        return STEP_PASSWORD
    if pending_charters(user, memberships):
        return STEP_CHARTER
    return None


def unused_recovery_code_count(user: User) -> int:
    return RecoveryCode.objects.filter(user_id=user.pk, used_at__isnull=True).count()


def current_activation_code(user: User) -> ActivationCode | None:
    return (ActivationCode.objects.filter(user_id=user.pk, used_at__isnull=True, revoked_at__isnull=True,
                                          expires_at__gt=timezone.now()).order_by("-created_at").first())


def own_current_enrolments(user: User) -> QuerySet[ClassEnrolment]:
    """The person's own classes this school year (for their profile)."""
    return (ClassEnrolment.objects.filter(pupil_id=user.pk, school_class__school_year__is_current=True)
            .select_related("school_class__establishment"))
