"""What every directory importer shares: the record loop, lookups, and writing people into the directory.

A format's importer (aaf.py, siecle.py, sts.py, be1d.py, csvgeneric.py) subclasses `DirectoryImporter`: it reads
its files into records and hands them to `process()` with a handler that applies one record through the helpers
below. Each record runs in its own savepoint inside batches of `batch_size` records committed together: a bad
record is rejected (one report line), the rest goes on, nothing is half-written. See docs/imports.md.
"""

from __future__ import annotations

import csv
import datetime
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from preau.accounts.models import User
from preau.directory.models import (
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
    Subject,
    TeachingAssignment,
    TeachingGroup,
)
from preau.directory.services import split_periods
from preau.directory.usernames import fold, suggest_username

from .models import NationalSubject
from .report import LEAVING, Report

DEFAULT_LEAVING_GRACE_DAYS = 30
UAI_RE = re.compile(r"^\d{7}[A-Z]$")

# Report kinds and their French labels, in report order.
LABELS = {
    "establishments": "Établissements",
    "school_years": "Années scolaires",
    "mefs": "MEF",
    "national_subjects": "Matières (nomenclature nationale)",
    "subjects": "Matières des établissements",
    "classes": "Classes",
    "groups": "Groupes",
    "staff": "Personnels et enseignants",
    "pupils": "Élèves",
    "guardians": "Responsables",
    "links": "Liens responsable–élève",
    "assignments": "Services d'enseignement",
}
STAFF_ROLES = (Role.TEACHER, Role.STAFF)
# Report kind → the roles whose memberships a full import of that kind manages.
ROLES_OF_KIND = {"staff": STAFF_ROLES, "pupils": (Role.PUPIL,), "guardians": (Role.GUARDIAN,)}


def leaving_grace_days() -> int:
    return int(getattr(settings, "PREAU_IMPORT_LEAVING_GRACE_DAYS", DEFAULT_LEAVING_GRACE_DAYS))


def parse_date(value: str) -> datetime.date:
    """A calendar date in one of the national exports' spellings; ValueError otherwise."""
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%Y%m%d", "%d-%m-%Y"):
        try:
            return datetime.datetime.strptime(value.strip(), pattern).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise ValueError(value)


class Rejected(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The whole record is rejected: its savepoint is rolled back and one report line says why."""

    def __init__(self, attribute: str, reason: str):
        super().__init__(reason)
        self.attribute = attribute
        self.reason = reason


class Skipped(Exception):  # noqa: N818 - a control-flow signal
    """The record is left aside without a report line (already reported, or not for this pass)."""


class FileUnreadable(Exception):  # noqa: N818 - raised by a format's record reader
    """The file cannot be read from here on; `reason` is in French."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RunAborted(Exception):  # noqa: N818 - stops the whole run; `reason` is in French
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# What a record reader may raise when the file itself breaks (truncated, not well-formed, undecodable).
READ_ERRORS = (FileUnreadable, etree.XMLSyntaxError, OSError, UnicodeDecodeError, csv.Error)


def read_error_reason(exc: Exception) -> str:
    if isinstance(exc, FileUnreadable):
        return exc.reason
    if isinstance(exc, etree.XMLSyntaxError):
        return _("Fichier XML illisible à partir d'ici (ligne %(line)s) : %(error)s. Les enregistrements "
                 "précédents ont été importés, les suivants non.") % {"line": exc.lineno, "error": exc.msg}
    if isinstance(exc, UnicodeDecodeError):
        return _("Encodage des caractères illisible à partir d'ici (%(encoding)s, octet %(position)d). Les "
                 "enregistrements précédents ont été importés, les suivants non.") % {
            "encoding": exc.encoding, "position": exc.start}
    if isinstance(exc, csv.Error):
        return _("Fichier CSV illisible à partir d'ici : %(error)s.") % {"error": exc}
    return _("Fichier illisible : %(error)s.") % {"error": exc}


class DirectoryImporter:
    batch_size = 500
    labels = LABELS
    # The feed's name, stamped on the memberships it writes (Membership.source): its kind code in kinds.py.
    source = ""

    def __init__(self, report: Report, *, today: datetime.date | None = None,
                 establishment: Establishment | None = None, options: dict | None = None,
                 progress: Callable[[int, str], None] | None = None):
        self.report = report
        self.today = today or timezone.localdate()
        self.establishment = establishment
        self.options = options or {}
        self.progress = progress
        self.records_done = 0
        self.file = ""
        self.number: int | None = None
        self._pending_counts: list[tuple[str, str]] = []
        self._pending_rejections: list[tuple[str, str]] = []
        # For full imports: join keys listed and establishment ids covered, per report kind; kinds with a bad file.
        self._seen: dict[str, set[str]] = defaultdict(set)
        self._seen_at: dict[str, set[tuple[str, int]]] = defaultdict(set)
        self._covered: dict[str, set[int]] = defaultdict(set)
        self.broken_kinds: set[str] = set()
        self._reset_caches()

    def run(self, paths: Iterable[str | Path]) -> Report:
        raise NotImplementedError

    # --- Caches (cleared whenever a savepoint is rolled back, so they never hold rolled-back rows) -------------

    def _reset_caches(self) -> None:
        self._establishments: dict[str, Establishment | None] = {}
        self._years: dict[int, SchoolYear] = {}
        self._classes: dict[tuple[int, str], SchoolClass] = {}
        self._groups: dict[tuple[int, str], TeachingGroup] = {}
        self._subjects: dict[tuple[int, str], Subject] = {}
        self._mefs: dict[str, Mef | None] = {}

    # --- The record loop -------------------------------------------------------------------------------------

    def process(self, file: str, records: Iterable, handler: Callable, *, kind: str = "",
                report_errors: bool = True) -> bool:
        """Apply handler to each (number, record) of records, batch by batch. False when the file broke off."""
        self.file = file
        iterator = iter(records)
        last = 0
        while True:
            with transaction.atomic():
                self._check_years_still_current()
                for _index in range(self.batch_size):
                    try:
                        number, record = next(iterator)
                    except StopIteration:
                        self._report_progress()
                        return True
                    except READ_ERRORS as exc:
                        self.broken_kinds.add(kind or file)
                        if report_errors:
                            self.report.reject(file, last + 1 if last else None, "", read_error_reason(exc))
                        self._report_progress()
                        return False
                    last = number
                    self._apply(file, number, record, handler)
                    self.records_done += 1
            self._report_progress()

    def _check_years_still_current(self) -> None:
        """A year rollover while the run goes on archives the year its classes belong to: stop rather than write
        into a read-only year (one query per batch)."""
        if self._years and SchoolYear.objects.filter(pk__in=[year.pk for year in self._years.values()],
                                                     is_current=False).exists():
            raise RunAborted(_(
                "L'année scolaire a été basculée pendant l'import : import arrêté pour ne rien écrire dans l'année "
                "archivée. Ce qui a été enregistré avant reste ; relancez l'import, il remplira la nouvelle année."))

    def _report_progress(self) -> None:
        if self.progress is not None:
            self.progress(self.records_done, self.file)

    def _apply(self, file: str, number: int, record, handler: Callable) -> None:
        self.number = number
        self._pending_counts, self._pending_rejections = [], []
        try:
            with transaction.atomic():
                handler(record)
        except Skipped:
            self._reset_caches()
            return
        except Rejected as exc:
            self._reset_caches()
            self._flush_rejections(file, number)
            self.report.reject(file, number, exc.attribute, exc.reason)
            return
        except (DatabaseError, ValidationError) as exc:
            self._reset_caches()
            self._flush_rejections(file, number)
            message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            self.report.reject(file, number, "", _("Enregistrement refusé par la base de données (%(error)s).")
                               % {"error": message})
            return
        for kind, outcome in self._pending_counts:
            self.report.count(kind, outcome, self.labels.get(kind, kind))
        self._flush_rejections(file, number)

    def _flush_rejections(self, file: str, number: int) -> None:
        for attribute, reason in self._pending_rejections:
            self.report.reject(file, number, attribute, reason)
        self._pending_rejections = []

    def count(self, kind: str, outcome: str) -> None:
        """Counted when the record commits (nothing is counted for a rolled-back record)."""
        self._pending_counts.append((kind, outcome))

    def counted(self, kind: str, outcome: str, since: int) -> bool:
        return (kind, outcome) in self._pending_counts[since:]

    def warn(self, attribute: str, reason: str) -> None:
        """Reject one value of a record; the rest of the record is imported."""
        self._pending_rejections.append((attribute, reason))

    # --- Lookups ---------------------------------------------------------------------------------------------

    def establishment_for(self, ref: str) -> Establishment | None:
        """An establishment by its join key (external_id), or else by UAI."""
        ref = (ref or "").strip()
        if not ref:
            return None
        if ref not in self._establishments:
            establishment = Establishment.objects.filter(external_id=ref).first()
            if establishment is None and UAI_RE.match(ref.upper()):
                establishment = Establishment.objects.filter(uai=ref.upper()).first()
            self._establishments[ref] = establishment
        return self._establishments[ref]

    def remember_establishment(self, establishment: Establishment, *refs: str) -> None:
        for ref in refs:
            if ref:
                self._establishments[ref] = establishment

    def current_year(self, establishment: Establishment) -> SchoolYear:
        """The establishment's current school year, created (with its periods) when it has none."""
        year = self._years.get(establishment.pk)
        if year is None:
            year = SchoolYear.objects.filter(establishment=establishment, is_current=True).first()
            if year is None:
                first = self.today.year if self.today.month >= 8 else self.today.year - 1
                label = f"{first}-{first + 1}"
                year = SchoolYear.objects.filter(establishment=establishment, label=label).first()
                if year is None:
                    start, end = datetime.date(first, 9, 1), datetime.date(first + 1, 7, 31)
                    year = SchoolYear.objects.create(establishment=establishment, label=label, start=start, end=end,
                                                     is_current=True)
                    Period.objects.bulk_create([
                        Period(school_year=year, index=index, label=period_label, start=p_start, end=p_end)
                        for index, (period_label, p_start, p_end) in enumerate(
                            split_periods(start, end, establishment.period_scheme), start=1)])
                    self.count("school_years", "created")
                else:
                    year.is_current, year.is_archived = True, False
                    year.save(update_fields=["is_current", "is_archived"])
                    self.count("school_years", "updated")
            self._years[establishment.pk] = year
        return year

    def _division(self, model, cache: dict, kind: str, establishment: Establishment, code: str, label: str):
        """A class or group of the establishment's current year by code, created on first sight, cached per run."""
        year = self.current_year(establishment)
        key = (year.pk, code)
        division = cache.get(key)
        if division is None:
            division, created = model.objects.get_or_create(
                school_year=year, code=code,
                defaults={"establishment": establishment, "label": (label or code)[:120]})
            if created:
                self.count(kind, "created")
            cache[key] = division
        return division

    def school_class(self, establishment: Establishment, code: str, label: str = "") -> SchoolClass:
        return self._division(SchoolClass, self._classes, "classes", establishment, code[:32], label)

    def group(self, establishment: Establishment, code: str, label: str = "") -> TeachingGroup:
        return self._division(TeachingGroup, self._groups, "groups", establishment, code[:32], label)

    def subject(self, establishment: Establishment, code: str, label: str = "") -> Subject:
        """The establishment's subject of that code, created on first sight (label from the national list)."""
        code = code[:16]
        key = (establishment.pk, code)
        subject = self._subjects.get(key)
        if subject is None:
            subject = Subject.objects.filter(establishment=establishment, code=code).first()
            if subject is None:
                if not label:
                    national = NationalSubject.objects.filter(code=code).first()
                    label = national.label if national else code
                subject = Subject.objects.create(
                    establishment=establishment, code=code, label=label[:120],
                    external_id=f"{establishment.external_id or establishment.uai}${code}"[:64])
                self.count("subjects", "created")
            self._subjects[key] = subject
        return subject

    def mef(self, code: str) -> Mef | None:
        if code not in self._mefs:
            self._mefs[code] = Mef.objects.filter(code=code).first()
        return self._mefs[code]

    def forget_mef(self, code: str) -> None:
        self._mefs.pop(code, None)

    def save_changes(self, obj, fields: dict, kind: str | None) -> bool:
        changed = [name for name, value in fields.items() if getattr(obj, name) != value]
        for name in changed:
            setattr(obj, name, fields[name])
        if changed:
            obj.save(update_fields=changed)
        if kind:
            self.count(kind, "updated" if changed else "unchanged")
        return bool(changed)

    # --- People ----------------------------------------------------------------------------------------------

    def check_join_key(self, external_id: str, attribute: str) -> str:
        external_id = (external_id or "").strip()
        if not external_id:
            raise Rejected(attribute, _(
                "Identifiant de jointure (%(attribute)s) manquant : la personne ne pourrait pas être retrouvée aux "
                "imports suivants. Enregistrement ignoré.") % {"attribute": attribute})
        if len(external_id) > 64:
            raise Rejected(attribute, _("Identifiant de jointure trop long (64 caractères au plus)."))
        return external_id

    def clean_email(self, value: str, attribute: str) -> str | None:
        """The address, or None (reported) when invalid; '' clears it."""
        value = (value or "").strip()
        if not value:
            return ""
        try:
            validate_email(value)
        except ValidationError:
            self.warn(attribute, _("Adresse électronique invalide « %(value)s » ; ignorée.") % {"value": value})
            return None
        return value[:254]

    def clean_date(self, value: str, attribute: str) -> datetime.date | None | bool:
        """The date, None when empty, False (reported) when unreadable."""
        value = (value or "").strip()
        if not value:
            return None
        try:
            return parse_date(value)
        except ValueError:
            self.warn(attribute, _("Date illisible « %(value)s » ; ignorée.") % {"value": value})
            return False

    def find_person(self, external_id: str, *, ine: str = "") -> User | None:
        user = User.objects.filter(external_id=external_id).first()
        if user is None and ine:
            matches = list(User.objects.filter(ine=ine)[:2])
            if len(matches) == 1:
                user = matches[0]
        return user

    @staticmethod
    def same_staff(establishment_ids: Iterable[int], first_name: str, last_names: Iterable[str],
                   birth_date: datetime.date | None, exclude: Iterable[int] = ()) -> list[User]:
        """Teachers and staff of these establishments with this first name, one of these last names (accent- and
        case-blind) and this birth date: how a person is found again across feeds that do not share a join key."""
        names = {fold(name) for name in last_names} - {""}
        first = fold(first_name)
        if birth_date is None or not first or not names:
            return []
        exclude = set(exclude)
        return [user for user in User.objects.filter(
            birth_date=birth_date, memberships__establishment_id__in=list(establishment_ids),
            memberships__role__in=list(STAFF_ROLES)).distinct()
            if fold(user.first_name) == first and fold(user.last_name) in names and user.pk not in exclude]

    def upsert_person(self, *, external_id: str, kind: str, fields: dict, modify_only: bool = False,
                      match_ine: bool = False, user: User | None = None,
                      required: tuple[tuple[str, str], ...] = (("last_name", "sn"), ("first_name", "givenName")),
                      ) -> tuple[User, bool, bool]:
        """Create or update a person by join key. Returns (user, created, changed).

        `fields` holds the User fields the record carries (a field absent is left as it is). `required` names
        (field, attribute) pairs a new person must have; an existing one keeps its value when the record has none.
        Found by external_id, else by INE when `match_ine` (the pupil keeps the join key they already had).
        """
        if user is None:
            user = self.find_person(external_id, ine=fields.get("ine", "") if match_ine else "")
        if user is None and modify_only:
            raise Rejected("", _("Personne inconnue (jointure %(id)s) : modification impossible.")
                           % {"id": external_id})
        labels = {"last_name": _("Nom de famille"), "first_name": _("Prénom")}
        for field_name, attribute in required:
            if not fields.get(field_name):
                if user is None or field_name in fields:
                    raise Rejected(attribute, _("%(what)s manquant. Enregistrement ignoré.")
                                   % {"what": labels.get(field_name, field_name)})
                fields.pop(field_name, None)
        for field_name, length in (("last_name", 150), ("first_name", 150), ("phone", 32), ("ine", 11)):
            if isinstance(fields.get(field_name), str):
                fields[field_name] = fields[field_name][:length]
        if user is None:
            user = User(username=suggest_username(fields.get("first_name", ""), fields.get("last_name", "")),
                        external_id=external_id, activated_at=None, **fields)
            user.set_unusable_password()
            user.save()
            self.count(kind, "created")
            return user, True, True
        if not user.is_active:
            fields["is_active"] = True
        return user, False, self.save_changes(user, fields, None)

    def deactivate_person(self, *, external_id: str, kind: str, roles: Iterable[str]) -> None:
        """A delete: the person's memberships of these roles end; the account closes when none is left."""
        user = User.objects.filter(external_id=external_id).first()
        if user is None:
            raise Rejected("", _("Personne inconnue (jointure %(id)s) : suppression impossible.")
                           % {"id": external_id})
        deactivated = Membership.objects.filter(user=user, role__in=list(roles), is_active=True).update(
            is_active=False)
        if deactivated and not Membership.objects.filter(user=user, is_active=True).exists():
            user.is_active = False
            user.save(update_fields=["is_active"])
        self.count(kind, "deactivated" if deactivated else "unchanged")

    def finish_person(self, kind: str, created: bool, changed: bool) -> None:
        if not created:
            self.count(kind, "updated" if changed else "unchanged")

    def membership(self, user: User, establishment: Establishment, role: str,
                   functions: list[str] | None = None, *, fresh: bool = False) -> bool:
        """The user's membership of that role there: created, or made active again (and its functions set).

        `fresh`: the caller knows there is none yet (the user was created by this very record and this role and
        establishment were not given before): no lookup.
        """
        # Written with bulk_create/update (no per-row signal): the run bumps the account-state generation once.
        membership = None if fresh else Membership.objects.filter(
            user=user, establishment=establishment, role=role).first()
        if membership is None:
            Membership.objects.bulk_create([Membership(user=user, establishment=establishment, role=role,
                                                       functions=functions or [], external_id=user.external_id,
                                                       source=self.source)])
            return True
        fields = {"is_active": True, "leaving_since": None}
        if functions is not None:
            fields["functions"] = functions
        changed = {name: value for name, value in fields.items() if getattr(membership, name) != value}
        if membership.external_id != user.external_id:  # the key full imports match it by: the person's
            changed["external_id"] = user.external_id
        # The feed that lists the membership now manages it (not a change of the person: two feeds may list them).
        moved = {"source": self.source} if membership.source != self.source else {}
        if changed or moved:
            Membership.objects.filter(pk=membership.pk).update(**changed, **moved)
        return bool(changed)

    def guardian_memberships(self, guardians: Iterable[User], establishment_ids: Iterable[int]) -> None:
        """membership(guardian, establishment, GUARDIAN) for each guardian in each establishment, batched: one
        lookup for all, the missing ones created in one statement."""
        guardians = list({guardian.pk: guardian for guardian in guardians}.values())
        establishment_ids = list(establishment_ids)
        if not guardians or not establishment_ids:
            return
        existing = {(m.user_id, m.establishment_id): m for m in Membership.objects.filter(
            user_id__in=[guardian.pk for guardian in guardians], establishment_id__in=establishment_ids,
            role=Role.GUARDIAN)}
        missing = []
        for guardian in guardians:
            for establishment_id in establishment_ids:
                membership = existing.get((guardian.pk, establishment_id))
                if membership is None:
                    missing.append(Membership(user=guardian, establishment_id=establishment_id, role=Role.GUARDIAN,
                                              functions=[], external_id=guardian.external_id, source=self.source))
                    continue
                fields = {"is_active": True, "leaving_since": None,
                          "external_id": membership.external_id or guardian.external_id, "source": self.source}
                changed = {name: value for name, value in fields.items() if getattr(membership, name) != value}
                if changed:
                    Membership.objects.filter(pk=membership.pk).update(**changed)
        if missing:
            Membership.objects.bulk_create(missing)

    @staticmethod
    def drop_other_memberships(user: User, roles: Iterable[str], keep: Iterable[tuple[int, str]]) -> bool:
        """Deactivate the import-managed memberships of these roles that the record no longer lists."""
        keep = set(keep)
        stale = [m.pk for m in Membership.objects.filter(user=user, role__in=list(roles), is_active=True,
                                                         external_id__isnull=False)
                 if (m.establishment_id, m.role) not in keep]
        if stale:
            Membership.objects.filter(pk__in=stale).update(is_active=False)
        return bool(stale)

    @staticmethod
    def _sync(queryset, field_name: str, wanted: set[int], make, fresh: bool = False) -> bool:
        existing = {} if fresh else dict(queryset.values_list(field_name, "pk"))
        stale = [pk for key, pk in existing.items() if key not in wanted]
        if stale:
            queryset.model.objects.filter(pk__in=stale).delete()
        missing = [make(key) for key in wanted if key not in existing]
        if missing:
            queryset.model.objects.bulk_create(missing)
        return bool(stale or missing)

    def sync_classes(self, pupil: User, classes: Iterable[SchoolClass],
                     establishments: Iterable[Establishment] | None = None, *, fresh: bool = False) -> bool:
        """The pupil's current-year classes become exactly these (within `establishments` when given).
        `fresh`: the pupil was created by this very record, so has none yet: no lookup."""
        queryset = ClassEnrolment.objects.filter(pupil=pupil, school_class__school_year__is_current=True)
        if establishments is not None:
            queryset = queryset.filter(school_class__establishment__in=list(establishments))
        return self._sync(queryset, "school_class_id", {c.pk for c in classes},
                          lambda pk: ClassEnrolment(pupil=pupil, school_class_id=pk), fresh)

    def sync_groups(self, pupil: User, groups: Iterable[TeachingGroup],
                    establishments: Iterable[Establishment] | None = None, *, fresh: bool = False) -> bool:
        queryset = GroupMembership.objects.filter(pupil=pupil, group__school_year__is_current=True)
        if establishments is not None:
            queryset = queryset.filter(group__establishment__in=list(establishments))
        return self._sync(queryset, "group_id", {g.pk for g in groups},
                          lambda pk: GroupMembership(pupil=pupil, group_id=pk), fresh)

    def sync_assignments(self, teacher: User, wanted: dict[tuple[int, int | None, int | None], tuple],
                         managed: Iterable[int]) -> bool:
        """The teacher's current-year services in the `managed` establishments become exactly `wanted`.

        wanted: (subject id, class id or None, group id or None) → (establishment, school year, is_main or None);
        is_main None keeps an existing flag (a record that does not say). Services typed by hand in another
        establishment stay.
        """
        managed = set(managed) | {establishment.pk for establishment, _year, _main in wanted.values()}
        existing = {(a.subject_id, a.school_class_id, a.group_id): a
                    for a in TeachingAssignment.objects.filter(teacher=teacher, school_year__is_current=True,
                                                               establishment_id__in=managed)}
        changed = False
        for key, assignment in existing.items():
            if key not in wanted:
                assignment.delete()
                self.count("assignments", "deactivated")
                changed = True
        for key, (establishment, year, is_main) in wanted.items():
            assignment = existing.get(key)
            if assignment is not None:
                if is_main is not None and assignment.is_main_teacher != is_main:
                    assignment.is_main_teacher = is_main
                    assignment.save(update_fields=["is_main_teacher"])
                    self.count("assignments", "updated")
                    changed = True
                continue
            TeachingAssignment.objects.create(teacher=teacher, establishment=establishment, school_year=year,
                                              subject_id=key[0], school_class_id=key[1], group_id=key[2],
                                              is_main_teacher=bool(is_main))
            self.count("assignments", "created")
            changed = True
        return changed

    def sync_guardian_links(self, pupil: User, wanted: dict[User, dict]) -> None:
        """The pupil's imported guardian links become exactly `wanted` (guardian → link fields incl.
        external_id); links made by hand (no external_id) stay. Guardians get a membership wherever the pupil is
        enrolled; a guardian left with no child in an establishment loses their imported membership there."""
        establishment_ids = list(Membership.objects.filter(user=pupil, role=Role.PUPIL, is_active=True).values_list(
            "establishment_id", flat=True))
        existing = {link.guardian_id: link for link in GuardianLink.objects.filter(pupil=pupil)}
        wanted_ids = {guardian.pk for guardian in wanted}
        for guardian_id, link in existing.items():
            if guardian_id not in wanted_ids and link.external_id:
                link.delete()
                self.count("links", "deactivated")
                self.drop_orphan_guardian_memberships(guardian_id)
        new_links = []
        for guardian, fields in wanted.items():
            link = existing.get(guardian.pk)
            if link is None:
                new_links.append(GuardianLink(guardian=guardian, pupil=pupil, **fields))
                self.count("links", "created")
            else:
                self.save_changes(link, fields, "links")
        if new_links:
            GuardianLink.objects.bulk_create(new_links)
        self.guardian_memberships(wanted, establishment_ids)

    @staticmethod
    def drop_orphan_guardian_memberships(guardian_id: int) -> None:
        """Deactivate a guardian's imported memberships in establishments where none of their children is."""
        keep = set(Membership.objects.filter(
            role=Role.PUPIL, is_active=True, user__guardian_links__guardian_id=guardian_id,
        ).values_list("establishment_id", flat=True))
        Membership.objects.filter(user_id=guardian_id, role=Role.GUARDIAN, is_active=True,
                                  external_id__isnull=False).exclude(establishment_id__in=keep).update(
            is_active=False)

    # --- Full imports: who is leaving ------------------------------------------------------------------------

    def seen(self, report_kind: str, external_id: str, establishment_id: int | None = None) -> None:
        """A full import lists this person (by the join key their memberships carry: `user.external_id`), in
        `establishment_id` only when given (a run covering several establishments, where a person may move)."""
        if establishment_id is None:
            self._seen[report_kind].add(external_id)
        else:
            self._seen_at[report_kind].add((external_id, establishment_id))

    def covered(self, report_kind: str, establishment_id: int) -> None:
        """A full import of this kind speaks for this establishment."""
        self._covered[report_kind].add(establishment_id)

    def mark_leaving(self, report_kind: str, roles: Iterable[str] | None = None) -> int:
        """Mark as leaving the active memberships this feed manages (Membership.source) in the covered
        establishments that the full import did not list. Call only after a complete, readable full import of that
        kind. People another feed brought in are that feed's to mark."""
        roles = list(roles or ROLES_OF_KIND[report_kind])
        seen, seen_at, covered = self._seen[report_kind], self._seen_at[report_kind], self._covered[report_kind]
        if not covered:
            return 0
        candidates = Membership.objects.filter(establishment_id__in=list(covered), role__in=roles, is_active=True,
                                               external_id__isnull=False, leaving_since__isnull=True,
                                               source=self.source)
        leaving = [pk for pk, external_id, establishment_id
                   in candidates.values_list("pk", "external_id", "establishment_id").iterator()
                   if external_id not in seen and (external_id, establishment_id) not in seen_at]
        for start in range(0, len(leaving), 500):
            Membership.objects.filter(pk__in=leaving[start:start + 500]).update(leaving_since=self.today)
        if leaving:
            self.report.count(report_kind, LEAVING, self.labels[report_kind], len(leaving))
        return len(leaving)

    def deactivate_after_grace(self) -> None:
        """Memberships marked leaving more than PREAU_IMPORT_LEAVING_GRACE_DAYS ago are deactivated."""
        limit = self.today - datetime.timedelta(days=leaving_grace_days())
        for report_kind in ("staff", "pupils", "guardians"):
            count = Membership.objects.filter(role__in=list(ROLES_OF_KIND[report_kind]), is_active=True,
                                              leaving_since__lte=limit).update(is_active=False)
            if count:
                self.report.count(report_kind, "deactivated", self.labels[report_kind], count)
