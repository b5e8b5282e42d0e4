"""What the home dashboard shows beside the service tiles: where the person stands in the school this year."""

from __future__ import annotations

from django.db.models import Count, Q

from preau.access import policy
from preau.accounts.models import User
from preau.directory.models import ClassEnrolment, Membership, Role, TeachingAssignment


def _class_of(pupil_id: int) -> dict | None:
    """The pupil's current class, with its main teacher(s): two queries."""
    enrolment = (ClassEnrolment.objects.filter(pupil_id=pupil_id, school_class__school_year__is_current=True)
                 .select_related("school_class__establishment").first())
    if enrolment is None:
        return None
    school_class = enrolment.school_class
    main_teachers = [a.teacher for a in TeachingAssignment.objects.filter(
        school_class=school_class, is_main_teacher=True).select_related("teacher").order_by("teacher__last_name")]
    return {"school_class": school_class, "main_teachers": main_teachers}


def _taught(actor: policy.Actor, establishment) -> list[TeachingAssignment]:
    if establishment is None or Role.TEACHER not in actor.roles_in(establishment.pk):
        return []
    return list(TeachingAssignment.objects.filter(
        teacher_id=actor.id, establishment=establishment, school_year__is_current=True,
    ).select_related("subject", "school_class", "group").order_by("school_class__code", "group__code"))


def _administration(actor: policy.Actor, establishment) -> dict | None:
    if establishment is None or not policy.can_administer(actor, establishment.pk):
        return None
    counts = Membership.objects.filter(establishment=establishment, is_active=True).aggregate(
        pupils=Count("pk", filter=Q(role=Role.PUPIL)),
        guardians=Count("pk", filter=Q(role=Role.GUARDIAN)),
        teachers=Count("pk", filter=Q(role=Role.TEACHER)),
        not_activated=Count("pk", filter=Q(user__activated_at__isnull=True)),
    )
    return {"establishment": establishment, **counts}


def home_summary(actor: policy.Actor, establishment, child: User | None) -> dict:
    roles = actor.roles_in(establishment.pk) if establishment is not None else set()
    summary: dict = {"roles": roles}
    if Role.PUPIL in roles:
        summary["own_class"] = _class_of(actor.id)
    if child is not None:
        summary["child"] = child
        summary["child_class"] = _class_of(child.pk)
    summary["taught"] = _taught(actor, establishment)
    summary["administration"] = _administration(actor, establishment)
    return summary
