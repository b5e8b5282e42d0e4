"""Reads of news and of the carnet de liaison, built on the access policy's scoped querysets.

Every list costs a handful of queries whatever its size (select_related / prefetch_related / aggregates).
"""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from preau.access import policy
from preau.accounts.models import User
from preau.directory.models import (
    ClassEnrolment,
    GroupMembership,
    GuardianLink,
    Membership,
    Role,
    SchoolClass,
    TeachingAssignment,
    TeachingGroup,
)

from .models import LiaisonDelivery, LiaisonNote, LiaisonTarget, NewsImage, NewsItem

# --- News -----------------------------------------------------------------------------------------------------


def news_list(actor: policy.Actor, establishment=None) -> QuerySet[NewsItem]:
    """Published news the actor may read, pinned first, newest first."""
    queryset = policy.news_visible_to(actor)
    if establishment is not None:
        queryset = queryset.filter(establishment=establishment)
    return (queryset.select_related("author", "establishment")
            .prefetch_related("classes", "groups")
            .order_by("-pinned", "-publish_at", "-pk"))


def latest_news(actor: policy.Actor, establishment=None, limit: int = 3) -> list[NewsItem]:
    """The few latest news for the home dashboard: one query."""
    queryset = policy.news_visible_to(actor)
    if establishment is not None:
        queryset = queryset.filter(establishment=establishment)
    return list(queryset.order_by("-pinned", "-publish_at", "-pk").only(
        "pk", "title", "publish_at", "pinned", "establishment_id")[:limit])


def news_unpublished(actor: policy.Actor, establishment=None, limit: int = 50) -> list[NewsItem]:
    """Drafts, scheduled and withdrawn items the actor manages (their management list)."""
    now = timezone.now()
    queryset = policy.news_manageable_by(actor).exclude(
        Q(is_draft=False, publish_at__lte=now) & (Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=now)))
    if establishment is not None:
        queryset = queryset.filter(establishment=establishment)
    return list(queryset.select_related("author").order_by("-updated_at", "-pk")[:limit])


def news_detail(actor: policy.Actor, news_id) -> NewsItem:
    item = policy.access_news(actor, news_id)
    item.image_list = list(item.images.all())
    item.class_list = list(item.classes.all())
    item.group_list = list(item.groups.all())
    return item


def access_news_image(actor: policy.Actor, news_id, image_id) -> NewsImage:
    """An image of a news item the actor may see (readers: published items only; managers: any), or 404."""
    item = policy.access_news(actor, news_id)
    try:
        return NewsImage.objects.get(pk=int(image_id), news=item)
    except (ValueError, TypeError, NewsImage.DoesNotExist):
        raise Http404 from None


def news_targets(actor: policy.Actor, establishment) -> tuple[bool, QuerySet[SchoolClass], QuerySet[TeachingGroup]]:
    """What the actor may address news to in the establishment: (whole establishment allowed, classes, groups)."""
    scope = policy.news_publish_scope(actor, establishment.pk)
    return (scope.whole, *_scoped_targets(scope, establishment))


def _scoped_targets(scope: policy.TargetScope, establishment):
    classes = SchoolClass.objects.filter(establishment=establishment, school_year__is_current=True)
    groups = TeachingGroup.objects.filter(establishment=establishment, school_year__is_current=True)
    if not scope.whole:
        classes = classes.filter(pk__in=sorted(scope.class_ids))
        groups = groups.filter(pk__in=sorted(scope.group_ids))
    return classes.order_by("level", "code"), groups.order_by("code")


def news_audience_ids(item: NewsItem) -> list[int]:
    """Everyone the news item addresses (except its author), in one set-based query: the chosen roles of the
    whole establishment, or of the chosen classes and groups (pupils enrolled, their guardians, their teachers this
    year; staff of the establishment)."""
    members = Membership.objects.filter(establishment_id=item.establishment_id, is_active=True)
    parts: list[Q] = []
    if item.whole_establishment:
        roles = [role for role, flag in ((Role.PUPIL, item.for_pupils), (Role.GUARDIAN, item.for_guardians),
                                         (Role.TEACHER, item.for_teachers), (Role.STAFF, item.for_staff)) if flag]
        if roles:
            parts.append(Q(pk__in=members.filter(role__in=roles).values("user_id")))
    else:
        class_ids = list(item.classes.through.objects.filter(newsitem_id=item.pk).values("schoolclass_id"))
        group_ids = list(item.groups.through.objects.filter(newsitem_id=item.pk).values("teachinggroup_id"))
        class_ids = [row["schoolclass_id"] for row in class_ids]
        group_ids = [row["teachinggroup_id"] for row in group_ids]
        enrolled = ClassEnrolment.objects.filter(school_class_id__in=class_ids).values("pupil_id")
        grouped = GroupMembership.objects.filter(group_id__in=group_ids).values("pupil_id")
        if item.for_pupils:
            parts.append((Q(pk__in=enrolled) | Q(pk__in=grouped))
                         & Q(pk__in=members.filter(role=Role.PUPIL).values("user_id")))
        if item.for_guardians:
            parts.append(Q(pk__in=GuardianLink.objects.filter(
                Q(pupil_id__in=enrolled) | Q(pupil_id__in=grouped), pupil__is_active=True).values("guardian_id")))
        if item.for_teachers:
            parts.append(Q(pk__in=TeachingAssignment.objects.filter(
                Q(school_class_id__in=class_ids) | Q(group_id__in=group_ids), school_year__is_current=True)
                .values("teacher_id")))
        if item.for_staff:
            parts.append(Q(pk__in=members.filter(role=Role.STAFF).values("user_id")))
    if not parts:
        return []
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    queryset = User.objects.filter(combined, is_active=True)
    if item.author_id:
        queryset = queryset.exclude(pk=item.author_id)
    return list(queryset.values_list("pk", flat=True))


# --- Carnet de liaison ----------------------------------------------------------------------------------------

def carnet_entries(actor: policy.Actor, pupil_id: int | None = None) -> QuerySet[LiaisonTarget]:
    """The carnet's entries the actor reads (a note for one child), newest first; for a guardian, `my_signed_at`
    is their own signature."""
    queryset = policy.liaison_targets_visible_to(actor)
    if pupil_id is not None:
        queryset = queryset.filter(pupil_id=pupil_id)
    mine = LiaisonDelivery.objects.filter(target_id=OuterRef("pk"), guardian_id=actor.id)
    return (queryset.select_related("note__author", "note__establishment", "pupil", "acknowledged_by")
            .annotate(my_signed_at=Subquery(mine.values("acknowledged_at")[:1]), delivered_to_me=Exists(mine))
            .order_by("-note__sent_at", "-pk"))


def access_carnet_entry(actor: policy.Actor, target_id) -> LiaisonTarget:
    try:
        return carnet_entries(actor).get(pk=int(target_id))
    except (ValueError, TypeError, LiaisonTarget.DoesNotExist):
        raise Http404 from None


def unsigned_by_child(actor: policy.Actor) -> dict[int, int]:
    """For a guardian: per child, the entries their family has not signed yet (one query)."""
    rows = (policy.liaison_targets_visible_to(actor).filter(acknowledged_at__isnull=True)
            .values("pupil_id").annotate(n=Count("pk")).order_by())
    return {row["pupil_id"]: row["n"] for row in rows}


def followed_notes(actor: policy.Actor, establishment=None) -> QuerySet[LiaisonNote]:
    """Notes the actor follows, newest first, with their counts (one query)."""
    queryset = policy.liaison_notes_followed_by(actor)
    if establishment is not None:
        queryset = queryset.filter(establishment=establishment)
    return (queryset.select_related("author")
            .annotate(pupil_total=Count("targets"),
                      signed_total=Count("targets", filter=Q(targets__acknowledged_at__isnull=False)))
            .order_by("-sent_at", "-pk"))


def note_counts(note: LiaisonNote) -> dict:
    """Pupils targeted, signed, not signed, and pupils without any receiving guardian: one query."""
    counts = LiaisonTarget.objects.filter(note=note).aggregate(
        total=Count("pk"), signed=Count("pk", filter=Q(acknowledged_at__isnull=False)),
        unreached=Count("pk", filter=~Q(pk__in=LiaisonDelivery.objects.filter(note=note).values("target_id"))))
    counts["unsigned"] = counts["total"] - counts["signed"]
    return counts


def note_dashboard_rows(note: LiaisonNote, *, only_unsigned: bool = False) -> QuerySet[LiaisonTarget]:
    """The dashboard's rows (one per pupil, by class then name) with who signed and each receiving guardian's
    own signature, prefetched: two queries per page."""
    queryset = LiaisonTarget.objects.filter(note=note)
    if only_unsigned:
        queryset = queryset.filter(acknowledged_at__isnull=True)
    deliveries = LiaisonDelivery.objects.select_related("guardian").order_by("guardian__last_name",
                                                                             "guardian__first_name")
    return (queryset.select_related("pupil", "school_class", "acknowledged_by")
            .prefetch_related(Prefetch("deliveries", queryset=deliveries))
            .order_by("school_class__level", "school_class__code", "pupil__last_name", "pupil__first_name", "pk"))


def note_targets_display(note: LiaisonNote) -> dict:
    return {"classes": list(note.classes.all()), "groups": list(note.groups.all())}


def liaison_targets(actor: policy.Actor, establishment):
    """What the actor may write to: classes, groups and pupils (with their class) of the current year."""
    scope = policy.liaison_write_scope(actor, establishment.pk)
    classes, groups = _scoped_targets(scope, establishment)
    pupils = (ClassEnrolment.objects
              .filter(pupil__in=policy.liaison_pupils_targetable_by(actor, establishment.pk),
                      school_class__establishment=establishment, school_class__school_year__is_current=True)
              .select_related("pupil", "school_class")
              .order_by("school_class__level", "school_class__code", "pupil__last_name", "pupil__first_name"))
    return classes, groups, pupils
