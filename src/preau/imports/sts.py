"""The STS-Web importer: `sts_emp_<UAI>_<YEAR>.xml` (root `STS_EDT`), one establishment's teachers and services.

The file names its establishment (`PARAMETRES/UAJ/@CODE`, which must already be in the directory) and its school
year, then lists the subjects and MEFs it uses (`NOMENCLATURES`), the classes and groups with their services
(`DONNEES/STRUCTURE`: who teaches which subject to which division or group) and the people (`DONNEES/INDIVIDUS`).
Services name people by their STS id, and the people come after the structure in real files, so the file is read
in passes, each streamed (only the current record is in memory): the people first, then the structure, then each
teacher's services are written. What is kept between passes is small and per establishment: the STS ids met, the
subjects of the nomenclature, the services wanted per teacher. STS-Web is a full export of the establishment's
teachers: those it no longer lists are marked leaving and lose their services there. See docs/imports.md.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _
from lxml import etree

from preau.accounts.models import User
from preau.directory.models import (
    Establishment,
    Mef,
    Membership,
    Role,
    SchoolYear,
    Subject,
    TeachingAssignment,
)

from .aaf import TEACHING_FUNCTION, staff_function
from .engine import READ_ERRORS, STAFF_ROLES, UAI_RE, DirectoryImporter, Rejected, read_error_reason
from .report import Report
from .xmlstream import UnsafeXML, iter_elements, peek, text_of

ROOT_TAG = "STS_EDT"
# The export of a timetable software *to* STS-Web, often taken for this one.
UPLOAD_ROOT_TAG = "EDT_STS"
# Record elements, each under its own list element (MEF also appears inside divisions in some files).
RECORD_PARENTS = {"PARAMETRES": ROOT_TAG, "MATIERE": "MATIERES", "MEF": "MEFS", "DIVISION": "DIVISIONS",
                  "GROUPE": "GROUPES", "INDIVIDU": "INDIVIDUS"}
RECORD_TAGS = tuple(RECORD_PARENTS)
PEOPLE_PASS = frozenset({"MATIERE", "MEF", "INDIVIDU"})
STRUCTURE_PASS = frozenset({"DIVISION", "GROUPE"})


# --- Records ----------------------------------------------------------------------------------------------------


@dataclass
class Individual:
    id: str
    last_name: str
    birth_name: str
    first_name: str
    birth_date: str
    function: str
    # PROFS_PRINC/PROF_PRINC: (division code, end date as written).
    main_of: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Service:
    subject: str  # CODE_MATIERE: the national subject code, explained by NOMENCLATURES/MATIERES
    teachers: list[str]  # ENSEIGNANT/@ID


@dataclass
class Division:
    """A DIVISION (class) or GROUPE (group) with its services."""

    tag: str
    code: str
    label: str
    mefs: list[str]
    classes: list[str]  # a group's DIVISIONS_APPARTENANCE
    services: list[Service]


def _children(element, tag: str) -> Iterator:
    return (child for child in element if child.tag == tag)


def _text(element, tag: str) -> str:
    child = next(_children(element, tag), None)
    return text_of(child) if child is not None else ""


def _codes(element, list_tag: str, item_tag: str) -> list[str]:
    return [code for holder in _children(element, list_tag) for item in _children(holder, item_tag)
            if (code := (item.get("CODE") or "").strip())]


def parse_individual(element) -> Individual:
    """An INDIVIDU element. Raises UnsafeXML on an entity reference."""
    main_of = [(_text(item, "CODE_STRUCTURE"), _text(item, "DATE_FIN"))
               for holder in _children(element, "PROFS_PRINC") for item in _children(holder, "PROF_PRINC")]
    return Individual(id=(element.get("ID") or "").strip(), last_name=_text(element, "NOM_USAGE"),
                      birth_name=_text(element, "NOM_PATRONYMIQUE"), first_name=_text(element, "PRENOM"),
                      birth_date=_text(element, "DATE_NAISSANCE"), function=_text(element, "FONCTION").upper(),
                      main_of=main_of)


def parse_division(element) -> Division:
    """A DIVISION or GROUPE element. Raises UnsafeXML on an entity reference."""
    services = [Service((service.get("CODE_MATIERE") or "").strip(),
                        [teacher_id for holder in _children(service, "ENSEIGNANTS")
                         for teacher in _children(holder, "ENSEIGNANT")
                         if (teacher_id := (teacher.get("ID") or "").strip())])
                for holder in _children(element, "SERVICES") for service in _children(holder, "SERVICE")]
    return Division(tag=element.tag, code=(element.get("CODE") or "").strip(), label=_text(element, "LIBELLE_LONG"),
                    mefs=_codes(element, "MEFS_APPARTENANCE", "MEF_APPARTENANCE"),
                    classes=_codes(element, "DIVISIONS_APPARTENANCE", "DIVISION_APPARTENANCE"), services=services)


def teacher_ids_in(element) -> set[str]:
    """The STS ids a structure element names (attributes only: readable even when its texts are not)."""
    return {teacher_id for teacher in element.iter("ENSEIGNANT") if (teacher_id := (teacher.get("ID") or "").strip())}


def entity_refused() -> Rejected:
    return Rejected("", _("Entité XML refusée : les entités ne sont jamais résolues (protection contre la lecture de "
                          "fichiers du serveur). Enregistrement ignoré."))


def iter_records(path: Path, wanted: frozenset[str]) -> Iterator[tuple[int, etree._Element]]:
    """The wanted record elements of the file, numbered in document order over all record kinds (so a record has
    the same number in every pass). Records of the other kinds are read and freed unseen."""
    for number, element in iter_elements(path, RECORD_TAGS):
        parent = element.getparent()
        if element.tag in wanted and parent is not None and parent.tag == RECORD_PARENTS[element.tag]:
            yield number, element


# --- What one file leaves for the next pass ---------------------------------------------------------------------


@dataclass
class Person:
    number: int  # INDIVIDU record number, for the report
    user_id: int
    teaches: bool  # FONCTION = ENS: their services are imported
    main_of: list[str]  # division codes of their current PROF_PRINC


@dataclass
class FileState:
    establishment: Establishment
    # NOMENCLATURES/MATIERES: national code → (management code, label).
    subjects: dict[str, tuple[str, str]] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    claimed: set[int] = field(default_factory=set)  # users already given to an STS id of this file
    seen: set[str] = field(default_factory=set)  # membership join keys of the people listed
    # Subjects that existed before this file under their national code (made by the AAF import): reused.
    national_subjects: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)  # division code → SchoolClass id
    # STS id → wanted assignment keys (subject id, class id or None, group id or None).
    wanted: dict[str, set[tuple[int, int | None, int | None]]] = field(default_factory=dict)
    # STS ids whose services could not all be read (a bad structure record or service): nothing removed for them.
    unsure: set[str] = field(default_factory=set)
    people_read: bool = False  # the first pass read the file to the end (else services are not looked at)


class StsImporter(DirectoryImporter):
    source = "sts"
    def __init__(self, report: Report, **kwargs):
        super().__init__(report, **kwargs)
        self.state: FileState | None = None

    def run(self, paths: Iterable[str | Path]) -> Report:
        for raw in paths:
            path = Path(raw)
            if not path.is_file():
                self.report.reject(path.name, None, "", _("Fichier introuvable ou illisible."))
                continue
            self._import_file(path)
        self.mark_leaving("staff", (Role.TEACHER,))
        self.deactivate_after_grace()
        return self.report

    # --- One file ----------------------------------------------------------------------------------------------

    def _import_file(self, path: Path) -> None:
        establishment = self._open(path)
        if establishment is None:
            return
        self.state = FileState(establishment)
        try:
            self._passes(path)
        finally:
            self.state = None

    def _passes(self, path: Path) -> None:
        state = self.state
        establishment = state.establishment
        complete = state.people_read = self.process(path.name, iter_records(path, PEOPLE_PASS), self._people_record,
                                                    kind=path.name)
        state.national_subjects = dict(Subject.objects.filter(
            establishment=establishment, code__in=list(state.subjects)).values_list("code", "pk"))
        complete &= self.process(path.name, iter_records(path, STRUCTURE_PASS), self._structure_record,
                                 kind=path.name, report_errors=False)
        if not complete:
            self.report.reject(path.name, None, "", _(
                "Fichier illisible jusqu'au bout : les services des enseignants ne sont pas mis à jour et personne "
                "n'est marqué comme partant pour cet établissement."))
            return
        teachers = sorted(((person.number, (sts_id, person)) for sts_id, person in state.people.items()
                           if person.teaches), key=lambda item: item[0])
        self.process(path.name, teachers, self._teacher_services, kind=path.name)
        self._drop_absent_teachers_services(establishment, state.seen)
        self.covered("staff", establishment.pk)

    def _open(self, path: Path) -> Establishment | None:
        """Check the file is an STS-Web export of a known establishment for its current year; None (reported)
        when not."""
        name = path.name
        try:
            root, declares_entities = peek(path)
        except READ_ERRORS as exc:
            self.report.reject(name, None, "", read_error_reason(exc))
            return None
        if declares_entities:
            self.report.reject(name, None, "", _(
                "Déclaration d'entités XML refusée : un export STS-Web n'en contient pas, et elles pourraient faire "
                "lire des fichiers du serveur. Fichier ignoré."))
            return None
        if root == UPLOAD_ROOT_TAG:
            self.report.reject(name, None, "", _(
                "Ce fichier est l'export d'un logiciel d'emploi du temps vers STS-Web (racine EDT_STS), pas l'export "
                "STS-Web pour l'ENT (sts_emp_UAI_ANNEE.xml, racine STS_EDT). Fichier ignoré."))
            return None
        if root != ROOT_TAG:
            self.report.reject(name, None, "", _(
                "Fichier STS-Web non reconnu : la racine est « %(root)s », « STS_EDT » attendu. Fichier ignoré.")
                % {"root": root})
            return None
        records = iter_records(path, frozenset({"PARAMETRES"}))
        try:
            header = next(records, None)  # read while the reader holds it (it frees records once passed)
            parameters = self._parameters(header[1]) if header else None
            records.close()
        except READ_ERRORS as exc:
            self.report.reject(name, None, "", read_error_reason(exc))
            return None
        if parameters is None:
            self.report.reject(name, None, "PARAMETRES", _("Section PARAMETRES absente : l'établissement du fichier "
                                                           "est inconnu. Fichier ignoré."))
            return None
        uai, year = parameters
        if not UAI_RE.match(uai):
            self.report.reject(name, None, "UAJ", _(
                "Code UAI absent ou invalide « %(uai)s » (PARAMETRES/UAJ, attribut CODE : 7 chiffres suivis d'une "
                "lettre). Fichier ignoré.") % {"uai": uai})
            return None
        establishment = Establishment.objects.filter(uai=uai).first()
        if establishment is None:
            self.report.reject(name, None, "UAJ", _(
                "Établissement %(uai)s inconnu de l'annuaire : créez-le (ou importez-le depuis l'AAF) avant "
                "d'importer son fichier STS-Web. Fichier ignoré.") % {"uai": uai})
            return None
        if self.establishment is not None and self.establishment.pk != establishment.pk:
            self.report.reject(name, None, "UAJ", _(
                "Ce fichier est celui de l'établissement %(uai)s, pas de %(chosen)s. Fichier ignoré.")
                % {"uai": uai, "chosen": self.establishment.uai})
            return None
        if not establishment.is_active:
            self.report.reject(name, None, "UAJ", _("Établissement %(uai)s fermé dans l'annuaire. Fichier ignoré.")
                               % {"uai": uai})
            return None
        expected = self._current_start_year(establishment)
        if year is None:
            self.report.reject(name, None, "ANNEE_SCOLAIRE", _(
                "Année scolaire absente ou illisible (PARAMETRES/ANNEE_SCOLAIRE, attribut ANNEE) : le fichier est "
                "importé dans l'année en cours %(first)d-%(next)d.") % {"first": expected, "next": expected + 1})
        elif year != expected:
            self.report.reject(name, None, "ANNEE_SCOLAIRE", _(
                "Fichier de l'année %(year)d-%(year_next)d, alors que l'année en cours de l'établissement est "
                "%(first)d-%(next)d (faites la bascule d'année d'abord, ou prenez l'export de la bonne année). "
                "Fichier ignoré.") % {"year": year, "year_next": year + 1, "first": expected, "next": expected + 1})
            return None
        return establishment

    @staticmethod
    def _parameters(element) -> tuple[str, int | None]:
        """(UAI, first calendar year of the school year or None) from PARAMETRES."""
        uaj = next(_children(element, "UAJ"), None)
        uai = (uaj.get("CODE") or "").strip().upper() if uaj is not None else ""
        year_element = next(_children(element, "ANNEE_SCOLAIRE"), None)
        year_text = (year_element.get("ANNEE") or "").strip() if year_element is not None else ""
        return uai, int(year_text) if re.fullmatch(r"\d{4}", year_text) else None

    def _current_start_year(self, establishment: Establishment) -> int:
        """The first calendar year of the establishment's current school year (as current_year() would make it)."""
        year = SchoolYear.objects.filter(establishment=establishment, is_current=True).first()
        if year is not None:
            return year.start.year
        return self.today.year if self.today.month >= 8 else self.today.year - 1

    # --- First pass: nomenclatures and people -----------------------------------------------------------------

    def _people_record(self, element) -> None:
        try:
            if element.tag == "MATIERE":
                self._subject_entry(element)
            elif element.tag == "MEF":
                self._mef(element)
            else:
                self._individual(element)
        except UnsafeXML:
            raise entity_refused() from None

    def _subject_entry(self, element) -> None:
        code = (element.get("CODE") or "").strip()
        if not code:
            raise Rejected("MATIERE/@CODE", _("Matière sans code dans la nomenclature ; ignorée."))
        management = _text(element, "CODE_GESTION")
        label = _text(element, "LIBELLE_LONG") or _text(element, "LIBELLE_COURT") or management or code
        self.state.subjects[code] = (management or code, label)

    def _mef(self, element) -> None:
        code = (element.get("CODE") or "").strip()
        if not code or len(code) > 11:
            raise Rejected("MEF/@CODE", _("Code MEF absent ou trop long « %(code)s » (11 caractères au plus) ; "
                                          "ignoré.") % {"code": code})
        if self.mef(code) is not None:
            self.count("mefs", "unchanged")  # labels belong to the national nomenclature (AAF MefEducNat)
            return
        short = _text(element, "LIBELLE_COURT")
        Mef.objects.create(code=code, label=(_text(element, "LIBELLE_LONG") or short or code)[:120],
                           short_label=short[:40])
        self.forget_mef(code)
        self.count("mefs", "created")

    def _individual(self, element) -> None:
        state = self.state
        establishment = state.establishment
        individual = parse_individual(element)
        sts_id = self.check_join_key(individual.id, "INDIVIDU/@ID")
        if sts_id in state.people:
            raise Rejected("INDIVIDU/@ID", _("Identifiant %(id)s en double dans le fichier : second enregistrement "
                                             "ignoré.") % {"id": sts_id})
        key = self.check_join_key(f"sts:{establishment.uai}:{sts_id}", "INDIVIDU/@ID")
        birth_date = self.clean_date(individual.birth_date, "DATE_NAISSANCE")
        last_name = individual.last_name or individual.birth_name
        user = User.objects.filter(external_id=key).first()
        if user is None:
            user = self._same_person(individual, last_name, birth_date or None)
        # The feed that made the person owns their identity: a teacher found by name keeps what AAF gave them.
        owned = user is None or user.external_id in (None, key)
        fields: dict = {}
        if owned:
            fields = {"last_name": last_name, "first_name": individual.first_name}
            if birth_date is not False:
                fields["birth_date"] = birth_date
            if user is not None and user.external_id is None:
                fields["external_id"] = key  # a person typed by hand, adopted by the import
        user, created, changed = self.upsert_person(
            external_id=key, kind="staff", fields=fields, user=user,
            required=(("last_name", "NOM_USAGE"), ("first_name", "PRENOM")))
        function = individual.function
        if function:
            changed |= self._memberships(user, function, owned)
        else:
            self.warn("FONCTION", _("Aucune fonction (congé, départ en cours d'année ?) : rattachements et services "
                                    "de cette personne laissés tels quels."))
        self.finish_person("staff", created, changed)
        state.people[sts_id] = Person(self.number, user.pk, function == TEACHING_FUNCTION,
                                      self._main_divisions(individual))
        state.claimed.add(user.pk)
        # The join key their memberships carry (this file's, or the AAF's for a teacher found by name).
        self.seen("staff", user.external_id, self.state.establishment.pk)
        state.seen.add(user.external_id)

    def _same_person(self, individual: Individual, last_name: str, birth_date: datetime.date | None) -> User | None:
        """A teacher or staff member of the establishment with the same names and date of birth, if exactly one
        (the AAF join key is not in STS-Web: this is how a teacher imported from the AAF is found again)."""
        if birth_date is None or not individual.first_name or not last_name:
            return None
        state = self.state
        candidates = self.same_staff([state.establishment.pk], individual.first_name,
                                     (last_name, individual.birth_name), birth_date, exclude=state.claimed)
        if len(candidates) > 1:
            self.warn("NOM_USAGE", _(
                "%(n)d personnes de l'établissement ont ces nom, prénom et date de naissance : aucune n'est reprise, "
                "un compte est créé pour l'identifiant STS.") % {"n": len(candidates)})
            return None
        return candidates[0] if candidates else None

    def _memberships(self, user: User, function: str, owned: bool) -> bool:
        establishment = self.state.establishment
        if function == TEACHING_FUNCTION:
            role, functions = Role.TEACHER, None
        else:
            role, functions = Role.STAFF, [staff_function(function, "", establishment)]
            if not owned:  # keep the functions the AAF gave (it tells a deputy from a head, STS-Web does not)
                existing = Membership.objects.filter(user=user, establishment=establishment, role=role).first()
                if existing is not None and existing.functions:
                    functions = None
        changed = self.membership(user, establishment, role, functions)
        if owned:
            changed |= self.drop_other_memberships(user, STAFF_ROLES, {(establishment.pk, role)})
        return changed

    def _main_divisions(self, individual: Individual) -> list[str]:
        """Division codes of the PROF_PRINC entries not ended yet."""
        codes = []
        for code, end in individual.main_of:
            if not code:
                continue
            end_date = self.clean_date(end, "PROF_PRINC/DATE_FIN") if end else None
            if end_date and end_date < self.today:
                continue
            codes.append(code)
        return codes

    # --- Second pass: classes, groups and their services ------------------------------------------------------

    def _structure_record(self, element) -> None:
        try:
            division = parse_division(element)
            if not division.code:
                raise Rejected("CODE", _("Code manquant : ce regroupement et ses services sont ignorés (les services "
                                         "des enseignants nommés ne sont pas retirés)."))
            self._structure(division)
        except Exception as exc:
            # Whatever rejects the record, the services of the teachers it names are unknown: none is removed.
            self.state.unsure |= teacher_ids_in(element)
            if isinstance(exc, UnsafeXML):
                raise entity_refused() from None
            raise

    def _structure(self, division: Division) -> None:
        state = self.state
        establishment = state.establishment
        since = len(self._pending_counts)
        is_class = division.tag == "DIVISION"
        where = f"{division.tag}[@CODE={division.code}]"
        if is_class:
            school_class = self.school_class(establishment, division.code, division.label)
            if self._class_mef(school_class, division.mefs) and not self.counted("classes", "created", since):
                self.count("classes", "updated")
            kind, target = "classes", (school_class.pk, None)
        else:
            group = self.group(establishment, division.code, division.label)
            classes = {self.school_class(establishment, code).pk for code in division.classes}
            if set(group.classes.values_list("pk", flat=True)) != classes:
                group.classes.set(classes)
                if not self.counted("groups", "created", since):
                    self.count("groups", "updated")
            kind, target = "groups", (None, group.pk)
        if not self.counted(kind, "created", since) and not self.counted(kind, "updated", since):
            self.count(kind, "unchanged")
        if state.people_read:
            self._services(division, where, target)
        if is_class:
            state.classes[division.code] = target[0]

    def _services(self, division: Division, where: str, target: tuple[int | None, int | None]) -> None:
        state = self.state
        wanted: dict[str, set] = {}
        unsure: set[str] = set()
        for service in division.services:
            attribute = f"{where}/SERVICE[@CODE_MATIERE={service.subject}]"
            subject_id = self._subject_id(service.subject)
            if subject_id is None:
                self.warn(attribute[:100], _(
                    "Matière « %(code)s » absente de la nomenclature du fichier (NOMENCLATURES/MATIERES) : service "
                    "ignoré, les services existants de ses enseignants sont gardés.") % {"code": service.subject})
                unsure.update(service.teachers)
                continue
            for teacher_id in service.teachers:
                person = state.people.get(teacher_id)
                if person is None:
                    self.warn(f"{attribute}/ENSEIGNANT[@ID={teacher_id}]"[:100], _(
                        "Enseignant %(id)s absent de la section INDIVIDUS du fichier : service ignoré pour "
                        "lui.") % {"id": teacher_id})
                elif not person.teaches:
                    self.warn(f"{attribute}/ENSEIGNANT[@ID={teacher_id}]"[:100], _(
                        "La personne %(id)s n'a pas la fonction ENS (enseignement) dans le fichier : service "
                        "ignoré pour elle.") % {"id": teacher_id})
                else:
                    wanted.setdefault(teacher_id, set()).add((subject_id, *target))
        # Kept for the third pass only now that nothing in this record can fail (a rejected record is rolled back).
        for teacher_id, keys in wanted.items():
            state.wanted.setdefault(teacher_id, set()).update(keys)
        state.unsure |= unsure

    def _class_mef(self, school_class, codes: list[str]) -> bool:
        """The class's MEF from its first MEF_APPARTENANCE, when it has none yet. Changed?"""
        if not codes or school_class.mef_id is not None:
            return False
        mef = self.mef(codes[0])
        if mef is None:
            self.warn("MEF_APPARTENANCE", _("MEF inconnu « %(code)s » ; ignoré.") % {"code": codes[0]})
            return False
        school_class.mef = mef
        school_class.save(update_fields=["mef"])
        return True

    def _subject_id(self, code: str) -> int | None:
        """The establishment's subject for a national subject code: the one the AAF import made under that code if
        any, else the one of the file's management code (CODE_GESTION), created on first sight."""
        entry = self.state.subjects.get(code)
        if entry is None:
            return None
        if code in self.state.national_subjects:
            return self.state.national_subjects[code]
        management, label = entry
        return self.subject(self.state.establishment, management, label).pk

    # --- Third pass: each teacher's services ------------------------------------------------------------------

    def _teacher_services(self, item: tuple[str, Person]) -> None:
        sts_id, person = item
        state = self.state
        establishment = state.establishment
        year = self.current_year(establishment)
        keys = state.wanted.get(sts_id, set())
        main_classes = set()
        for code in person.main_of:
            class_id = state.classes.get(code)
            if class_id is None:
                self.warn("PROF_PRINC/CODE_STRUCTURE", _(
                    "Professeur principal d'une classe « %(code)s » absente de la section DIVISIONS : ignoré.")
                    % {"code": code})
            elif not any(key[1] == class_id for key in keys):
                self.warn("PROF_PRINC/CODE_STRUCTURE", _(
                    "Professeur principal de « %(code)s » sans service dans cette classe : l'indication n'a pas "
                    "de service où être gardée ; ignorée.") % {"code": code})
            else:
                main_classes.add(class_id)
        wanted = {key: (establishment, year, key[1] in main_classes) for key in keys}
        if sts_id in state.unsure:  # some of their services could not be read: add, never remove
            for assignment in TeachingAssignment.objects.filter(teacher_id=person.user_id, establishment=establishment,
                                                                school_year__is_current=True):
                wanted.setdefault((assignment.subject_id, assignment.school_class_id, assignment.group_id),
                                  (establishment, year, None))
        teacher = User.objects.get(pk=person.user_id)
        self.sync_assignments(teacher, wanted, [establishment.pk])

    def _drop_absent_teachers_services(self, establishment: Establishment, seen: set[str]) -> None:
        """Teachers the full export no longer lists lose their current-year services here (their imported
        membership is marked leaving at the end of the run)."""
        absent = Membership.objects.filter(establishment=establishment, role=Role.TEACHER, is_active=True,
                                           external_id__isnull=False).exclude(
            external_id__in=list(seen)).values_list("user_id", flat=True)
        with transaction.atomic():
            _total, by_model = TeachingAssignment.objects.filter(
                establishment=establishment, school_year__is_current=True, teacher_id__in=list(absent)).delete()
        deleted = by_model.get(TeachingAssignment._meta.label, 0)
        if deleted:
            self.report.count("assignments", "deactivated", self.labels["assignments"], deleted)
