"""BE1D / ONDE: the CSV extractions of "Base élèves premier degré" (now ONDE) for primary schools — pupils
(`CSVExtraction-eleves.csv`), their guardians (`…-responsables.csv`) and teachers (`…-enseignants.csv`).

The files come in Windows-1252 (Latin-1) with `;` and French headers (csvread.py also reads them re-saved in
UTF-8). Each file's type is told from its header; columns are found by header name, so the older Base élèves
layout ("Classe") and the ONDE one ("INE", "Libellé classe", "Identifiant classe") both import. The files do not
name their school: it is the run's establishment. They carry no identifier of the persons either, so Préau derives
the join keys (docs/imports.md, "BE1D"):

- pupil: family name, first name and date of birth (`be1d:<UAI>:p:<hash>`); with an INE (ONDE), a pupil already
  known by that INE is found whatever their key;
- teacher: family name and first name (`be1d:<UAI>:e:<hash>`);
- guardian: found again among the guardians already linked to one of the children the row lists, by name; a new
  one gets a key from their name and those children (`be1d:<UAI>:r:<hash>`).

Files are imported pupils first, then teachers, then guardians (a guardian row names their children by name and
class: the children must be known).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.utils.translation import gettext as _

from preau.accounts.models import User
from preau.directory.models import ClassEnrolment, Role, StaffFunction, TeachingAssignment

from .csvbase import POLYVALENT_CODE, POLYVALENT_LABEL, CsvDirectoryImporter, CsvRow, parse_yes_no, short_code
from .csvread import normalize
from .engine import Rejected

PUPILS, TEACHERS, GUARDIANS = "pupils", "teachers", "guardians"
FILE_LABELS = {PUPILS: "élèves", TEACHERS: "enseignants", GUARDIANS: "responsables"}
# File type → report kind and the roles its full import manages.
REPORT_KINDS = {PUPILS: ("pupils", (Role.PUPIL,)), TEACHERS: ("staff", (Role.TEACHER,)),
                GUARDIANS: ("guardians", (Role.GUARDIAN,))}

# Headers as `normalize` folds them ("Nom Elève", "Nom élève" → "nom eleve"; " Cycle" → "cycle"). Sources: the
# Base élèves extraction (ENT Core's BE1D feeder and its sample files, SACoche, the laclasse.com import spec) and
# the ONDE extraction (EOLE Scribe's ONDE import test, Opencomp's guide). See docs/imports.md.
PUPIL_COLUMNS = {
    "last_name": ("nom eleve",),
    "usage_name": ("nom d usage eleve",),
    "first_name": ("prenom eleve",),
    "birth_date": ("date naissance",),
    "ine": ("ine",),
    "level": ("niveau",),
    "class": ("classe", "libelle classe"),
}
TEACHER_COLUMNS = {
    "last_name": ("nom",),
    "usage_name": ("nom usage",),
    "first_name": ("prenom",),
    "email": ("courriel",),
    "mobile": ("telephone portable",),
    "home_phone": ("telephone domicile",),
    "director": ("directeur",),
}
GUARDIAN_COLUMNS = {
    "last_name": ("nom responsable",),
    "usage_name": ("nom usage responsable",),
    "first_name": ("prenom responsable",),
    "email": ("courriel",),
    "mobile": ("telephone portable",),
    "home_phone": ("telephone domicile",),
    "work_phone": ("telephone travail",),
}
# Repeated once per child on a guardian's row.
CHILD_COLUMNS = {"usage_name": "nom d usage enfant", "last_name": "nom de famille enfant",
                 "first_name": "prenom enfant", "class": "classes enfants"}
TEACHER_CLASS_COLUMN = "classe"


def file_type(header: list[str]) -> str | None:
    names = {normalize(column) for column in header}
    if {"nom eleve", "prenom eleve", "date naissance"} <= names:
        return PUPILS
    if {"nom responsable", "prenom responsable", "nom de famille enfant", "prenom enfant"} <= names:
        return GUARDIANS
    if {"nom", "prenom"} <= names and names & {TEACHER_CLASS_COLUMN, "directeur"}:
        return TEACHERS
    return None


def columns_of(header: list[str], wanted: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Field → position of its first column in the header (fields whose column is absent are left out)."""
    folded = [normalize(column) for column in header]
    out = {}
    for name, spellings in wanted.items():
        for spelling in spellings:
            if spelling in folded:
                out[name] = folded.index(spelling)
                break
    return out


def digest(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()[:20]  # noqa: S324 - a key, not a secret


def same_name(a: str, b: str) -> bool:
    return normalize(a) == normalize(b)


class Be1dImporter(CsvDirectoryImporter):
    source = "be1d"
    namespace = "be1d"

    def __init__(self, report, **kwargs):
        super().__init__(report, **kwargs)
        self._keys_in_run: dict[str, int] = {}  # join key → line of the record that had it, per file
        self._pupil_index: dict[tuple[str, str], list[tuple[int, set[str]]]] | None = None
        # Pupils of this run by family name (the directory keeps the name in use): (name, first name) folded →
        # pupil ids, for guardians' files naming children by family name.
        self._family_names: dict[tuple[str, str], set[int]] = {}

    def import_files(self, paths: list[Path]) -> None:
        by_type: dict[str, list[Path]] = {PUPILS: [], TEACHERS: [], GUARDIANS: []}
        for path in paths:
            csv_file = self.open_csv(path)
            if csv_file is None:
                continue
            kind = file_type(csv_file.header)
            csv_file.close()
            if kind is None:
                self.report.reject(path.name, None, "", _(
                    "En-tête non reconnu : ni un fichier d'élèves (Nom Elève, Prénom Elève, Date naissance…), ni "
                    "de responsables (Nom responsable, Prénom responsable, Nom de famille enfant, Prénom enfant…), "
                    "ni d'enseignants (Nom, Prénom, Directeur, Classe…). Vérifiez le séparateur (« ; ») et la "
                    "première ligne. Fichier non importé. En-tête lu : %(header)s") % {
                    "header": " | ".join(csv_file.header)[:300]})
                continue
            by_type[kind].append(path)
        full = self.options.get("full", True) is not False
        for kind, handler in ((PUPILS, self._pupil), (TEACHERS, self._teacher), (GUARDIANS, self._guardian)):
            complete = True
            for path in sorted(by_type[kind], key=lambda p: p.name):
                complete &= self._import_file(path, kind, handler)
            if full:
                report_kind, roles = REPORT_KINDS[kind]
                self.leave_absent(report_kind, roles, [path.name for path in by_type[kind]], complete)

    def _import_file(self, path: Path, kind: str, handler) -> bool:
        csv_file = self.open_csv(path)
        if csv_file is None:
            return False
        header = csv_file.header
        self.columns = columns_of(header, {PUPILS: PUPIL_COLUMNS, TEACHERS: TEACHER_COLUMNS,
                                           GUARDIANS: GUARDIAN_COLUMNS}[kind])
        self._keys_in_run = {}
        extra_cells = False
        needed = list(self.columns.values())
        if kind == GUARDIANS:
            folded = [normalize(column) for column in header]
            self.child_columns = {name: [i for i, column in enumerate(folded) if column == spelling]
                                  for name, spelling in CHILD_COLUMNS.items()}
            starts = self.child_columns["last_name"]
            self.child_period = starts[1] - starts[0] if len(starts) > 1 else 4
            needed += [positions[0] for positions in self.child_columns.values() if positions]
            extra_cells = True  # more children than the header has groups for: the groups go on
        elif kind == TEACHERS:
            self.class_columns = [i for i, column in enumerate(header) if normalize(column) == TEACHER_CLASS_COLUMN]
            extra_cells = True  # the classes of a teacher with several go on past the header (ENT Core does so)
        return self.import_rows(path, csv_file, handler, kind=REPORT_KINDS[kind][0], needed=needed,
                                extra_cells=extra_cells)

    # --- Values ----------------------------------------------------------------------------------------------

    def value(self, row: CsvRow, name: str) -> str:
        return row.at(self.columns.get(name))

    def attribute(self, row: CsvRow, name: str) -> str:
        index = self.columns.get(name)
        return row.column(index) if index is not None else name

    def names(self, row: CsvRow, what: str) -> tuple[str, str, str]:
        """(family name, name in use, first name); a missing family or first name rejects the record."""
        last = self.clean_name(self.value(row, "last_name"), self.attribute(row, "last_name"), _("Nom"))
        usage = self.clean_name(self.value(row, "usage_name"), self.attribute(row, "usage_name"), _("Nom d'usage"))
        first = self.clean_name(self.value(row, "first_name"), self.attribute(row, "first_name"), _("Prénom"))
        for value, name, label in ((last, "last_name", _("Nom")), (first, "first_name", _("Prénom"))):
            if not value:
                raise Rejected(self.attribute(row, name), _(
                    "%(what)s manquant : %(who)s ne peut pas être reconnu d'un import à l'autre (BE1D ne donne pas "
                    "d'identifiant). Enregistrement ignoré.") % {"what": label, "who": what})
        return last, usage, first

    def person(self, row: CsvRow, key: str, kind: str, fields: dict, **kwargs) -> tuple[User, bool, bool]:
        """Create or update the row's person by their derived join key; they are listed by this import."""
        user, created, changed = self.upsert_person(
            external_id=key, kind=kind, fields=fields, **kwargs,
            required=(("last_name", self.attribute(row, "last_name")),
                      ("first_name", self.attribute(row, "first_name"))))
        self.seen(kind, user.external_id)
        return user, created, changed

    def once(self, key: str, what: str) -> None:
        """A join key met twice in one file is two people Préau cannot tell apart: the second is refused."""
        if key in self._keys_in_run:
            raise Rejected("", _("%(what)s en double dans le fichier (mêmes nom, prénom%(extra)s que la ligne "
                                 "%(line)d) : Préau ne peut pas les distinguer. Enregistrement ignoré.") % {
                "what": what, "extra": _(" et date de naissance") if what == _("Élève") else "",
                "line": self._keys_in_run[key]})
        self._keys_in_run[key] = self.number

    def contact_fields(self, row: CsvRow, phones: tuple[str, ...]) -> dict:
        fields = {}
        if "email" in self.columns:
            email = self.clean_email_value(self.value(row, "email"), self.attribute(row, "email"))
            if email is not None:
                fields["email"] = email
        present = [name for name in phones if name in self.columns]
        if present:
            phone = self.clean_phone([(self.value(row, name), self.attribute(row, name)) for name in present])
            if phone is not None:
                fields["phone"] = phone
        return fields

    def school_class_for(self, label: str):
        label = " ".join(label.split())
        return self.school_class(self.establishment, short_code(label), label)

    # --- Pupils ----------------------------------------------------------------------------------------------

    def _pupil(self, row: CsvRow) -> None:
        establishment = self.establishment
        last, usage, first = self.names(row, _("l'élève"))
        date_attribute = self.attribute(row, "birth_date")
        raw_date = self.value(row, "birth_date")
        birth_date = self.birth_date(raw_date)
        if not birth_date:
            raise Rejected(date_attribute, _(
                "Date de naissance manquante, illisible ou improbable « %(value)s » : avec le nom et le prénom, elle "
                "sert à reconnaître l'élève d'un import à l'autre (BE1D ne donne pas d'identifiant). Enregistrement "
                "ignoré.") % {"value": raw_date[:40]})
        key = self.key_prefix("p") + digest(normalize(last), normalize(first), birth_date.isoformat())
        self.once(key, _("Élève"))
        fields = {"last_name": usage or last, "first_name": first, "birth_date": birth_date}
        ine = self.clean_ine(self.value(row, "ine"), self.attribute(row, "ine")) if "ine" in self.columns else None
        if ine:
            fields["ine"] = ine
        user, created, changed = self.person(row, key, "pupils", fields, match_ine=bool(ine))
        self._family_names.setdefault((normalize(last), normalize(first)), set()).add(user.pk)
        changed |= self.membership(user, establishment, Role.PUPIL)
        changed |= self.drop_other_memberships(user, (Role.PUPIL,), {(establishment.pk, Role.PUPIL)})
        if "class" in self.columns:
            label = self.value(row, "class")
            classes = []
            if label:
                school_class = self.school_class_for(label)
                level = " ".join(self.value(row, "level").split())[:32]
                if level and not school_class.level:
                    school_class.level = level
                    school_class.save(update_fields=["level"])
                classes.append(school_class)
            changed |= self.sync_classes(user, classes, establishments=[establishment])
        self.finish_person("pupils", created, changed)

    # --- Teachers --------------------------------------------------------------------------------------------

    def _teacher(self, row: CsvRow) -> None:
        establishment = self.establishment
        last, usage, first = self.names(row, _("l'enseignant"))
        key = self.key_prefix("e") + digest(normalize(last), normalize(first))
        self.once(key, _("Enseignant"))
        fields = {"last_name": usage or last, "first_name": first,
                  **self.contact_fields(row, ("mobile", "home_phone"))}
        user, created, changed = self.person(row, key, "staff", fields)
        changed |= self.membership(user, establishment, Role.TEACHER)
        keep = {(establishment.pk, Role.TEACHER)}
        if "director" in self.columns:
            director = parse_yes_no(self.value(row, "director"))
            if director is None and self.value(row, "director"):
                self.warn(self.attribute(row, "director"), _("Valeur « %(value)s » non comprise (oui ou non "
                                                             "attendu) ; ignorée.") % {
                    "value": self.value(row, "director")[:40]})
            if director:
                changed |= self.membership(user, establishment, Role.STAFF, [StaffFunction.DIRECTOR])
                keep.add((establishment.pk, Role.STAFF))
            if director is not None:
                changed |= self.drop_other_memberships(user, (Role.STAFF,), keep)
        labels = [row.at(i) for i in self.class_columns] + row.cells[len(row.header):]
        labels = list(dict.fromkeys(" ".join(label.split()) for label in labels if label.strip()))
        changed |= self._class_services(user, labels)
        self.finish_person("staff", created, changed)

    def _class_services(self, teacher: User, labels: list[str]) -> bool:
        """The teacher's polyvalent services (one per class listed) become exactly these; other services here,
        typed by hand (English by a colleague…), stay as they are."""
        establishment = self.establishment
        year = self.current_year(establishment)
        wanted = {(a.subject_id, a.school_class_id, a.group_id): (establishment, year, None)
                  for a in TeachingAssignment.objects.filter(
                      teacher=teacher, establishment=establishment, school_year__is_current=True).exclude(
                      subject__code=POLYVALENT_CODE)}
        if labels:
            subject = self.subject(establishment, POLYVALENT_CODE, POLYVALENT_LABEL)
            for label in labels:
                wanted[(subject.pk, self.school_class_for(label).pk, None)] = (establishment, year, True)
        return self.sync_assignments(teacher, wanted, [establishment.pk])

    # --- Guardians -------------------------------------------------------------------------------------------

    def pupil_index(self) -> dict[tuple[str, str], list[tuple[int, set[str]]]]:
        """The establishment's active pupils by (name, first name) folded, with their current classes (label and
        code folded): built once per run, after the pupils' files."""
        if self._pupil_index is None:
            pupils = dict(User.objects.filter(
                memberships__establishment=self.establishment, memberships__role=Role.PUPIL,
                memberships__is_active=True).values_list("pk", "last_name").distinct())
            names = dict(User.objects.filter(pk__in=list(pupils)).values_list("pk", "first_name"))
            classes: dict[int, set[str]] = {pk: set() for pk in pupils}
            for pupil_id, label, code in ClassEnrolment.objects.filter(
                    pupil_id__in=list(pupils), school_class__establishment=self.establishment,
                    school_class__school_year__is_current=True).values_list(
                    "pupil_id", "school_class__label", "school_class__code"):
                classes[pupil_id] |= {normalize(label), normalize(code)}
            index: dict[tuple[str, str], list[tuple[int, set[str]]]] = {}
            for pk, last_name in pupils.items():
                index.setdefault((normalize(last_name), normalize(names[pk])), []).append((pk, classes[pk]))
            for name, pks in self._family_names.items():
                known = {pk for pk, _classes in index.get(name, [])}
                index.setdefault(name, []).extend((pk, classes[pk]) for pk in pks if pk in classes and pk not in known)
            self._pupil_index = index
        return self._pupil_index

    def children(self, row: CsvRow) -> list[User]:
        """The pupils a guardian's row lists (by name and first name, the class telling homonyms apart); those
        not found are reported."""
        found: list[int] = []
        columns = self.child_columns
        starts = columns["last_name"]
        groups = [{name: positions[k] if k < len(positions) else None for name, positions in columns.items()}
                  for k in range(len(starts))]
        # More children than the header has groups for: the last group's layout goes on, one period further.
        offsets = {name: group - groups[-1]["last_name"] if group is not None else None
                   for name, group in groups[-1].items()}
        start = starts[-1] + self.child_period
        while start < len(row.cells):
            groups.append({name: start + offset if offset is not None else None for name, offset in offsets.items()})
            start += self.child_period
        index = self.pupil_index()
        for group in groups:
            last, usage, first, label = (row.at(group[name]).strip() for name in (
                "last_name", "usage_name", "first_name", "class"))
            if not (last or usage) and not first:
                continue
            candidates = {pk: classes for name in {last, usage} if name
                          for pk, classes in index.get((normalize(name), normalize(first)), [])}
            if len(candidates) > 1 and label:
                candidates = {pk: classes for pk, classes in candidates.items() if normalize(label) in classes}
            who = f"{first} {last or usage}".strip() + (f" ({label})" if label else "")
            if len(candidates) == 1:
                found.extend(pk for pk in candidates if pk not in found)
            elif not candidates:
                self.warn(row.column(group["first_name"]) or row.column(columns["first_name"][0]), _(
                    "Enfant « %(who)s » introuvable parmi les élèves de l'école (importez d'abord le fichier des "
                    "élèves) ; lien ignoré.") % {"who": who[:120]})
            else:
                self.warn(row.column(group["first_name"]) or row.column(columns["first_name"][0]), _(
                    "Plusieurs élèves s'appellent « %(who)s » : lien ignoré.") % {"who": who[:120]})
        return list(User.objects.filter(pk__in=found).order_by("pk"))

    def _guardian(self, row: CsvRow) -> None:
        last, usage, first = self.names(row, _("le responsable"))
        children = self.children(row)
        if not children:
            raise Rejected(row.column(self.child_columns["first_name"][0]), _(
                "Aucun des enfants de ce responsable n'est un élève connu de l'école (importez d'abord le fichier "
                "des élèves) : responsable ignoré."))
        prefix = self.key_prefix("r")
        user = None
        for candidate in User.objects.filter(children_links__pupil__in=children,
                                             external_id__startswith=prefix).distinct().order_by("pk"):
            if same_name(candidate.first_name, first) and (same_name(candidate.last_name, usage or last)
                                                           or same_name(candidate.last_name, last)):
                user = candidate
                break
        key = user.external_id if user else prefix + digest(normalize(last), normalize(first),
                                                             *sorted(str(child.pk) for child in children))
        self.once(key, _("Responsable"))
        fields = {"last_name": usage or last, "first_name": first,
                  **self.contact_fields(row, ("mobile", "home_phone", "work_phone"))}
        user, created, changed = self.person(row, key, "guardians", fields, user=user)
        wanted = {child: {"external_id": f"{child.external_id or child.pk}${user.external_id}"[:64]}
                  for child in children}
        changed |= self.sync_children(user, wanted)
        self.finish_person("guardians", created, changed)

