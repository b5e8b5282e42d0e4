"""The AAF importer: `ficAlimMENESR` files (Complet and Delta) into the directory.

Files are read in dependency order — establishments, MEFs, subjects, staff and teachers, pupils, guardians — then
the pupils' files a second time for the guardian links (a pupil names their guardians, who come in later files).
Each record is applied in its own savepoint, inside batches of `batch_size` records committed together: a bad
record is rejected (one line in the report) and the rest goes on. People are matched by `ENTPersonJointure`
(User.external_id), establishments by `ENTStructureJointure` then UAI. See docs/imports.md for the mapping.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
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
    StaffFunction,
    Subject,
    TeachingAssignment,
    TeachingGroup,
)
from preau.directory.services import split_periods
from preau.directory.usernames import suggest_username

from .models import NationalSubject
from .report import LEAVING, Report
from .xmlstream import UnsafeXML, iter_elements, text_of

REQUEST_TAGS = ("addRequest", "modifyRequest", "deleteRequest")
OPERATIONS = {"addRequest": "add", "modifyRequest": "modify", "deleteRequest": "delete"}
KINDS = ("EtabEducNat", "MefEducNat", "MatiereEducNat", "PersEducNat", "Eleve", "PersRelEleve")
FILE_KIND_RE = re.compile(r"_(EtabEducNat|MefEducNat|MatiereEducNat|PersEducNat|Eleve|PersRelEleve)_\d+\.xml$",
                          re.IGNORECASE)
# operationalAttributes values → file kind.
CATEGORY_KINDS = {"etabeducnat": "EtabEducNat", "mefeducnat": "MefEducNat", "mateducnat": "MatiereEducNat",
                  "matiereeducnat": "MatiereEducNat", "perseducnat": "PersEducNat", "eleve": "Eleve",
                  "persreleleve": "PersRelEleve"}
UAI_RE = re.compile(r"^\d{7}[A-Z]$")
FULL_RE = re.compile(r"_Complet_", re.IGNORECASE)
PART_RE = re.compile(r"_(\d+)\.xml$", re.IGNORECASE)
DEFAULT_LEAVING_GRACE_DAYS = 30
SEEN_KINDS = {"Eleve": "pupils", "PersEducNat": "staff"}


def leaving_grace_days() -> int:
    return int(getattr(settings, "PREAU_IMPORT_LEAVING_GRACE_DAYS", DEFAULT_LEAVING_GRACE_DAYS))

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

# ENTElevePersRelEleve relation codes (AAF): 1 father, 2 mother, 3 tutor, 4 other family member, 5 social services
# (ASE/DDASS), 6 other, 7 the pupil themself (not a guardian), 8 carer (assistant familial).
RELATIONS = {"1": GuardianLink.Relation.FATHER, "2": GuardianLink.Relation.MOTHER, "3": GuardianLink.Relation.TUTOR,
             "4": GuardianLink.Relation.FAMILY, "5": GuardianLink.Relation.SOCIAL_SERVICES,
             "6": GuardianLink.Relation.OTHER, "8": GuardianLink.Relation.CARER}
SELF_RELATION = "7"

# ENTPersonFonctions function codes (AAF) → staff functions. ENS (teaching) makes a teacher instead.
FUNCTIONS = {"DIR": StaffFunction.HEAD, "EDU": StaffFunction.CPE, "DOC": StaffFunction.LIBRARIAN,
             "MDS": StaffFunction.NURSE, "ADF": StaffFunction.SECRETARY, "SUR": StaffFunction.VIE_SCOLAIRE,
             "AED": StaffFunction.VIE_SCOLAIRE}
TEACHING_FUNCTION = "ENS"


class Rejected(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The whole record is rejected: its savepoint is rolled back."""

    def __init__(self, attribute: str, reason: str):
        super().__init__(reason)
        self.attribute = attribute
        self.reason = reason


@dataclass
class AafRecord:
    operation: str  # add, modify, delete
    category: str
    identifier: str
    attrs: dict[str, list[str]] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.attrs

    def values(self, name: str) -> list[str]:
        return [value for value in self.attrs.get(name, []) if value]

    def first(self, name: str) -> str:
        values = self.values(name)
        return values[0] if values else ""


def parse_record(element) -> AafRecord:
    """An add/modify/delete request element → AafRecord. Raises UnsafeXML on an entity reference."""
    category, identifier, attrs = "", "", {}
    for child in element:
        if not isinstance(child.tag, str):
            if isinstance(child, etree._Entity):
                raise UnsafeXML(child.text)
            continue
        if child.tag == "operationalAttributes":
            for attr in child:
                values = [text_of(value) for value in attr if value.tag == "value"]
                category = next((value for value in values if value), category)
        elif child.tag == "identifier":
            for id_element in child:
                if id_element.tag == "id":
                    identifier = text_of(id_element)
        elif child.tag in ("attributes", "modifications"):
            for attr in child:
                if not isinstance(attr.tag, str):
                    if isinstance(attr, etree._Entity):
                        raise UnsafeXML(attr.text)
                    continue
                name = (attr.get("name") or "").strip()
                if name:
                    attrs.setdefault(name, []).extend(text_of(value) for value in attr if value.tag == "value")
    return AafRecord(OPERATIONS[element.tag], category, identifier, attrs)


def file_kind(path: Path) -> str | None:
    """The AAF kind of a file, from its name (…_Eleve_0001.xml) or else from its first record's category."""
    match = FILE_KIND_RE.search(path.name)
    if match:
        return next(kind for kind in KINDS if kind.lower() == match.group(1).lower())
    try:
        for _number, element in iter_elements(path, REQUEST_TAGS):
            return CATEGORY_KINDS.get(parse_record(element).category.lower())
    except (etree.XMLSyntaxError, OSError, UnsafeXML):
        return None
    return None


def parse_date(value: str) -> datetime.date | None:
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.datetime.strptime(value, pattern).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise ValueError(value)


def split_ref(value: str) -> list[str]:
    return [part.strip() for part in value.split("$")]


class AafImporter:
    batch_size = 500

    def __init__(self, report: Report, *, today: datetime.date | None = None):
        self.report = report
        self.today = today or timezone.localdate()
        self._pending_counts: list[tuple[str, str]] = []
        self._pending_rejections: list[tuple[str, str]] = []
        self._file = ""
        self._number: int | None = None
        # Guardians read in this run, to report those no pupil points to: external id → (file, record number).
        self._guardians_seen: dict[str, tuple[str, int]] = {}
        # For full imports: join keys listed and establishment ids covered, per report kind; kinds with a bad file.
        self._seen: dict[str, set[str]] = defaultdict(set)
        self._covered: dict[str, set[int]] = defaultdict(set)
        self._broken_kinds: set[str] = set()
        self._reset_caches()

    # --- Caches (cleared whenever a savepoint is rolled back, so they never hold rolled-back rows) -------------

    def _reset_caches(self) -> None:
        self._establishments: dict[str, Establishment | None] = {}
        self._years: dict[int, SchoolYear] = {}
        self._classes: dict[tuple[int, str], SchoolClass] = {}
        self._groups: dict[tuple[int, str], TeachingGroup] = {}
        self._subjects: dict[tuple[int, str], Subject] = {}
        self._mefs: dict[str, Mef | None] = {}

    # --- Running ---------------------------------------------------------------------------------------------

    def run(self, paths: Iterable[str | Path]) -> Report:
        by_kind: dict[str, list[Path]] = defaultdict(list)
        for raw in paths:
            path = Path(raw)
            if not path.is_file():
                self.report.reject(path.name, None, "", _("Fichier introuvable ou illisible."))
                continue
            kind = file_kind(path)
            if kind is None:
                self.report.reject(path.name, None, "", _(
                    "Fichier AAF non reconnu : le nom ne contient pas le type (EtabEducNat, MefEducNat, "
                    "MatiereEducNat, PersEducNat, Eleve, PersRelEleve) et le premier enregistrement ne le dit pas."))
                continue
            by_kind[kind].append(path)
        for kind in KINDS:
            handler = self._handler(kind)
            for path in sorted(by_kind[kind], key=lambda p: p.name):
                self._import_file(path, kind, handler)
        for path in sorted(by_kind["Eleve"], key=lambda p: p.name):
            self._import_file(path, "Eleve", self._links, check_xml_errors=False)
        self._report_orphan_guardians()
        for kind, report_kind, roles in (("PersEducNat", "staff", (Role.TEACHER, Role.STAFF)),
                                         ("Eleve", "pupils", (Role.PUPIL,))):
            self._mark_leaving(kind, by_kind[kind], report_kind, roles)
        self._deactivate_after_grace()
        return self.report

    # --- Full imports: who is leaving ------------------------------------------------------------------------

    def _mark_leaving(self, kind: str, paths: list[Path], report_kind: str, roles: tuple[str, ...]) -> None:
        """After a complete, readable full (Complet) import of a kind, mark as leaving the imported memberships of
        the establishments it covered that it no longer lists. Never on a Delta, a missing part or a bad file."""
        if not paths or not all(FULL_RE.search(path.name) for path in paths):
            return
        parts = sorted(int(match.group(1)) for path in paths if (match := PART_RE.search(path.name)))
        complete = parts == list(range(len(parts))) and len(parts) == len(paths)
        if not complete or kind in self._broken_kinds:
            self.report.reject(", ".join(sorted(path.name for path in paths)), None, "", _(
                "Import complet incomplet (partie manquante ou fichier illisible) : personne n'est marqué comme "
                "partant pour ce type (%(kind)s).") % {"kind": kind})
            return
        seen, covered = self._seen[report_kind], self._covered[report_kind]
        candidates = Membership.objects.filter(establishment_id__in=list(covered), role__in=roles, is_active=True,
                                               external_id__isnull=False, leaving_since__isnull=True)
        leaving = [pk for pk, external_id in candidates.values_list("pk", "external_id").iterator()
                   if external_id not in seen]
        for start in range(0, len(leaving), 500):
            Membership.objects.filter(pk__in=leaving[start:start + 500]).update(leaving_since=self.today)
        if leaving:
            self.report.count(report_kind, LEAVING, LABELS[report_kind], len(leaving))

    def _deactivate_after_grace(self) -> None:
        """Memberships marked leaving more than PREAU_IMPORT_LEAVING_GRACE_DAYS ago are deactivated."""
        limit = self.today - datetime.timedelta(days=leaving_grace_days())
        for report_kind, roles in (("staff", (Role.TEACHER, Role.STAFF)), ("pupils", (Role.PUPIL,))):
            count = Membership.objects.filter(role__in=roles, is_active=True, leaving_since__lte=limit).update(
                is_active=False)
            if count:
                self.report.count(report_kind, "deactivated", LABELS[report_kind], count)

    def _handler(self, kind: str) -> Callable[[AafRecord], None]:
        return {"EtabEducNat": self._establishment, "MefEducNat": self._mef, "MatiereEducNat": self._subject_ref,
                "PersEducNat": self._staff, "Eleve": self._pupil, "PersRelEleve": self._guardian}[kind]

    def _import_file(self, path: Path, kind: str, handler, *, check_xml_errors: bool = True) -> None:
        self._file = path.name
        records = iter_elements(path, REQUEST_TAGS)
        last = 0
        done = False
        while not done:
            with transaction.atomic():
                for _index in range(self.batch_size):
                    try:
                        number, element = next(records)
                    except StopIteration:
                        done = True
                        break
                    except etree.XMLSyntaxError as exc:
                        done = True
                        self._broken_kinds.add(kind)
                        if check_xml_errors:
                            self.report.reject(path.name, last + 1, "", _(
                                "Fichier XML illisible à partir d'ici (ligne %(line)s) : %(error)s. "
                                "Les enregistrements précédents ont été importés, les suivants non.")
                                % {"line": exc.lineno, "error": exc.msg})
                        break
                    except OSError as exc:
                        done = True
                        self._broken_kinds.add(kind)
                        if check_xml_errors:
                            self.report.reject(path.name, None, "", _("Fichier illisible : %(error)s.")
                                               % {"error": exc})
                        break
                    last = number
                    self._handle(path.name, number, element, kind, handler)

    def _handle(self, file: str, number: int, element, kind: str, handler) -> None:
        self._number = number
        try:
            record = parse_record(element)
        except UnsafeXML:
            if handler != self._links:
                self.report.reject(file, number, "", _(
                    "Entité XML refusée : les entités ne sont jamais résolues (protection contre la lecture de "
                    "fichiers du serveur). Enregistrement ignoré."))
            return
        if handler != self._links and kind in SEEN_KINDS and record.operation != "delete":
            self._seen[SEEN_KINDS[kind]].add(record.first("ENTPersonJointure") or record.identifier)
        if record.category and CATEGORY_KINDS.get(record.category.lower(), kind) != kind:
            if handler != self._links:
                self.report.reject(file, number, "", _("Enregistrement de type « %(cat)s » dans un fichier "
                                                       "%(kind)s : ignoré.") % {"cat": record.category,
                                                                              "kind": kind})
            return
        self._pending_counts, self._pending_rejections = [], []
        try:
            with transaction.atomic():
                handler(record)
        except Rejected as exc:
            self._reset_caches()
            self._flush_rejections(file, number)
            self.report.reject(file, number, exc.attribute, exc.reason)
            return
        except (DatabaseError, ValidationError) as exc:
            self._reset_caches()
            self._flush_rejections(file, number)
            self.report.reject(file, number, "", _("Enregistrement refusé par la base de données (%(error)s).")
                               % {"error": str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})
            return
        for kind_key, outcome in self._pending_counts:
            self.report.count(kind_key, outcome, LABELS[kind_key])
        self._flush_rejections(file, number)

    def _flush_rejections(self, file: str, number: int) -> None:
        for attribute, reason in self._pending_rejections:
            self.report.reject(file, number, attribute, reason)
        self._pending_rejections = []

    def _count(self, kind: str, outcome: str) -> None:
        self._pending_counts.append((kind, outcome))

    def _warn(self, attribute: str, reason: str) -> None:
        """Reject one value of a record; the rest of the record is imported."""
        self._pending_rejections.append((attribute, reason))

    # --- Lookups ---------------------------------------------------------------------------------------------

    def establishment_for(self, ref: str) -> Establishment | None:
        """An establishment by its AAF structure join key, or else by UAI."""
        ref = (ref or "").strip()
        if not ref:
            return None
        if ref not in self._establishments:
            establishment = Establishment.objects.filter(external_id=ref).first()
            if establishment is None and UAI_RE.match(ref.upper()):
                establishment = Establishment.objects.filter(uai=ref.upper()).first()
            self._establishments[ref] = establishment
        return self._establishments[ref]

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
                    self._count("school_years", "created")
                else:
                    year.is_current, year.is_archived = True, False
                    year.save(update_fields=["is_current", "is_archived"])
                    self._count("school_years", "updated")
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
                self._count(kind, "created")
            cache[key] = division
        return division

    def school_class(self, establishment: Establishment, code: str, label: str = "") -> SchoolClass:
        return self._division(SchoolClass, self._classes, "classes", establishment, code, label)

    def group(self, establishment: Establishment, code: str, label: str = "") -> TeachingGroup:
        return self._division(TeachingGroup, self._groups, "groups", establishment, code, label)

    def subject(self, establishment: Establishment, code: str) -> Subject:
        key = (establishment.pk, code)
        subject = self._subjects.get(key)
        if subject is None:
            subject = Subject.objects.filter(establishment=establishment, code=code).first()
            if subject is None:
                national = NationalSubject.objects.filter(code=code).first()
                subject = Subject.objects.create(
                    establishment=establishment, code=code, label=(national.label if national else code)[:120],
                    external_id=f"{establishment.external_id or establishment.uai}${code}"[:64])
                self._count("subjects", "created")
            self._subjects[key] = subject
        return subject

    def mef(self, code: str) -> Mef | None:
        if code not in self._mefs:
            self._mefs[code] = Mef.objects.filter(code=code).first()
        return self._mefs[code]

    def _structure_values(self, record: AafRecord, attribute: str, parts: int) -> list[tuple[Establishment, list]]:
        """Parse `structure$code[$...]` values; unknown structures and short values are reported and skipped."""
        out = []
        for value in record.values(attribute):
            pieces = split_ref(value)
            if len(pieces) < parts or not all(pieces[:parts]):
                self._warn(attribute, _("Valeur « %(value)s » mal formée (attendu %(n)d parties séparées par $) ; "
                                        "ignorée.") % {"value": value, "n": parts})
                continue
            establishment = self.establishment_for(pieces[0])
            if establishment is None:
                self._warn(attribute, _("Établissement inconnu « %(ref)s » dans « %(value)s » ; valeur ignorée.")
                           % {"ref": pieces[0], "value": value})
                continue
            out.append((establishment, pieces))
        return out

    # --- Establishments, MEFs, subjects ----------------------------------------------------------------------

    def _establishment(self, record: AafRecord) -> None:
        jointure = (record.first("ENTStructureJointure") or record.identifier)[:64]
        if record.operation == "delete":
            establishment = self.establishment_for(jointure)
            if establishment is None:
                raise Rejected("", _("Établissement inconnu « %(ref)s » : suppression impossible.") % {"ref": jointure})
            if establishment.is_active:
                establishment.is_active = False
                establishment.save(update_fields=["is_active"])
                self._count("establishments", "deactivated")
            else:
                self._count("establishments", "unchanged")
            return
        uai = (record.first("ENTStructureUAI") or record.first("ENTEtablissementUAI")).upper()
        if uai and not UAI_RE.match(uai):
            raise Rejected("ENTStructureUAI", _("Code UAI invalide « %(uai)s » (7 chiffres suivis d'une lettre).")
                           % {"uai": uai})
        establishment = Establishment.objects.filter(external_id=jointure).first() if jointure else None
        if establishment is None and uai:
            establishment = Establishment.objects.filter(uai=uai).first()
            if establishment is not None and establishment.external_id and establishment.external_id != jointure:
                raise Rejected("ENTStructureUAI", _("Ce code UAI est déjà celui d'un autre établissement "
                                                    "(jointure %(other)s).") % {"other": establishment.external_id})
        if establishment is None and record.operation == "modify":
            raise Rejected("", _("Établissement inconnu « %(ref)s » : modification impossible.") % {"ref": jointure})
        if establishment is None and not uai:
            raise Rejected("ENTStructureUAI", _("Code UAI manquant : l'établissement ne peut pas être créé."))
        if uai and establishment is not None and establishment.uai != uai and Establishment.objects.filter(
                uai=uai).exclude(pk=establishment.pk).exists():
            raise Rejected("ENTStructureUAI", _("Ce code UAI est déjà celui d'un autre établissement."))
        fields = {}
        if uai:
            fields["uai"] = uai
        name = record.first("ENTStructureNomCourant")
        if name:
            fields["name"] = name[:200]
        for attribute, field_name, length in (("street", "address", 255), ("postalCode", "postal_code", 10),
                                              ("l", "city", 120)):
            if record.has(attribute):
                fields[field_name] = record.first(attribute)[:length]
        kind = establishment_kind(record.first("ENTStructureTypeStruct"), name)
        if kind:
            fields["kind"] = kind
        if establishment is None:
            fields.setdefault("name", uai)
            fields.setdefault("kind", Establishment.Kind.COLLEGE)
            establishment = Establishment.objects.create(external_id=jointure or None, **fields)
            self._count("establishments", "created")
        else:
            if jointure and establishment.external_id != jointure:
                fields["external_id"] = jointure
            fields["is_active"] = True
            self._save_changes(establishment, fields, "establishments")
        self._establishments[jointure] = establishment
        self._establishments[establishment.uai] = establishment
        for value in record.values("ENTStructureClasses"):
            pieces = split_ref(value)
            if pieces[0]:
                self.school_class(establishment, pieces[0][:32], pieces[1] if len(pieces) > 1 else "")
        for value in record.values("ENTStructureGroupes"):
            pieces = split_ref(value)
            if pieces[0]:
                self.group(establishment, pieces[0][:32], pieces[1] if len(pieces) > 1 else "")

    def _save_changes(self, obj, fields: dict, kind: str | None) -> bool:
        changed = [name for name, value in fields.items() if getattr(obj, name) != value]
        for name in changed:
            setattr(obj, name, fields[name])
        if changed:
            obj.save(update_fields=changed)
        if kind:
            self._count(kind, "updated" if changed else "unchanged")
        return bool(changed)

    def _mef(self, record: AafRecord) -> None:
        code = record.first("ENTMefJointure") or record.identifier
        if not code:
            raise Rejected("ENTMefJointure", _("Code MEF manquant."))
        if len(code) > 11:
            raise Rejected("ENTMefJointure", _("Code MEF trop long « %(code)s » (11 caractères au plus).")
                           % {"code": code})
        if record.operation == "delete":  # kept: classes of past years may point to it
            self._count("mefs", "unchanged")
            return
        mef = Mef.objects.filter(code=code).first()
        label = record.first("ENTLibelleMef")[:120]
        if mef is None:
            if record.operation == "modify":
                raise Rejected("", _("MEF inconnu « %(code)s » : modification impossible.") % {"code": code})
            Mef.objects.create(code=code, label=label or code)
            self._count("mefs", "created")
        else:
            self._save_changes(mef, {"label": label} if label else {}, "mefs")
        self._mefs.pop(code, None)

    def _subject_ref(self, record: AafRecord) -> None:
        code = record.first("ENTMatJointure") or record.identifier
        if not code:
            raise Rejected("ENTMatJointure", _("Code matière manquant."))
        if len(code) > 16:
            raise Rejected("ENTMatJointure", _("Code matière trop long « %(code)s ».") % {"code": code})
        if record.operation == "delete":  # kept for the history of grades
            self._count("national_subjects", "unchanged")
            return
        label = record.first("ENTLibelleMatiere")[:120]
        subject = NationalSubject.objects.filter(code=code).first()
        if subject is None:
            if record.operation == "modify":
                raise Rejected("", _("Matière inconnue « %(code)s » : modification impossible.") % {"code": code})
            NationalSubject.objects.create(code=code, label=label or code)
            self._count("national_subjects", "created")
        else:
            self._save_changes(subject, {"label": label} if label else {}, "national_subjects")

    # --- People ----------------------------------------------------------------------------------------------

    def _person(self, record: AafRecord, kind: str, roles: tuple[str, ...]) -> tuple[User | None, bool]:
        """Create or update the person of a record. Returns (user, changed); (None, _) when handled (delete)."""
        jointure = record.first("ENTPersonJointure") or (record.identifier if record.operation != "add" else "")
        if not jointure:
            raise Rejected("ENTPersonJointure", _(
                "Identifiant de jointure (ENTPersonJointure) manquant : la personne ne pourrait pas être "
                "retrouvée aux imports suivants. Enregistrement ignoré."))
        if len(jointure) > 64:
            raise Rejected("ENTPersonJointure", _("Identifiant de jointure trop long (64 caractères au plus)."))
        user = User.objects.filter(external_id=jointure).first()
        if record.operation == "delete":
            if user is None:
                raise Rejected("", _("Personne inconnue (jointure %(id)s) : suppression impossible.")
                               % {"id": jointure})
            deactivated = Membership.objects.filter(user=user, role__in=roles, is_active=True).update(
                is_active=False)
            if deactivated and not Membership.objects.filter(user=user, is_active=True).exists():
                user.is_active = False
                user.save(update_fields=["is_active"])
            self._count(kind, "deactivated" if deactivated else "unchanged")
            return None, False
        if user is None and record.operation == "modify":
            raise Rejected("", _("Personne inconnue (jointure %(id)s) : modification impossible.") % {"id": jointure})
        fields: dict = {}
        for attribute, field_name, label in (("sn", "last_name", _("Nom de famille")),
                                             ("givenName", "first_name", _("Prénom"))):
            value = record.first(attribute)[:150]
            if value:
                fields[field_name] = value
            elif user is None or record.has(attribute):
                raise Rejected(attribute, _("%(what)s manquant. Enregistrement ignoré.") % {"what": label})
        if record.has("ENTPersonDateNaissance"):
            raw = record.first("ENTPersonDateNaissance")
            try:
                fields["birth_date"] = parse_date(raw) if raw else None
            except ValueError:
                self._warn("ENTPersonDateNaissance", _("Date de naissance illisible « %(value)s » ; ignorée.")
                           % {"value": raw})
        if record.has("mail"):
            email = record.first("mail")
            try:
                if email:
                    validate_email(email)
                fields["email"] = email[:254]
            except ValidationError:
                self._warn("mail", _("Adresse électronique invalide « %(value)s » ; ignorée.") % {"value": email})
        phones = [value for name in ("mobile", "telephoneNumber", "homePhone") for value in record.values(name)
                  if value.strip("0 ")]
        if phones:
            fields["phone"] = phones[0][:32]
        if record.has("ENTEleveINE"):
            fields["ine"] = record.first("ENTEleveINE")[:11]
        if user is None:
            user = User(username=suggest_username(fields.get("first_name", ""), fields.get("last_name", "")),
                        external_id=jointure, activated_at=None, **fields)
            user.set_unusable_password()
            user.save()
            self._count(kind, "created")
            return user, True
        if not user.is_active:
            fields["is_active"] = True
        return user, self._save_changes(user, fields, None)

    def _membership(self, user: User, establishment: Establishment, role: str,
                    functions: list[str] | None = None) -> bool:
        # Written with bulk_create/update (no per-row signal): the run bumps the account-state generation once.
        membership = Membership.objects.filter(user=user, establishment=establishment, role=role).first()
        if membership is None:
            Membership.objects.bulk_create([Membership(user=user, establishment=establishment, role=role,
                                                       functions=functions or [], external_id=user.external_id)])
            return True
        fields = {"is_active": True, "leaving_since": None}
        if functions is not None:
            fields["functions"] = functions
        if not membership.external_id:
            fields["external_id"] = user.external_id
        changed = {name: value for name, value in fields.items() if getattr(membership, name) != value}
        if changed:
            Membership.objects.filter(pk=membership.pk).update(**changed)
        return bool(changed)

    def _drop_other_memberships(self, user: User, roles: Iterable[str], keep: Iterable[tuple[int, str]]) -> bool:
        """Deactivate the import-managed memberships of these roles that the record no longer lists."""
        keep = set(keep)
        stale = [m.pk for m in Membership.objects.filter(user=user, role__in=list(roles), is_active=True,
                                                         external_id__isnull=False)
                 if (m.establishment_id, m.role) not in keep]
        if stale:
            Membership.objects.filter(pk__in=stale).update(is_active=False)
        return bool(stale)

    def _finish_person(self, kind: str, user_changed: bool, created: bool, other_changes: bool) -> None:
        if not created:
            self._count(kind, "updated" if (user_changed or other_changes) else "unchanged")

    # --- Staff and teachers ----------------------------------------------------------------------------------

    def _staff(self, record: AafRecord) -> None:
        before = len(self._pending_counts)
        user, user_changed = self._person(record, "staff", (Role.TEACHER, Role.STAFF))
        if user is None:
            return
        created = ("staff", "created") in self._pending_counts[before:]
        changed = False
        if record.operation == "add" or record.has("ENTPersonFonctions") or record.has("ENTPersonStructRattach"):
            teaching: dict[int, Establishment] = {}
            staff: dict[int, tuple[Establishment, list[str]]] = {}
            for establishment, pieces in self._structure_values(record, "ENTPersonFonctions", 2):
                code = pieces[1].upper()
                if code == TEACHING_FUNCTION:
                    teaching[establishment.pk] = establishment
                else:
                    function = staff_function(code, " ".join(pieces[2:]), establishment)
                    functions = staff.setdefault(establishment.pk, (establishment, []))[1]
                    if function not in functions:
                        functions.append(function)
            in_front = record.first("PersEducNatPresenceDevantEleves").upper() == "O"
            for value in record.values("ENTPersonStructRattach"):
                establishment = self.establishment_for(value)
                if establishment is None:
                    self._warn("ENTPersonStructRattach", _("Établissement inconnu « %(ref)s » ; rattachement "
                                                           "ignoré.") % {"ref": value})
                elif establishment.pk not in teaching and establishment.pk not in staff:
                    if in_front:
                        teaching[establishment.pk] = establishment
                    else:
                        staff[establishment.pk] = (establishment, [])
            if not teaching and not staff:
                raise Rejected("ENTPersonStructRattach", _(
                    "Aucun établissement connu pour cette personne (ENTPersonStructRattach, ENTPersonFonctions). "
                    "Enregistrement ignoré."))
            self._covered["staff"].update(teaching, staff)
            for establishment in teaching.values():
                changed |= self._membership(user, establishment, Role.TEACHER)
            for establishment, functions in staff.values():
                changed |= self._membership(user, establishment, Role.STAFF, functions)
            keep = {(pk, Role.TEACHER) for pk in teaching} | {(pk, Role.STAFF) for pk in staff}
            changed |= self._drop_other_memberships(user, (Role.TEACHER, Role.STAFF), keep)
        if record.has("ENTAuxEnsClassesMatieres") or record.has("ENTAuxEnsGroupesMatieres"):
            changed |= self._assignments(user, record)
        self._finish_person("staff", user_changed, created, changed)

    def _assignments(self, teacher: User, record: AafRecord) -> bool:
        wanted: set[tuple[int, int | None, int | None]] = set()
        years: set[int] = set()
        by_key: dict[tuple[int, int | None, int | None], tuple[Establishment, SchoolYear]] = {}
        for attribute, is_class in (("ENTAuxEnsClassesMatieres", True), ("ENTAuxEnsGroupesMatieres", False)):
            for establishment, pieces in self._structure_values(record, attribute, 3):
                code, subject_code = pieces[1][:32], pieces[2][:16]
                subject = self.subject(establishment, subject_code)
                year = self.current_year(establishment)
                if is_class:
                    key = (subject.pk, self.school_class(establishment, code).pk, None)
                else:
                    key = (subject.pk, None, self.group(establishment, code).pk)
                wanted.add(key)
                years.add(year.pk)
                by_key[key] = (establishment, year)
                self._membership(teacher, establishment, Role.TEACHER)
        main_classes = set()
        for establishment, pieces in self._structure_values(record, "ENTAuxEnsClassesPrincipal", 2):
            main_classes.add(self.school_class(establishment, pieces[1][:32]).pk)
        changed = False
        # Synchronised only where the import manages this teacher (imported memberships, or named by the record):
        # services typed by hand in another establishment stay.
        managed = {establishment.pk for establishment, _year in by_key.values()} | set(Membership.objects.filter(
            user=teacher, role=Role.TEACHER, external_id__isnull=False).values_list("establishment_id", flat=True))
        existing = {(a.subject_id, a.school_class_id, a.group_id): a
                    for a in TeachingAssignment.objects.filter(teacher=teacher, school_year__is_current=True,
                                                               establishment_id__in=managed)}
        for key, assignment in existing.items():
            if key not in wanted:
                assignment.delete()
                self._count("assignments", "deactivated")
                changed = True
        keep_main = not record.has("ENTAuxEnsClassesPrincipal")  # a modifyRequest without it keeps the flags
        for key in wanted:
            is_main = key[1] in main_classes
            if key in existing:
                if keep_main:
                    continue
                if existing[key].is_main_teacher != is_main:
                    existing[key].is_main_teacher = is_main
                    existing[key].save(update_fields=["is_main_teacher"])
                    self._count("assignments", "updated")
                    changed = True
                continue
            establishment, year = by_key[key]
            TeachingAssignment.objects.create(teacher=teacher, establishment=establishment, school_year=year,
                                              subject_id=key[0], school_class_id=key[1], group_id=key[2],
                                              is_main_teacher=is_main)
            self._count("assignments", "created")
            changed = True
        return changed

    # --- Pupils ----------------------------------------------------------------------------------------------

    def _pupil(self, record: AafRecord) -> None:
        establishment = None
        if record.operation != "delete" and (record.operation == "add" or record.has("ENTPersonStructRattach")):
            ref = record.first("ENTPersonStructRattach")
            establishment = self.establishment_for(ref)
            if establishment is None:
                raise Rejected("ENTPersonStructRattach", _(
                    "Établissement inconnu « %(ref)s » (ni jointure ni UAI d'un établissement importé). "
                    "Élève ignoré.") % {"ref": ref} if ref else _(
                    "Établissement de rattachement manquant. Élève ignoré."))
        before = len(self._pending_counts)
        user, user_changed = self._person(record, "pupils", (Role.PUPIL,))
        if user is None:
            return
        created = ("pupils", "created") in self._pending_counts[before:]
        changed = False
        if establishment is not None:
            self._covered["pupils"].add(establishment.pk)
            changed |= self._membership(user, establishment, Role.PUPIL)
            changed |= self._drop_other_memberships(user, (Role.PUPIL,), {(establishment.pk, Role.PUPIL)})
        mef = None
        if record.first("ENTEleveMEF"):
            mef = self.mef(record.first("ENTEleveMEF"))
            if mef is None:
                self._warn("ENTEleveMEF", _("MEF inconnu « %(code)s » ; ignoré.") % {"code": record.first(
                    "ENTEleveMEF")})
        if record.has("ENTEleveClasses"):
            classes = []
            for est, pieces in self._structure_values(record, "ENTEleveClasses", 2):
                school_class = self.school_class(est, pieces[1][:32], pieces[2] if len(pieces) > 2 else "")
                if mef is not None and school_class.mef_id is None:
                    school_class.mef = mef
                    school_class.save(update_fields=["mef"])
                classes.append(school_class)
            changed |= self._sync(ClassEnrolment.objects.filter(pupil=user, school_class__school_year__is_current=True),
                                  "school_class_id", {c.pk for c in classes},
                                  lambda pk: ClassEnrolment(pupil=user, school_class_id=pk))
        if record.has("ENTEleveGroupes"):
            groups = [self.group(est, pieces[1][:32], pieces[2] if len(pieces) > 2 else "")
                      for est, pieces in self._structure_values(record, "ENTEleveGroupes", 2)]
            changed |= self._sync(GroupMembership.objects.filter(pupil=user, group__school_year__is_current=True),
                                  "group_id", {g.pk for g in groups},
                                  lambda pk: GroupMembership(pupil=user, group_id=pk))
        self._finish_person("pupils", user_changed, created, changed)

    @staticmethod
    def _sync(queryset, field_name: str, wanted: set[int], make) -> bool:
        existing = dict(queryset.values_list(field_name, "pk"))
        stale = [pk for key, pk in existing.items() if key not in wanted]
        if stale:
            queryset.model.objects.filter(pk__in=stale).delete()
        missing = [make(key) for key in wanted if key not in existing]
        if missing:
            queryset.model.objects.bulk_create(missing)
        return bool(stale or missing)

    # --- Guardians and links ---------------------------------------------------------------------------------

    def _guardian(self, record: AafRecord) -> None:
        before = len(self._pending_counts)
        user, user_changed = self._person(record, "guardians", (Role.GUARDIAN,))
        if user is None:
            return
        if ("guardians", "created") not in self._pending_counts[before:]:
            self._count("guardians", "updated" if user_changed else "unchanged")
        self._guardians_seen[user.external_id] = (self._file, self._number)

    def _links(self, record: AafRecord) -> None:
        if record.operation == "delete":
            return
        if not (record.has("ENTElevePersRelEleve") or record.has("ENTEleveAutoriteParentale")):
            return
        jointure = record.first("ENTPersonJointure") or (record.identifier if record.operation != "add" else "")
        pupil = User.objects.filter(external_id=jointure).first() if jointure else None
        if pupil is None:  # rejected in the first pass
            return
        authority = set(record.values("ENTEleveAutoriteParentale"))
        wanted: dict[int, dict] = {}
        guardians: dict[int, User] = {}
        refs = [split_ref(value) for value in record.values("ENTElevePersRelEleve")]
        refs += [[ref] for ref in authority if ref not in {parts[0] for parts in refs}]
        for parts in refs:
            ref = parts[0]
            relation_code = parts[1] if len(parts) > 1 else ""
            if relation_code == SELF_RELATION or not ref:
                continue
            guardian = User.objects.filter(external_id=ref).first()
            if guardian is None:
                self._warn("ENTElevePersRelEleve", _(
                    "Responsable inconnu « %(ref)s » : absent des fichiers PersRelEleve et de l'annuaire ; lien "
                    "ignoré.") % {"ref": ref})
                continue
            legal_rank = parts[3] if len(parts) > 3 else ""
            is_legal = ref in authority or legal_rank in ("1", "2")
            wanted[guardian.pk] = {
                "relation": RELATIONS.get(relation_code, GuardianLink.Relation.OTHER),
                "legal_authority": is_legal,
                "receives_correspondence": legal_rank in ("1", "2") or (len(parts) < 4 and is_legal),
                "contact_order": int(legal_rank) if legal_rank in ("1", "2") else 3,
                "external_id": f"{jointure}${ref}"[:64],
            }
            guardians[guardian.pk] = guardian
        establishments = list(Establishment.objects.filter(
            memberships__user=pupil, memberships__role=Role.PUPIL, memberships__is_active=True))
        existing = {link.guardian_id: link for link in GuardianLink.objects.filter(pupil=pupil)}
        for guardian_id, link in existing.items():
            if guardian_id not in wanted and link.external_id:
                link.delete()
                self._count("links", "deactivated")
                self._drop_orphan_guardian_memberships(guardian_id)
        for guardian_id, fields in wanted.items():
            link = existing.get(guardian_id)
            if link is None:
                GuardianLink.objects.create(guardian_id=guardian_id, pupil=pupil, **fields)
                self._count("links", "created")
            else:
                self._save_changes(link, fields, "links")
            for establishment in establishments:
                self._membership(guardians[guardian_id], establishment, Role.GUARDIAN)

    @staticmethod
    def _drop_orphan_guardian_memberships(guardian_id: int) -> None:
        """Deactivate a guardian's imported memberships in establishments where none of their children is."""
        keep = set(Membership.objects.filter(
            role=Role.PUPIL, is_active=True, user__guardian_links__guardian_id=guardian_id,
        ).values_list("establishment_id", flat=True))
        Membership.objects.filter(user_id=guardian_id, role=Role.GUARDIAN, is_active=True,
                                  external_id__isnull=False).exclude(establishment_id__in=keep).update(
            is_active=False)

    def _report_orphan_guardians(self) -> None:
        """Guardians no known pupil points to (their pupils are missing): one line each, after the links."""
        seen = list(self._guardians_seen.items())
        for start in range(0, len(seen), 1000):
            chunk = dict(seen[start:start + 1000])
            linked = set(GuardianLink.objects.filter(guardian__external_id__in=list(chunk)).values_list(
                "guardian__external_id", flat=True))
            for external_id, (file, number) in chunk.items():
                if external_id not in linked:
                    self.report.reject(file, number, "ENTPersonJointure", _(
                        "Responsable %(id)s rattaché à aucun élève connu (élève absent des fichiers Eleve et de "
                        "l'annuaire) : compte gardé sans rattachement ni lien.") % {"id": external_id})


def establishment_kind(type_struct: str, name: str) -> str | None:
    """Establishment kind from ENTStructureTypeStruct (or, failing that, the name's prefix); None if unknown."""
    for text in (type_struct.upper(), name.upper()):
        words = re.split(r"[^A-Z0-9]+", text)
        if not text or text == "SANS OBJET":
            continue
        if words[0] in ("LP", "LPO") or "PROFESSIONNEL" in text:
            return Establishment.Kind.LP
        if words[0] in ("LYC", "LYCEE", "LGT", "LG", "LT", "EREA"):
            return Establishment.Kind.LYCEE
        if words[0] in ("CLG", "COLLEGE"):
            return Establishment.Kind.COLLEGE
        if words[0] in ("ECOLE", "EE", "EM", "EP", "ECOL", "E.E.PU", "E.M.PU") or text.startswith(("E.E.", "E.M.")):
            return Establishment.Kind.ECOLE
    return None


def staff_function(code: str, label: str, establishment: Establishment) -> str:
    function = FUNCTIONS.get(code, StaffFunction.OTHER)
    if function == StaffFunction.HEAD:
        if "ADJOINT" in label.upper():
            return StaffFunction.DEPUTY
        if establishment.kind == Establishment.Kind.ECOLE:
            return StaffFunction.DIRECTOR
    return str(function)
