"""What the timetable importers share: finding the directory's subjects, teachers, classes and groups, rooms, the
week pattern of a course from the weeks it takes place, writing courses by their import key, and ending the
courses of the feed that a new export no longer lists.

A timetable importer is a `DirectoryImporter` (preau.imports.engine): it gets the same record loop (a savepoint per
record, batches, rejections in French, progress), and runs as an import kind (ImportRun, dry run, audit).
Courses are written only; the directory (people, classes, groups, subjects) is matched, never created — except
rooms, which only the timetable knows.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

from preau.accounts.models import User
from preau.directory.models import Establishment, Role, SchoolClass, SchoolYear, Subject, TeachingGroup
from preau.directory.usernames import fold
from preau.imports.engine import DirectoryImporter, Rejected

from .. import services
from ..models import Course, CourseChange, Room
from ..occurrences import is_school_day, school_weekdays, week_label
from ..selectors import calendar_for

LABELS = {
    "rooms": "Salles",
    "courses": "Cours",
    "courses_ended": "Cours absents de l'export, terminés la veille (appels ou modifications gardés)",
    "courses_deleted": "Cours absents de l'export, supprimés",
}
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
DAY = datetime.timedelta(days=1)
WEEK = datetime.timedelta(days=7)
KEY_LENGTH = 96


def monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def digest(*parts) -> str:
    """A short stable digest of the parts (import keys built from a course's content)."""
    return hashlib.sha1("|".join(str(part) for part in parts).encode()).hexdigest()[:16]  # noqa: S324 - a key


@dataclass
class CourseData:
    """One course as a file describes it, matched to the directory. `weeks`: the Mondays of the weeks it takes
    place (None: every week, or `pattern`); `span`: the first Monday and last Sunday the file covers."""

    key: str
    weekday: int
    start: datetime.time
    end: datetime.time
    subject: Subject | None = None
    label: str = ""
    teachers: list[User] = field(default_factory=list)
    classes: list[SchoolClass] = field(default_factory=list)
    groups: list[TeachingGroup] = field(default_factory=list)
    room: Room | None = None
    weeks: set[datetime.date] | None = None
    pattern: str | None = None
    span: tuple[datetime.date, datetime.date] | None = None


class TimetableImporter(DirectoryImporter):
    """Base of the timetable importers. `source` is the Course.source they write ("edt", "csv")."""

    labels = LABELS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.school_year: SchoolYear | None = None
        self.current_establishment: Establishment | None = None
        # Occurrences within the notice window before the run, the courses to compare after it (per establishment),
        # and the courses split by a schedule change (ended -> successor): see notify_changes.
        self._notice_before: dict = {}
        self._notice_ids: dict[int, set[int]] = defaultdict(set)
        self._renamed: dict[int, int] = {}
        self._notice_pending: set[int] | None = None

    def run(self, paths):
        for path in paths:
            self.run_file(Path(path))
        self.notify_changes()
        return self.report

    def notify_changes(self) -> None:
        """Tell pupils, guardians (TIMETABLE allowed) and teachers once per run (`timetable-import:<run id>`) when
        the run changed occurrences from today to TIMETABLE_NOTIFY_DAYS days ahead. A dry run is rolled back, and
        its notification with it."""
        run = getattr(self.progress, "run", None)
        run_id = run.pk if run is not None else f"{self.today.isoformat()}:{id(self)}"
        after = services.notice_snapshot(set().union(*self._notice_ids.values()), today=self.today) \
            if self._notice_ids else {}
        for establishment_id, ids in self._notice_ids.items():
            diff = services.notice_diff({k: v for k, v in self._notice_before.items() if k[0] in ids},
                                        {k: v for k, v in after.items() if k[0] in ids}, renamed=self._renamed)
            services.notify_import(establishment_id=establishment_id, diff=diff, run_id=run_id)

    def run_file(self, path: Path) -> None:
        raise NotImplementedError

    # --- The establishment and its directory ---------------------------------------------------------------

    def refuse(self, file: str, reason: str, record: int | None = None) -> None:
        """The whole file is refused: one report line, nothing imported from it."""
        self.report.reject(file, record, "", reason)

    def establishment_of(self, file: str, uai: str) -> Establishment | None:
        """The run's establishment (checked against the file's UAI), else the file's; None (reported) otherwise."""
        uai = (uai or "").strip().upper()
        if self.establishment is not None:
            if uai and uai != (self.establishment.uai or "").upper():
                self.refuse(file, _("Ce fichier est celui de l'établissement %(file)s, pas de %(chosen)s (%(uai)s) : "
                                    "fichier ignoré.") % {"file": uai, "chosen": self.establishment.name,
                                                          "uai": self.establishment.uai})
                return None
            return self.establishment
        if not uai:
            self.refuse(file, _("Le fichier ne dit pas son établissement (UAI) : choisissez-le (--uai)."))
            return None
        establishment = Establishment.objects.filter(uai=uai).first()
        if establishment is None:
            self.refuse(file, _("Aucun établissement d'UAI %(uai)s dans Préau : fichier ignoré.") % {"uai": uai})
        return establishment

    def prepare(self, file: str, establishment: Establishment) -> bool:
        """Load the establishment's current year and directory for matching; False (reported) without a year."""
        year = SchoolYear.objects.filter(establishment=establishment, is_current=True).first()
        if year is None:
            self.refuse(file, _("%(name)s n'a pas d'année scolaire en cours : importez d'abord l'annuaire, ou créez "
                                "l'année.") % {"name": establishment.name})
            return False
        self.current_establishment, self.school_year = establishment, year
        self._years[establishment.pk] = year  # the engine stops the run if the year is rolled over meanwhile
        self._load_teachers(establishment)
        self._classes_by_name = self._by_names(SchoolClass.objects.filter(school_year=year))
        self._groups_by_name = self._by_names(TeachingGroup.objects.filter(school_year=year))
        subjects = list(Subject.objects.filter(establishment=establishment))
        self._subjects_by_code = {subject.code.upper(): subject for subject in subjects}
        self._subjects_by_label = self._by_names(subjects, attributes=("label", "short_label"))
        self._load_rooms()
        self._rooms_counted: set[int] = set()
        # The occurrence engine's own calendar rules decide the patterns (created with the defaults when missing,
        # as the timetable pages do).
        self.calendar = calendar_for(year)
        self._existing = {course.external_id: course for course in Course.objects.filter(
            establishment=establishment, source=self.source).exclude(external_id="").prefetch_related(
            "teachers", "classes", "groups")}
        self._listed: set[str] = set()
        self._kept_prefixes: set[str] = set()
        # A course split by a schedule change keeps its key as "<key>~<day>": its successor never starts before.
        self._floors: dict[str, datetime.date] = {}
        self._ended_keys: set[str] = set()
        for key in self._existing:
            base, _sep, day = key.rpartition("~")
            try:
                self._floors[base] = max(self._floors.get(base, datetime.date.min), datetime.date.fromisoformat(day))
            except ValueError:
                continue
            self._ended_keys.add(key)
        self._notice_pending = {course.pk for course in self._existing.values()} - self._notice_ids[establishment.pk]
        return True

    def before_change(self) -> None:
        """Before the first write to the establishment's courses: what their occurrences of the notice window look
        like (an unchanged re-import reads nothing more)."""
        if self._notice_pending is None:
            return
        ids, self._notice_pending = self._notice_pending, None
        self._notice_ids[self.current_establishment.pk].update(ids)
        for key, value in services.notice_snapshot(ids, today=self.today).items():
            self._notice_before.setdefault(key, value)

    def _load_rooms(self) -> None:
        rooms = Room.objects.filter(establishment=self.current_establishment)
        self._rooms = {room.code.upper(): room for room in rooms}
        self._rooms_by_external = {room.external_id: room for room in self._rooms.values() if room.external_id}

    def _reset_caches(self) -> None:
        """A record rolled back may have created a room: forget the rooms made since the last commit."""
        super()._reset_caches()
        if getattr(self, "current_establishment", None) is not None:
            self._load_rooms()

    @staticmethod
    def _by_names(objects: Iterable, attributes=("code", "label")) -> dict[str, list]:
        found: dict[str, list] = defaultdict(list)
        for obj in objects:
            for attribute in attributes:
                key = fold(getattr(obj, attribute, "") or "")
                if key and obj not in found[key]:
                    found[key].append(obj)
        return found

    def _load_teachers(self, establishment: Establishment) -> None:
        people = User.objects.filter(memberships__establishment=establishment, memberships__is_active=True,
                                     memberships__role__in=[Role.TEACHER, Role.STAFF], is_active=True).distinct()
        self._people_by_key: dict[str, User] = {}
        self._people_by_name: dict[str, list[User]] = defaultdict(list)
        for person in people:
            for key in (person.external_id, person.username, (person.email or "").lower()):
                if key:
                    self._people_by_key.setdefault(key, person)
            self._people_by_name[fold(person.last_name)].append(person)

    def year_key(self, key: str) -> str:
        """An import key inside the school year (the same export next year makes new courses, and the archived
        year keeps its own)."""
        return f"{self.school_year.start.year}:{key}"[:KEY_LENGTH]

    # --- Matching ------------------------------------------------------------------------------------------

    def find_teacher(self, *, keys: Iterable[str] = (), last_name: str = "", first_name: str = "") -> tuple[
            User | None, str]:
        """(person, "") or (None, why in French): by a join key (external id, login, e-mail), else by name among
        the establishment's teachers and staff (a first name the file cut short matches its beginning)."""
        for key in keys:
            key = (key or "").strip()
            if key and (key in self._people_by_key or key.lower() in self._people_by_key):
                return self._people_by_key.get(key) or self._people_by_key[key.lower()], ""
        last, first = fold(last_name), fold(first_name)
        if not last:
            return None, _("sans nom")
        candidates = self._people_by_name.get(last, [])
        if first:
            exact = [person for person in candidates if fold(person.first_name) == first]
            candidates = exact or [person for person in candidates
                                   if fold(person.first_name).startswith(first) or first.startswith(
                                       fold(person.first_name) or "\0")]
        if len(candidates) == 1:
            return candidates[0], ""
        if not candidates:
            return None, _("personne de ce nom parmi les enseignants et personnels de l'établissement")
        return None, _("plusieurs personnes de ce nom dans l'établissement")

    def find_teacher_by_text(self, text: str) -> tuple[User | None, str]:
        """A person named by a key, or by "NOM Prénom" / "Prénom NOM" (any split of the words)."""
        person, why = self.find_teacher(keys=[text])
        if person is not None:
            return person, ""
        words = text.split()
        found = {}
        for cut in range(1, len(words)):
            for last, first in ((words[:cut], words[cut:]), (words[cut:], words[:cut])):
                person, _why = self.find_teacher(last_name=" ".join(last), first_name=" ".join(first))
                if person is not None:
                    found[person.pk] = person
        if len(found) == 1:
            return next(iter(found.values())), ""
        if len(found) > 1:
            return None, _("plusieurs personnes de ce nom dans l'établissement")
        return None, why if len(words) < 2 else _("personne de ce nom parmi les enseignants et personnels de "
                                                  "l'établissement")

    @staticmethod
    def _one(found: dict[str, list], name: str):
        matches = found.get(fold(name or ""), [])
        return matches[0] if len(matches) == 1 else None

    def find_class(self, name: str) -> SchoolClass | None:
        return self._one(self._classes_by_name, name)

    def find_group(self, name: str) -> TeachingGroup | None:
        return self._one(self._groups_by_name, name)

    def find_subject(self, code: str, label: str = "") -> Subject | None:
        subject = self._subjects_by_code.get((code or "").strip().upper())
        if subject is None and code:
            subject = self._one(self._subjects_by_label, code)
        if subject is None and label:
            subject = self._one(self._subjects_by_label, label)
        return subject

    def room(self, code: str, *, label: str = "", external_id: str = "") -> Room:
        """The establishment's room of that code (or import id), created on first sight. Inside a record."""
        code = (code or "").strip()[:32]
        room = self._rooms_by_external.get(external_id) if external_id else None
        room = room or self._rooms.get(code.upper())
        if room is None:
            room = Room.objects.create(establishment=self.current_establishment, code=code,
                                       label=(label or code)[:120], external_id=external_id[:64])
            self.count("rooms", "created")
        elif external_id and not room.external_id:
            room.external_id = external_id[:64]
            room.save(update_fields=["external_id"])
            self.count("rooms", "updated")
        elif room.pk not in self._rooms_counted:  # each room counted once per run, however many courses use it
            self.count("rooms", "unchanged")
        self._rooms_counted.add(room.pk)
        self._rooms[code.upper()] = room
        if external_id:
            self._rooms_by_external[external_id] = room
        return room

    # --- Week patterns -------------------------------------------------------------------------------------

    def is_open(self, day: datetime.date) -> bool:
        """A day with school by the calendar: in the school year, a school weekday, in no closed period."""
        return is_school_day(self.calendar, day)

    def check_school_day(self, weekday: int) -> None:
        if weekday not in school_weekdays(self.calendar):
            self.warn("jour", _("Le %(day)s n'est pas un jour de classe du calendrier de l'année : ce cours est "
                                "importé mais n'apparaîtra pas tant que le calendrier ne l'inclut pas.") % {
                "day": WEEKDAYS[weekday]})

    def in_year(self, week: datetime.date) -> bool:
        return week <= self.school_year.end and week + 6 * DAY >= self.school_year.start

    def pattern_of(self, weekday: int, weeks: set[datetime.date], span: tuple[datetime.date, datetime.date]
                   ) -> tuple[str, list[str]]:
        """(week pattern, custom weeks) of a course on `weekday` taking place the weeks of `weeks` (Mondays).

        Every week: the course takes place every week of the file's span where the calendar has school that day.
        A / B: exactly the weeks the calendar labels A (B) among those. Otherwise the weeks themselves.
        """
        open_weeks = set()
        week = span[0]
        while week <= span[1]:
            if self.is_open(week + weekday * DAY):
                open_weeks.add(week)
            week += WEEK
        if open_weeks and open_weeks <= weeks:
            return Course.WeekPattern.EVERY, []
        held = weeks & open_weeks
        for label in (Course.WeekPattern.WEEK_A, Course.WeekPattern.WEEK_B):
            labelled = {week for week in open_weeks if week_label(self.calendar, week) == label}
            if labelled and held == labelled:
                return label, []
        return Course.WeekPattern.CUSTOM, sorted(week.isoformat() for week in weeks)

    # --- Writing courses -----------------------------------------------------------------------------------

    def keep(self, key: str) -> None:
        """A course the file lists but that could not be imported: its earlier import stays as it is."""
        self._kept_prefixes.add(key)

    def apply_course(self, data: CourseData) -> Course:
        """Create or update the course of that key (inside a record's savepoint), counted."""
        if not 0 <= data.weekday <= 6:
            raise Rejected("", _("Jour de la semaine invalide."))
        if data.end <= data.start:
            raise Rejected("", _("L'heure de fin (%(end)s) n'est pas après l'heure de début (%(start)s).") % {
                "end": data.end.strftime("%H:%M"), "start": data.start.strftime("%H:%M")})
        year = self.school_year
        self.check_school_day(data.weekday)
        valid_from = valid_until = None
        if data.pattern is not None:
            pattern, custom = data.pattern, sorted(week.isoformat() for week in data.weeks or ())
        else:
            pattern, custom = self.pattern_of(data.weekday, data.weeks or set(), data.span)
        if pattern != Course.WeekPattern.CUSTOM and data.span is not None:
            # The file covers part of the year only (a timetable from January): so do its weekly courses.
            valid_from = data.span[0] if data.span[0] > year.start else None
            valid_until = data.span[1] if data.span[1] < year.end else None
        # Foreign keys by id: comparing an existing course reads no related row.
        fields = {
            "school_year_id": year.pk, "kind": Course.Kind.RECURRING,
            "subject_id": data.subject.pk if data.subject else None,
            "label": "" if data.subject else data.label[:120], "room_id": data.room.pk if data.room else None,
            "weekday": data.weekday,
            "date": None, "start_time": data.start, "end_time": data.end, "week_pattern": pattern,
            "custom_weeks": custom, "valid_from": valid_from, "valid_until": valid_until,
        }
        relations = {"teachers": {p.pk for p in data.teachers}, "classes": {c.pk for c in data.classes},
                     "groups": {g.pk for g in data.groups}}
        floor = self._floors.get(data.key[:services.KEY_KEEP])
        if floor is not None and (fields["valid_from"] is None or fields["valid_from"] < floor):
            fields["valid_from"] = floor
        course = self._existing.get(data.key)
        self._listed.add(data.key)
        if course is None:
            self.before_change()
            course = Course.objects.create(establishment=self.current_establishment, source=self.source,
                                           external_id=data.key, **fields)
            for name, ids in relations.items():
                if ids:
                    getattr(course, name).set(ids)
            self._existing[data.key] = course
            self._notice_ids[self.current_establishment.pk].add(course.pk)
            self.count("courses", "created")
            return course
        changed = [name for name, value in fields.items() if getattr(course, name) != value]
        if changed or any({obj.pk for obj in getattr(course, name).all()} != ids for name, ids in relations.items()):
            self.before_change()
        effective = services.schedule_split_date(course, fields, today=self.today) \
            if set(changed) & set(services.SCHEDULE_FIELDS) else None
        if effective is not None:  # the past holds roll calls or changes: ended, and a successor from `effective`
            successor = services.split_course(course, effective=effective, fields=fields, relations=relations)
            self._existing.pop(data.key)
            if successor is not None:
                self._existing[data.key] = successor
                self._renamed[course.pk] = successor.pk
                self._notice_ids[self.current_establishment.pk].add(successor.pk)
            self.count("courses", "updated")
            return successor or course
        for name in changed:
            setattr(course, name, fields[name])
        if changed:
            course.save(update_fields=[*changed, "updated_at"])
        for name, ids in relations.items():
            if {obj.pk for obj in getattr(course, name).all()} != ids:
                getattr(course, name).set(ids)
                changed.append(name)
        if changed and not any(name in fields for name in changed):
            course.save(update_fields=["updated_at"])  # teachers, classes, groups: the feed's stamp moves too
        self.count("courses", "updated" if changed else "unchanged")
        return course

    def end_vanished(self) -> None:
        """The feed's courses of the establishment's current year that this export no longer lists: ended the day
        before the import (valid_until) when they have a history — roll calls, changes, attendance records,
        incidents — that deleting them would lose; deleted otherwise. Call only after a file read to the end."""
        from preau.attendance.models import AttendanceRecord, Incident, RollCall

        gone = [course for key, course in self._existing.items()
                if key not in self._listed and key not in self._ended_keys
                and course.school_year_id == self.school_year.pk
                and not any(key == prefix or key.startswith(prefix + "/") for prefix in self._kept_prefixes)]
        if not gone:
            return
        self.before_change()
        ids = [course.pk for course in gone]
        history = set()
        for model, field_name in ((RollCall, "course_id"), (CourseChange, "course_id"),
                                  (AttendanceRecord, "course_id"), (Incident, "course_id")):
            history.update(model.objects.filter(**{f"{field_name}__in": ids}).values_list(field_name, flat=True))
        last_day = self.today - DAY
        ended = [course.pk for course in gone if course.pk in history
                 and (course.valid_until is None or course.valid_until > last_day)]
        deleted = [course.pk for course in gone if course.pk not in history]
        if ended:
            # updated_at by hand: .update() bypasses auto_now (the calendar feed's SEQUENCE follows it).
            now = timezone.now()
            Course.objects.filter(pk__in=ended).update(valid_until=last_day, updated_at=now)
            # A course ended before it began keeps a consistent range.
            Course.objects.filter(pk__in=ended, valid_from__gt=last_day).update(valid_from=last_day, updated_at=now)
            self.report.count("courses_ended", "deactivated", LABELS["courses_ended"], len(ended))
        if deleted:
            Course.objects.filter(pk__in=deleted).delete()
            self.report.count("courses_deleted", "deactivated", LABELS["courses_deleted"], len(deleted))
        for course in gone:
            self._existing.pop(course.external_id, None)


def split_list(value: str, separators: str = "|,") -> list[str]:
    """The items of a cell listing several values ("A|B", "A, B"), stripped, empties dropped."""
    items = [value or ""]
    for separator in separators:
        items = [part for item in items for part in item.split(separator)]
    return [item.strip() for item in items if item.strip()]



TIME_RE = re.compile(r"^(\d{1,2})\s*(?:[:hH.]\s*(\d{2})?)?(?::(\d{2}))?$")


def parse_time(value: str) -> datetime.time | None:
    """A time of day as files write it ("08:00:00", "8:30", "8h30", "8h"); None when unreadable."""
    match = TIME_RE.match((value or "").strip())
    if not match:
        return None
    hour, minute, second = int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return datetime.time(hour, minute, second)
