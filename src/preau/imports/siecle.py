"""The SIECLE / BEE importer: an establishment's pupils and guardians exports into the directory.

Files, told apart by their root element (XML) or header (CSV), whatever their names:
- `BEE_NOMENCLATURES` (Nomenclature.xml): MEF and subject labels;
- `BEE_STRUCTURES` (Structures.xml): the labels of classes (divisions) and groups, the classes' MEF;
- `BEE_ELEVES` (ElevesSansAdresses.xml / ElevesAvecAdresses.xml): pupils, their class (structure of type D) and
  groups (type G); the CSV variant (`Identifiant unique*;…;Division*`) carries pupils and their class only;
- `BEE_RESPONSABLES` (ResponsablesAvecAdresses.xml): persons and their links to pupils.
They are read in that order (links need the pupils). An export is a full list for its establishment (the `UAJ` of
the XML files, the run's establishment for the CSV): its pupils and guardians absent from it are marked leaving.
The export's sections come one after the other (all pupils, then all their structures; all persons, then all the
links), so a file is read in several streaming passes; what one record needs of another section is kept per
pupil (class codes, link lists), which is bounded by one establishment. See docs/imports.md, "SIECLE".
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from django.utils.translation import gettext as _
from lxml import etree

from preau.accounts.models import User
from preau.directory.models import (
    Establishment,
    GuardianLink,
    Mef,
    Role,
    SchoolYear,
)

from .csvread import CsvFile, CsvUnreadable, normalize
from .engine import (
    LABELS,
    READ_ERRORS,
    DirectoryImporter,
    Rejected,
    read_error_reason,
)
from .models import NationalSubject
from .report import Report
from .xmlstream import SAFE_SETTINGS, UnsafeXML, iter_at_depth, peek, text_of

NOMENCLATURE, STRUCTURES, PUPILS, PUPILS_CSV, GUARDIANS = (
    "nomenclature", "structures", "pupils", "pupils_csv", "guardians")
ROOTS = {"BEE_NOMENCLATURES": NOMENCLATURE, "BEE_STRUCTURES": STRUCTURES, "BEE_ELEVES": PUPILS,
         "BEE_RESPONSABLES": GUARDIANS}
ORDER = (NOMENCLATURE, STRUCTURES, PUPILS, PUPILS_CSV, GUARDIANS)

# BEE records sit at BEE_xxx/DONNEES/<section>/<record>: depth 4, the root being 1.
RECORD_DEPTH = 4

DIVISION, GROUP = "D", "G"
# The division SIECLE files pupils under once they no longer have a class (as 1024pix/pix reads it).
INACTIVE_DIVISIONS = {"inactifs"}

# CODE_PARENTE (SIECLE "lien de parenté", labels as Gepi lists them) → GuardianLink.Relation. 70 (the pupil
# themself, of age) is no guardian.
RELATIONS = {
    "10": GuardianLink.Relation.MOTHER, "20": GuardianLink.Relation.FATHER, "50": GuardianLink.Relation.TUTOR,
    "37": GuardianLink.Relation.FAMILY,  # fratrie
    "38": GuardianLink.Relation.FAMILY,  # ascendant
    "39": GuardianLink.Relation.FAMILY,  # autre membre de la famille
    "41": GuardianLink.Relation.OTHER,  # éducateur
    "42": GuardianLink.Relation.CARER,  # assistant familial
    "51": GuardianLink.Relation.SOCIAL_SERVICES,  # ASE
    "90": GuardianLink.Relation.OTHER,  # autre cas
}
SELF_RELATION = "70"
LEGAL, IN_CHARGE, CONTACT, SELF = "legal", "in_charge", "contact", "self"

INE_RE = re.compile(r"^[0-9A-Z]{11}$")
XML_DECLARATION_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
SINGLE_BYTE_ENCODINGS = {"iso8859-1", "iso8859-15", "cp1252"}
SCAN_CHUNK = 1024 * 1024

# The CSV variant's columns, by normalised header ("Premier prénom*" → "premier prenom").
CSV_COLUMNS = {"ine": "identifiant unique", "first_name": "premier prenom", "last_name": "nom de famille",
               "usage_name": "nom d usage", "birth_date": "date de naissance", "mef": "code mef",
               "division": "division"}
CSV_REQUIRED = ("ine", "first_name", "last_name", "division")
CSV_NAMES = {"ine": "Identifiant unique", "first_name": "Premier prénom", "last_name": "Nom de famille",
             "division": "Division"}

SIECLE_LABELS = {
    **LABELS,
    "left_pupils": "Élèves sortis ou sans classe (non inscrits)",
    "not_imported": "Personnes non importées (contacts sans responsabilité, élève lui-même, enfants sortis ou "
                    "inconnus)",
}

LEFT = "left"


def entity_refused() -> str:
    return _("Entité XML refusée : les entités ne sont jamais résolues (protection contre la lecture de fichiers "
             "du serveur). Enregistrement ignoré.")


# --- Reading the files -----------------------------------------------------------------------------------------

def iter_records(path: Path, tags: Iterable[str]) -> Iterator[tuple[int, etree._Element]]:
    """The BEE records (depth 4) named in `tags`, numbered per tag; every record of the file is freed once read."""
    return iter_at_depth(path, RECORD_DEPTH, tags)


def read_parameters(path: Path) -> dict[str, str]:
    """The leaves of PARAMETRES (UAJ, ANNEE_SCOLAIRE…); stops at the next section. Raises UnsafeXML, READ_ERRORS."""
    values: dict[str, str] = {}
    depth = 0
    for event, element in etree.iterparse(str(path), events=("start", "end"), **SAFE_SETTINGS):
        if event == "start":
            depth += 1
            if depth == 2 and element.tag != "PARAMETRES":
                break
            continue
        depth -= 1
        if depth == 2 and isinstance(element.tag, str):
            values[element.tag] = text_of(element)
        elif depth == 1:
            break
    return values


def leaves(element: etree._Element) -> dict[str, str]:
    """A record's attributes and leaf children, stripped. Raises UnsafeXML if an entity appears anywhere in it."""
    for node in element.iter():
        if isinstance(node, etree._Entity):
            raise UnsafeXML(node.text)
    values = {name: (value or "").strip() for name, value in element.attrib.items()}
    for child in element:
        if isinstance(child.tag, str) and len(child) == 0:
            values.setdefault(child.tag, text_of(child))
    return values


@dataclass
class ByteScan:
    utf8: bool = True
    non_ascii: bool = False
    bad_offset: int | None = None


def scan_bytes(path: Path) -> ByteScan:
    """What a file's bytes say of its encoding, read in chunks (memory stays flat)."""
    scan = ByteScan()
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(SCAN_CHUNK):
            scan.non_ascii = scan.non_ascii or not chunk.isascii()
            if scan.utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    scan.utf8, scan.bad_offset = False, offset + max(exc.start, 0)
            offset += len(chunk)
    if scan.utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            scan.utf8, scan.bad_offset = False, offset
    return scan


def xml_encoding_problem(path: Path, head: bytes) -> str | None:
    """A French reason when the XML file's bytes contradict its declared encoding (read wrongly, the names would
    come out garbled, or the reading would stop half-way): the file is then refused whole."""
    match = XML_DECLARATION_RE.match(head.removeprefix(codecs.BOM_UTF8))
    declared = match.group(1).decode("ascii") if match else "UTF-8"
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        return _("Encodage déclaré inconnu « %(encoding)s » : fichier ignoré.") % {"encoding": declared}
    if codec not in SINGLE_BYTE_ENCODINGS and codec != "utf-8":
        return None  # left to the XML parser
    scan = scan_bytes(path)
    if codec in SINGLE_BYTE_ENCODINGS and scan.utf8 and scan.non_ascii:
        return _("Le fichier déclare l'encodage %(encoding)s mais son contenu est en UTF-8 (les lettres accentuées "
                 "seraient mal lues) : fichier ignoré, rien n'en a été importé. Ré-exportez-le depuis SIECLE ou "
                 "corrigez la déclaration « encoding » de sa première ligne.") % {"encoding": declared}
    if codec == "utf-8" and not scan.utf8:
        return _("Le fichier déclare l'encodage UTF-8 (ou n'en déclare pas) mais contient un caractère invalide en "
                 "UTF-8 (octet %(offset)d), sans doute un fichier en ISO-8859-15 : fichier ignoré, rien n'en a été "
                 "importé. Ré-exportez-le depuis SIECLE ou corrigez la déclaration « encoding » de sa première "
                 "ligne.") % {"offset": scan.bad_offset or 0}
    return None


def identify(path: Path) -> tuple[str | None, str | None]:
    """(file kind, None) or (None, French reason it is not taken): XML by its root element, CSV by its header."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"<"):
        try:
            root, declares_entities = peek(path)
        except READ_ERRORS as exc:
            return None, read_error_reason(exc)
        if declares_entities:
            return None, _("Déclaration d'entités XML refusée : un export SIECLE n'en contient pas, et elles "
                           "pourraient faire lire des fichiers du serveur. Fichier ignoré.")
        kind = ROOTS.get(root)
        if kind is None:
            return None, _("Fichier XML non reconnu (élément racine « %(root)s ») : un export SIECLE commence par "
                           "BEE_ELEVES, BEE_RESPONSABLES, BEE_STRUCTURES ou BEE_NOMENCLATURES. Fichier ignoré.") % {
                "root": root or "?"}
        return kind, xml_encoding_problem(path, head)
    try:
        headers = {normalize(header) for header in CsvFile(path).header}
    except CsvUnreadable as exc:
        return None, exc.reason
    if CSV_COLUMNS["ine"] in headers and CSV_COLUMNS["division"] in headers:
        return PUPILS_CSV, None
    return None, _("Fichier non reconnu : ni export XML SIECLE (BEE_ELEVES, BEE_RESPONSABLES, BEE_STRUCTURES, "
                   "BEE_NOMENCLATURES), ni CSV d'élèves SIECLE (en-tête « Identifiant unique*;…;Division* »). "
                   "Fichier ignoré.")


# --- Records ---------------------------------------------------------------------------------------------------

@dataclass
class PupilRecord:
    """A pupil of either variant. Fields absent from the file are None (left as they are in the directory)."""

    eleve_id: str
    ine: str
    last_name: str | None
    first_name: str | None
    birth_date: str | None
    mef: str
    exit_date: str
    # Class and group codes; None when the structures could not be read (classes and groups are then left alone).
    divisions: list[str] | None
    groups: list[str] | None
    # The file's name for each field, for the report.
    names: dict[str, str] = field(default_factory=dict)


XML_NAMES = {"eleve_id": "ELEVE_ID", "ine": "ID_NATIONAL", "last_name": "NOM_DE_FAMILLE", "first_name": "PRENOM",
             "birth_date": "DATE_NAISS", "mef": "CODE_MEF", "exit_date": "DATE_SORTIE",
             "divisions": "STRUCTURE"}


def pupil_from_xml(values: dict[str, str], structures: tuple[list[str], list[str]] | None) -> PupilRecord:
    last = values.get("NOM_USAGE") or values.get("NOM_DE_FAMILLE") or values.get("NOM")
    has_last = any(name in values for name in ("NOM_USAGE", "NOM_DE_FAMILLE", "NOM"))
    return PupilRecord(
        eleve_id=values.get("ELEVE_ID", ""), ine=values.get("ID_NATIONAL") or values.get("INE_RNIE", ""),
        last_name=(last or "") if has_last else None,
        first_name=values.get("PRENOM"), birth_date=values.get("DATE_NAISS"),
        mef=values.get("CODE_MEF", ""), exit_date=values.get("DATE_SORTIE", ""),
        divisions=structures[0] if structures is not None else None,
        groups=structures[1] if structures is not None else None, names=XML_NAMES)


def pupil_from_csv(row: dict[str, str], names: dict[str, str]) -> PupilRecord:
    division = row.get("division", "")
    return PupilRecord(
        eleve_id="", ine=row.get("ine", ""), last_name=row.get("usage_name") or row.get("last_name", ""),
        first_name=row.get("first_name", ""), birth_date=row.get("birth_date") if "birth_date" in names else None,
        mef=row.get("mef", ""), exit_date="", divisions=[division] if division else [], groups=None, names=names)


@dataclass
class Link:
    """One RESPONSABLE_ELEVE: a person's tie to a pupil."""

    number: int
    eleve_id: str
    personne_id: str
    relation: str
    kind: str  # LEGAL, IN_CHARGE, CONTACT, SELF
    rank: int | None  # RESP_LEGAL 1 / 2 (older exports)
    payer: bool


def link_from_values(number: int, values: dict[str, str]) -> Link:
    relation = values.get("CODE_PARENTE", "")
    relation = str(int(relation)) if relation.isdigit() else relation
    resp_legal, level = values.get("RESP_LEGAL", ""), values.get("NIVEAU_RESPONSABILITE", "")
    if relation == SELF_RELATION:
        kind = SELF
    elif resp_legal in ("1", "2") or level == "1":
        kind = LEGAL
    elif level == "2":
        kind = IN_CHARGE
    else:
        kind = CONTACT
    payer = "1" in (values.get("PAIE_FRAIS_SCOLAIRES"), values.get("RESP_FINANCIER"))
    return Link(number, values.get("ELEVE_ID", ""), values.get("PERSONNE_ID", ""), relation, kind,
                int(resp_legal) if resp_legal in ("1", "2") else None, payer)


def link_fields(pupil_links: list[Link]) -> dict[str, dict]:
    """PERSONNE_ID → GuardianLink fields for one pupil's imported links (legal representatives and persons in
    charge). Contact order: RESP_LEGAL when the export gives it; else the legal representatives in the export's
    order, the one paying the school costs first; then the persons in charge (3)."""
    kept: dict[str, Link] = {}
    for link in pupil_links:
        if link.kind in (LEGAL, IN_CHARGE) and (link.personne_id not in kept or link.kind == LEGAL):
            kept[link.personne_id] = link
    legal = sorted((link for link in kept.values() if link.kind == LEGAL),
                   key=lambda link: (link.rank or 9, not link.payer, link.number))
    orders = {link.personne_id: link.rank or index for index, link in enumerate(legal, start=1)}
    return {personne_id: {
        "relation": RELATIONS.get(link.relation, GuardianLink.Relation.OTHER),
        "legal_authority": link.kind == LEGAL,
        "receives_correspondence": link.kind == LEGAL,
        "contact_order": orders.get(personne_id, 3),
    } for personne_id, link in kept.items()}


@dataclass
class LinkSet:
    """What the links pass of a guardians file learnt, for the persons and links passes."""

    by_pupil: dict[str, list[Link]] = field(default_factory=dict)
    # PERSONNE_ID → "import" (a legal representative or person in charge of a known pupil here) or "skip".
    persons: dict[str, str] = field(default_factory=dict)
    # ELEVE_ID → the pupil's user id, for the pupils whose links are synchronised.
    pupils: dict[str, int] = field(default_factory=dict)
    # Pupils one of whose links could not be read: their links are left as they are.
    untouchable: set[str] = field(default_factory=set)
    all_untouchable: bool = False


# --- The importer ----------------------------------------------------------------------------------------------

class SiecleImporter(DirectoryImporter):
    source = "siecle"
    labels = SIECLE_LABELS

    def __init__(self, report, **kwargs):
        super().__init__(report, **kwargs)
        # (establishment id, ELEVE_ID) → user id of a pupil enrolled by this run, or LEFT (the guardians' links
        # name pupils by ELEVE_ID only).
        self._pupils: dict[tuple[int, str], int | str] = {}
        # (establishment id, INE) → the ELEVE_ID (or INE) of the file's record carrying it.
        self._ines: dict[tuple[int, str], str] = {}
        # (establishment id, PERSONNE_ID) → guardian user id imported by this run.
        self._guardians: dict[tuple[int, str], int] = {}

    def run(self, paths: Iterable[str | Path]) -> Report:
        files: dict[str, list[Path]] = {kind: [] for kind in ORDER}
        for raw in paths:
            path = Path(raw)
            if not path.is_file():
                self.report.reject(path.name, None, "", _("Fichier introuvable ou illisible."))
                continue
            try:
                kind, problem = identify(path)
            except OSError as exc:
                kind, problem = None, read_error_reason(exc)
            if problem:
                self.report.reject(path.name, None, "", problem)
                continue
            files[kind].append(path)
        readers = {NOMENCLATURE: self._nomenclature_file, STRUCTURES: self._structures_file,
                   PUPILS: self._pupils_file, PUPILS_CSV: self._pupils_csv_file, GUARDIANS: self._guardians_file}
        for kind in ORDER:
            for path in sorted(files[kind], key=lambda p: p.name):
                readers[kind](path)
        self.mark_leaving("pupils")
        self.mark_leaving("guardians")
        self.deactivate_after_grace()
        return self.report

    # --- The establishment of a file -------------------------------------------------------------------------

    def _file_establishment(self, path: Path) -> Establishment | None:
        """The establishment an XML export is for (its UAJ, else the run's), or None when the file is refused."""
        try:
            params = read_parameters(path)
        except UnsafeXML:
            self.report.reject(path.name, None, "PARAMETRES", entity_refused())
            return None
        except READ_ERRORS as exc:
            self.report.reject(path.name, None, "", read_error_reason(exc))
            return None
        uaj = params.get("UAJ", "").strip().upper()
        if uaj:
            establishment = self.establishment_for(uaj) or Establishment.objects.filter(uai=uaj).first()
            if establishment is None:
                self.report.reject(path.name, None, "UAJ", _(
                    "Établissement inconnu (UAJ « %(uai)s ») : les établissements viennent de l'import AAF ou de "
                    "l'administration, pas de SIECLE. Fichier ignoré.") % {"uai": uaj})
                return None
            if self.establishment is not None and establishment.pk != self.establishment.pk:
                self.report.reject(path.name, None, "UAJ", _(
                    "Ce fichier est l'export de l'établissement %(uai)s, pas de %(chosen)s choisi pour cet import : "
                    "fichier ignoré.") % {"uai": uaj, "chosen": self.establishment.uai})
                return None
        elif self.establishment is not None:
            establishment = self.establishment
        else:
            self.report.reject(path.name, None, "UAJ", _(
                "Le fichier ne dit pas son établissement (PARAMETRES/UAJ absent) et aucun établissement n'a été "
                "choisi pour l'import : fichier ignoré."))
            return None
        if not establishment.is_active:
            self.report.reject(path.name, None, "UAJ", _("L'établissement %(uai)s est fermé : fichier ignoré.")
                               % {"uai": establishment.uai})
            return None
        if not self._year_matches(path, establishment, params.get("ANNEE_SCOLAIRE", "")):
            return None
        return establishment

    def _year_matches(self, path: Path, establishment: Establishment, value: str) -> bool:
        """An export of another school year than the establishment's current one is refused: its pupils would go
        into this year's classes, and the pupils it lacks would be marked leaving."""
        if not value[:4].isdigit():
            return True
        year = SchoolYear.objects.filter(establishment=establishment, is_current=True).first()
        # As DirectoryImporter.current_year() would create it.
        current = year.start.year if year else (self.today.year if self.today.month >= 8 else self.today.year - 1)
        exported = int(value[:4])
        if exported == current:
            return True
        self.report.reject(path.name, None, "ANNEE_SCOLAIRE", _(
            "Export de l'année scolaire %(exported)s-%(next)s, alors que l'année en cours de l'établissement est "
            "%(current)s-%(current_next)s : fichier ignoré. %(advice)s") % {
            "exported": exported, "next": exported + 1, "current": current, "current_next": current + 1,
            "advice": _("Faites d'abord la bascule d'année.") if exported > current else _(
                "Importez un export de l'année en cours.")})
        return False

    # --- Nomenclature and structures ---------------------------------------------------------------------------

    def _nomenclature_file(self, path: Path) -> None:
        self.process(path.name, iter_records(path, ("MEF", "MATIERE")), self._nomenclature, kind=NOMENCLATURE)

    def _nomenclature(self, element) -> None:
        values = self._values(element)
        if element.tag == "MEF":
            code = values.get("CODE_MEF") or values.get("CODE", "")
            if not code or len(code) > 11:
                raise Rejected("CODE_MEF", _("Code MEF manquant ou trop long (11 caractères au plus) « %(code)s ».")
                               % {"code": code})
            label = (values.get("LIBELLE_EDITION") or values.get("LIBELLE_LONG") or code)[:120]
            fields = {"label": label, "short_label": values.get("FORMATION", "")[:40]}
            mef = Mef.objects.filter(code=code).first()
            if mef is None:
                Mef.objects.create(code=code, **fields)
                self.count("mefs", "created")
            else:
                self.save_changes(mef, fields, "mefs")
            self.forget_mef(code)
            return
        code = values.get("CODE_MATIERE") or values.get("CODE", "")
        if not code or len(code) > 16:
            raise Rejected("CODE_MATIERE", _("Code matière manquant ou trop long « %(code)s ».") % {"code": code})
        label = (values.get("LIBELLE_EDITION") or values.get("LIBELLE_LONG") or values.get("LIBELLE_COURT")
                 or code)[:120]
        subject = NationalSubject.objects.filter(code=code).first()
        if subject is None:
            NationalSubject.objects.create(code=code, label=label)
            self.count("national_subjects", "created")
        else:
            self.save_changes(subject, {"label": label}, "national_subjects")

    def _structures_file(self, path: Path) -> None:
        establishment = self._file_establishment(path)
        if establishment is not None:
            self.process(path.name, iter_records(path, ("DIVISION", "GROUPE")),
                         partial(self._structure, establishment), kind=STRUCTURES)

    def _structure(self, establishment: Establishment, element) -> None:
        values = self._values(element)
        code = values.get("CODE_STRUCTURE") or values.get("CODE", "")
        if not code:
            raise Rejected("CODE_STRUCTURE", _("Code de la structure manquant. Enregistrement ignoré."))
        label = (values.get("LIBELLE_LONG") or values.get("LIBELLE_COURT") or code)[:120]
        since = len(self._pending_counts)
        if element.tag == "DIVISION":
            school_class = self.school_class(establishment, code, label)
            fields: dict = {"label": label}
            mefs = {text_of(node) for node in element.iter("CODE_MEF")} - {""}
            if len(mefs) == 1:
                mef = self._mef(mefs.pop(), "CODE_MEF")
                if mef is not None:
                    fields["mef"] = mef
            created = self.counted("classes", "created", since)
            self.save_changes(school_class, fields, None if created else "classes")
            return
        group = self.group(establishment, code, label)
        created = self.counted("groups", "created", since)
        changed = self.save_changes(group, {"label": label}, None)
        codes = {(node.findtext("CODE_STRUCTURE") or node.get("CODE") or "").strip()
                 for node in element.iter("DIVISION_APPARTENANCE")} - {""}
        if codes:
            classes = {self.school_class(establishment, class_code).pk for class_code in codes}
            if set(group.classes.values_list("pk", flat=True)) != classes:
                group.classes.set(classes)
                changed = True
        if not created:
            self.count("groups", "updated" if changed else "unchanged")

    def _mef(self, code: str, attribute: str) -> Mef | None:
        """The MEF of that code, created with the code as its label when the directory does not know it (a
        Nomenclature.xml or the AAF MefEducNat gives the label later)."""
        mef = self.mef(code)
        if mef is None:
            if len(code) > 11:
                self.warn(attribute, _("Code MEF trop long « %(code)s » (11 caractères au plus) ; ignoré.")
                          % {"code": code})
                return None
            mef = Mef.objects.create(code=code, label=code)
            self.count("mefs", "created")
            self.forget_mef(code)
        return mef

    @staticmethod
    def _safe_text(element) -> str:
        """The text of an optional leaf, "" when absent or holding an entity."""
        if element is None:
            return ""
        try:
            return text_of(element)
        except UnsafeXML:
            return ""

    @staticmethod
    def _values(element) -> dict[str, str]:
        try:
            return leaves(element)
        except UnsafeXML:
            raise Rejected("", entity_refused()) from None

    # --- Pupils ----------------------------------------------------------------------------------------------

    def _pupils_file(self, path: Path) -> None:
        establishment = self._file_establishment(path)
        if establishment is None:
            return
        structures = self._read_structures(path)
        complete = self.process(path.name, iter_records(path, ("ELEVE",)),
                                partial(self._pupil_xml, establishment, structures), kind=PUPILS)
        self._full_list_read(path, establishment, complete and structures is not None)

    def _read_structures(self, path: Path) -> dict[str, tuple[list[str], list[str]] | None] | None:
        """ELEVE_ID (or "#" + ELENOET in exports that key structures by it) → (division codes, group codes); None
        for a pupil whose structures use an XML entity. None for the whole file when its STRUCTURES cannot be read
        to the end, or hold no pupil at all (reported): classes and groups are then left as they are, and nobody
        is taken for gone for want of a class."""
        structures: dict[str, tuple[list[str], list[str]] | None] = {}
        try:
            for _number, element in iter_records(path, ("STRUCTURES_ELEVE",)):
                ref = (element.get("ELEVE_ID") or "").strip() or "#" + (element.get("ELENOET") or "").strip()
                if ref in structures and structures[ref] is None:
                    continue
                try:
                    entries = [leaves(node) for node in element if node.tag == "STRUCTURE"]
                except UnsafeXML:
                    structures[ref] = None
                    continue
                divisions, groups = structures.get(ref) or ([], [])
                for entry in entries:
                    code, kind = entry.get("CODE_STRUCTURE", ""), entry.get("TYPE_STRUCTURE", "").upper()
                    if kind == DIVISION and code and code.casefold() not in INACTIVE_DIVISIONS:
                        divisions.append(code)
                    elif kind == GROUP and code:
                        groups.append(code)
                structures[ref] = (divisions, groups)
        except READ_ERRORS as exc:
            detail = f"ligne {exc.lineno} : {exc.msg}" if isinstance(exc, etree.XMLSyntaxError) else str(exc)
            self.report.reject(path.name, None, "STRUCTURES", _(
                "Structures des élèves illisibles (%(detail)s) : les classes et groupes des élèves ne sont pas "
                "modifiés.") % {"detail": detail})
            return None
        if not structures:
            self.report.reject(path.name, None, "STRUCTURES", _(
                "Aucune structure d'élève (STRUCTURES_ELEVE) dans le fichier : les classes et groupes des élèves ne "
                "sont pas modifiés."))
            return None
        return structures

    def _pupil_xml(self, establishment: Establishment, structures, element) -> None:
        values = self._values(element)
        if structures is None:
            pupil_structures = None
        else:
            ref = values.get("ELEVE_ID", "")
            if ref not in structures:
                ref = "#" + values.get("ELENOET", "")
            if ref in structures and structures[ref] is None:
                raise Rejected("STRUCTURE", entity_refused())
            pupil_structures = structures.get(ref, ([], []))
        self._pupil(establishment, pupil_from_xml(values, pupil_structures))

    def _pupils_csv_file(self, path: Path) -> None:
        establishment = self.establishment
        if establishment is None:
            self.report.reject(path.name, None, "", _(
                "Le CSV SIECLE ne dit pas son établissement : choisissez l'établissement de l'import (--uai). "
                "Fichier ignoré."))
            return
        try:
            csv_file = CsvFile(path)
        except CsvUnreadable as exc:
            self.report.reject(path.name, None, "", exc.reason)
            return
        with csv_file:
            columns = self._csv_columns(csv_file.header)
            missing = [CSV_NAMES[name] for name in CSV_REQUIRED if name not in columns]
            if missing:
                self.report.reject(path.name, None, "", _("Colonnes obligatoires absentes : %(columns)s. Fichier "
                                                          "ignoré.") % {"columns": ", ".join(missing)})
                return
            names = {name: csv_file.header[index] for name, index in columns.items()}
            rows = ((number, {name: cells[index] if index < len(cells) else "" for name, index in columns.items()})
                    for number, cells in csv_file.rows())
            complete = self.process(path.name, rows, partial(self._pupil_csv, establishment, names), kind=PUPILS)
        self._full_list_read(path, establishment, complete)

    @staticmethod
    def _csv_columns(headers: list[str]) -> dict[str, int]:
        columns: dict[str, int] = {}
        for index, header in enumerate(headers):
            normalized = normalize(header)
            for name, wanted in CSV_COLUMNS.items():
                if name not in columns and (normalized == wanted
                                            or (name == "birth_date" and normalized.startswith(wanted))):
                    columns[name] = index
        return columns

    def _pupil_csv(self, establishment: Establishment, names: dict[str, str], row: dict[str, str]) -> None:
        self._pupil(establishment, pupil_from_csv(row, names))

    def _full_list_read(self, path: Path, establishment: Establishment, complete: bool) -> None:
        """A pupils export read to the end speaks for its establishment: who it lacks is marked leaving."""
        if complete:
            self.covered("pupils", establishment.pk)
        else:
            self.report.reject(path.name, None, "", _(
                "Export illisible jusqu'au bout ou sans structures : aucun élève de %(uai)s n'est marqué partant "
                "par cet import.") % {"uai": establishment.uai})

    def _pupil(self, establishment: Establishment, record: PupilRecord) -> None:
        names = record.names
        ine = record.ine.strip().upper()
        if ine and not INE_RE.match(ine):
            if not record.eleve_id:
                raise Rejected(names["ine"], _("INE invalide « %(ine)s » (11 chiffres et lettres) : l'élève ne "
                                               "pourrait pas être retrouvé. Enregistrement ignoré.") % {"ine": ine})
            self.warn(names["ine"], _("INE invalide « %(ine)s » (11 chiffres et lettres) ; ignoré.") % {"ine": ine})
            ine = ""
        if record.eleve_id:
            ref, key = record.eleve_id, f"siecle:{establishment.uai}:{record.eleve_id}"
        else:
            ref, key = ine, f"siecle:{establishment.uai}:INE:{ine}" if ine else ""
        key = self.check_join_key(key, names.get("eleve_id", names["ine"]))
        if ine:
            other = self._ines.get((establishment.pk, ine))
            if other is not None and other != ref:
                raise Rejected(names["ine"], _("INE %(ine)s déjà porté par un autre élève de l'export (%(other)s). "
                                               "Enregistrement ignoré.") % {"ine": ine, "other": other})
        if self._has_left(record):
            self.count("left_pupils", "unchanged")
            if record.eleve_id:
                self._pupils[(establishment.pk, record.eleve_id)] = LEFT
            return
        user = self.find_person(key, ine=ine)
        self.seen("pupils", user.external_id if user else key, establishment.pk)
        fields: dict = {}
        if record.last_name is not None:
            fields["last_name"] = record.last_name
        if record.first_name is not None:
            fields["first_name"] = record.first_name
        if record.birth_date is not None:
            birth_date = self.clean_date(record.birth_date, names.get("birth_date", ""))
            if birth_date is not False:
                fields["birth_date"] = birth_date
        if ine and user is None:
            fields["ine"] = ine  # find_person() found nobody with this INE
        elif ine and user.ine != ine:
            holder = User.objects.filter(ine=ine).exclude(pk=user.pk).first()
            if holder is None:
                fields["ine"] = ine
            else:
                self.warn(names["ine"], _("INE %(ine)s déjà porté par une autre personne de l'annuaire (%(who)s) ; "
                                          "INE ignoré.") % {"ine": ine, "who": holder.username})
        user, created, changed = self.upsert_person(
            external_id=key, kind="pupils", fields=fields, user=user,
            required=(("last_name", names["last_name"]), ("first_name", names["first_name"])))
        changed |= self.membership(user, establishment, Role.PUPIL)
        mef = self._mef(record.mef, names.get("mef", "")) if record.mef else None
        if record.divisions is not None:
            classes = []
            for code in record.divisions:
                school_class = self.school_class(establishment, code)
                if mef is not None and school_class.mef_id is None:
                    school_class.mef = mef
                    school_class.save(update_fields=["mef"])
                classes.append(school_class)
            changed |= self.sync_classes(user, classes, establishments=[establishment])
        if record.groups is not None:
            groups = [self.group(establishment, code) for code in record.groups]
            changed |= self.sync_groups(user, groups, establishments=[establishment])
        self.finish_person("pupils", created, changed)
        if record.eleve_id:
            self._pupils[(establishment.pk, record.eleve_id)] = user.pk
        if ine:
            self._ines[(establishment.pk, ine)] = ref

    def _has_left(self, record: PupilRecord) -> bool:
        """Left: a DATE_SORTIE today or before, or no class (none of type D, or only "Inactifs")."""
        if record.exit_date:
            exit_date = self.clean_date(record.exit_date, record.names.get("exit_date", ""))
            if exit_date and exit_date <= self.today:
                return True
        return record.divisions is not None and not record.divisions

    # --- Guardians and links ---------------------------------------------------------------------------------

    def _guardians_file(self, path: Path) -> None:
        """Three passes: the links (RESPONSABLE_ELEVE, at the end of the file) tell who is a guardian of which
        known pupil; then the persons (PERSONNE) are imported; then each pupil's links are synchronised. A file
        whose links cannot be read to the end is refused whole: synchronising a partial list would remove links."""
        establishment = self._file_establishment(path)
        if establishment is None:
            return
        links = self._read_links(path, establishment)
        if links is None:
            return
        self.process(path.name, iter_records(path, ("PERSONNE",)),
                     partial(self._guardian, establishment, links), kind=GUARDIANS)
        # Pupils enrolled here by this run with no link in the file: their imported links go.
        for (establishment_id, eleve_id), user_id in self._pupils.items():
            if establishment_id == establishment.pk and user_id != LEFT and eleve_id not in links.by_pupil:
                links.pupils.setdefault(eleve_id, user_id)
        if links.all_untouchable:
            self.report.reject(path.name, None, "RESPONSABLE_ELEVE", _(
                "Un lien illisible ne dit pas son élève : aucun lien responsable–élève n'est modifié par ce fichier."))
        else:
            records = [(links.by_pupil[eleve_id][0].number if eleve_id in links.by_pupil else None, eleve_id)
                       for eleve_id in sorted(links.pupils) if eleve_id not in links.untouchable]
            self.process(path.name, records, partial(self._pupil_links, establishment, links), kind=GUARDIANS)
        self.covered("guardians", establishment.pk)

    def _read_links(self, path: Path, establishment: Establishment) -> LinkSet | None:
        links = LinkSet()
        try:
            for number, element in iter_records(path, ("RESPONSABLE_ELEVE",)):
                try:
                    link = link_from_values(number, leaves(element))
                except UnsafeXML:
                    self.report.reject(path.name, number, "RESPONSABLE_ELEVE", _(
                        "Entité XML refusée : lien ignoré, et les liens de cet élève ne sont pas modifiés."))
                    eleve_id = self._safe_text(element.find("ELEVE_ID"))
                    if eleve_id:
                        links.untouchable.add(eleve_id)
                    else:
                        links.all_untouchable = True
                    continue
                if not link.eleve_id or not link.personne_id:
                    self.report.reject(path.name, number, "ELEVE_ID" if not link.eleve_id else "PERSONNE_ID", _(
                        "Lien sans ELEVE_ID ou sans PERSONNE_ID : ignoré."))
                    if link.eleve_id:
                        links.untouchable.add(link.eleve_id)
                    continue
                links.by_pupil.setdefault(link.eleve_id, []).append(link)
        except READ_ERRORS as exc:
            self.report.reject(path.name, None, "", _(
                "Fichier des responsables illisible jusqu'au bout (%(reason)s) : ses liens ne peuvent pas être lus "
                "en entier, rien n'en est importé.") % {"reason": read_error_reason(exc)})
            return None
        self._resolve_pupils(path, establishment, links)
        return links

    def _resolve_pupils(self, path: Path, establishment: Establishment, links: LinkSet) -> None:
        """Which pupils the links name are enrolled here: enrolled by this run, or already in the directory with
        their SIECLE join key. Links to unknown pupils are reported; to pupils who left, quietly left aside."""
        unknown = [eleve_id for eleve_id in links.by_pupil if (establishment.pk, eleve_id) not in self._pupils]
        known: dict[str, int] = {}
        prefix = f"siecle:{establishment.uai}:"
        for start in range(0, len(unknown), 500):
            keys = [prefix + eleve_id for eleve_id in unknown[start:start + 500]]
            known.update((external_id.removeprefix(prefix), pk) for pk, external_id in User.objects.filter(
                external_id__in=keys, memberships__establishment=establishment, memberships__role=Role.PUPIL,
                memberships__is_active=True).values_list("pk", "external_id"))
        for eleve_id, pupil_links in links.by_pupil.items():
            user_id = self._pupils.get((establishment.pk, eleve_id), known.get(eleve_id))
            if user_id is None:
                for link in pupil_links:
                    if link.kind in (LEGAL, IN_CHARGE):
                        self.report.reject(path.name, link.number, "ELEVE_ID", _(
                            "Élève %(eleve)s inconnu (absent du fichier des élèves et de l'annuaire) : lien avec "
                            "le responsable %(person)s ignoré.") % {"eleve": eleve_id, "person": link.personne_id})
            elif user_id != LEFT:
                links.pupils[eleve_id] = user_id
            for link in pupil_links:
                imported = user_id not in (None, LEFT) and link.kind in (LEGAL, IN_CHARGE)
                if imported or link.personne_id not in links.persons:
                    links.persons[link.personne_id] = "import" if imported else "skip"

    def _guardian(self, establishment: Establishment, links: LinkSet, element) -> None:
        values = self._values(element)
        personne_id = values.get("PERSONNE_ID", "")
        if not personne_id:
            self.check_join_key("", "PERSONNE_ID")
        status = links.persons.get(personne_id)
        if status is None:
            raise Rejected("PERSONNE_ID", _("Personne %(id)s liée à aucun élève dans le fichier : non importée.")
                           % {"id": personne_id})
        if status == "skip":
            self.count("not_imported", "unchanged")
            return
        key = self.check_join_key(f"siecle:{establishment.uai}:P:{personne_id}", "PERSONNE_ID")
        fields: dict = {}
        if any(name in values for name in ("NOM_USAGE", "NOM_DE_FAMILLE", "NOM")):
            fields["last_name"] = values.get("NOM_USAGE") or values.get("NOM_DE_FAMILLE") or values.get("NOM", "")
        if "PRENOM" in values:
            fields["first_name"] = values["PRENOM"]
        if "MEL" in values:
            email = self.clean_email(values["MEL"], "MEL")
            if email is not None:
                fields["email"] = email
        phones = ("TEL_PORTABLE", "TEL_PERSONNEL", "TEL_PROFESSIONNEL")
        if any(name in values for name in phones):
            fields["phone"] = next((values[name] for name in phones if values.get(name, "").strip("0 +.")), "")
        user, created, changed = self.upsert_person(
            external_id=key, kind="guardians", fields=fields,
            required=(("last_name", "NOM_DE_FAMILLE"), ("first_name", "PRENOM")))
        self.finish_person("guardians", created, changed)
        self.seen("guardians", user.external_id, establishment.pk)
        self._guardians[(establishment.pk, personne_id)] = user.pk

    def _pupil_links(self, establishment: Establishment, links: LinkSet, eleve_id: str) -> None:
        pupil = User.objects.get(pk=links.pupils[eleve_id])
        wanted_fields = link_fields(links.by_pupil.get(eleve_id, []))
        ids = {personne_id: self._guardians.get((establishment.pk, personne_id)) for personne_id in wanted_fields}
        missing = [personne_id for personne_id, user_id in ids.items() if user_id is None]
        if missing:
            # A person whose record was rejected (or is missing) keeps the link an earlier import made.
            prefix = f"siecle:{establishment.uai}:P:"
            for pk, external_id in User.objects.filter(
                    external_id__in=[prefix + personne_id for personne_id in missing]).values_list("pk", "external_id"):
                ids[external_id.removeprefix(prefix)] = pk
        users = User.objects.in_bulk([user_id for user_id in ids.values() if user_id is not None])
        wanted = {}
        for personne_id, fields in wanted_fields.items():
            guardian = users.get(ids[personne_id])
            if guardian is None:
                self.warn("PERSONNE_ID", _("Responsable %(person)s non importé (absent de la section PERSONNES ou "
                                           "rejeté) : lien avec l'élève %(eleve)s ignoré.")
                          % {"person": personne_id, "eleve": eleve_id})
                continue
            wanted[guardian] = {**fields, "external_id": f"{pupil.external_id}${guardian.external_id}"[:64]}
        self.sync_guardian_links(pupil, wanted)
