"""The AAF importer: `ficAlimMENESR` files (Complet and Delta) into the directory.

Files are read in dependency order — establishments, MEFs, subjects, staff and teachers, pupils, guardians — then
the pupils' files a second time for the guardian links (a pupil names their guardians, who come in later files).
Each record is applied in its own savepoint, inside batches of `batch_size` records committed together: a bad
record is rejected (one line in the report) and the rest goes on. People are matched by `ENTPersonJointure`
(User.external_id), establishments by `ENTStructureJointure` then UAI. See docs/imports.md for the mapping.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from lxml import etree

from preau.accounts.models import User
from preau.directory.models import Establishment, GuardianLink, Mef, Membership, Role, StaffFunction

from .engine import STAFF_ROLES, UAI_RE, DirectoryImporter, Rejected, Skipped, parse_date
from .models import NationalSubject
from .report import Report
from .xmlstream import UnsafeXML, iter_elements, peek, text_of

REQUEST_TAGS = ("addRequest", "modifyRequest", "deleteRequest")
OPERATIONS = {"addRequest": "add", "modifyRequest": "modify", "deleteRequest": "delete"}
KINDS = ("EtabEducNat", "MefEducNat", "MatiereEducNat", "PersEducNat", "Eleve", "PersRelEleve")
FILE_KIND_RE = re.compile(r"_(EtabEducNat|MefEducNat|MatiereEducNat|PersEducNat|Eleve|PersRelEleve)_\d+\.xml$",
                          re.IGNORECASE)
# operationalAttributes values → file kind.
CATEGORY_KINDS = {"etabeducnat": "EtabEducNat", "mefeducnat": "MefEducNat", "mateducnat": "MatiereEducNat",
                  "matiereeducnat": "MatiereEducNat", "perseducnat": "PersEducNat", "eleve": "Eleve",
                  "persreleleve": "PersRelEleve"}
FULL_RE = re.compile(r"_Complet_", re.IGNORECASE)
PART_RE = re.compile(r"_(\d+)\.xml$", re.IGNORECASE)
SEEN_KINDS = {"Eleve": "pupils", "PersEducNat": "staff"}

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


def split_ref(value: str) -> list[str]:
    return [part.strip() for part in value.split("$")]


class AafImporter(DirectoryImporter):
    source = "aaf"
    def __init__(self, report: Report, **kwargs):
        super().__init__(report, **kwargs)
        # Guardians read in this run, to report those no pupil points to: external id → (file, record number).
        self._guardians_seen: dict[str, tuple[str, int]] = {}

    # --- Running ---------------------------------------------------------------------------------------------

    def run(self, paths: Iterable[str | Path]) -> Report:
        by_kind: dict[str, list[Path]] = defaultdict(list)
        for raw in paths:
            path = Path(raw)
            if not path.is_file():
                self.report.reject(path.name, None, "", _("Fichier introuvable ou illisible."))
                continue
            try:
                _root, declares_entities = peek(path)
            except (etree.XMLSyntaxError, OSError):
                declares_entities = False  # reported when the file is read
            if declares_entities:
                self.report.reject(path.name, None, "", _(
                    "Entité XML refusée : le fichier déclare des entités, ce qu'un export AAF ne fait pas (elles "
                    "pourraient faire lire des fichiers du serveur ou épuiser sa mémoire). Fichier ignoré."))
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
            self._import_file(path, "Eleve", self._links, first_pass=False)
        self._report_orphan_guardians()
        for kind in ("PersEducNat", "Eleve"):
            self._mark_leaving(kind, by_kind[kind])
        self.deactivate_after_grace()
        return self.report

    def _mark_leaving(self, kind: str, paths: list[Path]) -> None:
        """After a complete, readable full (Complet) import of a kind, mark as leaving the imported memberships of
        the establishments it covered that it no longer lists. Never on a Delta, a missing part or a bad file."""
        if not paths or not all(FULL_RE.search(path.name) for path in paths):
            return
        parts = sorted(int(match.group(1)) for path in paths if (match := PART_RE.search(path.name)))
        complete = parts == list(range(len(parts))) and len(parts) == len(paths)
        if not complete or kind in self.broken_kinds:
            self.report.reject(", ".join(sorted(path.name for path in paths)), None, "", _(
                "Import complet incomplet (partie manquante ou fichier illisible) : personne n'est marqué comme "
                "partant pour ce type (%(kind)s).") % {"kind": kind})
            return
        self.mark_leaving(SEEN_KINDS[kind])

    def _handler(self, kind: str) -> Callable[[AafRecord], None]:
        return {"EtabEducNat": self._establishment, "MefEducNat": self._mef, "MatiereEducNat": self._subject_ref,
                "PersEducNat": self._staff, "Eleve": self._pupil, "PersRelEleve": self._guardian}[kind]

    def _import_file(self, path: Path, kind: str, handler, *, first_pass: bool = True) -> None:
        def apply(element) -> None:
            try:
                record = parse_record(element)
            except UnsafeXML:
                if not first_pass:
                    raise Skipped from None
                raise Rejected("", _(
                    "Entité XML refusée : les entités ne sont jamais résolues (protection contre la lecture de "
                    "fichiers du serveur). Enregistrement ignoré.")) from None
            if first_pass and kind in SEEN_KINDS and record.operation != "delete":
                self.seen(SEEN_KINDS[kind], record.first("ENTPersonJointure") or record.identifier)
            if record.category and CATEGORY_KINDS.get(record.category.lower(), kind) != kind:
                if not first_pass:
                    raise Skipped
                raise Rejected("", _("Enregistrement de type « %(cat)s » dans un fichier %(kind)s : ignoré.")
                               % {"cat": record.category, "kind": kind})
            handler(record)

        self.process(path.name, iter_elements(path, REQUEST_TAGS), apply, kind=kind, report_errors=first_pass)

    # --- Lookups ---------------------------------------------------------------------------------------------

    def _structure_values(self, record: AafRecord, attribute: str, parts: int) -> list[tuple[Establishment, list]]:
        """Parse `structure$code[$...]` values; unknown structures and short values are reported and skipped."""
        out = []
        for value in record.values(attribute):
            pieces = split_ref(value)
            if len(pieces) < parts or not all(pieces[:parts]):
                self.warn(attribute, _("Valeur « %(value)s » mal formée (attendu %(n)d parties séparées par $) ; "
                                       "ignorée.") % {"value": value, "n": parts})
                continue
            establishment = self.establishment_for(pieces[0])
            if establishment is None:
                self.warn(attribute, _("Établissement inconnu « %(ref)s » dans « %(value)s » ; valeur ignorée.")
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
                self.count("establishments", "deactivated")
            else:
                self.count("establishments", "unchanged")
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
            self.count("establishments", "created")
        else:
            if jointure and establishment.external_id != jointure:
                fields["external_id"] = jointure
            fields["is_active"] = True
            self.save_changes(establishment, fields, "establishments")
        self.remember_establishment(establishment, jointure, establishment.uai)
        for value in record.values("ENTStructureClasses"):
            pieces = split_ref(value)
            if pieces[0]:
                self.school_class(establishment, pieces[0][:32], pieces[1] if len(pieces) > 1 else "")
        for value in record.values("ENTStructureGroupes"):
            pieces = split_ref(value)
            if pieces[0]:
                self.group(establishment, pieces[0][:32], pieces[1] if len(pieces) > 1 else "")

    def _mef(self, record: AafRecord) -> None:
        code = record.first("ENTMefJointure") or record.identifier
        if not code:
            raise Rejected("ENTMefJointure", _("Code MEF manquant."))
        if len(code) > 11:
            raise Rejected("ENTMefJointure", _("Code MEF trop long « %(code)s » (11 caractères au plus).")
                           % {"code": code})
        if record.operation == "delete":  # kept: classes of past years may point to it
            self.count("mefs", "unchanged")
            return
        mef = Mef.objects.filter(code=code).first()
        label = record.first("ENTLibelleMef")[:120]
        if mef is None:
            if record.operation == "modify":
                raise Rejected("", _("MEF inconnu « %(code)s » : modification impossible.") % {"code": code})
            Mef.objects.create(code=code, label=label or code)
            self.count("mefs", "created")
        else:
            self.save_changes(mef, {"label": label} if label else {}, "mefs")
        self.forget_mef(code)

    def _subject_ref(self, record: AafRecord) -> None:
        code = record.first("ENTMatJointure") or record.identifier
        if not code:
            raise Rejected("ENTMatJointure", _("Code matière manquant."))
        if len(code) > 16:
            raise Rejected("ENTMatJointure", _("Code matière trop long « %(code)s ».") % {"code": code})
        if record.operation == "delete":  # kept for the history of grades
            self.count("national_subjects", "unchanged")
            return
        label = record.first("ENTLibelleMatiere")[:120]
        subject = NationalSubject.objects.filter(code=code).first()
        if subject is None:
            if record.operation == "modify":
                raise Rejected("", _("Matière inconnue « %(code)s » : modification impossible.") % {"code": code})
            NationalSubject.objects.create(code=code, label=label or code)
            self.count("national_subjects", "created")
        else:
            self.save_changes(subject, {"label": label} if label else {}, "national_subjects")

    # --- People ----------------------------------------------------------------------------------------------

    def _person(self, record: AafRecord, kind: str, roles: tuple[str, ...]) -> tuple[User | None, bool, bool]:
        """Create or update the person of a record: (user, created, changed); (None, ...) when deleted."""
        jointure = self.check_join_key(
            record.first("ENTPersonJointure") or (record.identifier if record.operation != "add" else ""),
            "ENTPersonJointure")
        if record.operation == "delete":
            self.deactivate_person(external_id=jointure, kind=kind, roles=roles)
            return None, False, False
        user = self._staff_from_another_feed(record, jointure) if kind == "staff" else None
        fields: dict = {}
        for attribute, field_name in (("sn", "last_name"), ("givenName", "first_name")):
            if record.has(attribute):
                fields[field_name] = record.first(attribute)
        if record.has("ENTPersonDateNaissance"):
            birth_date = self.clean_date(record.first("ENTPersonDateNaissance"), "ENTPersonDateNaissance")
            if birth_date is not False:
                fields["birth_date"] = birth_date
        if record.has("mail"):
            email = self.clean_email(record.first("mail"), "mail")
            if email is not None:
                fields["email"] = email
        phones = [value for name in ("mobile", "telephoneNumber", "homePhone") for value in record.values(name)
                  if value.strip("0 ")]
        if phones:
            fields["phone"] = phones[0]
        if record.has("ENTEleveINE"):
            fields["ine"] = record.first("ENTEleveINE")
        # A pupil another feed brought in (SIECLE, BE1D) is found by INE and keeps that feed's key.
        return self.upsert_person(external_id=jointure, kind=kind, fields=fields, user=user,
                                  modify_only=record.operation == "modify", match_ine=kind == "pupils")

    def _staff_from_another_feed(self, record: AafRecord, jointure: str) -> User | None:
        """A teacher or staff member the AAF does not know yet but another feed (STS-Web, BE1D, CSV) or an
        administrator brought in, found by names and birth date in the record's establishments if exactly one:
        the AAF's join key becomes theirs (it is the academy's reference), so no second account is made."""
        if record.operation != "add" or User.objects.filter(external_id=jointure).exists():
            return None
        try:
            birth_date = parse_date(record.first("ENTPersonDateNaissance"))
        except ValueError:
            return None
        refs = [split_ref(value)[0] for value in record.values("ENTPersonFonctions")]
        establishments = {establishment.pk for ref in (*refs, *record.values("ENTPersonStructRattach"))
                          if (establishment := self.establishment_for(ref)) is not None}
        candidates = [user for user in self.same_staff(establishments, record.first("givenName"),
                                                       [record.first("sn")], birth_date or None)
                      if not user.external_id or ":" in user.external_id]  # not another AAF person
        if len(candidates) != 1:
            return None
        user = candidates[0]
        user.external_id = jointure
        user.save(update_fields=["external_id"])
        return user

    # --- Staff and teachers ----------------------------------------------------------------------------------

    def _staff(self, record: AafRecord) -> None:
        user, created, changed = self._person(record, "staff", STAFF_ROLES)
        if user is None:
            return
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
                    self.warn("ENTPersonStructRattach", _("Établissement inconnu « %(ref)s » ; rattachement "
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
            for establishment_id in (*teaching, *staff):
                self.covered("staff", establishment_id)
            # A person created by this record has no membership yet: nothing to look up, nothing to drop.
            for establishment in teaching.values():
                changed |= self.membership(user, establishment, Role.TEACHER, fresh=created)
            for establishment, functions in staff.values():
                changed |= self.membership(user, establishment, Role.STAFF, functions, fresh=created)
            if not created:
                keep = {(pk, Role.TEACHER) for pk in teaching} | {(pk, Role.STAFF) for pk in staff}
                changed |= self.drop_other_memberships(user, STAFF_ROLES, keep)
        if record.has("ENTAuxEnsClassesMatieres") or record.has("ENTAuxEnsGroupesMatieres"):
            changed |= self._assignments(user, record)
        self.finish_person("staff", created, changed)

    def _assignments(self, teacher: User, record: AafRecord) -> bool:
        # A modifyRequest without ENTAuxEnsClassesPrincipal keeps the main-teacher flags (is_main None).
        main_classes = set()
        for establishment, pieces in self._structure_values(record, "ENTAuxEnsClassesPrincipal", 2):
            main_classes.add(self.school_class(establishment, pieces[1]).pk)
        says_main = record.has("ENTAuxEnsClassesPrincipal")
        wanted = {}
        teaching_in: set[int] = set()
        for attribute, is_class in (("ENTAuxEnsClassesMatieres", True), ("ENTAuxEnsGroupesMatieres", False)):
            for establishment, pieces in self._structure_values(record, attribute, 3):
                subject = self.subject(establishment, pieces[2])
                year = self.current_year(establishment)
                if is_class:
                    school_class = self.school_class(establishment, pieces[1])
                    key = (subject.pk, school_class.pk, None)
                else:
                    key = (subject.pk, None, self.group(establishment, pieces[1]).pk)
                wanted[key] = (establishment, year, (key[1] in main_classes) if says_main else None)
                if establishment.pk not in teaching_in:  # once per establishment, not per service
                    teaching_in.add(establishment.pk)
                    self.membership(teacher, establishment, Role.TEACHER)
        # Synchronised only where the import manages this teacher (imported memberships, or named by the record).
        managed = Membership.objects.filter(user=teacher, role=Role.TEACHER, external_id__isnull=False).values_list(
            "establishment_id", flat=True)
        return self.sync_assignments(teacher, wanted, managed)

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
        user, created, changed = self._person(record, "pupils", (Role.PUPIL,))
        if user is None:
            return
        self.seen("pupils", user.external_id)  # their memberships' key, when found by INE
        if establishment is not None:
            self.covered("pupils", establishment.pk)
            # A pupil created by this record has no membership, class or group yet: no lookups.
            changed |= self.membership(user, establishment, Role.PUPIL, fresh=created)
            if not created:
                changed |= self.drop_other_memberships(user, (Role.PUPIL,), {(establishment.pk, Role.PUPIL)})
        mef = None
        if record.first("ENTEleveMEF"):
            mef = self.mef(record.first("ENTEleveMEF"))
            if mef is None:
                self.warn("ENTEleveMEF", _("MEF inconnu « %(code)s » ; ignoré.") % {"code": record.first(
                    "ENTEleveMEF")})
        if record.has("ENTEleveClasses"):
            classes = []
            for est, pieces in self._structure_values(record, "ENTEleveClasses", 2):
                school_class = self.school_class(est, pieces[1], pieces[2] if len(pieces) > 2 else "")
                if mef is not None and school_class.mef_id is None:
                    school_class.mef = mef
                    school_class.save(update_fields=["mef"])
                classes.append(school_class)
            changed |= self.sync_classes(user, classes, fresh=created)
        if record.has("ENTEleveGroupes"):
            groups = [self.group(est, pieces[1], pieces[2] if len(pieces) > 2 else "")
                      for est, pieces in self._structure_values(record, "ENTEleveGroupes", 2)]
            changed |= self.sync_groups(user, groups, fresh=created)
        self.finish_person("pupils", created, changed)

    # --- Guardians and links ---------------------------------------------------------------------------------

    def _guardian(self, record: AafRecord) -> None:
        user, created, changed = self._person(record, "guardians", (Role.GUARDIAN,))
        if user is None:
            return
        self.finish_person("guardians", created, changed)
        self._guardians_seen[user.external_id] = (self.file, self.number)

    def _links(self, record: AafRecord) -> None:
        if record.operation == "delete":
            return
        if not (record.has("ENTElevePersRelEleve") or record.has("ENTEleveAutoriteParentale")):
            return
        jointure = record.first("ENTPersonJointure") or (record.identifier if record.operation != "add" else "")
        pupil = self.find_person(jointure, ine=record.first("ENTEleveINE")) if jointure else None
        if pupil is None:  # rejected in the first pass
            return
        authority = set(record.values("ENTEleveAutoriteParentale"))
        wanted: dict[User, dict] = {}
        refs = [split_ref(value) for value in record.values("ENTElevePersRelEleve")]
        refs += [[ref] for ref in authority if ref not in {parts[0] for parts in refs}]
        refs = [parts for parts in refs if parts[0] and (len(parts) < 2 or parts[1] != SELF_RELATION)]
        found = {user.external_id: user for user in User.objects.filter(
            external_id__in={parts[0] for parts in refs})} if refs else {}  # one query for all the guardians
        for parts in refs:
            ref = parts[0]
            relation_code = parts[1] if len(parts) > 1 else ""
            guardian = found.get(ref)
            if guardian is None:
                self.warn("ENTElevePersRelEleve", _(
                    "Responsable inconnu « %(ref)s » : absent des fichiers PersRelEleve et de l'annuaire ; lien "
                    "ignoré.") % {"ref": ref})
                continue
            legal_rank = parts[3] if len(parts) > 3 else ""
            is_legal = ref in authority or legal_rank in ("1", "2")
            wanted[guardian] = {
                "relation": RELATIONS.get(relation_code, GuardianLink.Relation.OTHER),
                "legal_authority": is_legal,
                "receives_correspondence": legal_rank in ("1", "2") or (len(parts) < 4 and is_legal),
                "contact_order": int(legal_rank) if legal_rank in ("1", "2") else 3,
                "external_id": f"{jointure}${ref}"[:64],
            }
        self.sync_guardian_links(pupil, wanted)

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
