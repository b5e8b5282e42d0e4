"""Addresses: what a sender types ("guardians of 5e B", "teachers of 5e B", a person...) and the people it reaches.

An address is `{"type": <one of ADDRESS_TYPES>, "id": int}`. Directory groups are resolved into people when the
message is delivered, set-based: `resolve()` returns ONE queryset of user ids (subqueries over enrolments, group
memberships, guardian links, teaching assignments and memberships, OR-ed together), so counting the recipients of
a send is one COUNT and delivering it one SELECT, whatever their number. A person reached by several addresses
(a guardian of two pupils of the class, a teacher of the class who is also a parent) appears once.

Who is reached (docs/messaging.md, "Addresses"):
- only active accounts with an active membership, in the address's establishment, in the role the address names;
- classes and groups of the establishment's current school year only;
- families: a guardian is reached through a link to an active pupil of the establishment that does not deny the
  messaging service (`Service.MESSAGING` in `denied_services`) and that gives parental authority or makes them a
  recipient of the school's correspondence (a mere contact person, neither, is not written to);
- "teachers of a class" are the teachers of the class itself and of the groups attached to it (an option or a
  half-class of that class), this school year;
- "establishment_staff" is the teachers and the staff (not the ENT administrators, a technical role).

Whether the sender may use an address is the access policy's question (`policy.can_address`), not this module's.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from preau.accounts.models import User
from preau.directory.models import (
    ClassEnrolment,
    GroupMembership,
    GuardianLink,
    Membership,
    Role,
    SchoolClass,
    Service,
    TeachingAssignment,
    TeachingGroup,
)

PERSON = "person"
CLASS_TYPES = ("class_pupils", "class_guardians", "class_teachers")
GROUP_TYPES = ("group_pupils", "group_guardians", "group_teachers")
ESTABLISHMENT_TYPES = ("establishment_staff", "establishment_teachers", "establishment_pupils",
                       "establishment_guardians")
MY_CLASSES_TYPES = ("my_classes_pupils", "my_classes_guardians")
ADDRESS_TYPES = frozenset((PERSON, *CLASS_TYPES, *GROUP_TYPES, *ESTABLISHMENT_TYPES, *MY_CLASSES_TYPES))
# Address types whose id is the establishment's.
ESTABLISHMENT_ID_TYPES = frozenset((*ESTABLISHMENT_TYPES, *MY_CLASSES_TYPES))
# Address types that reach families.
GUARDIAN_TYPES = frozenset(("class_guardians", "group_guardians", "establishment_guardians", "my_classes_guardians"))
LISTS = ("to", "cc", "bcc")
MAX_DB_INT = 2**63 - 1


class AddressError(ValueError):
    """An address that is not one (unknown type, bad id)."""


def normalise(address) -> dict:
    """`{"type", "id"}` with an int id, or AddressError."""
    if not isinstance(address, dict):
        raise AddressError(_("Destinataire invalide."))
    kind, raw = address.get("type"), address.get("id")
    if kind not in ADDRESS_TYPES:
        raise AddressError(_("Type de destinataire inconnu."))
    if isinstance(raw, bool):
        raise AddressError(_("Destinataire invalide."))
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise AddressError(_("Destinataire invalide.")) from None
    if not 0 < number <= MAX_DB_INT:
        raise AddressError(_("Destinataire invalide."))
    return {"type": kind, "id": number}


def key(address: dict) -> tuple[str, int]:
    return address["type"], address["id"]


# --- Building blocks: subqueries of user ids ---------------------------------------------------------------------

def _members(establishment_id: int, *roles: str) -> QuerySet:
    return Membership.objects.filter(establishment_id=establishment_id, role__in=roles,
                                     is_active=True).values("user_id")


def _current_classes(establishment_id: int) -> QuerySet:
    return SchoolClass.objects.filter(establishment_id=establishment_id, school_year__is_current=True)


def _current_groups(establishment_id: int) -> QuerySet:
    return TeachingGroup.objects.filter(establishment_id=establishment_id, school_year__is_current=True)


def messaging_links(establishment_id: int) -> QuerySet:
    """Guardian links through which the establishment writes to families: to an active pupil of the
    establishment, not denying messaging, with parental authority or correspondence."""
    return (GuardianLink.objects
            .filter(pupil_id__in=_members(establishment_id, Role.PUPIL), pupil__is_active=True)
            .filter(Q(legal_authority=True) | Q(receives_correspondence=True))
            # denied_services is a JSON list of Service values; "messaging" is no other value's substring.
            .exclude(denied_services__icontains=Service.MESSAGING.value))


def _pupils_q(establishment_id: int, pupil_ids: QuerySet) -> Q:
    return Q(pk__in=pupil_ids) & Q(pk__in=_members(establishment_id, Role.PUPIL))


def _guardians_q(establishment_id: int, pupil_ids: QuerySet | None) -> Q:
    links = messaging_links(establishment_id)
    if pupil_ids is not None:
        links = links.filter(pupil_id__in=pupil_ids)
    return Q(pk__in=links.values("guardian_id")) & Q(pk__in=_members(establishment_id, Role.GUARDIAN))


def _teachers_q(establishment_id: int, assignments: QuerySet) -> Q:
    return (Q(pk__in=assignments.filter(establishment_id=establishment_id, school_year__is_current=True)
              .values("teacher_id"))
            & Q(pk__in=_members(establishment_id, Role.TEACHER)))


def _class_pupil_ids(establishment_id: int, class_ids) -> QuerySet:
    return ClassEnrolment.objects.filter(school_class_id__in=class_ids,
                                         school_class__in=_current_classes(establishment_id)).values("pupil_id")


def _group_pupil_ids(establishment_id: int, group_ids) -> QuerySet:
    return GroupMembership.objects.filter(group_id__in=group_ids,
                                          group__in=_current_groups(establishment_id)).values("pupil_id")


def _taught_pupil_ids(establishment_id: int, teacher_id: int) -> QuerySet:
    """Pupils of the classes and groups a teacher teaches this year in the establishment."""
    assignments = TeachingAssignment.objects.filter(teacher_id=teacher_id, establishment_id=establishment_id,
                                                    school_year__is_current=True)
    enrolled = ClassEnrolment.objects.filter(
        school_class_id__in=assignments.filter(school_class__isnull=False).values("school_class_id"))
    grouped = GroupMembership.objects.filter(group_id__in=assignments.filter(group__isnull=False).values("group_id"))
    return User.objects.filter(Q(pk__in=enrolled.values("pupil_id")) | Q(pk__in=grouped.values("pupil_id"))
                               ).values("pk")


def messaging_members_q(establishment_id: int) -> Q:
    """People of the establishment that messaging reaches by name: active members in a role other than guardian,
    and guardians through a messaging link (see `messaging_links`)."""
    others = Membership.objects.filter(establishment_id=establishment_id, is_active=True,
                                       role__in=[Role.PUPIL, Role.TEACHER, Role.STAFF, Role.ENT_ADMIN])
    return Q(pk__in=others.values("user_id")) | _guardians_q(establishment_id, None)


def type_q(kind: str, ids: list[int], *, establishment_id: int, sender_id: int | None = None) -> Q | None:
    """A Q over User selecting the people that addresses of one type reach (all their ids at once); None when
    they reach nobody. Grouping by type keeps the query the same size however many classes are addressed."""
    e = establishment_id
    ids = sorted(set(ids))
    if not ids:
        return None
    if kind == PERSON:
        return Q(pk__in=ids) & messaging_members_q(e)
    if kind in ESTABLISHMENT_ID_TYPES and e not in ids:
        return None
    if kind == "class_pupils":
        return _pupils_q(e, _class_pupil_ids(e, ids))
    if kind == "class_guardians":
        return _guardians_q(e, _class_pupil_ids(e, ids))
    if kind == "class_teachers":
        attached = TeachingGroup.classes.through.objects.filter(
            schoolclass_id__in=ids, schoolclass__in=_current_classes(e)).values("teachinggroup_id")
        assignments = TeachingAssignment.objects.filter(
            Q(school_class_id__in=ids, school_class__in=_current_classes(e)) | Q(group_id__in=attached))
        return _teachers_q(e, assignments)
    if kind == "group_pupils":
        return _pupils_q(e, _group_pupil_ids(e, ids))
    if kind == "group_guardians":
        return _guardians_q(e, _group_pupil_ids(e, ids))
    if kind == "group_teachers":
        return _teachers_q(e, TeachingAssignment.objects.filter(group_id__in=ids, group__in=_current_groups(e)))
    if kind == "establishment_staff":
        return Q(pk__in=_members(e, Role.TEACHER, Role.STAFF))
    if kind == "establishment_teachers":
        return Q(pk__in=_members(e, Role.TEACHER))
    if kind == "establishment_pupils":
        return Q(pk__in=_members(e, Role.PUPIL))
    if kind == "establishment_guardians":
        return _guardians_q(e, None)
    if kind in MY_CLASSES_TYPES:
        if sender_id is None:
            return None
        pupils = _taught_pupil_ids(e, sender_id)
        if kind == "my_classes_pupils":
            return _pupils_q(e, pupils)
        return _guardians_q(e, pupils)
    return None


def resolve_q(addresses: Iterable[dict], *, establishment_id: int, sender_id: int | None = None) -> Q | None:
    by_type: dict[str, list[int]] = {}
    for address in addresses:
        address = normalise(address)
        by_type.setdefault(address["type"], []).append(address["id"])
    combined = None
    for kind in sorted(by_type):
        q = type_q(kind, by_type[kind], establishment_id=establishment_id, sender_id=sender_id)
        if q is not None:
            combined = q if combined is None else combined | q
    return combined


def resolve(addresses: Iterable[dict], *, establishment_id: int, sender_id: int | None = None) -> QuerySet:
    """The ids of the active people the addresses reach (each once), as one queryset (a subquery or a SELECT).

    `sender_id` is needed by the "my classes" addresses (the sender's own pupils); the sender is not excluded here
    (the delivery gives them their own copy already)."""
    q = resolve_q(addresses, establishment_id=establishment_id, sender_id=sender_id)
    if q is None:
        return User.objects.none().values_list("pk", flat=True)
    return User.objects.filter(q, is_active=True).values_list("pk", flat=True)


def split(addresses) -> dict[str, list[dict]]:
    """`{"to": [...], "cc": [...], "bcc": [...]}` normalised, each address once per message (the first list that
    names it wins: to, then cc, then bcc). AddressError on a malformed value."""
    if addresses is None:
        addresses = {}
    if not isinstance(addresses, dict):
        raise AddressError(_("Destinataires invalides."))
    seen: set[tuple[str, int]] = set()
    result: dict[str, list[dict]] = {}
    for name in LISTS:
        items = addresses.get(name) or []
        if not isinstance(items, list | tuple):
            raise AddressError(_("Destinataires invalides."))
        result[name] = []
        for item in items:
            address = normalise(item)
            if key(address) not in seen:
                seen.add(key(address))
                result[name].append(address)
    return result


# --- Labels ------------------------------------------------------------------------------------------------------

TYPE_LABELS = {
    "class_pupils": gettext_lazy("Élèves de %(name)s"),
    "class_guardians": gettext_lazy("Responsables de %(name)s"),
    "class_teachers": gettext_lazy("Professeurs de %(name)s"),
    "group_pupils": gettext_lazy("Élèves du groupe %(name)s"),
    "group_guardians": gettext_lazy("Responsables du groupe %(name)s"),
    "group_teachers": gettext_lazy("Professeurs du groupe %(name)s"),
    "establishment_staff": gettext_lazy("Tous les personnels de %(name)s"),
    "establishment_teachers": gettext_lazy("Tous les professeurs de %(name)s"),
    "establishment_pupils": gettext_lazy("Tous les élèves de %(name)s"),
    "establishment_guardians": gettext_lazy("Tous les responsables de %(name)s"),
    "my_classes_pupils": gettext_lazy("Les élèves de mes classes"),
    "my_classes_guardians": gettext_lazy("Les responsables des élèves de mes classes"),
}
# The same, as the recipients read them (the sender named).
SENT_LABELS = {
    "my_classes_pupils": gettext_lazy("Les élèves de ses classes (%(name)s)"),
    "my_classes_guardians": gettext_lazy("Les responsables des élèves de ses classes (%(name)s)"),
}


def labels(addresses: Iterable[dict], *, sender_name: str = "") -> list[str]:
    """The French label of each address, in order (one query per kind of thing named: people, classes, groups,
    establishments). A person is shown by name; something that no longer exists as « (supprimé) ». With
    `sender_name`, the labels are as recipients read them ("the classes of <sender>", not "my classes")."""
    from preau.directory.models import Establishment

    items = [normalise(a) for a in addresses]
    wanted: dict[str, set[int]] = {"person": set(), "class": set(), "group": set(), "establishment": set()}
    for a in items:
        if a["type"] == PERSON:
            wanted["person"].add(a["id"])
        elif a["type"] in CLASS_TYPES:
            wanted["class"].add(a["id"])
        elif a["type"] in GROUP_TYPES:
            wanted["group"].add(a["id"])
        elif a["type"] in ESTABLISHMENT_TYPES:
            wanted["establishment"].add(a["id"])
    names: dict[str, dict[int, str]] = {"person": {}, "class": {}, "group": {}, "establishment": {}}
    if wanted["person"]:
        for pk, first, last in User.objects.filter(pk__in=wanted["person"]).values_list("pk", "first_name",
                                                                                        "last_name"):
            names["person"][pk] = f"{first} {last}".strip()
    if wanted["class"]:
        names["class"] = dict(SchoolClass.objects.filter(pk__in=wanted["class"]).values_list("pk", "label"))
    if wanted["group"]:
        names["group"] = dict(TeachingGroup.objects.filter(pk__in=wanted["group"]).values_list("pk", "label"))
    if wanted["establishment"]:
        names["establishment"] = dict(Establishment.objects.filter(pk__in=wanted["establishment"])
                                      .values_list("pk", "name"))
    result = []
    for a in items:
        kind = a["type"]
        if kind in MY_CLASSES_TYPES:
            result.append(str(SENT_LABELS[kind]) % {"name": sender_name} if sender_name else str(TYPE_LABELS[kind]))
            continue
        family = ("person" if kind == PERSON else "class" if kind in CLASS_TYPES
                  else "group" if kind in GROUP_TYPES else "establishment")
        name = names[family].get(a["id"])
        if name is None:
            result.append(_("(supprimé)"))
        elif kind == PERSON:
            result.append(name)
        else:
            result.append(str(TYPE_LABELS[kind]) % {"name": name})
    return result


def label(address: dict) -> str:
    """The French label of one address, e.g. « Responsables de 5e B »."""
    return labels([address])[0]


def teachers_of_pupils_q(establishment_id: int, pupil_ids) -> Q:
    """Teachers who teach these pupils this year in the establishment: their classes' and their own groups'."""
    e = establishment_id
    classes = ClassEnrolment.objects.filter(pupil_id__in=pupil_ids,
                                            school_class__in=_current_classes(e)).values("school_class_id")
    groups = GroupMembership.objects.filter(pupil_id__in=pupil_ids, group__in=_current_groups(e)).values("group_id")
    return _teachers_q(e, TeachingAssignment.objects.filter(Q(school_class_id__in=classes) | Q(group_id__in=groups)))


def classmates_q(establishment_id: int, pupil_ids) -> Q:
    """Pupils of the current classes of these pupils (them included)."""
    e = establishment_id
    classes = ClassEnrolment.objects.filter(pupil_id__in=pupil_ids,
                                            school_class__in=_current_classes(e)).values("school_class_id")
    return _pupils_q(e, ClassEnrolment.objects.filter(school_class_id__in=classes).values("pupil_id"))


def classmates_guardians_q(establishment_id: int, pupil_ids) -> Q:
    """Guardians (messaging links) of the pupils of these pupils' current classes."""
    e = establishment_id
    classes = ClassEnrolment.objects.filter(pupil_id__in=pupil_ids,
                                            school_class__in=_current_classes(e)).values("school_class_id")
    return _guardians_q(e, ClassEnrolment.objects.filter(school_class_id__in=classes).values("pupil_id"))


def staff_q(establishment_id: int) -> Q:
    return Q(pk__in=_members(establishment_id, Role.STAFF))


def teaches_in(teacher_id: int, establishment_id: int) -> bool:
    return TeachingAssignment.objects.filter(teacher_id=teacher_id, establishment_id=establishment_id,
                                             school_year__is_current=True).exists()


def current_class_ids(establishment_id: int, ids) -> set[int]:
    return set(_current_classes(establishment_id).filter(pk__in=ids).values_list("pk", flat=True))


def current_group_ids(establishment_id: int, ids) -> set[int]:
    return set(_current_groups(establishment_id).filter(pk__in=ids).values_list("pk", flat=True))
