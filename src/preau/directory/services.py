"""Writes to the directory: establishments, school years, classes, groups, people, roles, guardian links.

Every function is keyword-only with `actor` first, runs in one transaction, asks the access policy and raises
PermissionDenied when the actor may not do it. Business-rule violations raise ValidationError (with French
messages keyed by field when a form should show them next to a field). Role, account and guardian-link changes
are written to the audit log.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from preau.access import policy
from preau.accounts.models import User
from preau.audit.services import Action, record

from .models import (
    ClassEnrolment,
    Establishment,
    GroupMembership,
    GuardianLink,
    Mef,
    Membership,
    Period,
    Role,
    SchoolClass,
    SchoolYear,
    Service,
    StaffFunction,
    Subject,
    TeachingAssignment,
    TeachingGroup,
)
from .usernames import suggest_username

ESTABLISHMENT_FIELDS = ("uai", "name", "kind", "address", "postal_code", "city", "period_scheme",
                        "require_staff_2fa")
PERSON_FIELDS = ("first_name", "last_name", "email", "phone", "birth_date", "ine")
UAI_RE = re.compile(r"^\d{7}[A-Z]$")


# --- Guards ---------------------------------------------------------------------------------------------------

@contextmanager
def _unique(message):
    """Turn a unique-constraint violation into `message` (a ValidationError). The services check uniqueness
    first for a friendly error; this covers the race they cannot see: the same form submitted twice at once
    (a double click) would otherwise end in an IntegrityError, a 500, for the second request."""
    try:
        yield
    except IntegrityError:
        raise ValidationError(message) from None


def _require_global_admin(actor: policy.Actor) -> None:
    if actor is None or not actor.is_global_admin:
        raise PermissionDenied


def _require_admin_of(actor: policy.Actor, establishment_id: int) -> None:
    if actor is None or not policy.can_administer(actor, establishment_id):
        raise PermissionDenied


def _require_admin_of_person(actor: policy.Actor, person: User, establishment_id: int) -> None:
    _require_admin_of(actor, establishment_id)
    if not policy.can_administer_person(actor, person):
        raise PermissionDenied


def archived_year_message() -> str:
    return _("Cette année scolaire est archivée : ses classes et groupes ne peuvent plus être modifiés.")


def _require_open_year(school_year_id: int | None, message: str | None = None) -> None:
    """An archived year (see directory.rollover) is history, kept read-only: its classes, groups, enrolments,
    group memberships, teaching services and periods are not written any more. Read from the database rather
    than from the caller's object, which may have been loaded before the rollover."""
    if school_year_id is not None and SchoolYear.objects.filter(pk=school_year_id, is_archived=True).exists():
        raise ValidationError(message or archived_year_message())


def _require_open_year_dates(school_year: SchoolYear) -> None:
    _require_open_year(school_year.pk, _("Cette année scolaire est archivée : ses dates et ses périodes ne "
                                         "peuvent plus être modifiées."))


# --- Establishments -------------------------------------------------------------------------------------------

def normalise_uai(value: str) -> str:
    return (value or "").strip().upper()


def _check_uai(uai: str, *, exclude_pk: int | None = None) -> None:
    if not UAI_RE.match(uai):
        raise ValidationError({"uai": _("Le code UAI comporte 7 chiffres suivis d'une lettre (ex. 0690001A).")})
    if Establishment.objects.filter(uai=uai).exclude(pk=exclude_pk).exists():
        raise ValidationError({"uai": _("Un établissement porte déjà ce code UAI.")})


def establishment_create(*, actor: policy.Actor, uai: str, name: str, kind: str, address: str = "",
                         postal_code: str = "", city: str = "",
                         period_scheme: str = Establishment.PeriodScheme.TRIMESTERS,
                         require_staff_2fa: bool = False) -> Establishment:
    _require_global_admin(actor)
    uai = normalise_uai(uai)
    _check_uai(uai)
    with _unique({"uai": _("Un établissement porte déjà ce code UAI.")}), transaction.atomic():
        establishment = Establishment.objects.create(
            uai=uai, name=name.strip(), kind=kind, address=address, postal_code=postal_code, city=city,
            period_scheme=period_scheme, require_staff_2fa=require_staff_2fa)
        record(Action.ACCOUNT_CHANGED, actor=actor.user, establishment_id=establishment.pk,
               target="directory.establishment", change="created", uai=uai)
    return establishment


def establishment_update(*, actor: policy.Actor, establishment: Establishment, **fields) -> Establishment:
    _require_admin_of(actor, establishment.pk)
    unknown = set(fields) - set(ESTABLISHMENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown establishment fields: {sorted(unknown)}")
    if "uai" in fields:
        fields["uai"] = normalise_uai(fields["uai"])
        _check_uai(fields["uai"], exclude_pk=establishment.pk)
    changed = [name for name, value in fields.items() if getattr(establishment, name) != value]
    if not changed:
        return establishment
    with _unique({"uai": _("Un établissement porte déjà ce code UAI.")}), transaction.atomic():
        for name in changed:
            setattr(establishment, name, fields[name])
        establishment.save(update_fields=changed)
        record(Action.ACCOUNT_CHANGED, actor=actor.user, establishment_id=establishment.pk,
               target="directory.establishment", change="updated", fields=changed)
    return establishment


def establishment_set_active(*, actor: policy.Actor, establishment: Establishment, active: bool) -> Establishment:
    _require_global_admin(actor)
    with transaction.atomic():
        establishment.is_active = active
        establishment.save(update_fields=["is_active"])
        record(Action.ACCOUNT_CHANGED, actor=actor.user, establishment_id=establishment.pk,
               target="directory.establishment", change="activated" if active else "deactivated")
    return establishment


# --- School years and periods ---------------------------------------------------------------------------------

def split_periods(start: datetime.date, end: datetime.date, scheme: str) -> list[tuple[str, datetime.date,
                                                                                       datetime.date]]:
    """Default periods for a school year: equal slices of the year, to be adjusted by hand."""
    count, word = (2, _("Semestre")) if scheme == Establishment.PeriodScheme.SEMESTERS else (3, _("Trimestre"))
    total = (end - start).days + 1
    periods = []
    current = start
    for index in range(1, count + 1):
        last = end if index == count else start + datetime.timedelta(days=round(total * index / count) - 1)
        periods.append((f"{word} {index}", current, last))
        if index < count:  # not after the last one: a year ending on 9999-12-31 would overflow (a 500)
            current = last + datetime.timedelta(days=1)
    return periods


def create_default_periods(school_year: SchoolYear, scheme: str) -> list[Period]:
    """Write a new year's periods as `split_periods` cuts them."""
    return Period.objects.bulk_create([
        Period(school_year=school_year, index=index, label=label, start=start, end=end)
        for index, (label, start, end) in enumerate(split_periods(school_year.start, school_year.end, scheme),
                                                    start=1)
    ])


def _check_year_dates(establishment: Establishment, label: str, start, end, exclude_pk=None) -> None:
    errors = {}
    if not re.match(r"^\d{4}-\d{4}$", label or ""):
        errors["label"] = _("Le libellé s'écrit sous la forme 2026-2027.")
    elif int(label[5:]) != int(label[:4]) + 1:
        errors["label"] = _("Les deux années du libellé doivent se suivre (ex. 2026-2027).")
    elif SchoolYear.objects.filter(establishment=establishment, label=label).exclude(pk=exclude_pk).exists():
        errors["label"] = _("Cette année scolaire existe déjà pour l'établissement.")
    if start and end and end <= start:
        errors["end"] = _("La date de fin doit être postérieure à la date de début.")
    if errors:
        raise ValidationError(errors)


def school_year_create(*, actor: policy.Actor, establishment: Establishment, label: str, start: datetime.date,
                       end: datetime.date, make_current: bool = False) -> SchoolYear:
    _require_admin_of(actor, establishment.pk)
    label = (label or "").strip()
    _check_year_dates(establishment, label, start, end)
    with _unique({"label": _("Cette année scolaire existe déjà pour l'établissement.")}), transaction.atomic():
        year = SchoolYear.objects.create(establishment=establishment, label=label, start=start, end=end)
        create_default_periods(year, establishment.period_scheme)
        if make_current:
            _set_current(year)
        record(Action.ACCOUNT_CHANGED, actor=actor.user, establishment_id=establishment.pk,
               target="directory.school_year", change="created", label=label)
    return year


def school_year_update(*, actor: policy.Actor, school_year: SchoolYear, label: str, start, end) -> SchoolYear:
    _require_admin_of(actor, school_year.establishment_id)
    _require_open_year_dates(school_year)
    label = (label or "").strip()
    _check_year_dates(school_year.establishment, label, start, end, exclude_pk=school_year.pk)
    with _unique({"label": _("Cette année scolaire existe déjà pour l'établissement.")}), transaction.atomic():
        school_year.label, school_year.start, school_year.end = label, start, end
        school_year.save(update_fields=["label", "start", "end"])
    return school_year


def _set_current(year: SchoolYear) -> None:
    SchoolYear.objects.filter(establishment_id=year.establishment_id, is_current=True).exclude(pk=year.pk).update(
        is_current=False)
    if not year.is_current:
        year.is_current = True
        year.is_archived = False
        year.save(update_fields=["is_current", "is_archived"])


def school_year_set_current(*, actor: policy.Actor, school_year: SchoolYear) -> SchoolYear:
    """Make a year the current one. An archived year made current again is reopened (writable): the way back
    from a rollover made by mistake."""
    _require_admin_of(actor, school_year.establishment_id)
    with transaction.atomic():
        reopened = SchoolYear.objects.filter(pk=school_year.pk, is_archived=True).exists()
        _set_current(school_year)
        record(Action.ACCOUNT_CHANGED, actor=actor.user, establishment_id=school_year.establishment_id,
               target="directory.school_year", change="reopened" if reopened else "set_current",
               label=school_year.label)
    return school_year


def periods_update(*, actor: policy.Actor, school_year: SchoolYear,
                   periods: list[tuple[Period, str, datetime.date, datetime.date]]) -> None:
    """Rewrite the labels and dates of a year's periods: in order, without overlap, inside the year."""
    _require_admin_of(actor, school_year.establishment_id)
    _require_open_year_dates(school_year)
    errors = []
    previous_end = None
    for period, label, start, end in sorted(periods, key=lambda row: row[0].index):
        if period.school_year_id != school_year.pk:
            raise PermissionDenied
        if end < start:
            errors.append(_("%(label)s : la date de fin précède la date de début.") % {"label": label})
        if start < school_year.start or end > school_year.end:
            errors.append(_("%(label)s : les dates doivent être comprises dans l'année scolaire.") % {"label": label})
        if previous_end is not None and start <= previous_end:
            errors.append(_("%(label)s : la période chevauche la précédente.") % {"label": label})
        previous_end = end
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for period, label, start, end in periods:
            period.label, period.start, period.end = label.strip(), start, end
            period.save(update_fields=["label", "start", "end"])


# --- Classes and groups ---------------------------------------------------------------------------------------

def _check_year_of(establishment_id: int, school_year: SchoolYear) -> None:
    if school_year.establishment_id != establishment_id:
        raise PermissionDenied


def class_create(*, actor: policy.Actor, school_year: SchoolYear, code: str, label: str, level: str = "",
                 mef: Mef | None = None) -> SchoolClass:
    _require_admin_of(actor, school_year.establishment_id)
    _require_open_year(school_year.pk)
    code = code.strip()
    if SchoolClass.objects.filter(school_year=school_year, code=code).exists():
        raise ValidationError({"code": _("Une classe porte déjà ce code pour cette année scolaire.")})
    with _unique({"code": _("Une classe porte déjà ce code pour cette année scolaire.")}), transaction.atomic():
        return SchoolClass.objects.create(school_year=school_year, establishment_id=school_year.establishment_id,
                                          code=code, label=label.strip(), level=level.strip(), mef=mef)


def class_update(*, actor: policy.Actor, school_class: SchoolClass, code: str, label: str, level: str = "",
                 mef: Mef | None = None) -> SchoolClass:
    _require_admin_of(actor, school_class.establishment_id)
    _require_open_year(school_class.school_year_id)
    code = code.strip()
    if SchoolClass.objects.filter(school_year_id=school_class.school_year_id, code=code).exclude(
            pk=school_class.pk).exists():
        raise ValidationError({"code": _("Une classe porte déjà ce code pour cette année scolaire.")})
    with _unique({"code": _("Une classe porte déjà ce code pour cette année scolaire.")}), transaction.atomic():
        school_class.code, school_class.label, school_class.level, school_class.mef = (
            code, label.strip(), level.strip(), mef)
        school_class.save(update_fields=["code", "label", "level", "mef"])
    return school_class


def class_delete(*, actor: policy.Actor, school_class: SchoolClass) -> None:
    _require_admin_of(actor, school_class.establishment_id)
    _require_open_year(school_class.school_year_id)
    with transaction.atomic():
        if school_class.enrolments.exists() or school_class.assignments.exists():
            raise ValidationError(_("Une classe qui a des élèves ou des enseignants ne peut pas être supprimée."))
        school_class.delete()


def _check_group_classes(school_year: SchoolYear, classes: Iterable[SchoolClass]) -> list[SchoolClass]:
    classes = list(classes)
    if any(c.school_year_id != school_year.pk for c in classes):
        raise ValidationError({"classes": _("Les classes doivent appartenir à l'année scolaire du groupe.")})
    return classes


def group_create(*, actor: policy.Actor, school_year: SchoolYear, code: str, label: str,
                 kind: str = TeachingGroup.Kind.OTHER, classes: Iterable[SchoolClass] = ()) -> TeachingGroup:
    _require_admin_of(actor, school_year.establishment_id)
    _require_open_year(school_year.pk)
    code = code.strip()
    classes = _check_group_classes(school_year, classes)
    if TeachingGroup.objects.filter(school_year=school_year, code=code).exists():
        raise ValidationError({"code": _("Un groupe porte déjà ce code pour cette année scolaire.")})
    with _unique({"code": _("Un groupe porte déjà ce code pour cette année scolaire.")}), transaction.atomic():
        group = TeachingGroup.objects.create(school_year=school_year, establishment_id=school_year.establishment_id,
                                             code=code, label=label.strip(), kind=kind)
        group.classes.set(classes)
    return group


def group_update(*, actor: policy.Actor, group: TeachingGroup, code: str, label: str, kind: str,
                 classes: Iterable[SchoolClass]) -> TeachingGroup:
    _require_admin_of(actor, group.establishment_id)
    _require_open_year(group.school_year_id)
    code = code.strip()
    classes = _check_group_classes(group.school_year, classes)
    if TeachingGroup.objects.filter(school_year_id=group.school_year_id, code=code).exclude(pk=group.pk).exists():
        raise ValidationError({"code": _("Un groupe porte déjà ce code pour cette année scolaire.")})
    with _unique({"code": _("Un groupe porte déjà ce code pour cette année scolaire.")}), transaction.atomic():
        group.code, group.label, group.kind = code, label.strip(), kind
        group.save(update_fields=["code", "label", "kind"])
        group.classes.set(classes)
    return group


def group_delete(*, actor: policy.Actor, group: TeachingGroup) -> None:
    _require_admin_of(actor, group.establishment_id)
    _require_open_year(group.school_year_id)
    with transaction.atomic():
        if group.members.exists() or group.assignments.exists():
            raise ValidationError(_("Un groupe qui a des élèves ou des enseignants ne peut pas être supprimé."))
        group.delete()


def group_set_members(*, actor: policy.Actor, group: TeachingGroup, pupils: Iterable[User]) -> None:
    """Replace the pupils of a group; they must be enrolled in the establishment this year."""
    _require_admin_of(actor, group.establishment_id)
    _require_open_year(group.school_year_id)
    wanted = {p.pk for p in pupils}
    allowed = set(ClassEnrolment.objects.filter(
        pupil_id__in=wanted, school_class__school_year_id=group.school_year_id).values_list("pupil_id", flat=True))
    if wanted - allowed:
        raise ValidationError(_("Seuls les élèves inscrits dans une classe de la même année peuvent être ajoutés."))
    with transaction.atomic():
        current = set(group.members.values_list("pupil_id", flat=True))
        GroupMembership.objects.filter(group=group, pupil_id__in=current - wanted).delete()
        GroupMembership.objects.bulk_create([GroupMembership(group=group, pupil_id=pk) for pk in wanted - current])


# --- Subjects -------------------------------------------------------------------------------------------------

def subject_create(*, actor: policy.Actor, establishment: Establishment, code: str, label: str,
                   short_label: str = "") -> Subject:
    _require_admin_of(actor, establishment.pk)
    code = code.strip().upper()
    if Subject.objects.filter(establishment=establishment, code=code).exists():
        raise ValidationError({"code": _("Une matière porte déjà ce code dans l'établissement.")})
    with _unique({"code": _("Une matière porte déjà ce code dans l'établissement.")}), transaction.atomic():
        return Subject.objects.create(establishment=establishment, code=code, label=label.strip(),
                                      short_label=short_label.strip())


# --- People ---------------------------------------------------------------------------------------------------

def _check_functions(role: str, functions: Iterable[str]) -> list[str]:
    functions = list(dict.fromkeys(functions or []))
    if role != Role.STAFF:
        return []
    unknown = set(functions) - set(StaffFunction.values)
    if unknown:
        raise ValidationError({"functions": _("Fonction inconnue.")})
    return functions


def _current_class_of(establishment_id: int, school_class: SchoolClass | None) -> None:
    if school_class is not None and school_class.establishment_id != establishment_id:
        raise PermissionDenied


def person_create(*, actor: policy.Actor, establishment: Establishment, first_name: str, last_name: str,
                  role: str, username: str = "", email: str = "", phone: str = "",
                  birth_date: datetime.date | None = None, ine: str = "", functions: Iterable[str] = (),
                  school_class: SchoolClass | None = None) -> User:
    """Create a person with one role in the establishment (and a class for a pupil). No password: the person
    activates the account with a code issued afterwards."""
    _require_admin_of(actor, establishment.pk)
    if role not in Role.values:
        raise ValidationError({"role": _("Rôle inconnu.")})
    functions = _check_functions(role, functions)
    _current_class_of(establishment.pk, school_class)
    if school_class is not None:
        _require_open_year(school_class.school_year_id)
    if role == Role.PUPIL and school_class is None:
        raise ValidationError({"school_class": _("Un élève doit être inscrit dans une classe.")})
    username = (username or "").strip().lower()
    if username and User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("Cet identifiant est déjà utilisé.")})
    try:
        with transaction.atomic():
            person = User.objects.create_user(
                username=username or suggest_username(first_name, last_name), first_name=first_name.strip(),
                last_name=last_name.strip(), email=email.strip(), phone=phone.strip(), birth_date=birth_date,
                ine=ine.strip())
            Membership.objects.create(user=person, establishment=establishment, role=role, functions=functions)
            if role == Role.PUPIL:
                ClassEnrolment.objects.create(pupil=person, school_class=school_class)
            record(Action.ACCOUNT_CHANGED, actor=actor.user, subject=person, establishment_id=establishment.pk,
                   target="directory.person", change="created")
            record(Action.ROLE_GRANTED, actor=actor.user, subject=person, establishment_id=establishment.pk,
                   target="directory.membership", role=role, functions=functions)
    except IntegrityError:
        raise ValidationError({"username": _("Cet identifiant est déjà utilisé.")}) from None
    return person


def person_update(*, actor: policy.Actor, establishment: Establishment, person: User, **fields) -> User:
    _require_admin_of_person(actor, person, establishment.pk)
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise TypeError(f"Unknown person fields: {sorted(unknown)}")
    changed = [name for name, value in fields.items() if getattr(person, name) != value]
    if not changed:
        return person
    with transaction.atomic():
        for name in changed:
            setattr(person, name, fields[name])
        person.save(update_fields=changed)
        record(Action.ACCOUNT_CHANGED, actor=actor.user, subject=person, establishment_id=establishment.pk,
               target="directory.person", change="updated", fields=changed)
    return person


def person_set_active(*, actor: policy.Actor, establishment: Establishment, person: User, active: bool) -> User:
    """Deactivate a person in this establishment (their roles here); the account itself is closed when no active
    role remains anywhere. Reactivating restores the roles here and opens the account."""
    _require_admin_of_person(actor, person, establishment.pk)
    if person.pk == actor.id and not active:
        raise ValidationError(_("Vous ne pouvez pas désactiver votre propre compte."))
    with transaction.atomic():
        Membership.objects.filter(user=person, establishment=establishment).update(is_active=active,
                                                                                   leaving_since=None)
        account_active = active or Membership.objects.filter(user=person, is_active=True).exists()
        if person.is_active != account_active:
            person.is_active = account_active
            person.save(update_fields=["is_active"])
        record(Action.ACCOUNT_CHANGED, actor=actor.user, subject=person, establishment_id=establishment.pk,
               target="directory.person", change="reactivated" if active else "deactivated",
               account_active=account_active)
    return person


def membership_grant(*, actor: policy.Actor, establishment: Establishment, person: User, role: str,
                     functions: Iterable[str] = ()) -> Membership:
    """Give a role (or, for an existing staff role, replace its functions)."""
    _require_admin_of_person(actor, person, establishment.pk)
    if role not in Role.values:
        raise ValidationError({"role": _("Rôle inconnu.")})
    functions = _check_functions(role, functions)
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            user=person, establishment=establishment, role=role, defaults={"functions": functions})
        if not created:
            if role != Role.STAFF or membership.functions == functions:
                raise ValidationError({"role": _("Cette personne a déjà ce rôle dans l'établissement.")})
            membership.functions = functions
            membership.save(update_fields=["functions"])
        record(Action.ROLE_GRANTED, actor=actor.user, subject=person, establishment_id=establishment.pk,
               target="directory.membership", role=role, functions=functions,
               change="granted" if created else "functions")
    return membership


def membership_revoke(*, actor: policy.Actor, membership: Membership) -> None:
    person = membership.user
    _require_admin_of_person(actor, person, membership.establishment_id)
    if membership.role == Role.ENT_ADMIN and person.pk == actor.id:
        raise ValidationError(_("Vous ne pouvez pas retirer votre propre rôle d'administrateur."))
    with transaction.atomic():
        if not Membership.objects.filter(user=person, establishment_id=membership.establishment_id).exclude(
                pk=membership.pk).exists():
            raise ValidationError(_("C'est le dernier rôle de cette personne dans l'établissement : "
                                    "désactivez-la plutôt."))
        # Archived years keep their enrolments and services: they are the history of grades and logbooks.
        if membership.role == Role.PUPIL:
            ClassEnrolment.objects.filter(pupil=person, school_class__establishment_id=membership.establishment_id,
                                          school_class__school_year__is_archived=False).delete()
            GroupMembership.objects.filter(pupil=person, group__establishment_id=membership.establishment_id,
                                           group__school_year__is_archived=False).delete()
        if membership.role == Role.TEACHER:
            TeachingAssignment.objects.filter(teacher=person, establishment_id=membership.establishment_id,
                                              school_year__is_archived=False).delete()
        membership.delete()
        record(Action.ROLE_REVOKED, actor=actor.user, subject=person, establishment_id=membership.establishment_id,
               target="directory.membership", role=membership.role)


def enrolment_set(*, actor: policy.Actor, pupil: User, school_class: SchoolClass) -> ClassEnrolment:
    """Put a pupil in a class, leaving any other class of the same school year."""
    _require_admin_of_person(actor, pupil, school_class.establishment_id)
    _require_open_year(school_class.school_year_id)
    if not Membership.objects.filter(user=pupil, establishment_id=school_class.establishment_id,
                                     role=Role.PUPIL).exists():
        raise ValidationError({"school_class": _("Cette personne n'est pas élève dans l'établissement.")})
    with transaction.atomic():
        ClassEnrolment.objects.filter(pupil=pupil, school_class__school_year_id=school_class.school_year_id).exclude(
            school_class=school_class).delete()
        enrolment, _created = ClassEnrolment.objects.get_or_create(pupil=pupil, school_class=school_class)
        record(Action.ACCOUNT_CHANGED, actor=actor.user, subject=pupil, establishment_id=school_class.establishment_id,
               target="directory.enrolment", change="class", school_class=school_class.code)
    return enrolment


# --- Guardian links -------------------------------------------------------------------------------------------

def _check_denied(denied: Iterable[str]) -> list[str]:
    denied = list(dict.fromkeys(denied or []))
    if set(denied) - set(Service.values):
        raise ValidationError({"denied_services": _("Service inconnu.")})
    return denied


def guardian_link_create(*, actor: policy.Actor, establishment: Establishment, guardian: User, pupil: User,
                         relation: str, legal_authority: bool = True, receives_correspondence: bool = True,
                         contact_order: int = 1, denied_services: Iterable[str] = ()) -> GuardianLink:
    _require_admin_of_person(actor, pupil, establishment.pk)
    _require_admin_of_person(actor, guardian, establishment.pk)
    roles = set(Membership.objects.filter(user__in=[guardian, pupil], establishment=establishment)
                .values_list("user_id", "role"))
    if (pupil.pk, Role.PUPIL) not in roles:
        raise ValidationError({"pupil": _("Cette personne n'est pas élève dans l'établissement.")})
    if (guardian.pk, Role.GUARDIAN) not in roles:
        raise ValidationError({"guardian": _("Cette personne n'est pas responsable légal dans l'établissement.")})
    if guardian.pk == pupil.pk:
        raise ValidationError({"guardian": _("Un élève ne peut pas être son propre responsable.")})
    if GuardianLink.objects.filter(guardian=guardian, pupil=pupil).exists():
        raise ValidationError({"guardian": _("Ce lien existe déjà.")})
    denied = _check_denied(denied_services)
    with _unique({"guardian": _("Ce lien existe déjà.")}), transaction.atomic():
        link = GuardianLink.objects.create(
            guardian=guardian, pupil=pupil, relation=relation, legal_authority=legal_authority,
            receives_correspondence=receives_correspondence, contact_order=contact_order, denied_services=denied)
        record(Action.GUARDIAN_LINK_CHANGED, actor=actor.user, subject=pupil, establishment_id=establishment.pk,
               target="directory.guardian_link", change="created", guardian=guardian.pk, relation=relation,
               legal_authority=legal_authority, denied_services=denied)
    return link


def guardian_link_update(*, actor: policy.Actor, establishment: Establishment, link: GuardianLink, relation: str,
                         legal_authority: bool, receives_correspondence: bool, contact_order: int,
                         denied_services: Iterable[str]) -> GuardianLink:
    _require_admin_of_person(actor, link.pupil, establishment.pk)
    denied = _check_denied(denied_services)
    with transaction.atomic():
        before = {"relation": link.relation, "legal_authority": link.legal_authority,
                  "receives_correspondence": link.receives_correspondence, "contact_order": link.contact_order,
                  "denied_services": list(link.denied_services or [])}
        link.relation, link.legal_authority, link.receives_correspondence = (
            relation, legal_authority, receives_correspondence)
        link.contact_order, link.denied_services = contact_order, denied
        link.save(update_fields=["relation", "legal_authority", "receives_correspondence", "contact_order",
                                 "denied_services"])
        record(Action.GUARDIAN_LINK_CHANGED, actor=actor.user, subject=link.pupil, establishment_id=establishment.pk,
               target="directory.guardian_link", change="updated", guardian=link.guardian_id, before=before,
               after={"relation": relation, "legal_authority": legal_authority,
                      "receives_correspondence": receives_correspondence, "contact_order": contact_order,
                      "denied_services": denied})
    return link


def guardian_link_delete(*, actor: policy.Actor, establishment: Establishment, link: GuardianLink) -> None:
    _require_admin_of_person(actor, link.pupil, establishment.pk)
    with transaction.atomic():
        record(Action.GUARDIAN_LINK_CHANGED, actor=actor.user, subject=link.pupil, establishment_id=establishment.pk,
               target="directory.guardian_link", change="deleted", guardian=link.guardian_id,
               relation=link.relation)
        link.delete()


# --- Teaching assignments -------------------------------------------------------------------------------------

def assignment_create(*, actor: policy.Actor, teacher: User, subject: Subject,
                      school_class: SchoolClass | None = None, group: TeachingGroup | None = None,
                      is_main_teacher: bool = False) -> TeachingAssignment:
    target = school_class or group
    if target is None or (school_class is not None and group is not None):
        raise ValidationError({"target": _("Choisissez une classe ou un groupe.")})
    establishment_id = target.establishment_id
    _require_admin_of_person(actor, teacher, establishment_id)
    if subject.establishment_id != establishment_id:
        raise PermissionDenied
    _require_open_year(target.school_year_id)
    if not Membership.objects.filter(user=teacher, establishment_id=establishment_id, role=Role.TEACHER).exists():
        raise ValidationError({"teacher": _("Cette personne n'est pas enseignante dans l'établissement.")})
    if TeachingAssignment.objects.filter(teacher=teacher, subject=subject, school_class=school_class,
                                         group=group).exists():
        raise ValidationError({"target": _("Ce service d'enseignement existe déjà.")})
    with _unique({"target": _("Ce service d'enseignement existe déjà.")}), transaction.atomic():
        assignment = TeachingAssignment.objects.create(
            teacher=teacher, establishment_id=establishment_id, school_year_id=target.school_year_id,
            subject=subject, school_class=school_class, group=group, is_main_teacher=is_main_teacher)
        record(Action.ROLE_GRANTED, actor=actor.user, subject=teacher, establishment_id=establishment_id,
               target="directory.assignment", subject_code=subject.code,
               school_class=school_class.code if school_class else None, group=group.code if group else None)
    return assignment


def assignment_delete(*, actor: policy.Actor, assignment: TeachingAssignment) -> None:
    _require_admin_of_person(actor, assignment.teacher, assignment.establishment_id)
    _require_open_year(assignment.school_year_id)
    with transaction.atomic():
        record(Action.ROLE_REVOKED, actor=actor.user, subject=assignment.teacher,
               establishment_id=assignment.establishment_id, target="directory.assignment",
               subject_code=assignment.subject.code)
        assignment.delete()
