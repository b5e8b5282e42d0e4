"""What the CSV importers (BE1D, generic CSV) share on top of the engine: the establishment they need, files read
as rows (csvread.py), values checked the same way, guardian links kept from the guardian's side, and full
imports marking absent people as leaving.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from preau.accounts.models import User
from preau.directory.models import GuardianLink, Role, StaffFunction

from .csvread import CsvFile, CsvUnreadable, normalize
from .engine import DirectoryImporter, Rejected, parse_date

NAME_MAX = 150
EMAIL_MAX = 254
PHONE_MAX = 32
CLASS_CODE_MAX = 32
GROUP_CODE_MAX = 32
SUBJECT_CODE_MAX = 16
INE_RE = re.compile(r"^[0-9A-Z]{11}$")
LIST_SPLIT_RE = re.compile(r"[,;|]")
# A class in a primary school is taught every subject by its teacher(s): one service, this subject.
POLYVALENT_CODE = "POLY"
POLYVALENT_LABEL = "Enseignement polyvalent"
TRUE_WORDS = {"oui", "o", "1", "x", "vrai", "true", "yes", "y"}
FALSE_WORDS = {"non", "n", "0", "faux", "false", "no"}
# Usual spellings (as `normalize` folds them) of staff functions and of guardians' relations, besides the codes
# and French labels of StaffFunction and GuardianLink.Relation.
FUNCTION_WORDS = {
    StaffFunction.DIRECTOR: ("directeur", "directrice", "directeur d ecole", "directrice d ecole", "dir"),
    StaffFunction.HEAD: ("chef d etablissement", "principal", "principale", "proviseur", "proviseure"),
    StaffFunction.DEPUTY: ("adjoint", "adjointe", "principal adjoint", "principale adjointe", "proviseur adjoint",
                           "proviseure adjointe", "chef d etablissement adjoint"),
    StaffFunction.CPE: ("cpe", "conseiller principal d education", "conseillere principale d education"),
    StaffFunction.VIE_SCOLAIRE: ("vie scolaire", "aed", "assistant d education", "assistante d education",
                                 "surveillant", "surveillante"),
    StaffFunction.SECRETARY: ("secretariat", "secretaire", "secretaire de direction"),
    StaffFunction.LIBRARIAN: ("documentaliste", "professeur documentaliste", "professeure documentaliste", "cdi"),
    StaffFunction.NURSE: ("infirmier", "infirmiere", "infirmerie"),
    StaffFunction.OTHER: ("autre",),
}
RELATION_WORDS = {
    GuardianLink.Relation.MOTHER: ("mere", "maman"),
    GuardianLink.Relation.FATHER: ("pere", "papa"),
    GuardianLink.Relation.TUTOR: ("tuteur", "tutrice", "tuteur legal", "tutrice legale"),
    GuardianLink.Relation.FAMILY: ("autre membre de la famille", "famille", "grand mere", "grand pere",
                                   "grands parents", "oncle", "tante", "frere", "soeur"),
    GuardianLink.Relation.SOCIAL_SERVICES: ("aide sociale a l enfance", "ase", "services sociaux", "ddass"),
    GuardianLink.Relation.CARER: ("assistant familial", "assistante familiale", "famille d accueil", "tiers"),
    GuardianLink.Relation.OTHER: ("autre", "autre lien"),
}


def _word_table(choices, words: dict) -> dict[str, str]:
    table = {}
    for value, label in choices.choices:
        table[normalize(value)] = value
        table[normalize(str(label))] = value
    for value, spellings in words.items():
        for spelling in spellings:
            table[spelling] = str(value)
    return table


FUNCTION_TABLE = _word_table(StaffFunction, FUNCTION_WORDS)
RELATION_TABLE = _word_table(GuardianLink.Relation, RELATION_WORDS)


class CsvRow:
    """One row of a CSV file: cells by position, or by header name (its first occurrence)."""

    __slots__ = ("cells", "header", "positions")

    def __init__(self, cells: list[str], header: list[str], positions: dict[str, int]):
        self.cells = cells
        self.header = header
        self.positions = positions

    def at(self, index: int | None) -> str:
        if index is None or index >= len(self.cells):
            return ""
        return self.cells[index]

    def get(self, column: str | None) -> str:
        return self.at(self.positions.get(column)) if column else ""

    def column(self, index: int | None) -> str:
        """The header of a position (for the report's attribute)."""
        return self.header[index] if index is not None and index < len(self.header) else ""


def split_list(value: str) -> list[str]:
    """A cell holding several values (`LATIN, ANGL-G1`): the values, stripped, without empty ones or repeats."""
    out: list[str] = []
    for item in LIST_SPLIT_RE.split(value or ""):
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return out


def parse_yes_no(value: str) -> bool | None:
    """True/False for the usual spellings (oui/non, O/N, 1/0, x); None when empty or unreadable."""
    word = normalize(value)
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def short_code(label: str, length: int = CLASS_CODE_MAX) -> str:
    """A code for a label: the label itself when short enough, else its start and a hash of the whole (stable,
    and two long labels with the same start still get different codes)."""
    label = " ".join(label.split())
    if len(label) <= length:
        return label
    digest = hashlib.sha1(label.encode("utf-8")).hexdigest()[:8]  # noqa: S324 - a code, not a secret
    return f"{label[:length - 9].rstrip()}~{digest}"


class CsvDirectoryImporter(DirectoryImporter):
    """Base of the importers of CSV files that do not name their establishment: it is the run's `establishment`.

    Join keys are namespaced `<namespace>:<UAI>:...`: the same number in two schools' files is two people.
    """

    namespace = ""

    def __init__(self, report, **kwargs):
        super().__init__(report, **kwargs)
        # Records applied without rejection, per report kind: a full import with none marks nobody leaving.
        self.imported_ok: dict[str, int] = {}

    def run(self, paths: Iterable[str | Path]) -> object:
        if self.establishment is None:
            self.report.reject("", None, "", _(
                "Aucun établissement choisi : ces fichiers ne disent pas de quelle école ou de quel établissement "
                "ils viennent. Choisissez-le (option --uai en ligne de commande). Rien n'a été importé."))
            return self.report
        self.import_files([Path(path) for path in paths])
        self.deactivate_after_grace()
        return self.report

    def import_files(self, paths: list[Path]) -> None:
        raise NotImplementedError

    # --- Files -----------------------------------------------------------------------------------------------

    def open_csv(self, path: Path) -> CsvFile | None:
        """The file opened with its header read, or None (reported) when it cannot be read as CSV."""
        if not path.is_file():
            self.report.reject(path.name, None, "", _("Fichier introuvable ou illisible."))
            return None
        try:
            return CsvFile(path)
        except CsvUnreadable as exc:
            self.report.reject(path.name, None, "", exc.reason)
            return None

    def import_rows(self, path: Path, csv_file: CsvFile, handler: Callable[[CsvRow], None], *, kind: str,
                    needed: Iterable[int] = (), extra_cells: bool = False) -> bool:
        """Apply handler to each row of the file (record number = line number). Rows missing one of the `needed`
        column positions, or (unless `extra_cells`) carrying values beyond the header, are rejected. True when
        the file was read to its end."""
        header = csv_file.header
        positions: dict[str, int] = {}
        for index, column in enumerate(header):
            positions.setdefault(column, index)
        needed_count = max(needed, default=-1) + 1

        def records() -> Iterator[tuple[int, CsvRow]]:
            for number, cells in csv_file.rows():
                yield number, CsvRow(cells, header, positions)

        def apply(row: CsvRow) -> None:
            if len(row.cells) < needed_count:
                raise Rejected("", _(
                    "Ligne incomplète : %(n)d colonnes au lieu de %(expected)d (ligne coupée ?). Enregistrement "
                    "ignoré.") % {"n": len(row.cells), "expected": len(header)})
            if not extra_cells and any(row.cells[len(header):]):
                raise Rejected("", _(
                    "Ligne de %(n)d colonnes pour %(expected)d en-têtes : une valeur contient-elle le séparateur "
                    "« %(sep)s » sans être entre guillemets ? Enregistrement ignoré.") % {
                    "n": len(row.cells), "expected": len(header), "sep": csv_file.delimiter.replace("\t", "tab")})
            handler(row)
            self.imported_ok[kind] = self.imported_ok.get(kind, 0) + 1

        try:
            return self.process(path.name, records(), apply, kind=kind)
        finally:
            csv_file.close()

    # --- Full imports ----------------------------------------------------------------------------------------

    def leave_absent(self, kind: str, roles: tuple[str, ...], files: list[str], complete: bool) -> None:
        """After a full import of one kind for the establishment: mark the absent ones leaving, unless a file
        was unreadable or rejected, or nothing at all could be imported from the files."""
        if not files:
            return
        names = ", ".join(files)
        if not complete or kind in self.broken_kinds:
            self.report.reject(names, None, "", _(
                "Import complet incomplet (fichier illisible, ou en-tête refusé) : personne n'est marqué comme "
                "partant (%(kind)s).") % {"kind": self.labels.get(kind, kind)})
            return
        if not self.imported_ok.get(kind):
            self.report.reject(names, None, "", _(
                "Aucun enregistrement importé : personne n'est marqué comme partant (%(kind)s).") % {
                "kind": self.labels.get(kind, kind)})
            return
        self.covered(kind, self.establishment.pk)
        self.mark_leaving(kind, roles)

    # --- Keys and values -------------------------------------------------------------------------------------

    def key_prefix(self, *parts: str) -> str:
        return ":".join((self.namespace, self.establishment.uai, *parts)) + ":"

    def clean_name(self, value: str, attribute: str, what: str) -> str:
        """A name, its spaces tidied; an over-long one rejects the record (it would be cut)."""
        value = " ".join((value or "").split())
        if len(value) > NAME_MAX:
            raise Rejected(attribute, _("%(what)s trop long (%(n)d caractères, %(max)d au plus). Enregistrement "
                                        "ignoré.") % {"what": what, "n": len(value), "max": NAME_MAX})
        return value

    def clean_email_value(self, value: str, attribute: str) -> str | None:
        value = (value or "").strip()
        if len(value) > EMAIL_MAX:
            self.warn(attribute, _("Adresse électronique trop longue (%(max)d caractères au plus) ; ignorée.")
                      % {"max": EMAIL_MAX})
            return None
        return self.clean_email(value, attribute)

    def clean_phone(self, values: Iterable[tuple[str, str]]) -> str | None:
        """The first phone number that is not empty nor all zeros, among (value, attribute) pairs; '' when none;
        None (reported) when over-long."""
        for value, attribute in values:
            value = " ".join((value or "").split())
            if not value.strip("0 +.-"):
                continue
            if len(value) > PHONE_MAX:
                self.warn(attribute, _("Numéro de téléphone trop long (%(max)d caractères au plus) ; ignoré.")
                          % {"max": PHONE_MAX})
                return None
            return value
        return ""

    def clean_ine(self, value: str, attribute: str) -> str | None:
        value = (value or "").strip().upper()
        if value and not INE_RE.match(value):
            self.warn(attribute, _("INE invalide « %(value)s » (11 chiffres et lettres) ; ignoré.")
                      % {"value": value[:40]})
            return None
        return value

    def birth_date(self, value: str) -> datetime.date | None | bool:
        """The date, None when empty, False when unreadable or not a plausible birth date."""
        value = (value or "").strip()
        if not value:
            return None
        try:
            date = parse_date(value)
        except ValueError:
            return False
        return date if datetime.date(1900, 1, 1) <= date <= self.today else False

    def clean_birth_date(self, value: str, attribute: str) -> datetime.date | None | bool:
        """As birth_date(), a bad date reported."""
        date = self.birth_date(value)
        if date is False:
            self.warn(attribute, _("Date de naissance illisible ou improbable « %(value)s » ; ignorée.")
                      % {"value": value.strip()[:40]})
        return date

    def staff_functions(self, value: str, attribute: str) -> list[str]:
        """StaffFunction values for a cell listing functions; an unknown one is kept as "other" (reported)."""
        functions: list[str] = []
        for item in split_list(value):
            function = FUNCTION_TABLE.get(normalize(item))
            if function is None:
                self.warn(attribute, _("Fonction inconnue « %(value)s » : enregistrée comme « Autre ».")
                          % {"value": item[:60]})
                function = StaffFunction.OTHER
            if function not in functions:
                functions.append(str(function))
        return functions

    def relation(self, value: str, attribute: str) -> str:
        """A GuardianLink.Relation for a cell; empty or unknown (reported) → other."""
        if not (value or "").strip():
            return GuardianLink.Relation.OTHER
        relation = RELATION_TABLE.get(normalize(value))
        if relation is None:
            self.warn(attribute, _("Lien de parenté inconnu « %(value)s » : enregistré comme « Autre lien ».")
                      % {"value": value[:60]})
            return GuardianLink.Relation.OTHER
        return relation

    # --- Guardians -------------------------------------------------------------------------------------------

    def sync_children(self, guardian: User, wanted: dict[User, dict]) -> bool:
        """The guardian's imported links become exactly `wanted` (pupil → link fields incl. external_id), seen
        from the guardian's side (the engine's sync_guardian_links works from the pupil's). Links made by hand
        stay. The guardian gets a membership in the establishment; none left where no child of theirs is."""
        existing = {link.pupil_id: link for link in GuardianLink.objects.filter(guardian=guardian)}
        wanted_ids = {pupil.pk for pupil in wanted}
        changed = False
        for pupil_id, link in existing.items():
            if pupil_id not in wanted_ids and link.external_id:
                link.delete()
                self.count("links", "deactivated")
                changed = True
        for pupil, fields in wanted.items():
            link = existing.get(pupil.pk)
            if link is None:
                GuardianLink.objects.create(guardian=guardian, pupil=pupil, **fields)
                self.count("links", "created")
                changed = True
            else:
                changed |= self.save_changes(link, fields, "links")
        if wanted:
            changed |= self.membership(guardian, self.establishment, Role.GUARDIAN)
        self.drop_orphan_guardian_memberships(guardian.pk)
        return changed
