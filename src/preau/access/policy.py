"""The access policy: the one place that answers "may this person do X to Y" and scopes querysets.

Every view, API endpoint and service asks here. It is driven only by the directory: memberships (roles and staff
functions per establishment), guardian links (with per-child, per-service rights) and teaching assignments.

Conventions (see docs/architecture.md):
- `*_visible_to(actor, ...)` returns a queryset scoped to what the actor may see; it is the only way to list
  personal data. `unscoped` querysets exist only in services that have already asked a `can_*` question.
- `access_*(actor, id)` returns the object or raises Http404: missing and forbidden look the same.
- `can_*(actor, ...)` answers a yes/no question; views turn a "no" on a reachable object into 403.

An `Actor` is built once per request (a handful of small queries, each run at most once, lazily) and every
question afterwards is answered in memory or as one scoped query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.db.models import Q, QuerySet
from django.http import Http404

from preau.accounts.models import User
from preau.directory.models import (
    ClassEnrolment,
    Establishment,
    GroupMembership,
    GuardianLink,
    Membership,
    Role,
    SchoolClass,
    Service,
    StaffFunction,
    TeachingAssignment,
    TeachingGroup,
)

# Staff functions that read pupils' school data of their whole establishment, per service.
_LEADERSHIP = {StaffFunction.HEAD, StaffFunction.DEPUTY, StaffFunction.DIRECTOR}
STAFF_FUNCTIONS_BY_SERVICE: dict[str, set[str]] = {
    Service.TIMETABLE: _LEADERSHIP | {StaffFunction.CPE, StaffFunction.VIE_SCOLAIRE, StaffFunction.SECRETARY},
    Service.HOMEWORK: _LEADERSHIP | {StaffFunction.CPE, StaffFunction.VIE_SCOLAIRE},
    Service.GRADES: _LEADERSHIP | {StaffFunction.CPE},
    Service.REPORT_CARDS: _LEADERSHIP | {StaffFunction.CPE, StaffFunction.SECRETARY},
    Service.ATTENDANCE: _LEADERSHIP | {StaffFunction.CPE, StaffFunction.VIE_SCOLAIRE},
    Service.MESSAGING: set(),
}
# Staff functions that may read people's contact details (email, phone, date of birth) in their establishment.
CONTACT_READER_FUNCTIONS = _LEADERSHIP | {StaffFunction.CPE, StaffFunction.SECRETARY, StaffFunction.VIE_SCOLAIRE}
# Roles whose members see the whole directory of their establishment.
DIRECTORY_WIDE_ROLES = {Role.TEACHER, Role.STAFF, Role.ENT_ADMIN}


@dataclass
class Actor:
    user: User

    @property
    def id(self) -> int:
        return self.user.pk

    @property
    def is_global_admin(self) -> bool:
        return bool(self.user.is_global_admin)

    @cached_property
    def memberships(self) -> list[Membership]:
        return list(
            Membership.objects.filter(user_id=self.user.pk, is_active=True, establishment__is_active=True)
            .select_related("establishment")
            .order_by("establishment__name", "role")
        )

    def establishment_ids(self, *roles: str) -> set[int]:
        return {m.establishment_id for m in self.memberships if not roles or m.role in roles}

    def roles_in(self, establishment_id: int) -> set[str]:
        return {m.role for m in self.memberships if m.establishment_id == establishment_id}

    def has_role(self, role: str) -> bool:
        return any(m.role == role for m in self.memberships)

    def staff_functions_in(self, establishment_id: int) -> set[str]:
        functions: set[str] = set()
        for m in self.memberships:
            if m.establishment_id == establishment_id and m.role == Role.STAFF:
                functions.update(m.functions or [])
        return functions

    def establishments_with_functions(self, functions: set[str]) -> set[int]:
        return {m.establishment_id for m in self.memberships
                if m.role == Role.STAFF and functions.intersection(m.functions or [])}

    @cached_property
    def establishments(self) -> list[Establishment]:
        seen: dict[int, Establishment] = {}
        for m in self.memberships:
            seen.setdefault(m.establishment_id, m.establishment)
        return list(seen.values())

    @cached_property
    def child_links(self) -> list[GuardianLink]:
        if not self.has_role(Role.GUARDIAN):
            return []
        return list(
            GuardianLink.objects.filter(guardian_id=self.user.pk, pupil__is_active=True)
            .select_related("pupil")
            .order_by("contact_order", "pupil__first_name")
        )

    def child_ids(self, service: str | None = None) -> set[int]:
        return {link.pupil_id for link in self.child_links if service is None or link.allows(service)}

    @cached_property
    def taught(self) -> tuple[set[int], set[int]]:
        """(class ids, group ids) the actor teaches this school year."""
        if not self.has_role(Role.TEACHER):
            return set(), set()
        rows = TeachingAssignment.objects.filter(
            teacher_id=self.user.pk, school_year__is_current=True,
            establishment_id__in=self.establishment_ids(Role.TEACHER),
        ).values_list("school_class_id", "group_id")
        classes = {c for c, _ in rows if c}
        groups = {g for _, g in rows if g}
        return classes, groups

    @cached_property
    def own_class_ids(self) -> set[int]:
        if not self.has_role(Role.PUPIL):
            return set()
        return set(ClassEnrolment.objects.filter(
            pupil_id=self.user.pk, school_class__school_year__is_current=True,
        ).values_list("school_class_id", flat=True))


def actor_for(user) -> Actor | None:
    """The Actor for a user, memoised on the user object (so once per request)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    actor = getattr(user, "_preau_actor", None)
    if actor is None:
        actor = Actor(user)
        user._preau_actor = actor
    return actor


# --- Establishments and administration ------------------------------------------------------------------------

def establishments_visible_to(actor: Actor) -> QuerySet[Establishment]:
    if actor.is_global_admin:
        return Establishment.objects.all()
    return Establishment.objects.filter(pk__in=actor.establishment_ids(), is_active=True)


def administered_establishment_ids(actor: Actor) -> set[int] | None:
    """Establishments the actor administers as ENT admin; None means all (global admin)."""
    if actor.is_global_admin:
        return None
    return actor.establishment_ids(Role.ENT_ADMIN)


def administered_establishments(actor: Actor) -> QuerySet[Establishment]:
    ids = administered_establishment_ids(actor)
    return Establishment.objects.all() if ids is None else Establishment.objects.filter(pk__in=ids)


def is_admin(actor: Actor | None) -> bool:
    return actor is not None and (actor.is_global_admin or actor.has_role(Role.ENT_ADMIN))


def can_administer(actor: Actor, establishment_id: int) -> bool:
    ids = administered_establishment_ids(actor)
    return ids is None or establishment_id in ids


def can_administer_person(actor: Actor, person: User) -> bool:
    """ENT admins manage the accounts of people who belong to an establishment they administer."""
    if actor.is_global_admin:
        return True
    ids = administered_establishment_ids(actor)
    if not ids or person.is_global_admin:
        return False
    return Membership.objects.filter(user_id=person.pk, establishment_id__in=ids).exists()


def people_administered_by(actor: Actor) -> QuerySet[User]:
    ids = administered_establishment_ids(actor)
    if ids is None:
        return User.objects.all()
    return User.objects.filter(
        pk__in=Membership.objects.filter(establishment_id__in=ids).values("user_id"), is_global_admin=False
    )


# --- Pupils' school data --------------------------------------------------------------------------------------

def _school_data_q(actor: Actor, service: str) -> Q | None:
    """A Q over User selecting the pupils whose data for `service` the actor may read; None if nobody."""
    parts: list[Q] = []
    if actor.has_role(Role.PUPIL):
        parts.append(Q(pk=actor.id))
    children = actor.child_ids(service)
    if children:
        parts.append(Q(pk__in=children))
    classes, groups = actor.taught
    if classes:
        parts.append(Q(pk__in=ClassEnrolment.objects.filter(school_class_id__in=classes).values("pupil_id")))
    if groups:
        parts.append(Q(pk__in=GroupMembership.objects.filter(group_id__in=groups).values("pupil_id")))
    staff_establishments = actor.establishments_with_functions(STAFF_FUNCTIONS_BY_SERVICE.get(service, set()))
    if staff_establishments:
        parts.append(Q(pk__in=Membership.objects.filter(
            establishment_id__in=staff_establishments, role=Role.PUPIL).values("user_id")))
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


def pupils_visible_to(actor: Actor, service: str) -> QuerySet[User]:
    """Pupils whose `service` data (grades, attendance, timetable...) the actor may read."""
    q = _school_data_q(actor, service)
    if q is None:
        return User.objects.none()
    return User.objects.filter(q, is_active=True)


def can_read_school_data(actor: Actor | None, pupil: User, service: str) -> bool:
    if actor is None:
        return False
    if pupil.pk == actor.id and actor.has_role(Role.PUPIL):
        return True
    if pupil.pk in actor.child_ids(service):
        return True
    return pupils_visible_to(actor, service).filter(pk=pupil.pk).exists()


# --- The directory --------------------------------------------------------------------------------------------

def people_visible_to(actor: Actor) -> QuerySet[User]:
    """People whose directory entry (name, roles, classes) the actor may see."""
    if actor.is_global_admin:
        return User.objects.all()
    parts: list[Q] = [Q(pk=actor.id)]
    wide = actor.establishment_ids(*DIRECTORY_WIDE_ROLES)
    if wide:
        parts.append(Q(pk__in=Membership.objects.filter(establishment_id__in=wide, is_active=True)
                       .values("user_id")))
    family_establishments = actor.establishment_ids(Role.PUPIL, Role.GUARDIAN) - wide
    if family_establishments:
        parts.append(Q(pk__in=Membership.objects.filter(
            establishment_id__in=family_establishments, is_active=True,
            role__in=[Role.TEACHER, Role.STAFF]).values("user_id")))
    if actor.own_class_ids:
        parts.append(Q(pk__in=ClassEnrolment.objects.filter(school_class_id__in=actor.own_class_ids)
                       .values("pupil_id")))
    children = actor.child_ids()
    if children:
        parts.append(Q(pk__in=children))
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return User.objects.filter(combined, is_active=True)


def access_person(actor: Actor, person_id) -> User:
    try:
        return people_visible_to(actor).get(pk=person_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def can_read_contact_details(actor: Actor, person: User) -> bool:
    """Email, phone and date of birth: self, admins, some staff functions, and a guardian for their child."""
    if person.pk == actor.id or actor.is_global_admin:
        return True
    if person.pk in actor.child_ids():
        return True
    establishment_ids = actor.establishment_ids(Role.ENT_ADMIN) | actor.establishments_with_functions(
        CONTACT_READER_FUNCTIONS)
    if not establishment_ids:
        return False
    return Membership.objects.filter(user_id=person.pk, establishment_id__in=establishment_ids).exists()


def classes_visible_to(actor: Actor) -> QuerySet[SchoolClass]:
    if actor.is_global_admin:
        return SchoolClass.objects.all()
    wide = actor.establishment_ids(*DIRECTORY_WIDE_ROLES)
    q = Q(establishment_id__in=wide) | Q(pk__in=actor.own_class_ids)
    children = actor.child_ids()
    if children:
        q |= Q(pk__in=ClassEnrolment.objects.filter(pupil_id__in=children).values("school_class_id"))
    return SchoolClass.objects.filter(q)


def access_class(actor: Actor, class_id) -> SchoolClass:
    try:
        return classes_visible_to(actor).select_related("establishment", "school_year").get(pk=class_id)
    except (SchoolClass.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def groups_visible_to(actor: Actor) -> QuerySet[TeachingGroup]:
    if actor.is_global_admin:
        return TeachingGroup.objects.all()
    wide = actor.establishment_ids(*DIRECTORY_WIDE_ROLES)
    q = Q(establishment_id__in=wide)
    pupil_ids = set(actor.child_ids())
    if actor.has_role(Role.PUPIL):
        pupil_ids.add(actor.id)
    if pupil_ids:
        q |= Q(pk__in=GroupMembership.objects.filter(pupil_id__in=pupil_ids).values("group_id"))
    return TeachingGroup.objects.filter(q)


def can_list_class_members(actor: Actor, school_class: SchoolClass) -> bool:
    """Members of a class: staff/teachers of the establishment, and pupils of that class (not guardians)."""
    if actor.is_global_admin or school_class.establishment_id in actor.establishment_ids(*DIRECTORY_WIDE_ROLES):
        return True
    return school_class.pk in actor.own_class_ids


# --- The audit log --------------------------------------------------------------------------------------------

def audit_events_visible_to(actor: Actor | None):
    """Audit events an administrator may read; nobody else reads the log (default-deny).

    The global admin reads every event. An ENT admin reads the events whose actor or subject is a member of an
    establishment they administer, or that were recorded for such an establishment, or failed logins typed with
    such a member's login. Member ids and logins are materialised (one query) so that the database can combine
    the (actor, at), (subject, at), (establishment_id, at) and (username_tried, at) indexes instead of filtering
    every row through subqueries.
    """
    from preau.audit.models import AuditEvent

    if actor is None:
        return AuditEvent.objects.none()
    if actor.is_global_admin:
        return AuditEvent.objects.all()
    ids = administered_establishment_ids(actor)
    if not ids:
        return AuditEvent.objects.none()
    rows = set(Membership.objects.filter(establishment_id__in=ids).values_list("user_id", "user__username"))
    members = sorted(user_id for user_id, _username in rows)
    usernames = sorted(username for _user_id, username in rows)
    return AuditEvent.objects.filter(
        Q(establishment_id__in=sorted(ids)) | Q(actor_id__in=members) | Q(subject_id__in=members)
        # Failed logins on a member's account carry only the login that was typed.
        | Q(actor__isnull=True, subject__isnull=True, username_tried__in=usernames))


def sensitive_reads_about_visible_to(actor: Actor | None):
    """Reads of sensitive data whose subject is the actor or, for a guardian, one of their children."""
    from preau.audit.models import AuditEvent

    if actor is None:
        return AuditEvent.objects.none()
    subjects = {actor.id} | actor.child_ids()
    return AuditEvent.objects.filter(action=AuditEvent.Action.SENSITIVE_READ, subject_id__in=sorted(subjects))


# --- Directory imports ----------------------------------------------------------------------------------------

# Kinds of import whose files span establishments (an académie's AAF export): global administrators only.
GLOBAL_ONLY_IMPORT_KINDS = frozenset({"aaf"})


def can_import(actor: Actor | None, establishment_id: int | None, kind: str | None = None) -> bool:
    """Whether the actor may import files of `kind` for an establishment (None: files naming their own).

    The global admin imports anything, for one establishment or for all. An ENT admin imports the files of one
    establishment they administer (SIECLE, STS-Web, BE1D, CSV), never an AAF export (it spans establishments).
    """
    if actor is None:
        return False
    if actor.is_global_admin:
        return True
    if establishment_id is None or kind in GLOBAL_ONLY_IMPORT_KINDS:
        return False
    return establishment_id in actor.establishment_ids(Role.ENT_ADMIN)


def import_runs_visible_to(actor: Actor | None):
    """Import runs (and their reports, which name people): the global admin sees all of them, an ENT admin those
    of the establishments they administer; runs without an establishment (AAF) are the global admin's only."""
    from preau.imports.models import ImportRun

    if actor is None:
        return ImportRun.objects.none()
    if actor.is_global_admin:
        return ImportRun.objects.all()
    ids = actor.establishment_ids(Role.ENT_ADMIN)
    return ImportRun.objects.filter(establishment_id__in=sorted(ids)) if ids else ImportRun.objects.none()


# --- Notifications --------------------------------------------------------------------------------------------

def notifications_visible_to(actor: Actor | None):
    """A person's own in-app notifications, nobody else's (not even an administrator's view of them)."""
    from preau.notifications.models import Notification

    if actor is None:
        return Notification.objects.none()
    return Notification.objects.filter(recipient_id=actor.id, in_app=True)


def access_notification(actor: Actor | None, notification_id):
    """One of the actor's notifications, or 404 (another person's looks missing)."""
    try:
        return notifications_visible_to(actor).get(pk=int(notification_id))
    except (ValueError, TypeError, notifications_visible_to(actor).model.DoesNotExist):
        raise Http404 from None


# --- Messaging moderation (preau.messaging.moderation, docs/messaging-safety.md) -----------------------------------

# Staff functions that moderate their establishment's messaging (held sends, reports, blocked conversations), with
# its ENT admins; and those that, with its ENT admins, set its messaging rules (limits, switches).
MESSAGING_MODERATOR_FUNCTIONS = _LEADERSHIP | {StaffFunction.CPE, StaffFunction.VIE_SCOLAIRE}
MESSAGING_RULES_FUNCTIONS = set(_LEADERSHIP)


def moderated_establishment_ids(actor: Actor | None) -> set[int] | None:
    """Establishments whose messaging the actor moderates; None means all (global admin)."""
    if actor is None:
        return set()
    if actor.is_global_admin:
        return None
    return actor.establishment_ids(Role.ENT_ADMIN) | actor.establishments_with_functions(
        MESSAGING_MODERATOR_FUNCTIONS)


def can_moderate(actor: Actor | None, establishment_id: int | None) -> bool:
    """Release or refuse held sends, hide reported messages, block conversations of the establishment."""
    ids = moderated_establishment_ids(actor)
    return ids is None or (establishment_id is not None and establishment_id in ids)


def is_messaging_moderator(actor: Actor | None) -> bool:
    ids = moderated_establishment_ids(actor)
    return ids is None or bool(ids)


def messaging_rules_establishment_ids(actor: Actor | None) -> set[int] | None:
    """Establishments whose messaging rules the actor sets; None means all (global admin)."""
    if actor is None:
        return set()
    if actor.is_global_admin:
        return None
    return actor.establishment_ids(Role.ENT_ADMIN) | actor.establishments_with_functions(MESSAGING_RULES_FUNCTIONS)


def can_manage_messaging_rules(actor: Actor | None, establishment_id: int | None) -> bool:
    ids = messaging_rules_establishment_ids(actor)
    return ids is None or (establishment_id is not None and establishment_id in ids)


def messaging_rules_establishments(actor: Actor | None) -> QuerySet[Establishment]:
    ids = messaging_rules_establishment_ids(actor)
    if ids is None:
        return Establishment.objects.filter(is_active=True)
    return Establishment.objects.filter(pk__in=sorted(ids), is_active=True)


def moderated_establishments(actor: Actor | None) -> QuerySet[Establishment]:
    ids = moderated_establishment_ids(actor)
    if ids is None:
        return Establishment.objects.filter(is_active=True)
    return Establishment.objects.filter(pk__in=sorted(ids), is_active=True)


def _moderated(queryset, actor: Actor | None, field: str = "establishment_id"):
    ids = moderated_establishment_ids(actor)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": sorted(ids)}) if ids else queryset.none()


def reports_visible_to(actor: Actor | None):
    """Reports of abusive messages, for the moderators of the message's establishment."""
    from preau.messaging.models import Report

    return _moderated(Report.objects.all(), actor)


def held_messages_visible_to(actor: Actor | None):
    """Sends held for review, for the moderators of the establishment they were sent in."""
    from preau.messaging.models import Message

    return _moderated(Message.objects.filter(state=Message.State.HELD), actor)


def messages_moderated_by(actor: Actor | None):
    """Messages a moderator may act on (hide, release, refuse): those sent in an establishment they moderate. Only
    held and reported ones are ever listed to them (moderators do not browse mailboxes)."""
    from preau.messaging.models import Message

    return _moderated(Message.objects.exclude(state=Message.State.DRAFT), actor)


def access_moderated_message(actor: Actor | None, message_id):
    queryset = messages_moderated_by(actor)
    try:
        return queryset.select_related("sender", "conversation").get(pk=int(message_id))
    except (ValueError, TypeError, OverflowError, queryset.model.DoesNotExist):
        raise Http404 from None


def access_report(actor: Actor | None, report_id):
    queryset = reports_visible_to(actor)
    try:
        return queryset.select_related("message").get(pk=int(report_id))
    except (ValueError, TypeError, OverflowError, queryset.model.DoesNotExist):
        raise Http404 from None


def access_moderated_conversation(actor: Actor | None, conversation_id):
    from preau.messaging.models import Conversation

    queryset = _moderated(Conversation.objects.all(), actor)
    try:
        return queryset.get(pk=int(conversation_id))
    except (ValueError, TypeError, OverflowError, Conversation.DoesNotExist):
        raise Http404 from None


def access_own_sent_message(actor: Actor | None, message_id):
    """A message the actor sent (to recall it)."""
    from preau.messaging.models import Message

    if actor is None:
        raise Http404
    try:
        return Message.objects.exclude(state=Message.State.DRAFT).get(pk=int(message_id), sender_id=actor.id)
    except (ValueError, TypeError, OverflowError, Message.DoesNotExist):
        raise Http404 from None


# --- News and carnet de liaison (preau.news) ------------------------------------------------------------------

# Staff functions that publish news for their whole establishment and follow every note of its carnet de liaison.
NEWS_LEADERSHIP_FUNCTIONS = _LEADERSHIP | {StaffFunction.CPE}
# Staff functions that write notes of the carnet de liaison to any family of their establishment.
LIAISON_WRITER_FUNCTIONS = NEWS_LEADERSHIP_FUNCTIONS | {StaffFunction.VIE_SCOLAIRE, StaffFunction.SECRETARY}


@dataclass(frozen=True)
class TargetScope:
    """Where a person may address news or notes in one establishment: anywhere (`whole`), or only these classes
    and groups (a teacher's own)."""

    whole: bool
    class_ids: frozenset[int] = frozenset()
    group_ids: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return self.whole or bool(self.class_ids or self.group_ids)

    def covers(self, class_ids, group_ids) -> bool:
        """Whether classes and groups (ids; both empty: the whole establishment) are all within the scope."""
        class_ids, group_ids = set(class_ids or ()), set(group_ids or ())
        if self.whole:
            return True
        if not class_ids and not group_ids:
            return False
        return class_ids <= self.class_ids and group_ids <= self.group_ids


def _taught_scope(actor: Actor, establishment_id: int) -> TargetScope:
    if Role.TEACHER not in actor.roles_in(establishment_id):
        return TargetScope(False)
    classes, groups = actor.taught
    return TargetScope(False, frozenset(classes), frozenset(groups))


def news_publisher_establishment_ids(actor: Actor) -> set[int] | None:
    """Establishments where the actor publishes news for everyone (ENT admin, head, deputy, director, CPE) and
    manages every item; None means all of them (global admin)."""
    if actor.is_global_admin:
        return None
    return actor.establishment_ids(Role.ENT_ADMIN) | actor.establishments_with_functions(NEWS_LEADERSHIP_FUNCTIONS)


def news_publish_scope(actor: Actor, establishment_id: int) -> TargetScope:
    publishers = news_publisher_establishment_ids(actor)
    if publishers is None or establishment_id in publishers:
        return TargetScope(True)
    return _taught_scope(actor, establishment_id)


def can_publish_news(actor: Actor | None, establishment_id: int, classes=(), groups=()) -> bool:
    """Whether the actor may address news to these classes and groups (ids; none: the whole establishment).
    Teachers publish to the classes and groups they teach only."""
    if actor is None:
        return False
    return news_publish_scope(actor, establishment_id).covers(classes, groups)


def can_write_news(actor: Actor | None, establishment_id: int) -> bool:
    """Whether the actor may write news at all in this establishment (the form is offered)."""
    return actor is not None and bool(news_publish_scope(actor, establishment_id))


def _news_window_q(now) -> Q:
    return Q(is_draft=False, publish_at__lte=now) & (Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=now))


def _news_manage_q(actor: Actor) -> Q | None:
    """News the actor manages (not for the global admin, who manages every item: callers check first)."""
    publishers = news_publisher_establishment_ids(actor) or set()
    parts = []
    authoring = actor.establishment_ids(Role.TEACHER, Role.STAFF, Role.ENT_ADMIN)
    if authoring:
        parts.append(Q(author_id=actor.id, establishment_id__in=sorted(authoring)))
    if publishers:
        parts.append(Q(establishment_id__in=sorted(publishers)))
    return _any(parts)


def _any(parts: list[Q]) -> Q | None:
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


def _news_audience_q(actor: Actor) -> Q | None:
    """The news whose audience includes the actor (whatever their publication state)."""
    from preau.news.models import NewsItem

    news_classes, news_groups = NewsItem.classes.through.objects, NewsItem.groups.through.objects

    def in_classes(class_ids) -> Q:
        return Q(pk__in=news_classes.filter(schoolclass_id__in=class_ids).values("newsitem_id"))

    def in_groups(group_ids) -> Q:
        return Q(pk__in=news_groups.filter(teachinggroup_id__in=group_ids).values("newsitem_id"))

    parts: list[Q] = []
    for role, flag in ((Role.PUPIL, "for_pupils"), (Role.GUARDIAN, "for_guardians"),
                       (Role.TEACHER, "for_teachers")):
        establishments = actor.establishment_ids(role)
        if establishments:
            parts.append(Q(**{flag: True}, whole_establishment=True, establishment_id__in=sorted(establishments)))
    staff = actor.establishment_ids(Role.STAFF)
    if staff:  # staff work for the whole establishment: they read its news addressed to staff, whatever the class
        parts.append(Q(for_staff=True, establishment_id__in=sorted(staff)))
    if actor.has_role(Role.PUPIL):
        parts.append(Q(for_pupils=True) & (
            in_classes(ClassEnrolment.objects.filter(pupil_id=actor.id, school_class__school_year__is_current=True)
                       .values("school_class_id"))
            | in_groups(GroupMembership.objects.filter(pupil_id=actor.id, group__school_year__is_current=True)
                        .values("group_id"))))
    children = sorted(actor.child_ids())
    if children:
        parts.append(Q(for_guardians=True) & (
            in_classes(ClassEnrolment.objects.filter(pupil_id__in=children,
                                                     school_class__school_year__is_current=True)
                       .values("school_class_id"))
            | in_groups(GroupMembership.objects.filter(pupil_id__in=children, group__school_year__is_current=True)
                        .values("group_id"))))
    if actor.has_role(Role.TEACHER):
        assignments = TeachingAssignment.objects.filter(teacher_id=actor.id, school_year__is_current=True)
        parts.append(Q(for_teachers=True) & (
            in_classes(assignments.filter(school_class__isnull=False).values("school_class_id"))
            | in_groups(assignments.filter(group__isnull=False).values("group_id"))))
    return _any(parts)


def news_visible_to(actor: Actor | None, now=None):
    """Published news (not a draft, inside its window) that the actor may read: those whose audience includes
    them (their establishment's, their classes' and groups', their children's), and those they manage."""
    from django.utils import timezone

    from preau.news.models import NewsItem

    if actor is None:
        return NewsItem.objects.none()
    published = NewsItem.objects.filter(_news_window_q(now or timezone.now()))
    if actor.is_global_admin:
        return published
    q = _any([part for part in (_news_audience_q(actor), _news_manage_q(actor)) if part is not None])
    return NewsItem.objects.none() if q is None else published.filter(q)


def news_manageable_by(actor: Actor | None):
    """News the actor may edit, in any state: their own (while they still work in its establishment), and every
    item of the establishments where they publish for everyone."""
    from preau.news.models import NewsItem

    if actor is not None and actor.is_global_admin:
        return NewsItem.objects.all()
    q = _news_manage_q(actor) if actor is not None else None
    return NewsItem.objects.none() if q is None else NewsItem.objects.filter(q)


def access_news(actor: Actor | None, news_id, *, manage: bool = False):
    """A news item the actor may read (or, with manage=True, edit; drafts and scheduled items only so), or 404."""
    queryset = news_manageable_by(actor) if manage else news_visible_to(actor) | news_manageable_by(actor)
    try:
        return queryset.select_related("establishment", "author").distinct().get(pk=int(news_id))
    except (ValueError, TypeError, queryset.model.DoesNotExist):
        raise Http404 from None


def can_manage_news(actor: Actor | None, item) -> bool:
    return actor is not None and news_manageable_by(actor).filter(pk=item.pk).exists()


def liaison_write_scope(actor: Actor, establishment_id: int) -> TargetScope:
    """Families a person may write to in the carnet de liaison: any of the establishment's (leadership, CPE, vie
    scolaire, secretary), or those of the pupils of the classes and groups they teach (teachers)."""
    if establishment_id in actor.establishments_with_functions(LIAISON_WRITER_FUNCTIONS):
        return TargetScope(True)
    return _taught_scope(actor, establishment_id)


def can_write_liaison(actor: Actor | None, establishment_id: int) -> bool:
    return actor is not None and bool(liaison_write_scope(actor, establishment_id))


def liaison_pupils_targetable_by(actor: Actor, establishment_id: int) -> QuerySet[User]:
    """Pupils of the establishment (this school year) whose families the actor may write to."""
    scope = liaison_write_scope(actor, establishment_id)
    if not scope:
        return User.objects.none()
    pupils = Membership.objects.filter(establishment_id=establishment_id, role=Role.PUPIL, is_active=True)
    enrolled = ClassEnrolment.objects.filter(school_class__establishment_id=establishment_id,
                                             school_class__school_year__is_current=True)
    if scope.whole:
        return User.objects.filter(pk__in=pupils.values("user_id"), is_active=True).filter(
            pk__in=enrolled.values("pupil_id"))
    q = Q(pk__in=enrolled.filter(school_class_id__in=sorted(scope.class_ids)).values("pupil_id"))
    q |= Q(pk__in=GroupMembership.objects.filter(group_id__in=sorted(scope.group_ids),
                                                 group__establishment_id=establishment_id)
           .values("pupil_id"))
    return User.objects.filter(q, pk__in=pupils.values("user_id"), is_active=True)


def liaison_notes_followed_by(actor: Actor | None):
    """Notes whose acknowledgements the actor follows (dashboard, reminders): their own, while they still work in
    the note's establishment, and every note of the establishments they lead (head, deputy, director, CPE)."""
    from preau.news.models import LiaisonNote

    if actor is None:
        return LiaisonNote.objects.none()
    parts = []
    working = actor.establishment_ids(Role.TEACHER, Role.STAFF)
    if working:
        parts.append(Q(author_id=actor.id, establishment_id__in=sorted(working)))
    leading = actor.establishments_with_functions(NEWS_LEADERSHIP_FUNCTIONS)
    if leading:
        parts.append(Q(establishment_id__in=sorted(leading)))
    q = _any(parts)
    return LiaisonNote.objects.none() if q is None else LiaisonNote.objects.filter(q)


def access_followed_liaison_note(actor: Actor | None, note_id):
    queryset = liaison_notes_followed_by(actor)
    try:
        return queryset.select_related("establishment", "author").get(pk=int(note_id))
    except (ValueError, TypeError, queryset.model.DoesNotExist):
        raise Http404 from None


def liaison_targets_visible_to(actor: Actor | None):
    """Carnet entries (a note for one pupil) the actor reads: a pupil their own (read-only), a guardian those of
    their children that were delivered to them (legal authority and correspondence, when the note was sent) and
    only while they are still linked to the child."""
    from preau.news.models import LiaisonDelivery, LiaisonTarget

    if actor is None:
        return LiaisonTarget.objects.none()
    parts = []
    if actor.has_role(Role.PUPIL):
        parts.append(Q(pupil_id=actor.id))
    children = sorted(actor.child_ids())
    if children:
        parts.append(Q(pupil_id__in=children,
                       pk__in=LiaisonDelivery.objects.filter(guardian_id=actor.id).values("target_id")))
    q = _any(parts)
    return LiaisonTarget.objects.none() if q is None else LiaisonTarget.objects.filter(q)


# --- Messaging (preau.messaging: who may write to whom, whose copies; docs/messaging.md) --------------------------

# Roles that write to anyone of their establishment (people, classes, groups). Staff also reach every pupil and
# every family of the establishment at once; teachers their own classes' pupils and families.
MESSAGING_WIDE_ROLES = {Role.STAFF, Role.TEACHER}
MESSAGING_ROLES = {Role.PUPIL, Role.GUARDIAN, Role.TEACHER, Role.STAFF, Role.ENT_ADMIN}


def _messaging_rules(actor: Actor, establishment_id: int):
    """The establishment's MessagingRules (defaults without a row), read once per actor and establishment."""
    cache = actor.__dict__.setdefault("_messaging_rules", {})
    if establishment_id not in cache:
        from preau.messaging.safety import rules_for

        cache[establishment_id] = rules_for(establishment_id)
    return cache[establishment_id]


def _messaging_children(actor: Actor) -> dict[int, set[int]]:
    """{establishment id: the actor's children there} through guardian links that allow messaging and give
    parental authority or correspondence (the links through which the school writes to the family): one query."""
    cached = actor.__dict__.get("_messaging_children")
    if cached is not None:
        return cached
    result: dict[int, set[int]] = {}
    ids = {link.pupil_id for link in actor.child_links
           if link.allows(Service.MESSAGING) and (link.legal_authority or link.receives_correspondence)}
    if ids:
        rows = Membership.objects.filter(user_id__in=ids, role=Role.PUPIL, is_active=True,
                                         establishment_id__in=actor.establishment_ids(Role.GUARDIAN)
                                         ).values_list("establishment_id", "user_id")
        for establishment_id, pupil_id in rows:
            result.setdefault(establishment_id, set()).add(pupil_id)
    actor.__dict__["_messaging_children"] = result
    return result


def _messaging_roles_in(actor: Actor, establishment_id: int) -> set[str]:
    """The actor's roles that count for messaging in the establishment (a guardian without a messaging link to a
    child there does not write from it)."""
    roles = actor.roles_in(establishment_id) & MESSAGING_ROLES
    if Role.GUARDIAN in roles and not _messaging_children(actor).get(establishment_id):
        roles.discard(Role.GUARDIAN)
    return roles


def messaging_establishments(actor: Actor | None) -> list[Establishment]:
    """Establishments the actor writes messages from (an active membership there, and for a guardian a child there
    whose link allows messaging)."""
    if actor is None:
        return []
    return [e for e in actor.establishments if _messaging_roles_in(actor, e.pk)]


def can_message_in(actor: Actor | None, establishment_id: int | None) -> bool:
    return actor is not None and establishment_id is not None and bool(_messaging_roles_in(actor, establishment_id))


def addressable_people(actor: Actor, establishment_id: int) -> QuerySet[User]:
    """People the actor may write to by name in the establishment (the actor excluded), per its MessagingRules:

    - staff and teachers: anyone messaging reaches in the establishment;
    - ENT admins: its teachers and staff;
    - pupils (`pupils_write_to_staff`): their teachers (of their classes and groups) and its staff;
      (`pupils_write_to_pupils`): the pupils of their classes;
    - guardians, for their children whose link allows messaging (`guardians_write_to_staff`): the children's
      teachers and its staff; (`guardians_write_to_guardians`): the guardians of their children's classmates.
    """
    from preau.messaging import addresses

    e = establishment_id
    roles = _messaging_roles_in(actor, e)
    members = addresses.messaging_members_q(e)
    if roles & MESSAGING_WIDE_ROLES:
        return User.objects.filter(members, is_active=True).exclude(pk=actor.id)
    parts: list[Q] = []
    if Role.ENT_ADMIN in roles:
        parts.append(Q(pk__in=Membership.objects.filter(establishment_id=e, is_active=True,
                                                        role__in=[Role.TEACHER, Role.STAFF]).values("user_id")))
    rules = _messaging_rules(actor, e) if roles & {Role.PUPIL, Role.GUARDIAN} else None
    if Role.PUPIL in roles:
        if rules.pupils_write_to_staff:
            parts += [addresses.teachers_of_pupils_q(e, [actor.id]), addresses.staff_q(e)]
        if rules.pupils_write_to_pupils:
            parts.append(addresses.classmates_q(e, [actor.id]))
    if Role.GUARDIAN in roles:
        children = sorted(_messaging_children(actor).get(e, set()))
        if rules.guardians_write_to_staff:
            parts += [addresses.teachers_of_pupils_q(e, children), addresses.staff_q(e)]
        if rules.guardians_write_to_guardians:
            parts.append(addresses.classmates_guardians_q(e, children))
    combined = _any(parts)
    if combined is None:
        return User.objects.none()
    return User.objects.filter(combined & members, is_active=True).exclude(pk=actor.id)


def addressable_group_types(actor: Actor, establishment_id: int) -> set[str]:
    """The group address types (classes, groups, the establishment...) the actor may use there: staff all of them;
    teachers classes, groups, the staff and teachers of the establishment and their own classes' pupils and
    families; ENT admins the staff and teachers; pupils and guardians none."""
    from preau.messaging import addresses

    roles = _messaging_roles_in(actor, establishment_id)
    types: set[str] = set()
    if Role.STAFF in roles:
        types |= set(addresses.ADDRESS_TYPES) - {addresses.PERSON} - set(addresses.MY_CLASSES_TYPES)
    if Role.TEACHER in roles:
        types |= {*addresses.CLASS_TYPES, *addresses.GROUP_TYPES, "establishment_staff", "establishment_teachers"}
        cache = actor.__dict__.setdefault("_messaging_teaches", {})
        if establishment_id not in cache:
            cache[establishment_id] = addresses.teaches_in(actor.id, establishment_id)
        if cache[establishment_id]:
            types |= set(addresses.MY_CLASSES_TYPES)
    if Role.ENT_ADMIN in roles:
        types |= {"establishment_staff", "establishment_teachers"}
    return types


def refused_addresses(actor: Actor | None, establishment_id: int | None, items) -> list:
    """The addresses (of `items`) the actor may not write to in the establishment: a few queries for any number
    of addresses (one for the people, one for the classes, one for the groups)."""
    from preau.messaging import addresses

    items = list(items)
    if actor is None or establishment_id is None or not _messaging_roles_in(actor, establishment_id):
        return items
    e = establishment_id
    valid: list[tuple[object, dict]] = []
    refused = []
    for item in items:
        try:
            valid.append((item, addresses.normalise(item)))
        except addresses.AddressError:
            refused.append(item)
    people = {a["id"] for _item, a in valid if a["type"] == addresses.PERSON}
    classes = {a["id"] for _item, a in valid if a["type"] in addresses.CLASS_TYPES}
    groups = {a["id"] for _item, a in valid if a["type"] in addresses.GROUP_TYPES}
    types = addressable_group_types(actor, e)
    if people:
        people = set(addressable_people(actor, e).filter(pk__in=sorted(people)).values_list("pk", flat=True))
    if classes and types & set(addresses.CLASS_TYPES):
        classes = addresses.current_class_ids(e, sorted(classes))
    if groups and types & set(addresses.GROUP_TYPES):
        groups = addresses.current_group_ids(e, sorted(groups))
    for item, a in valid:
        kind = a["type"]
        if kind == addresses.PERSON:
            ok = a["id"] in people or a["id"] == actor.id  # naming oneself adds no copy: harmless
        elif kind in addresses.CLASS_TYPES:
            ok = kind in types and a["id"] in classes
        elif kind in addresses.GROUP_TYPES:
            ok = kind in types and a["id"] in groups
        else:
            ok = kind in types and a["id"] == e
        if not ok:
            refused.append(item)
    return refused


def can_address(actor: Actor | None, establishment_id: int | None, address: dict) -> bool:
    """Whether the actor may write to this address (`{"type", "id"}`) from the establishment (new messages and
    forwards; replies inside a conversation are `can_reply`'s)."""
    return not refused_addresses(actor, establishment_id, [address])


def deliveries_visible_to(actor: Actor | None):
    """The actor's own copies of messages (sent, received, drafts), not withdrawn by staff, not deleted: the only
    way to read messages. Nobody reads another person's mailbox, administrators included."""
    from preau.messaging.models import Delivery

    if actor is None:
        return Delivery.objects.none()
    return Delivery.objects.filter(owner_id=actor.id, withdrawn_at__isnull=True, deleted_at__isnull=True)


def can_reply(actor: Actor | None, message, *, holds_copy: bool | None = None) -> bool:
    """Replies are allowed to anyone holding a copy of the message, in a conversation not blocked by staff, while
    they still write from its establishment. (A reply only goes to the people of the conversation: the services
    build its addresses from the message, never from input.) `holds_copy=True` when the caller has just read the
    actor's copy (saves the query)."""
    from preau.messaging.models import Message

    if actor is None or message is None:
        return False
    if message.state not in (Message.State.QUEUED, Message.State.DELIVERED):
        return False
    if message.conversation.blocked_at is not None:
        return False
    if not can_message_in(actor, message.establishment_id):
        return False
    if holds_copy is not None:
        return holds_copy
    return deliveries_visible_to(actor).filter(message_id=message.pk).exists()


# --- Attendance (preau.attendance: roll calls, absences, justifications, discipline; docs/attendance.md) ---------

# Vie scolaire: the staff functions that follow their establishment's attendance (take any roll call over, record
# and edit absences, decide justifications, punish). Leadership alone gives sanctions (warning, reprimand,
# temporary exclusion). ENT admins and the global admin have no access to attendance (it is not technical data).
ATTENDANCE_MANAGER_FUNCTIONS = _LEADERSHIP | {StaffFunction.CPE, StaffFunction.VIE_SCOLAIRE}
ATTENDANCE_SANCTION_FUNCTIONS = set(_LEADERSHIP)
# Exemptions (e.g. from PE, with a medical certificate) are also recorded by the school nurse.
EXEMPTION_RECORDER_FUNCTIONS = ATTENDANCE_MANAGER_FUNCTIONS | {StaffFunction.NURSE}
# Punishments a teacher may give to a pupil they teach (punitions scolaires); vie scolaire gives these too.
TEACHER_PUNISHMENT_KINDS = frozenset({"extra_work", "detention", "course_exclusion"})
SANCTION_KINDS = frozenset({"warning", "reprimand", "temp_exclusion"})


def attendance_managed_establishment_ids(actor: Actor | None) -> set[int]:
    if actor is None:
        return set()
    return actor.establishments_with_functions(ATTENDANCE_MANAGER_FUNCTIONS)


def can_manage_attendance(actor: Actor | None, establishment_id: int | None) -> bool:
    """CPE, vie scolaire and leadership of the establishment."""
    return establishment_id is not None and establishment_id in attendance_managed_establishment_ids(actor)


def _pupil_establishment_ids(pupil_id: int) -> set[int]:
    return set(Membership.objects.filter(user_id=pupil_id, role=Role.PUPIL, is_active=True)
               .values_list("establishment_id", flat=True))


def _teaches_pupil(actor: Actor, pupil_id: int, establishment_id: int | None = None) -> bool:
    if establishment_id is not None and Role.TEACHER not in actor.roles_in(establishment_id):
        return False
    classes, groups = actor.taught
    if not classes and not groups:
        return False
    return (ClassEnrolment.objects.filter(pupil_id=pupil_id, school_class_id__in=sorted(classes)).exists()
            or GroupMembership.objects.filter(pupil_id=pupil_id, group_id__in=sorted(groups)).exists())


def can_take_roll_call(actor: Actor | None, course, planned_date=None, *, occurrence=None) -> bool:
    """A teacher of the course (for an occurrence given a replacement teacher, that teacher instead), or vie
    scolaire of the course's establishment (taking the roll over). Without `planned_date`: a teacher of the course
    or the replacement teacher of any of its occurrences. Given the `occurrence` (timetable), its teachers after
    replacement decide, without a query. Nobody of another establishment, ever."""
    from preau.timetable.models import CourseChange

    if actor is None or course is None:
        return False
    if can_manage_attendance(actor, course.establishment_id):
        return True
    if Role.TEACHER not in actor.roles_in(course.establishment_id):
        return False
    if occurrence is not None:
        return any(t.pk == actor.id for t in occurrence.teachers)
    replacements = CourseChange.objects.filter(course_id=course.pk, replacement_teacher__isnull=False)
    if planned_date is not None:
        replacement = replacements.filter(date=planned_date).values_list("replacement_teacher_id", flat=True).first()
        if replacement is not None:
            return replacement == actor.id
    elif replacements.filter(replacement_teacher_id=actor.id).exists():
        return True
    return any(t.pk == actor.id for t in course.teachers.all())


def attendance_pupils_visible_to(actor: Actor | None) -> QuerySet[User]:
    """Pupils whose attendance the actor reads: themselves, their children (guardians whose link does not deny
    ATTENDANCE), the pupils they teach, the pupils of the establishments where they are vie scolaire."""
    if actor is None:
        return User.objects.none()
    return pupils_visible_to(actor, Service.ATTENDANCE)


def access_attendance_pupil(actor: Actor | None, pupil_id) -> User:
    try:
        return attendance_pupils_visible_to(actor).get(pk=int(pupil_id))
    except (User.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None


def can_read_attendance(actor: Actor | None, pupil: User) -> bool:
    return actor is not None and can_read_school_data(actor, pupil, Service.ATTENDANCE)


def _attendance_q(actor: Actor | None, *, pupil_field: str = "pupil_id",
                  establishment_field: str = "establishment_id", extra_functions: set[str] | None = None,
                  taught: bool = True) -> Q | None:
    """Rows about pupils (records, justifications, punishments, exemptions) the actor reads, always restricted to
    the actor's own establishments. `taught=False` leaves the pupils' teachers out (rows a family writes for vie
    scolaire: justifications and their documents)."""
    if actor is None:
        return None
    parts: list[Q] = []
    if actor.has_role(Role.PUPIL):
        parts.append(Q(**{pupil_field: actor.id}))
    children = sorted(actor.child_ids(Service.ATTENDANCE))
    if children:
        parts.append(Q(**{f"{pupil_field}__in": children}))
    classes, groups = actor.taught if taught else (set(), set())
    if classes:
        parts.append(Q(**{f"{pupil_field}__in": ClassEnrolment.objects.filter(
            school_class_id__in=sorted(classes)).values("pupil_id")}))
    if groups:
        parts.append(Q(**{f"{pupil_field}__in": GroupMembership.objects.filter(
            group_id__in=sorted(groups)).values("pupil_id")}))
    managed = actor.establishments_with_functions(ATTENDANCE_MANAGER_FUNCTIONS | (extra_functions or set()))
    if managed:
        parts.append(Q(**{f"{establishment_field}__in": sorted(managed)}))
    q = _any(parts)
    if q is None:
        return None
    return q & Q(**{f"{establishment_field}__in": sorted(actor.establishment_ids())})


def _scoped(model, actor: Actor | None, **kwargs):
    q = _attendance_q(actor, **kwargs)
    return model.objects.none() if q is None else model.objects.filter(q)


def attendance_records_visible_to(actor: Actor | None):
    from preau.attendance.models import AttendanceRecord

    return _scoped(AttendanceRecord, actor)


def access_attendance_record(actor: Actor | None, record_id):
    return _access_in(attendance_records_visible_to(actor).select_related("pupil", "reason"), record_id)


def justifications_visible_to(actor: Actor | None):
    """Justifications (reason, the family's comment, often a medical document): the pupil, their guardians
    (ATTENDANCE allowed), vie scolaire of the establishment. Never the pupil's teachers: they read the state of
    each record (justified or not) only."""
    from preau.attendance.models import Justification

    return _scoped(Justification, actor, taught=False)


def punishments_visible_to(actor: Actor | None):
    from preau.attendance.models import Punishment

    return _scoped(Punishment, actor)


def exemptions_visible_to(actor: Actor | None):
    from preau.attendance.models import Exemption

    return _scoped(Exemption, actor, extra_functions={StaffFunction.NURSE})


def can_read_exemption_details(actor: Actor | None, exemption) -> bool:
    """The comment and the certificate of an exemption (medical): the pupil, their guardians (ATTENDANCE allowed),
    vie scolaire, leadership and the nurse of its establishment. The pupil's teachers see that the pupil is
    exempted (subject, dates, whether they attend), never why."""
    if actor is None or exemption is None:
        return False
    if exemption.pupil_id == actor.id and actor.has_role(Role.PUPIL):
        return True
    if exemption.pupil_id in actor.child_ids(Service.ATTENDANCE):
        return True
    return exemption.establishment_id in actor.establishments_with_functions(EXEMPTION_RECORDER_FUNCTIONS)


def access_exemption_document(actor: Actor | None, exemption_id):
    """An exemption whose certificate the actor may download; 404 for missing, invisible or a teacher's."""
    exemption = access_exemption(actor, exemption_id)
    if not can_read_exemption_details(actor, exemption):
        raise Http404
    return exemption


def exemption_pupils_visible_to(actor: Actor | None, establishment_id: int | None = None) -> QuerySet[User]:
    """The pupils an exemption may be recorded for: every active pupil of the establishments where the actor
    records exemptions (vie scolaire, leadership, the nurse, who reads no other attendance data)."""
    if actor is None:
        return User.objects.none()
    establishments = actor.establishments_with_functions(EXEMPTION_RECORDER_FUNCTIONS)
    if establishment_id is not None:
        establishments &= {establishment_id}
    if not establishments:
        return User.objects.none()
    return (User.objects.filter(is_active=True, memberships__establishment_id__in=sorted(establishments),
                                memberships__role=Role.PUPIL, memberships__is_active=True)
            .distinct().order_by("last_name", "first_name", "pk"))


def access_exemption_pupil(actor: Actor | None, pupil_id) -> User:
    """A pupil the actor may record an exemption for: one whose attendance they read, or (the nurse) any pupil
    of an establishment where they record exemptions; 404 otherwise."""
    try:
        return access_attendance_pupil(actor, pupil_id)
    except Http404:
        return _access_in(exemption_pupils_visible_to(actor), pupil_id)


def attendance_establishment_scope(actor: Actor | None, pupil_id: int) -> set[int] | None:
    """The establishments whose records of this pupil the actor reads: None (all of them) for the pupil and
    their guardians; for staff and teachers, their own establishments only (a pupil who changed school keeps
    their former school's records out of the new school's sight, and the reverse)."""
    if actor is None:
        return set()
    if pupil_id == actor.id and actor.has_role(Role.PUPIL):
        return None
    if pupil_id in actor.child_ids(Service.ATTENDANCE):
        return None
    return set(actor.establishment_ids())


def attendance_classes_visible_to(actor: Actor | None, establishment_id: int | None = None) -> QuerySet[SchoolClass]:
    """Classes whose attendance table (counts, rate) the actor reads: every class of the establishments where they
    are vie scolaire, the classes they teach where they teach (a group's teacher reads their pupils one by one)."""
    if actor is None:
        return SchoolClass.objects.none()
    parts = []
    managed = attendance_managed_establishment_ids(actor)
    if managed:
        parts.append(Q(establishment_id__in=sorted(managed)))
    classes, _groups = actor.taught
    teaching = actor.establishment_ids(Role.TEACHER)
    if classes and teaching:
        parts.append(Q(pk__in=sorted(classes), establishment_id__in=sorted(teaching)))
    q = _any(parts)
    if q is None:
        return SchoolClass.objects.none()
    queryset = SchoolClass.objects.filter(q)
    if establishment_id is not None:
        queryset = queryset.filter(establishment_id=establishment_id)
    return queryset


def can_read_attendance_class(actor: Actor | None, school_class) -> bool:
    """`attendance_classes_visible_to` for one class, without a query."""
    if actor is None or school_class is None:
        return False
    if can_manage_attendance(actor, school_class.establishment_id):
        return True
    return (school_class.pk in actor.taught[0]
            and Role.TEACHER in actor.roles_in(school_class.establishment_id))


def access_attendance_class(actor: Actor | None, class_id) -> SchoolClass:
    return _access_in(attendance_classes_visible_to(actor).select_related("school_year", "establishment"), class_id)


def access_absence_reason(actor: Actor | None, reason_id, establishment_id: int | None = None):
    """A reason of an establishment whose vie scolaire the actor is (to change it); 404 otherwise."""
    from preau.attendance.models import AbsenceReason

    managed = attendance_managed_establishment_ids(actor)
    if establishment_id is not None:
        managed &= {establishment_id}
    return _access_in(AbsenceReason.objects.filter(establishment_id__in=sorted(managed)), reason_id)


def family_incidents_visible_to(actor: Actor | None):
    """Incidents concerning the actor (a pupil) or their children (ATTENDANCE allowed), as their family reads them
    (their facts only when the incident concerns that pupil alone: see preau.attendance.selectors)."""
    from preau.attendance.models import Incident

    if actor is None:
        return Incident.objects.none()
    ids = set(actor.child_ids(Service.ATTENDANCE))
    if actor.has_role(Role.PUPIL):
        ids.add(actor.id)
    if not ids:
        return Incident.objects.none()
    return Incident.objects.filter(pupils__in=sorted(ids)).distinct()


def exit_regimes_visible_to(actor: Actor | None):
    from preau.attendance.models import ExitRegime

    return _scoped(ExitRegime, actor, establishment_field="school_year__establishment_id")


def incidents_visible_to(actor: Actor | None):
    """Incidents (their facts may name other pupils): vie scolaire of the establishment, and whoever reported them
    while they still work there. Families see the punishments, not the incident reports."""
    from preau.attendance.models import Incident

    if actor is None:
        return Incident.objects.none()
    parts = []
    managed = attendance_managed_establishment_ids(actor)
    if managed:
        parts.append(Q(establishment_id__in=sorted(managed)))
    working = actor.establishment_ids(Role.TEACHER, Role.STAFF)
    if working:
        parts.append(Q(reported_by_id=actor.id, establishment_id__in=sorted(working)))
    q = _any(parts)
    return Incident.objects.none() if q is None else Incident.objects.filter(q)


def _access_in(queryset, object_id):
    try:
        return queryset.get(pk=int(object_id))
    except (ValueError, TypeError, OverflowError, queryset.model.DoesNotExist):
        raise Http404 from None


def access_justification(actor: Actor | None, justification_id):
    return _access_in(justifications_visible_to(actor).select_related("pupil", "reason"), justification_id)


def access_punishment(actor: Actor | None, punishment_id):
    return _access_in(punishments_visible_to(actor).select_related("pupil"), punishment_id)


def access_exemption(actor: Actor | None, exemption_id):
    return _access_in(exemptions_visible_to(actor).select_related("pupil", "subject"), exemption_id)


def access_incident(actor: Actor | None, incident_id):
    return _access_in(incidents_visible_to(actor), incident_id)


def can_justify(actor: Actor | None, pupil: User) -> bool:
    """A guardian with parental authority whose link does not deny ATTENDANCE, or vie scolaire of the pupil's
    establishment."""
    if actor is None or pupil is None:
        return False
    for link in actor.child_links:
        if link.pupil_id == pupil.pk and link.legal_authority and link.allows(Service.ATTENDANCE):
            return True
    managed = attendance_managed_establishment_ids(actor)
    return bool(managed) and bool(managed & _pupil_establishment_ids(pupil.pk))


def can_decide_justification(actor: Actor | None, justification) -> bool:
    return actor is not None and can_manage_attendance(actor, justification.establishment_id)


def punishment_kinds_for(actor: Actor | None, pupil: User, establishment_id: int | None = None) -> set[str]:
    """The kinds of punishment the actor may give this pupil: leadership all of them; CPE and vie scolaire the
    punishments (extra work, detention, course exclusion); the pupil's teachers the same."""
    if actor is None or pupil is None:
        return set()
    establishments = _pupil_establishment_ids(pupil.pk)
    if establishment_id is not None:
        establishments &= {establishment_id}
    if establishments & actor.establishments_with_functions(ATTENDANCE_SANCTION_FUNCTIONS):
        return set(TEACHER_PUNISHMENT_KINDS | SANCTION_KINDS)
    if establishments & attendance_managed_establishment_ids(actor):
        return set(TEACHER_PUNISHMENT_KINDS)
    if any(_teaches_pupil(actor, pupil.pk, e) for e in establishments):
        return set(TEACHER_PUNISHMENT_KINDS)
    return set()


def punishment_kinds_in(actor: Actor | None, establishment_id: int) -> set[str]:
    """The kinds the actor may give some pupil of the establishment (before one is chosen): leadership all of them;
    vie scolaire and the establishment's teachers the punishments. `punishment_kinds_for` decides per pupil."""
    if actor is None:
        return set()
    if establishment_id in actor.establishments_with_functions(ATTENDANCE_SANCTION_FUNCTIONS):
        return set(TEACHER_PUNISHMENT_KINDS | SANCTION_KINDS)
    if can_manage_attendance(actor, establishment_id) or Role.TEACHER in actor.roles_in(establishment_id):
        return set(TEACHER_PUNISHMENT_KINDS)
    return set()


def can_punish(actor: Actor | None, pupil: User, kind: str | None = None) -> bool:
    kinds = punishment_kinds_for(actor, pupil)
    return bool(kinds) if kind is None else kind in kinds


def can_report_incident(actor: Actor | None, establishment_id: int | None) -> bool:
    """Teachers and staff of the establishment."""
    return actor is not None and establishment_id is not None and bool(
        actor.roles_in(establishment_id) & {Role.TEACHER, Role.STAFF})


def can_record_exemption(actor: Actor | None, establishment_id: int | None) -> bool:
    return actor is not None and establishment_id is not None and establishment_id in (
        actor.establishments_with_functions(EXEMPTION_RECORDER_FUNCTIONS))


def can_export_attendance(actor: Actor | None, establishment_id: int | None) -> bool:
    return can_manage_attendance(actor, establishment_id)


# --- Agenda (preau.timetable.agenda: events of the school agenda; docs/agenda.md) ----------------------------------

# Staff functions that write agenda events for their whole establishment (with ENT admins). Teachers write events
# for the classes and groups they teach.
AGENDA_WRITER_FUNCTIONS = _LEADERSHIP | {StaffFunction.CPE, StaffFunction.VIE_SCOLAIRE, StaffFunction.SECRETARY}


def agenda_publish_scope(actor: Actor, establishment_id: int) -> TargetScope:
    """Where the actor may place agenda events in the establishment: anywhere (ENT admin, leadership, CPE, vie
    scolaire, secretary), or only for the classes and groups they teach (teachers)."""
    if actor.is_global_admin or establishment_id in actor.establishment_ids(Role.ENT_ADMIN):
        return TargetScope(True)
    if establishment_id in actor.establishments_with_functions(AGENDA_WRITER_FUNCTIONS):
        return TargetScope(True)
    return _taught_scope(actor, establishment_id)


def can_write_agenda(actor: Actor | None, establishment_id: int) -> bool:
    """Whether the actor may create agenda events at all in this establishment (the form is offered)."""
    return actor is not None and bool(agenda_publish_scope(actor, establishment_id))


def _agenda_untargeted_q() -> Q:
    from django.db.models import Exists, OuterRef

    from preau.timetable.models import AgendaEvent

    return (~Q(Exists(AgendaEvent.classes.through.objects.filter(agendaevent_id=OuterRef("pk"))))
            & ~Q(Exists(AgendaEvent.groups.through.objects.filter(agendaevent_id=OuterRef("pk")))))


def _agenda_targets_q(class_ids, group_ids) -> Q | None:
    """Events addressed to one of these classes or groups (ids, or querysets of ids)."""
    from preau.timetable.models import AgendaEvent

    parts = []
    if class_ids is not None:
        parts.append(Q(pk__in=AgendaEvent.classes.through.objects.filter(schoolclass_id__in=class_ids)
                       .values("agendaevent_id")))
    if group_ids is not None:
        parts.append(Q(pk__in=AgendaEvent.groups.through.objects.filter(teachinggroup_id__in=group_ids)
                       .values("agendaevent_id")))
    return _any(parts)


def _agenda_role_q(role: str) -> Q:
    # audience_roles is a JSON list of Role values; no value is a substring of another once quoted, and the
    # lookup works alike on SQLite and PostgreSQL (JSON containment does not exist on SQLite).
    return Q(audience_roles__icontains=f'"{role}"')


def agenda_audience_q_for_pupil(pupil_id: int, establishment_ids) -> Q:
    """Events addressed to a pupil: the pupils of their establishment, or of one of their classes and groups."""
    classes = ClassEnrolment.objects.filter(pupil_id=pupil_id, school_class__school_year__is_current=True) \
        .values("school_class_id")
    groups = GroupMembership.objects.filter(pupil_id=pupil_id, group__school_year__is_current=True) \
        .values("group_id")
    return _agenda_role_q(Role.PUPIL) & Q(establishment_id__in=sorted(establishment_ids)) & (
        _agenda_untargeted_q() | _agenda_targets_q(classes, groups))


def agenda_audience_q_for_guardian(child_ids, establishment_ids) -> Q:
    """Events addressed to the guardians of these children: their establishment's guardians, or those of one of
    the children's classes and groups."""
    child_ids = sorted(child_ids)
    parts = []
    if establishment_ids:
        parts.append(Q(establishment_id__in=sorted(establishment_ids)) & _agenda_untargeted_q())
    if child_ids:
        parts.append(_agenda_targets_q(
            ClassEnrolment.objects.filter(pupil_id__in=child_ids, school_class__school_year__is_current=True)
            .values("school_class_id"),
            GroupMembership.objects.filter(pupil_id__in=child_ids, group__school_year__is_current=True)
            .values("group_id")))
    q = _any(parts)
    return _agenda_role_q(Role.GUARDIAN) & q if q is not None else Q(pk__in=[])


def _agenda_audience_q(actor: Actor) -> Q | None:
    """Events whose audience includes the actor, by role; staff and ENT admins see all their establishment's."""
    parts: list[Q] = []
    wide = actor.establishment_ids(Role.STAFF, Role.ENT_ADMIN)
    if wide:
        parts.append(Q(establishment_id__in=sorted(wide)))
    pupil_establishments = actor.establishment_ids(Role.PUPIL)
    if pupil_establishments:
        parts.append(agenda_audience_q_for_pupil(actor.id, pupil_establishments))
    guardian_establishments = actor.establishment_ids(Role.GUARDIAN)
    if guardian_establishments:
        # The agenda is part of the timetable service: a link that denies it hides the child's class events.
        parts.append(agenda_audience_q_for_guardian(actor.child_ids(Service.TIMETABLE), guardian_establishments))
    teacher_establishments = actor.establishment_ids(Role.TEACHER)
    if teacher_establishments:
        classes, groups = actor.taught
        teacher_targets = _agenda_targets_q(sorted(classes), sorted(groups))
        parts.append(_agenda_role_q(Role.TEACHER) & Q(establishment_id__in=sorted(teacher_establishments)) & (
            _agenda_untargeted_q() | teacher_targets))
    return _any(parts)


def _agenda_manage_q(actor: Actor) -> Q | None:
    parts = []
    whole = actor.establishment_ids(Role.ENT_ADMIN) | actor.establishments_with_functions(AGENDA_WRITER_FUNCTIONS)
    if whole:
        parts.append(Q(establishment_id__in=sorted(whole)))
    teaching = actor.establishment_ids(Role.TEACHER)
    if teaching:
        parts.append(Q(created_by_id=actor.id, establishment_id__in=sorted(teaching)))
    return _any(parts)


def agenda_events_visible_to(actor: Actor | None):
    """Agenda events the actor may read: those whose audience includes them (roles of the establishment,
    restricted to classes/groups when the event has some: their pupils, their guardians, their teachers), every
    event of the establishments where they are staff or ENT admin, and those they manage."""
    from preau.timetable.models import AgendaEvent

    if actor is None:
        return AgendaEvent.objects.none()
    if actor.is_global_admin:
        return AgendaEvent.objects.all()
    q = _any([part for part in (_agenda_audience_q(actor), _agenda_manage_q(actor)) if part is not None])
    return AgendaEvent.objects.none() if q is None else AgendaEvent.objects.filter(q)


def agenda_events_manageable_by(actor: Actor | None):
    """Events the actor may edit or delete: every event of the establishments where they write for everyone, and
    for a teacher the events they created, while they still teach in the establishment."""
    from preau.timetable.models import AgendaEvent

    if actor is None:
        return AgendaEvent.objects.none()
    if actor.is_global_admin:
        return AgendaEvent.objects.all()
    q = _agenda_manage_q(actor)
    return AgendaEvent.objects.none() if q is None else AgendaEvent.objects.filter(q)


def access_agenda_event(actor: Actor | None, event_id, *, manage: bool = False):
    """An agenda event the actor may read (or, with manage=True, edit), or 404."""
    queryset = agenda_events_manageable_by(actor) if manage else agenda_events_visible_to(actor)
    try:
        return queryset.select_related("establishment", "created_by").get(pk=int(event_id))
    except (ValueError, TypeError, OverflowError, queryset.model.DoesNotExist):
        raise Http404 from None


def can_manage_agenda_event(actor: Actor | None, event) -> bool:
    return actor is not None and agenda_events_manageable_by(actor).filter(pk=event.pk).exists()


# --- Timetable (preau.timetable: courses, occurrences, rooms, calendars; docs/timetable.md) ------------------------

# Who sets the timetable up (courses, calendar, imports): leadership and ENT admins. Who changes one occurrence
# (cancel, move, replace): the same plus vie scolaire. Reading is not sensitive data (no audit) but stays scoped:
# a pupil reads their own, a guardian their children's (unless the link denies TIMETABLE), the teachers, staff and
# ENT admins of the establishment read every pupil, class, group, room and teacher of it; nobody reads another
# establishment's.
TIMETABLE_MANAGER_FUNCTIONS = set(_LEADERSHIP)
OCCURRENCE_CHANGER_FUNCTIONS = _LEADERSHIP | {StaffFunction.CPE, StaffFunction.VIE_SCOLAIRE}
TIMETABLE_WIDE_ROLES = {Role.TEACHER, Role.STAFF, Role.ENT_ADMIN}


def timetable_establishment_ids(actor: Actor | None) -> set[int]:
    """Establishments whose whole timetable (classes, groups, rooms, teachers, pupils) the actor reads."""
    if actor is None:
        return set()
    return actor.establishment_ids(*TIMETABLE_WIDE_ROLES)


def timetable_pupils_visible_to(actor: Actor | None) -> QuerySet[User]:
    """Pupils whose timetable the actor may read."""
    if actor is None:
        return User.objects.none()
    if actor.is_global_admin:
        return User.objects.filter(is_active=True, memberships__role=Role.PUPIL).distinct()
    parts = [_school_data_q(actor, Service.TIMETABLE)]
    wide = timetable_establishment_ids(actor)
    if wide:
        parts.append(Q(pk__in=Membership.objects.filter(establishment_id__in=sorted(wide), role=Role.PUPIL,
                                                        is_active=True).values("user_id")))
    q = _any([part for part in parts if part is not None])
    return User.objects.none() if q is None else User.objects.filter(q, is_active=True)


def can_read_timetable(actor: Actor | None, pupil: User) -> bool:
    if actor is None or pupil is None:
        return False
    if pupil.pk == actor.id and actor.has_role(Role.PUPIL):
        return True
    if pupil.pk in actor.child_ids(Service.TIMETABLE):
        return True
    return timetable_pupils_visible_to(actor).filter(pk=pupil.pk).exists()


def access_timetable_pupil(actor: Actor | None, pupil_id) -> User:
    try:
        return timetable_pupils_visible_to(actor).get(pk=int(pupil_id))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        raise Http404 from None


def timetable_teachers_visible_to(actor: Actor | None) -> QuerySet[User]:
    """Teachers whose timetable the actor may read: themselves; teachers of the establishments where the actor
    works (teacher, staff) or is ENT admin."""
    if actor is None:
        return User.objects.none()
    teachers = Membership.objects.filter(role=Role.TEACHER, is_active=True)
    if actor.is_global_admin:
        return User.objects.filter(pk__in=teachers.values("user_id"), is_active=True)
    q = Q(pk=actor.id)
    wide = timetable_establishment_ids(actor)
    if wide:
        q |= Q(pk__in=teachers.filter(establishment_id__in=sorted(wide)).values("user_id"))
    return User.objects.filter(q, is_active=True)


def can_read_teacher_timetable(actor: Actor | None, teacher: User) -> bool:
    if actor is None or teacher is None:
        return False
    return teacher.pk == actor.id or timetable_teachers_visible_to(actor).filter(pk=teacher.pk).exists()


def access_timetable_teacher(actor: Actor | None, teacher_id) -> User:
    try:
        return timetable_teachers_visible_to(actor).get(pk=int(teacher_id))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        raise Http404 from None


def timetable_classes_visible_to(actor: Actor | None) -> QuerySet[SchoolClass]:
    """Classes whose timetable the actor reads: all of their establishments (teachers, staff, ENT admins), their
    own (pupils), their children's (guardians allowed TIMETABLE)."""
    if actor is None:
        return SchoolClass.objects.none()
    if actor.is_global_admin:
        return SchoolClass.objects.all()
    q = Q(establishment_id__in=sorted(timetable_establishment_ids(actor))) | Q(pk__in=sorted(actor.own_class_ids))
    children = actor.child_ids(Service.TIMETABLE)
    if children:
        q |= Q(pk__in=ClassEnrolment.objects.filter(pupil_id__in=sorted(children)).values("school_class_id"))
    return SchoolClass.objects.filter(q)


def access_timetable_class(actor: Actor | None, class_id) -> SchoolClass:
    try:
        return timetable_classes_visible_to(actor).select_related("establishment", "school_year").get(
            pk=int(class_id))
    except (ValueError, TypeError, OverflowError, SchoolClass.DoesNotExist):
        raise Http404 from None


def timetable_groups_visible_to(actor: Actor | None) -> QuerySet[TeachingGroup]:
    if actor is None:
        return TeachingGroup.objects.none()
    if actor.is_global_admin:
        return TeachingGroup.objects.all()
    q = Q(establishment_id__in=sorted(timetable_establishment_ids(actor)))
    pupil_ids = set(actor.child_ids(Service.TIMETABLE))
    if actor.has_role(Role.PUPIL):
        pupil_ids.add(actor.id)
    if pupil_ids:
        q |= Q(pk__in=GroupMembership.objects.filter(pupil_id__in=sorted(pupil_ids)).values("group_id"))
    return TeachingGroup.objects.filter(q)


def access_timetable_group(actor: Actor | None, group_id) -> TeachingGroup:
    try:
        return timetable_groups_visible_to(actor).select_related("establishment", "school_year").get(
            pk=int(group_id))
    except (ValueError, TypeError, OverflowError, TeachingGroup.DoesNotExist):
        raise Http404 from None


def rooms_visible_to(actor: Actor | None):
    """Rooms (their timetable, the free-room finder): staff, teachers and ENT admins of the establishment."""
    from preau.timetable.models import Room

    if actor is None:
        return Room.objects.none()
    if actor.is_global_admin:
        return Room.objects.all()
    return Room.objects.filter(establishment_id__in=sorted(timetable_establishment_ids(actor)))


def access_room(actor: Actor | None, room_id):
    queryset = rooms_visible_to(actor)
    try:
        return queryset.select_related("establishment").get(pk=int(room_id))
    except (ValueError, TypeError, OverflowError, queryset.model.DoesNotExist):
        raise Http404 from None


def can_find_free_rooms(actor: Actor | None, establishment_id: int | None) -> bool:
    if actor is None or establishment_id is None:
        return False
    return actor.is_global_admin or establishment_id in timetable_establishment_ids(actor)


def timetable_managed_establishment_ids(actor: Actor | None) -> set[int] | None:
    """Establishments whose courses and calendar the actor sets up; None = all (global admin)."""
    if actor is None:
        return set()
    if actor.is_global_admin:
        return None
    return actor.establishment_ids(Role.ENT_ADMIN) | actor.establishments_with_functions(TIMETABLE_MANAGER_FUNCTIONS)


def can_manage_timetable(actor: Actor | None, establishment_id: int | None) -> bool:
    """ENT admin, head, deputy, director of the establishment: courses, calendar, imports."""
    if actor is None or establishment_id is None:
        return False
    ids = timetable_managed_establishment_ids(actor)
    return ids is None or establishment_id in ids


def can_change_occurrences(actor: Actor | None, establishment_id: int | None) -> bool:
    """The timetable managers plus CPE and vie scolaire: cancel, move, replace one occurrence, add an extra
    course or an exam."""
    if actor is None or establishment_id is None:
        return False
    return (can_manage_timetable(actor, establishment_id)
            or establishment_id in actor.establishments_with_functions(OCCURRENCE_CHANGER_FUNCTIONS))


def courses_visible_to(actor: Actor | None):
    """Courses the actor may see (pages and API needing one course by id)."""
    from preau.timetable.models import Course

    if actor is None:
        return Course.objects.none()
    if actor.is_global_admin:
        return Course.objects.all()
    parts = [Q(establishment_id__in=sorted(timetable_establishment_ids(actor)))]
    pupil_ids = set(actor.child_ids(Service.TIMETABLE))
    if actor.has_role(Role.PUPIL):
        pupil_ids.add(actor.id)
    if pupil_ids:
        pupils = sorted(pupil_ids)
        classes = ClassEnrolment.objects.filter(pupil_id__in=pupils).values("school_class_id")
        groups = GroupMembership.objects.filter(pupil_id__in=pupils).values("group_id")
        parts.append(Q(pk__in=Course.classes.through.objects.filter(schoolclass_id__in=classes)
                       .values("course_id")))
        parts.append(Q(pk__in=Course.groups.through.objects.filter(teachinggroup_id__in=groups)
                       .values("course_id")))
    return Course.objects.filter(_any(parts))


def access_course(actor: Actor | None, course_id):
    queryset = courses_visible_to(actor)
    try:
        return queryset.select_related("establishment", "school_year", "subject", "room").get(pk=int(course_id))
    except (ValueError, TypeError, OverflowError, queryset.model.DoesNotExist):
        raise Http404 from None


def calendars_visible_to(actor: Actor | None):
    """School calendars (zone, weeks, closed periods): everyone of the establishment reads them."""
    from preau.timetable.models import SchoolCalendar

    if actor is None:
        return SchoolCalendar.objects.none()
    if actor.is_global_admin:
        return SchoolCalendar.objects.all()
    return SchoolCalendar.objects.filter(establishment_id__in=sorted(actor.establishment_ids()))


def timetable_course_teachers(actor: Actor | None, establishment_id: int) -> QuerySet[User]:
    """The people a course or a replacement of the establishment may name (API ids, pickers): active accounts
    with an active teacher membership there, among the teachers whose timetable the actor reads."""
    return timetable_teachers_visible_to(actor).filter(pk__in=Membership.objects.filter(
        establishment_id=establishment_id, role=Role.TEACHER, is_active=True).values("user_id"))


# --- Timetable imports (edt, timetable-csv) -------------------------------------------------------------------

def can_import_timetable(actor: Actor | None, establishment_id: int | None) -> bool:
    """Who imports an establishment's timetable (EDT export, timetable CSV): its timetable managers (ENT admins,
    head, deputy, school director) and the global admin. Always for one establishment."""
    return can_manage_timetable(actor, establishment_id)


def timetable_import_runs_visible_to(actor: Actor | None):
    """Timetable import runs of the establishments whose timetable the actor manages."""
    from preau.imports.kinds import TIMETABLE_KINDS
    from preau.imports.models import ImportRun

    ids = timetable_managed_establishment_ids(actor)
    runs = ImportRun.objects.filter(kind__in=sorted(TIMETABLE_KINDS))
    if ids is None:
        return runs
    return runs.filter(establishment_id__in=sorted(ids)) if ids else ImportRun.objects.none()
