"""The timetable as a CSV file: one row per recurring course (docs/imports.md, "Timetable imports").

Columns (headers matched without case, accents or punctuation; any order; others ignored):
`jour` (lundi…dimanche, lun…, or 1–7 with 1 = Monday), `début` and `fin` (08:00, 8h30), `matière` (the
establishment's subject code; its label also works), `enseignants` (logins, join keys, e-mails or "NOM Prénom",
separated by `|` or `,`), `classes` and `groupes` (codes or labels, separated by `|` or `,`), `salle` (a code,
created when new), `semaines` (empty or `toutes`; `A`; `B`; or ISO dates of the weeks, separated by `|`, `,` or
spaces), optional `id` (a stable key of the row; without it, a key made of the day, start, subject and audience),
optional `libellé` (shown when there is no subject), optional `uai` (the establishment the file is for: every row
that fills it must give the same one, which must be the one chosen when one is; the command line needs no `--uai`
then).

Encoding and delimiter are told from the file (preau.imports.csvread). Each row is imported or rejected on its own
(the report's record is the line number).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from pathlib import Path

from django.utils.translation import gettext as _

from preau.imports.csvread import CsvFile, CsvUnreadable, normalize
from preau.imports.engine import Rejected, parse_date

from ..models import Course
from .base import CourseData, TimetableImporter, digest, monday, parse_time, split_list

COLUMNS = {
    "weekday": ("jour",),
    "start": ("debut", "heure debut", "heure de debut", "start"),
    "end": ("fin", "heure fin", "heure de fin", "end"),
    "subject": ("matiere", "code matiere", "matiere code"),
    "teachers": ("enseignants", "enseignant", "professeurs", "professeur", "profs"),
    "classes": ("classes", "classe"),
    "groups": ("groupes", "groupe"),
    "room": ("salle", "salles"),
    "weeks": ("semaines", "semaine"),
    "key": ("id", "identifiant", "cle"),
    "label": ("libelle", "intitule"),
    "uai": ("uai", "rne", "code uai"),
}
REQUIRED = ("weekday", "start", "end")
DAYS = {"lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6}
EVERY_WORDS = {"", "toutes", "tout", "toutes les semaines", "chaque semaine", "hebdomadaire", "*"}


def weekday_of(value: str) -> int | None:
    word = normalize(value)
    if word.isdecimal():
        return int(word) - 1 if 1 <= int(word) <= 7 else None
    for name, number in DAYS.items():
        if word and (word == name or (len(word) >= 3 and name.startswith(word))):
            return number
    return None


def _column(header: list[str], field: str) -> int | None:
    return next((index for index, cell in enumerate(header) if normalize(cell) in COLUMNS[field]), None)


class TimetableCsvImporter(TimetableImporter):
    source = "csv"

    @staticmethod
    def file_uais(path: Path) -> set[str] | None:
        """The establishments (UAI, upper case) the file's optional `uai` column names (empty without the column);
        None for a file that cannot be read (the import then reports why)."""
        try:
            csv_file = CsvFile(path)
        except CsvUnreadable:
            return None
        index = _column(csv_file.header, "uai")
        if index is None:
            csv_file.close()
            return set()
        uais = set()
        try:
            for _line, cells in csv_file.rows():
                if index < len(cells) and cells[index]:
                    uais.add(cells[index].upper())
        except CsvUnreadable:
            pass
        return uais

    def run_file(self, path: Path) -> None:
        name = path.name
        uais = self.file_uais(path)
        if uais is None:  # unreadable from its start: say why
            try:
                CsvFile(path).close()
            except CsvUnreadable as exc:
                self.refuse(name, exc.reason)
                return
            uais = set()
        if len(uais) > 1:
            self.refuse(name, _("Le fichier donne plusieurs établissements (colonne uai : %(uais)s) : un fichier par "
                                "établissement.") % {"uais": ", ".join(sorted(uais)[:5])})
            return
        establishment = self.establishment_of(name, next(iter(uais), ""))
        if establishment is None or not self.prepare(name, establishment):
            return
        try:
            csv_file = CsvFile(path)
        except CsvUnreadable as exc:
            self.refuse(name, exc.reason)
            return
        columns = {}
        headers = [normalize(cell) for cell in csv_file.header]
        for field, names in COLUMNS.items():
            for index, header in enumerate(headers):
                if header in names:
                    columns.setdefault(field, index)
        missing = [COLUMNS[field][0] for field in REQUIRED if field not in columns]
        if missing:
            csv_file.close()
            self.refuse(name, _("Colonnes obligatoires absentes : %(columns)s (la première ligne doit donner les "
                                "en-têtes : jour, début, fin, matière, enseignants, classes, groupes, salle, "
                                "semaines, id).") % {"columns": ", ".join(missing)})
            return
        self.columns = columns
        self.keys: dict[str, int] = defaultdict(int)
        if self.process(name, csv_file.rows(), self._row, kind="courses"):
            self.end_vanished()
        else:
            self.report.reject(name, None, "", _("Le fichier n'a pas été lu jusqu'au bout : les cours absents de la "
                                                 "partie lue n'ont été ni terminés ni supprimés."))

    def cell(self, cells: list[str], field: str) -> str:
        index = self.columns.get(field)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    def _row(self, cells: list[str]) -> None:
        classes_text, groups_text = self.cell(cells, "classes"), self.cell(cells, "groups")
        subject_text = self.cell(cells, "subject")
        weekday_text, start_text = self.cell(cells, "weekday"), self.cell(cells, "start")
        own = self.cell(cells, "key")
        if own:
            base = f"csv:{own[:80]}"
        else:
            base = digest(normalize(weekday_text), start_text, subject_text.upper(),
                          *sorted(normalize(item) for item in split_list(classes_text) + split_list(groups_text)))
        self.keys[base] += 1
        if own and self.keys[base] > 1:
            raise Rejected("id", _("Identifiant « %(id)s » déjà donné à une ligne précédente : ligne ignorée.")
                           % {"id": own})
        key = self.year_key(base if self.keys[base] == 1 else f"{base}-{self.keys[base]}")
        self.keep(key)  # a row rejected below leaves its earlier import as it was
        weekday = weekday_of(weekday_text)
        if weekday is None:
            raise Rejected("jour", _("Jour illisible « %(value)s » (attendu : lundi… dimanche, ou 1 à 7).")
                           % {"value": weekday_text})
        start, end = parse_time(start_text), parse_time(self.cell(cells, "end"))
        if start is None or end is None:
            raise Rejected("début" if start is None else "fin", _(
                "Heure illisible « %(value)s » (attendu : 08:00 ou 8h00).") % {
                "value": start_text if start is None else self.cell(cells, "end")})
        if end <= start:  # checked before anything is written (a room)
            raise Rejected("fin", _("L'heure de fin (%(end)s) n'est pas après l'heure de début (%(start)s).") % {
                "end": end.strftime("%H:%M"), "start": start.strftime("%H:%M")})
        subject = None
        if subject_text:
            subject = self.find_subject(subject_text)
            if subject is None:
                self.warn("matière", _("Matière « %(code)s » inconnue de l'établissement : cours importé avec ce "
                                       "libellé, sans matière.") % {"code": subject_text})
        teachers = []
        for text in split_list(self.cell(cells, "teachers")):
            person, why = self.find_teacher_by_text(text)
            if person is None:
                self.warn("enseignants", _("Enseignant « %(name)s » non trouvé (%(why)s) : ignoré.") % {
                    "name": text, "why": why})
            else:
                teachers.append(person)
        classes, groups = [], []
        for text in split_list(classes_text):
            found = self.find_class(text)
            if found is None:
                self.warn("classes", _("Classe « %(name)s » inconnue dans l'année en cours : ignorée.") % {
                    "name": text})
            else:
                classes.append(found)
        for text in split_list(groups_text):
            found = self.find_group(text)
            if found is None:
                self.warn("groupes", _("Groupe « %(name)s » inconnu dans l'année en cours : ignoré.") % {"name": text})
            else:
                groups.append(found)
        if (classes_text or groups_text) and not classes and not groups:
            raise Rejected("classes", _("Aucune des classes ni aucun des groupes de la ligne n'est connu : ligne "
                                        "ignorée."))
        if not (teachers or classes or groups):
            raise Rejected("", _("Ni enseignant, ni classe, ni groupe connus : ligne ignorée."))
        pattern, weeks = self._weeks(self.cell(cells, "weeks"))
        room_text = self.cell(cells, "room")
        self.apply_course(CourseData(
            key=key, weekday=weekday, start=start, end=end, subject=subject,
            label=self.cell(cells, "label") or ("" if subject else subject_text),
            teachers=list({p.pk: p for p in teachers}.values()), classes=list({c.pk: c for c in classes}.values()),
            groups=list({g.pk: g for g in groups}.values()), room=self.room(room_text) if room_text else None,
            weeks=weeks, pattern=pattern))
        self._kept_prefixes.discard(key)

    def _weeks(self, value: str) -> tuple[str, set[datetime.date]]:
        word = normalize(value)
        if word in EVERY_WORDS:
            return Course.WeekPattern.EVERY, set()
        if word in ("a", "semaine a", "sem a"):
            return Course.WeekPattern.WEEK_A, set()
        if word in ("b", "semaine b", "sem b"):
            return Course.WeekPattern.WEEK_B, set()
        weeks, bad = set(), []
        for item in split_list(value.replace(";", " ").replace(",", " "), "| "):
            try:
                week = monday(parse_date(item))
            except ValueError:
                bad.append(item)
                continue
            if self.in_year(week):
                weeks.add(week)
            else:
                bad.append(item)
        if bad:
            self.warn("semaines", _("Semaines illisibles ou hors de l'année scolaire ignorées : %(weeks)s.") % {
                "weeks": ", ".join(bad[:10])})
        if not weeks:
            raise Rejected("semaines", _("Semaines illisibles « %(value)s » (attendu : toutes, A, B, ou des dates "
                                         "AAAA-MM-JJ).") % {"value": value[:60]})
        return Course.WeekPattern.CUSTOM, weeks
