"""The timetable export of Index Éducation's EDT / Pronote to ENTs: `ExportEmploiDuTemps` (namespace
http://www.index-education.com/exportemploidutemps, schema v1.1 in ../shared/testdata/edt/).

The file gives the school year (`AnneeScolaire`, with the first day of its week 1), the grid of places of a day
(`GrilleHoraire/PlacesParJour/Place`: number from 0, start and end times), subjects, teachers, classes with their
parts (`PartieDeClasse`), groups (made of classes and parts of classes), rooms, pupils (not read: the directory
imports pupils), and the courses: a day (`Jour`, 1 = Monday), a first place and a number of places, a subject, and
teachers, classes, parts of classes, groups and rooms each with the weeks they are there (`Semaines`, an integer
whose bit n is week n, counted from `DatePremierJourSemaine1`).

Read leniently: namespace or none, attributes in any letter case, undeclared attributes and elements ignored, empty
values, weeks also as a string of 0/1 (first character = week 1), `SemainesAnnulation` on a course (weeks
cancelled). Everything matched or skipped is reported per record; the report's record number is the line of the
element in the file. See docs/imports.md, "Timetable imports".
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from lxml import etree

from preau.imports.engine import READ_ERRORS, Rejected, parse_date, read_error_reason
from preau.imports.xmlstream import SAFE_SETTINGS, UnsafeXML, _free, peek, text_of

from .base import DAY, WEEK, CourseData, TimetableImporter, digest, monday, parse_time

ROOT = "ExportEmploiDuTemps"
ENCRYPTED_ROOT = "EXPORT_INDEX_EDUCATION"
AUDIENCE = ("classe", "partiedeclasse", "groupe")
MAX_WEEK = 60


def local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def attributes(element) -> dict[str, str]:
    """An element's attributes by lowercased local name, values stripped (files vary in letter case)."""
    return {local(name).lower(): (value or "").strip() for name, value in element.attrib.items()}


def weeks_of(value: str) -> set[int] | None:
    """Week numbers from a `Semaines` value: an integer whose bit n is week n, or a string of 0/1 longer than any
    such integer (first character = week 1); None when unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > 20 and set(value) <= {"0", "1"}:
        return {index + 1 for index, char in enumerate(value) if char == "1"}
    if not value.isdecimal():
        return None
    mask = int(value)
    return {bit for bit in range(1, min(mask.bit_length(), MAX_WEEK + 1)) if mask >> bit & 1}


@dataclass
class Ref:
    """A teacher, class, part, group or room named by a course, with the weeks it is there (None: all)."""

    kind: str
    ident: str
    weeks: set[int] | None
    raw_weeks: str
    attrs: dict


@dataclass
class CourseRecord:
    line: int
    attrs: dict
    subject: str = ""
    refs: list[Ref] = field(default_factory=list)
    key: str = ""


@dataclass
class EdtFile:
    root: str = ""
    root_attrs: dict = field(default_factory=dict)
    year: dict = field(default_factory=dict)
    year_line: int | None = None
    days: list[str] = field(default_factory=list)
    places: dict[int, tuple[datetime.time | None, datetime.time | None, int]] = field(default_factory=dict)
    bad_places: list[tuple[int, str]] = field(default_factory=list)
    subjects: dict[str, tuple[int, dict]] = field(default_factory=dict)
    teachers: dict[str, tuple[int, dict]] = field(default_factory=dict)
    classes: dict[str, tuple[int, dict, list[str]]] = field(default_factory=dict)
    groups: dict[str, tuple[int, dict, list[str], list[str]]] = field(default_factory=dict)
    rooms: dict[str, tuple[int, dict]] = field(default_factory=dict)
    courses: list[CourseRecord] = field(default_factory=list)
    broken: str = ""
    broken_line: int | None = None
    has_courses: bool = False


def read_file(path: Path) -> EdtFile:
    """Everything the import needs from the file, read as a stream (each record freed once read). A file that
    stops being readable keeps what was read before; `broken` says why."""
    data = EdtFile()
    depth, section = 0, ""
    try:
        for event, element in etree.iterparse(str(path), events=("start", "end"), **SAFE_SETTINGS):
            if event == "start":
                depth += 1
                if depth == 1:
                    data.root, data.root_attrs = local(element.tag), attributes(element)
                elif depth == 2:
                    section = local(element.tag).lower()
                    data.has_courses = data.has_courses or section == "cours"
                continue
            level, depth = depth, depth - 1
            name = local(element.tag).lower()
            if level == 2:
                if name == "anneescolaire":
                    data.year, data.year_line = attributes(element), element.sourceline
                elif name == "grillehoraire":
                    _read_grid(data, element)
                _free(element)
            elif level == 3 and section not in ("anneescolaire", "grillehoraire"):
                _read_record(data, section, name, element)
                _free(element)
    except READ_ERRORS as exc:
        data.broken = read_error_reason(exc)
        data.broken_line = getattr(exc, "lineno", None)
    return data


def _read_grid(data: EdtFile, grid) -> None:
    for child in grid.iter():
        name = local(child.tag).lower()
        if name == "jour":
            try:
                data.days.append(text_of(child))
            except UnsafeXML:
                continue
        elif name == "place":
            attrs = attributes(child)
            number = attrs.get("numero", "")
            start, end = parse_time(attrs.get("libelleheuredebut", "")), parse_time(attrs.get("libelleheurefin", ""))
            if not number.isdecimal():
                data.bad_places.append((child.sourceline, _("Place sans numéro lisible (« %(value)s ») : ignorée.")
                                        % {"value": number}))
                continue
            if start is None or end is None:
                data.bad_places.append((child.sourceline, _(
                    "Place %(n)s : heure de début ou de fin illisible (« %(start)s », « %(end)s ») ; les cours qui "
                    "l'utilisent seront ignorés.") % {"n": number, "start": attrs.get("libelleheuredebut", ""),
                                                        "end": attrs.get("libelleheurefin", "")}))
            data.places[int(number)] = (start, end, child.sourceline)


def _children(element, *names: str):
    return [(local(child.tag).lower(), attributes(child)) for child in element
            if isinstance(child.tag, str) and local(child.tag).lower() in names]


def _read_record(data: EdtFile, section: str, name: str, element) -> None:
    attrs, line = attributes(element), element.sourceline
    ident = attrs.get("ident", "")
    if section == "matieres" and name == "matiere":
        data.subjects[ident] = (line, attrs)
    elif section == "professeurs" and name == "professeur":
        data.teachers[ident] = (line, attrs)
    elif section == "classes" and name == "classe":
        data.classes[ident] = (line, attrs, [a.get("ident", "") for _n, a in _children(element, "partiedeclasse")])
    elif section == "groupes" and name == "groupe":
        children = _children(element, "classe", "partiedeclasse")
        data.groups[ident] = (line, attrs, [a.get("ident", "") for n, a in children if n == "classe"],
                              [a.get("ident", "") for n, a in children if n == "partiedeclasse"])
    elif section == "salles" and name == "salle":
        data.rooms[ident] = (line, attrs)
    elif section == "cours" and name == "cours":
        record = CourseRecord(line=line, attrs=attrs)
        for kind, child in _children(element, "matiere", "professeur", "salle", *AUDIENCE):
            if kind == "matiere":
                record.subject = record.subject or child.get("ident", "")
                continue
            raw = child.get("semaines", "")
            record.refs.append(Ref(kind=kind, ident=child.get("ident", ""), weeks=weeks_of(raw), raw_weeks=raw,
                                   attrs=child))
        data.courses.append(record)


def root_uai(path: Path) -> str | None:
    """The UAI the export's root names (`@UAI`, any letter case), read from the root's start tag only; "" when it
    names none, None when the file cannot be read (the import then reports why)."""
    try:
        for _event, element in etree.iterparse(str(path), events=("start",), **SAFE_SETTINGS):
            return attributes(element).get("uai", "").upper()
    except READ_ERRORS:
        return None
    return None


class EdtImporter(TimetableImporter):
    source = "edt"

    @staticmethod
    def file_uais(path: Path) -> set[str] | None:
        """The establishments (UAI) the file names: its root's `@UAI` (the schema requires it); None: unreadable."""
        uai = root_uai(path)
        return None if uai is None else {uai} if uai else set()

    def run_file(self, path: Path) -> None:
        name = path.name
        try:
            root, entities = peek(path)
        except READ_ERRORS as exc:
            self.refuse(name, read_error_reason(exc))
            return
        if local(root) == ENCRYPTED_ROOT:
            self.refuse(name, _("Export chiffré (conteneur « EXPORT_INDEX_EDUCATION ») : faites l'export de l'emploi "
                                "du temps en clair, pour un ENT, puis importez-le."))
            return
        if local(root) != ROOT:
            self.refuse(name, _("Ce n'est pas un export de l'emploi du temps (élément racine « %(root)s », attendu "
                                "« ExportEmploiDuTemps ») : fichier ignoré.") % {"root": local(root) or "?"})
            return
        if entities:
            self.refuse(name, _("Le fichier déclare des entités XML, ce que ne fait aucun export : fichier refusé."))
            return
        data = read_file(path)
        establishment = self.establishment_of(name, data.root_attrs.get("uai", ""))
        if establishment is None or not self.prepare(name, establishment):
            return
        self.file = name
        if not self._check_year(name, data):
            return
        self.week1 = self._week1(name, data)
        self.day_base = 0 if "0" in data.days else 1
        for line, reason in data.bad_places:
            self.report.reject(name, line, "Place", reason)
        self.data = data
        self._match_directory(name, data)
        self.process(name, ((line, (ident, attrs)) for ident, (line, attrs) in data.rooms.items()), self._room)
        self._plan_courses(data)
        self.process(name, ((record.line, record) for record in data.courses), self._course, kind="courses")
        if data.broken:
            self.report.reject(name, data.broken_line, "", data.broken + " " + _(
                "Les cours de l'établissement absents de la partie lue n'ont été ni terminés ni supprimés."))
        elif data.has_courses:
            self.end_vanished()

    # --- The year and its weeks ----------------------------------------------------------------------------

    def _check_year(self, name: str, data: EdtFile) -> bool:
        year = self.school_year
        try:
            first, last = parse_date(data.year.get("datedebut", "")), parse_date(data.year.get("datefin", ""))
        except ValueError:
            return True  # the weeks outside the current year are dropped anyway
        if last < year.start or first > year.end:
            self.refuse(name, _("Cet export est celui de l'année du %(first)s au %(last)s, pas de l'année scolaire en "
                                "cours de l'établissement (%(year)s) : fichier ignoré.") % {
                "first": first.strftime("%d/%m/%Y"), "last": last.strftime("%d/%m/%Y"), "year": year.label},
                data.year_line)
            return False
        return True

    def _week1(self, name: str, data: EdtFile) -> datetime.date:
        """The Monday of the export's week 1."""
        value = data.year.get("datepremierjoursemaine1", "")
        try:
            return monday(parse_date(value))
        except ValueError:
            pass
        try:
            fallback = monday(parse_date(data.year.get("datedebut", "")))
        except ValueError:
            fallback = monday(self.school_year.start)
        self.report.reject(name, data.year_line, "DatePremierJourSemaine1", _(
            "Premier jour de la semaine 1 absent ou illisible (« %(value)s ») : la semaine 1 est prise comme celle "
            "du %(day)s.") % {"value": value, "day": fallback.strftime("%d/%m/%Y")})
        return fallback

    def week_monday(self, number: int) -> datetime.date:
        return self.week1 + (number - 1) * WEEK

    # --- Matching the directory ----------------------------------------------------------------------------

    def _match_directory(self, name: str, data: EdtFile) -> None:
        """Map the file's idents to the directory, reporting (once, at their record) what is not found."""
        self.subjects, self.subject_labels, self.teachers, self.classes, self.groups = {}, {}, {}, {}, {}
        for ident, (line, attrs) in data.subjects.items():
            code, label = attrs.get("code", ""), attrs.get("libelle", "")
            subject = self.find_subject(code, label)
            self.subject_labels[ident] = label or code
            if subject is None:
                self.report.reject(name, line, "Matiere", _(
                    "Matière « %(code)s » (%(label)s) inconnue de l'annuaire de l'établissement : ses cours sont "
                    "importés avec ce libellé, sans matière.") % {"code": code, "label": label or "?"})
            self.subjects[ident] = subject
        for ident, (line, attrs) in data.teachers.items():
            keys = [attrs.get("idsts", "") and f"sts:{self.current_establishment.uai}:{attrs['idsts']}",
                    attrs.get("idsts", ""), attrs.get("idcas", ""), attrs.get("idpn", "")]
            person, why = self.find_teacher(keys=keys, last_name=attrs.get("nom", ""),
                                            first_name=attrs.get("prenom", ""))
            if person is None:
                self.report.reject(name, line, "Professeur", _(
                    "Enseignant « %(name)s » non trouvé (%(why)s) : ses cours sont importés sans lui.") % {
                    "name": f"{attrs.get('prenom', '')} {attrs.get('nom', '')}".strip() or ident, "why": why})
            self.teachers[ident] = person
        unknown = {"Classe": _("Classe « %(name)s » inconnue dans l'année en cours : ses cours ne sont pas importés "
                               "pour elle."),
                   "Groupe": _("Groupe « %(name)s » inconnu dans l'année en cours : ses cours ne sont pas importés "
                               "pour lui.")}
        for element, entries, find, found_map in (("Classe", data.classes, self.find_class, self.classes),
                                                  ("Groupe", data.groups, self.find_group, self.groups)):
            for ident, (line, attrs, *_members) in entries.items():
                found_map[ident] = find(attrs.get("nom", ""))
                if found_map[ident] is None:
                    self.report.reject(name, line, element, unknown[element] % {"name": attrs.get("nom", "") or ident})
        # A part of a class is the group made of exactly that part, when the file has one.
        self.parts: dict[str, object] = {}
        for ident, (_line, _attrs, classes, parts) in data.groups.items():
            if not classes and len(parts) == 1 and self.groups.get(ident) is not None:
                self.parts.setdefault(parts[0], self.groups[ident])
        self.part_class = {part: class_ident for class_ident, (_l, _a, parts) in data.classes.items()
                           for part in parts}
        self.rooms = {}

    def _room(self, item) -> None:
        ident, attrs = item
        label = attrs.get("nom", "")
        if not label:
            raise Rejected("Salle", _("Salle sans nom : ignorée."))
        self.rooms[ident] = self.room(label, label=label, external_id=f"edt:{ident}" if ident else "")

    # --- Courses -------------------------------------------------------------------------------------------

    def _plan_courses(self, data: EdtFile) -> None:
        """The weeks the file covers, and each course's import key (stable for the same file)."""
        weeks = set()
        for record in data.courses:
            for ref in record.refs:
                weeks |= {week for week in ref.weeks or () if self.in_year(self.week_monday(week))}
        if not weeks:  # an export without any weeks: its courses are every week of the year
            weeks = {week for week in range(1, MAX_WEEK + 1) if self.in_year(self.week_monday(week))}
        self.all_weeks = {self.week_monday(week) for week in weeks}
        self.span = ((min(self.all_weeks), max(self.all_weeks) + 6 * DAY) if self.all_weeks
                     else (monday(self.school_year.start), self.school_year.end))
        seen: dict[str, int] = defaultdict(int)
        for record in data.courses:
            own = record.attrs.get("ident") or record.attrs.get("idcours") or ""
            if own:
                base = f"edt:{own}"
            else:
                audience = sorted(f"{ref.kind}{ref.ident}" for ref in record.refs if ref.kind in AUDIENCE)
                base = digest(record.attrs.get("jour"), record.attrs.get("numeroplacedebut"),
                              record.attrs.get("nombreplaces"), record.subject, *audience)
            seen[base] += 1
            record.key = self.year_key(base if seen[base] == 1 else f"{base}-{seen[base]}")

    def _times(self, attrs: dict) -> tuple[datetime.time, datetime.time]:
        first, count = attrs.get("numeroplacedebut", ""), attrs.get("nombreplaces", "") or "1"
        if not first.isdecimal():
            raise Rejected("NumeroPlaceDebut", _("Première place illisible (« %(value)s ») : cours ignoré.") % {
                "value": first})
        if not count.isdecimal() or int(count) < 1:
            raise Rejected("NombrePlaces", _("Nombre de places illisible (« %(value)s ») : cours ignoré.") % {
                "value": count})
        first_place, last_place = int(first), int(first) + int(count) - 1
        start = self.data.places.get(first_place, (None, None, 0))[0]
        end = self.data.places.get(last_place, (None, None, 0))[1]
        if start is None or end is None:
            raise Rejected("NumeroPlaceDebut", _(
                "Places %(first)d à %(last)d absentes de la grille horaire, ou d'heures illisibles : cours "
                "ignoré.") % {"first": first_place, "last": last_place})
        return start, end

    def _weekday(self, attrs: dict) -> int:
        value = attrs.get("jour", "")
        if not value.isdecimal() or not 0 <= int(value) - self.day_base <= 6:
            raise Rejected("Jour", _("Jour illisible (« %(value)s ») : cours ignoré.") % {"value": value})
        return int(value) - self.day_base

    def _course(self, record: CourseRecord) -> None:
        if not record.refs:
            self.keep(record.key)
            raise Rejected("", _("Cours sans enseignant, classe, groupe ni salle : ignoré."))
        weekday = self._weekday(record.attrs)
        start, end = self._times(record.attrs)
        cancelled = weeks_of(record.attrs.get("semainesannulation", "")) or set()
        for ref in record.refs:
            if ref.weeks is None and ref.raw_weeks:
                self.warn(ref.kind, _("Semaines illisibles (« %(value)s ») pour %(what)s %(ident)s : pris toutes les "
                                      "semaines du cours.") % {"value": ref.raw_weeks[:40], "what": ref.kind,
                                                               "ident": ref.ident})
        union = set().union(*(ref.weeks for ref in record.refs if ref.weeks is not None))
        numbers = union or {number for number in range(1, MAX_WEEK + 1) if self.week_monday(number)
                            in self.all_weeks}
        numbers = {number for number in numbers - cancelled if self.in_year(self.week_monday(number))}
        if not numbers:
            self.keep(record.key)
            raise Rejected("Semaines", _("Aucune semaine de cours dans l'année scolaire : cours ignoré."))
        # Weeks with the same teachers, audience and room make one course; a change during the year, another.
        by_signature: dict[tuple, set[int]] = defaultdict(set)
        for number in numbers:
            signature = tuple(sorted((ref.kind, ref.ident) for ref in record.refs
                                     if ref.weeks is None or number in ref.weeks))
            by_signature[signature].add(number)
        parts = sorted(by_signature.items(), key=lambda item: min(item[1]))
        self.names = {(ref.kind, ref.ident): ref.attrs.get("nom", "") for ref in record.refs}
        imported = 0
        for index, (signature, part_weeks) in enumerate(parts):
            key = record.key if index == 0 else f"{record.key}/{index + 1}"
            data = self._course_data(record, key, signature, weekday, start, end, part_weeks, many=len(parts) > 1)
            if data is None:
                self.keep(key)
                continue
            self.apply_course(data)
            imported += 1
        if not imported:
            raise Rejected("", _("Aucun enseignant, classe ni groupe de ce cours n'est connu de l'annuaire : cours "
                                 "ignoré."))

    def _course_data(self, record: CourseRecord, key: str, signature: tuple, weekday: int, start, end,
                     weeks: set[int], *, many: bool) -> CourseData | None:
        teachers, classes, groups, rooms = [], [], [], []
        audience_named = False
        for kind, ident in signature:
            if kind == "professeur":
                if ident not in self.teachers:
                    self.warn("Professeur", _("Enseignant %(ident)s absent de la liste des professeurs du fichier : "
                                              "ignoré.") % {"ident": ident})
                elif self.teachers[ident] is not None:
                    teachers.append(self.teachers[ident])
            elif kind == "salle":
                if ident not in self.rooms:
                    self.warn("Salle", _("Salle %(ident)s absente de la liste des salles du fichier : ignorée.")
                              % {"ident": ident})
                else:
                    rooms.append(self.rooms[ident])
            else:
                audience_named = True
                found = self._audience(kind, ident)
                if found is not None:
                    (classes if kind == "classe" else groups).append(found)
        if len({room.pk for room in rooms}) > 1:
            self.warn("Salle", _("Plusieurs salles pour ce cours : seule « %(room)s » est gardée.") % {
                "room": rooms[0].code})
        if (audience_named and not classes and not groups) or not (teachers or classes or groups):
            if many:
                self.warn("", _("Semaines %(weeks)s : aucune classe ni groupe connus, ces semaines ne sont pas "
                                "importées.") % {"weeks": ", ".join(str(w) for w in sorted(weeks))})
            return None
        subject = self.subjects.get(record.subject)
        if record.subject and record.subject not in self.subjects:
            self.warn("Matiere", _("Matière %(ident)s absente de la liste des matières du fichier.") % {
                "ident": record.subject})
        return CourseData(
            key=key, weekday=weekday, start=start, end=end, subject=subject,
            label=self.subject_labels.get(record.subject, ""), teachers=list({p.pk: p for p in teachers}.values()),
            classes=list({c.pk: c for c in classes}.values()), groups=list({g.pk: g for g in groups}.values()),
            room=rooms[0] if rooms else None, weeks={self.week_monday(number) for number in weeks}, span=self.span)

    def _audience(self, kind: str, ident: str):
        """The class or group a course's Classe / Groupe / PartieDeClasse names; None (reported) when unknown."""
        if kind == "classe":
            if ident not in self.classes:
                self.warn("Classe", _("Classe %(ident)s absente de la liste des classes du fichier : ignorée.")
                          % {"ident": ident})
            return self.classes.get(ident)
        if kind == "groupe":
            if ident not in self.groups:
                self.warn("Groupe", _("Groupe %(ident)s absent de la liste des groupes du fichier : ignoré.")
                          % {"ident": ident})
            return self.groups.get(ident)
        # Some exports name the part (an attribute the schema does not declare): the group of that name.
        group = self.parts.get(ident) or (self.find_group(self.names.get((kind, ident), ""))
                                          if self.names.get((kind, ident)) else None)
        if group is None:
            class_ident = self.part_class.get(ident)
            owner = self.data.classes.get(class_ident, (0, {}, []))[1].get("nom", "?") if class_ident else "?"
            self.warn("PartieDeClasse", _(
                "Partie de classe %(ident)s (classe %(owner)s) : aucun groupe du fichier ne la désigne seule, elle "
                "n'est pas importée.") % {"ident": ident, "owner": owner})
        return group
