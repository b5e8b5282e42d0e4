"""Demo timetables for `preau seed` (docs/seed.md, docs/timetable.md): calendars, rooms and recurring courses.

For every seeded establishment (external id `SEED-<seed>-…`) without courses yet:

- a calendar per school year: the holiday zone of its postal code (zone A for the Lyon demo), the official
  holidays and public holidays, weeks A/B;
- rooms: a home room per class, science labs, technology rooms, gymnasiums, arts and music rooms, spare rooms for
  groups (collège); a room per class (école);
- a week of recurring courses built from the teaching assignments: collège classes get about 26 to 28 hours (a
  whole-class hour and a half-class hour of SVT, physique-chimie and technologie — half-class 1 in week A, half 2
  in week B, same slot —, LV2 groups from 5e placed together for their block of classes, latin at hours when its
  level's classes are free), 55-minute periods, a lunch break from 12:05 to 13:30, Wednesday afternoon free; école
  classes 24 hours over four days with their polyvalent teacher.

A greedy placement never double-books a class, a teacher or a room (an hour that finds no slot is left out and
counted). Deterministic from the seed; rows are written with `bulk_create` (a few queries per establishment).
"""

from __future__ import annotations

import datetime
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import transaction

from preau.directory.models import Establishment, SchoolClass, SchoolYear, TeachingAssignment, TeachingGroup

from . import presets, services
from .models import Course, Room, SchoolCalendar
from .selectors import calendar_for

T = datetime.time
# Collège periods: (start, end). Wednesday has the four morning periods only.
COLLEGE_PERIODS = [(T(8, 0), T(8, 55)), (T(9, 0), T(9, 55)), (T(10, 10), T(11, 5)), (T(11, 10), T(12, 5)),
                   (T(13, 30), T(14, 25)), (T(14, 30), T(15, 25)), (T(15, 40), T(16, 35)), (T(16, 40), T(17, 35))]
ECOLE_PERIODS = [(T(8, 30), T(9, 30)), (T(9, 30), T(10, 30)), (T(10, 45), T(11, 45)), (T(13, 30), T(14, 30)),
                 (T(14, 30), T(15, 30)), (T(15, 45), T(16, 30))]
ECOLE_DAYS = (0, 1, 3, 4)  # the four-day week of most écoles
# Whole-class hours per subject (collège); the half-class subjects add one hour per half-class in A/B weeks.
CLASS_HOURS = {"FRANC": 5, "MATHS": 4, "HIGEO": 3, "ANGL1": 3, "EPS": 3, "SVT": 1, "PHYCH": 1, "TECHN": 1,
               "ARPLA": 1, "EDMUS": 1}
HALF_CLASS_SUBJECTS = ("SVT", "PHYCH", "TECHN")
LV2_HOURS, LATIN_HOURS = 2, 2
ECOLE_HOURS = {"FRANC": 8, "MATHS": 5, "QLM": 3, "HIGEO": 1, "SCTEC": 2, "LVE": 2, "EPS": 3, "ARTS": 2, "EMC": 1}
ROOM_POOL_OF = {"SVT": "lab", "PHYCH": "lab", "TECHN": "tech", "EPS": "gym", "ARPLA": "arts", "EDMUS": "music"}
POOL_LABELS = {"lab": ("LAB", "Laboratoire de sciences"), "tech": ("TEC", "Salle de technologie"),
               "gym": ("GYM", "Gymnase"), "arts": ("ART", "Salle d'arts plastiques"),
               "music": ("MUS", "Salle de musique"), "spare": ("S2", "Salle")}
BOTH = ("A", "B")


@dataclass
class _Hour:
    """One weekly hour to place: the course's subject, teachers, classes, groups, room pool, weeks."""
    subject_id: int | None
    teachers: tuple[int, ...]
    classes: tuple[int, ...]  # classes whose pupils are all busy (the timetable of these classes)
    course_classes: tuple[int, ...]
    groups: tuple[int, ...]
    pool: str
    weeks: tuple[str, ...] = BOTH
    home: int | None = None  # a class's home room, preferred
    home_fallback: int | None = None  # the class's home room when its pool is full (EPS in the yard...)
    label: str = ""


@dataclass
class _Plan:
    slots: list[tuple[int, int]]  # (weekday, period index)
    periods: list[tuple[datetime.time, datetime.time]]
    busy: set = field(default_factory=set)  # (kind, id, slot, week)
    rooms: dict[str, list[int]] = field(default_factory=dict)
    courses: list[tuple[_Hour, tuple[int, int], int | None, str]] = field(default_factory=list)
    day_load: Counter = field(default_factory=Counter)  # (class, weekday) -> hours
    subject_days: Counter = field(default_factory=Counter)  # (class, subject, weekday) -> hours
    unplaced: int = 0
    missing: list = field(default_factory=list)  # the hours left out (for diagnosis)

    def free(self, kind: str, ident: int, slot, weeks) -> bool:
        return all((kind, ident, slot, w) not in self.busy for w in weeks)

    def take(self, kind: str, ident: int, slot, weeks) -> None:
        for w in weeks:
            self.busy.add((kind, ident, slot, w))

    def room_for(self, hour: _Hour, slot, *, relaxed: bool = False) -> int | None:
        candidates = ([hour.home] if hour.home else []) + self.rooms.get(hour.pool, [])
        if hour.pool != "spare":
            candidates += self.rooms.get("spare", [])
        if relaxed:  # any room rather than no course (the home room, another pool's room)
            candidates += [hour.home_fallback] if hour.home_fallback else []
            candidates += [r for rooms in self.rooms.values() for r in rooms]
        for room in candidates:
            if self.free("room", room, slot, hour.weeks):
                return room
        return None

    def fits(self, hour: _Hour, slot) -> bool:
        return (all(self.free("class", c, slot, hour.weeks) for c in hour.classes)
                and all(self.free("teacher", t, slot, hour.weeks) for t in hour.teachers))

    def place(self, hour: _Hour, slot, room: int | None, week_pattern: str = "every") -> None:
        for c in hour.classes:
            self.take("class", c, slot, hour.weeks)
            if week_pattern in ("every", "A"):
                self.day_load[(c, slot[0])] += 1
                self.subject_days[(c, hour.subject_id, slot[0])] += 1
        for t in hour.teachers:
            self.take("teacher", t, slot, hour.weeks)
        if room is not None:
            self.take("room", room, slot, hour.weeks)
        self.courses.append((hour, slot, room, week_pattern))

    def ordered_slots(self, hour: _Hour, rng: random.Random) -> list[tuple[int, int]]:
        """Slots spreading a subject over the week and keeping days balanced (lighter days first)."""
        jitter = {slot: rng.random() for slot in self.slots}

        def key(slot):
            day, period = slot
            same_subject = sum(self.subject_days[(c, hour.subject_id, day)] for c in hour.classes)
            load = sum(self.day_load[(c, day)] for c in hour.classes)
            return same_subject, load, period, jitter[slot]

        return sorted(self.slots, key=key)

    def put(self, hour: _Hour, rng: random.Random, week_pattern: str = "every") -> bool:
        ordered = self.ordered_slots(hour, rng)
        for relaxed in (False, True):
            for slot in ordered:
                if not self.fits(hour, slot):
                    continue
                room = self.room_for(hour, slot, relaxed=relaxed)
                if room is None:
                    continue
                self.place(hour, slot, room, week_pattern)
                return True
        if self.swap_in(hour, ordered, rng):
            return True
        self.unplaced += 1
        self.missing.append(hour)
        return False

    def unplace(self, index: int) -> tuple[_Hour, tuple[int, int], int | None, str]:
        hour, slot, room, pattern = entry = self.courses.pop(index)
        for c in hour.classes:
            for w in hour.weeks:
                self.busy.discard(("class", c, slot, w))
            if pattern in ("every", "A"):
                self.day_load[(c, slot[0])] -= 1
                self.subject_days[(c, hour.subject_id, slot[0])] -= 1
        for t in hour.teachers:
            for w in hour.weeks:
                self.busy.discard(("teacher", t, slot, w))
        if room is not None:
            for w in hour.weeks:
                self.busy.discard(("room", room, slot, w))
        return entry

    def swap_in(self, hour: _Hour, ordered, rng: random.Random) -> bool:
        """Make room for an hour the greedy pass could not place: at a slot where exactly one whole-class course
        blocks it (same class or same teacher), move that course to another slot that suits it."""
        classes, teachers = set(hour.classes), set(hour.teachers)
        for slot in ordered:
            blockers = [i for i, (h, s, _r, _p) in enumerate(self.courses)
                        if s == slot and (classes & set(h.classes) or teachers & set(h.teachers))]
            if len(blockers) != 1:
                continue
            other, _slot, room, pattern = self.courses[blockers[0]]
            if pattern != "every" or set(other.classes) != set(other.course_classes):
                continue  # half-classes, LV2 blocks and latin stay where they are
            entry = self.unplace(blockers[0])
            target = self.room_for(hour, slot, relaxed=True) if self.fits(hour, slot) else None
            if target is not None:
                self.place(hour, slot, target)
                for slot2 in self.ordered_slots(other, rng):
                    if slot2 != slot and self.fits(other, slot2):
                        room2 = self.room_for(other, slot2, relaxed=True)
                        if room2 is not None:
                            self.place(other, slot2, room2)
                            return True
                self.unplace(len(self.courses) - 1)  # undo: the moved course found no other slot
            self.place(*entry)  # put the blocking course back
        return False


def _make_rooms(establishment: Establishment, specs: list[tuple[str, str, str, int]]) -> dict[str, list[Room]]:
    """Create the rooms (pool, code, label, capacity); returns them by pool."""
    existing = set(Room.objects.filter(establishment=establishment).values_list("code", flat=True))
    rows = [Room(establishment=establishment, code=code, label=label, capacity=capacity,
                 external_id=f"{establishment.external_id}-R-{code}")
            for _pool, code, label, capacity in specs if code not in existing]
    Room.objects.bulk_create(rows)
    by_code = {r.code: r for r in Room.objects.filter(establishment=establishment)}
    pools: dict[str, list[Room]] = defaultdict(list)
    for pool, code, _label, _capacity in specs:
        pools[pool].append(by_code[code])
    return pools


def _college_plan(establishment, year, rng) -> tuple[_Plan, dict]:
    classes = list(SchoolClass.objects.filter(school_year=year).order_by("level", "code"))
    groups = list(TeachingGroup.objects.filter(school_year=year).prefetch_related("classes").order_by("code"))
    assignments = list(TeachingAssignment.objects.filter(school_year=year).select_related("subject")
                       .order_by("pk"))
    class_teacher = {(a.school_class_id, a.subject.code): a for a in assignments if a.school_class_id}
    group_teachers = defaultdict(list)
    for a in assignments:
        if a.group_id:
            group_teachers[a.group_id].append(a)
    subject_ids = {a.subject.code: a.subject_id for a in assignments}
    halves = defaultdict(list)
    lv2_blocks = defaultdict(list)  # frozenset(class ids) -> groups
    latin = defaultdict(list)  # frozenset(class ids) -> groups
    for g in groups:
        class_ids = frozenset(c.pk for c in g.classes.all())
        if g.kind == TeachingGroup.Kind.HALF_CLASS and len(class_ids) == 1:
            halves[next(iter(class_ids))].append(g)
        elif g.kind == TeachingGroup.Kind.LANGUAGE:
            lv2_blocks[class_ids].append(g)
        elif g.kind == TeachingGroup.Kind.OPTION:
            latin[class_ids].append(g)
    n = len(classes)
    spare = math.ceil((sum(len(v) for v in lv2_blocks.values()) * LV2_HOURS
                       + sum(len(v) for v in latin.values()) * LATIN_HOURS) / 20) + 2
    specs = [("home", f"{100 + i + 1}", f"Salle {100 + i + 1}", 30) for i in range(n)]
    for pool, count in (("lab", math.ceil(n * 4 / 24) + 1), ("tech", math.ceil(n * 2 / 24) + 1),
                        ("gym", math.ceil(n * 3 / 26) + 1), ("arts", math.ceil(n / 26) + 1),
                        ("music", math.ceil(n / 26) + 1), ("spare", spare)):
        prefix, label = POOL_LABELS[pool]
        specs += [(pool, f"{prefix}{k + 1:02d}", f"{label} {k + 1}", 30) for k in range(count)]
    pools = _make_rooms(establishment, specs)
    slots = [(day, p) for day in (0, 1, 2, 3, 4) for p in range(len(COLLEGE_PERIODS)) if day != 2 or p < 4]
    plan = _Plan(slots=slots, periods=COLLEGE_PERIODS,
                 rooms={pool: [r.pk for r in rooms] for pool, rooms in pools.items() if pool != "home"})
    home = {c.pk: pools["home"][i].pk for i, c in enumerate(classes)}
    # 1. Latin (its level's classes are all held free at those hours), then LV2 blocks (all groups together).
    for class_ids, latin_groups in sorted(latin.items(), key=lambda kv: sorted(kv[0])):
        for g in latin_groups:
            teachers = tuple(a.teacher_id for a in group_teachers[g.pk])
            for _ in range(LATIN_HOURS):
                plan.put(_Hour(subject_ids.get("LCALA"), teachers, tuple(sorted(class_ids)), (), (g.pk,), "spare"),
                         rng)
    for class_ids, block in sorted(lv2_blocks.items(), key=lambda kv: sorted(kv[0])):
        for _ in range(LV2_HOURS):
            hours = [_Hour(group_teachers[g.pk][0].subject_id if group_teachers[g.pk] else None,
                           tuple(a.teacher_id for a in group_teachers[g.pk]), tuple(sorted(class_ids)), (), (g.pk,),
                           "spare") for g in block]
            _put_together(plan, hours, rng)
    # 2. Half-class practical work (half 1 in week A, half 2 in week B, same slot), then whole-class hours,
    # classes taken in turns so that teachers' hours spread.
    for c in classes:
        for code in HALF_CLASS_SUBJECTS:
            assignment = class_teacher.get((c.pk, code))
            pair = sorted(halves.get(c.pk, []), key=lambda g: g.code)
            if assignment is None or len(pair) != 2:
                continue
            hour = _Hour(assignment.subject_id, (assignment.teacher_id,), (c.pk,), (), (pair[0].pk,),
                         ROOM_POOL_OF[code])
            for slot in plan.ordered_slots(hour, rng):
                if not plan.fits(hour, slot):
                    continue
                room = plan.room_for(hour, slot)
                if room is None:
                    continue
                plan.place(_Hour(hour.subject_id, hour.teachers, hour.classes, (), (pair[0].pk,), hour.pool,
                                 ("A",)), slot, room, "A")
                plan.place(_Hour(hour.subject_id, hour.teachers, hour.classes, (), (pair[1].pk,), hour.pool,
                                 ("B",)), slot, room, "B")
                break
            else:
                plan.unplaced += 1
                plan.missing.append(hour)
    queues = {c.pk: [] for c in classes}
    for c in classes:
        for code, count in CLASS_HOURS.items():
            assignment = class_teacher.get((c.pk, code))
            if assignment is None:
                continue
            queues[c.pk] += [_Hour(assignment.subject_id, (assignment.teacher_id,), (c.pk,), (c.pk,), (),
                                   ROOM_POOL_OF.get(code, "home"),
                                   home=home[c.pk] if code not in ROOM_POOL_OF else None,
                                   home_fallback=home[c.pk])
                             for _ in range(count)]
        rng.shuffle(queues[c.pk])
    while any(queues.values()):
        for c in classes:
            if queues[c.pk]:
                plan.put(queues[c.pk].pop(), rng)
    return plan, {"rooms": len(specs)}


def _put_together(plan: _Plan, hours: list[_Hour], rng: random.Random) -> None:
    """Several groups at the same slot (an LV2 block): each its teacher and room. Groups sharing a teacher go
    in separate waves (slots)."""
    waves: list[list[_Hour]] = []
    for hour in hours:
        wave = next((w for w in waves if not any(set(hour.teachers) & set(h.teachers) for h in w)), None)
        if wave is None:
            waves.append([hour])
        else:
            wave.append(hour)
    for wave in waves:
        _put_wave(plan, wave, rng)


def _put_wave(plan: _Plan, hours: list[_Hour], rng: random.Random) -> None:
    for slot in plan.ordered_slots(hours[0], rng):
        if not all(plan.fits(h, slot) for h in hours):
            continue
        taken, rooms = set(), []
        for h in hours:
            room = next((r for r in plan.rooms.get("spare", []) + plan.rooms.get("arts", [])
                         if r not in taken and plan.free("room", r, slot, h.weeks)), None)
            if room is None:
                break
            taken.add(room)
            rooms.append(room)
        else:
            for h, room in zip(hours, rooms, strict=True):
                # The block's classes are held once; each group's course names no class of its own.
                plan.place(h, slot, room)
            return
    plan.unplaced += len(hours)
    plan.missing += hours


def _ecole_plan(establishment, year, rng) -> tuple[_Plan, dict]:
    classes = list(SchoolClass.objects.filter(school_year=year).order_by("level", "code"))
    assignments = list(TeachingAssignment.objects.filter(school_year=year, school_class__isnull=False)
                       .select_related("subject").order_by("pk"))
    by_class = defaultdict(dict)
    for a in assignments:
        by_class[a.school_class_id][a.subject.code] = a
    pools = _make_rooms(establishment, [("home", f"E{i + 1:02d}", f"Classe {c.label}", 28)
                                        for i, c in enumerate(classes)]
                        + [("gym", f"GYM{k + 1:02d}", f"Gymnase / préau {k + 1}", 60)
                           for k in range(math.ceil(len(classes) * 3 / 20))])
    slots = [(day, p) for day in ECOLE_DAYS for p in range(len(ECOLE_PERIODS))]
    plan = _Plan(slots=slots, periods=ECOLE_PERIODS, rooms={"gym": [r.pk for r in pools["gym"]]})
    for i, c in enumerate(classes):
        hours = []
        for code, count in ECOLE_HOURS.items():
            assignment = by_class[c.pk].get(code)
            if assignment is None:
                continue
            hours += [_Hour(assignment.subject_id, (assignment.teacher_id,), (c.pk,), (c.pk,), (),
                            "gym" if code == "EPS" else "home", home=pools["home"][i].pk if code != "EPS" else None,
                            home_fallback=pools["home"][i].pk)
                      for _ in range(count)]
        rng.shuffle(hours)
        hours.sort(key=lambda h: h.pool != "gym")  # the shared rooms first
        for hour in hours:
            plan.put(hour, rng)
    return plan, {"rooms": len(classes) + len(pools["gym"])}


def _write(plan: _Plan, establishment: Establishment, year: SchoolYear, batch_size: int) -> int:
    courses, links = [], []
    for index, (hour, (day, period), room, pattern) in enumerate(plan.courses):
        start, end = plan.periods[period]
        courses.append(Course(establishment=establishment, school_year=year, subject_id=hour.subject_id,
                              label=hour.label, room_id=room, weekday=day, start_time=start, end_time=end,
                              week_pattern=pattern, source="seed",
                              external_id=f"{establishment.external_id}-K{index + 1}"))
        links.append(hour)
    Course.objects.bulk_create(courses, batch_size=batch_size)
    if courses and courses[0].pk is None:  # a database that does not return primary keys
        by_key = dict(Course.objects.filter(establishment=establishment, source="seed")
                      .values_list("external_id", "pk"))
        for course in courses:
            course.pk = by_key[course.external_id]
    teacher_rows, class_rows, group_rows = [], [], []
    for course, hour in zip(courses, links, strict=True):
        teacher_rows += [Course.teachers.through(course_id=course.pk, user_id=t) for t in hour.teachers]
        class_rows += [Course.classes.through(course_id=course.pk, schoolclass_id=c) for c in hour.course_classes]
        group_rows += [Course.groups.through(course_id=course.pk, teachinggroup_id=g) for g in hour.groups]
    Course.teachers.through.objects.bulk_create(teacher_rows, batch_size=batch_size)
    Course.classes.through.objects.bulk_create(class_rows, batch_size=batch_size)
    Course.groups.through.objects.bulk_create(group_rows, batch_size=batch_size)
    return len(courses)


def seed_calendar(year: SchoolYear, zone: str) -> SchoolCalendar:
    calendar = calendar_for(year)
    calendar.school_year = year
    if calendar.closed_periods.exists():
        return calendar
    school_days = (list(ECOLE_DAYS) if year.establishment.kind == Establishment.Kind.ECOLE
                   else [0, 1, 2, 3, 4])
    services.update_calendar(calendar, school_days=school_days,
                             week_mode=SchoolCalendar.WeekMode.ALTERNATING, first_week_label="A")
    if zone:
        services.apply_zone_preset(calendar, zone)
    return calendar


def seed_timetables(seed: int, *, batch_size: int = 2000) -> Counter:
    """Calendars, rooms and courses for the seeded establishments of `seed` that have no courses yet."""
    counts: Counter = Counter()
    prefix = f"SEED-{seed}-"
    establishments = Establishment.objects.filter(external_id__startswith=prefix).order_by("external_id")
    for establishment in establishments:
        years = list(SchoolYear.objects.filter(establishment=establishment).select_related("establishment"))
        zone = presets.zone_for_postal_code(establishment.postal_code)
        with transaction.atomic():
            for year in years:
                seed_calendar(year, zone)
                counts["calendars"] += 1
            year = next((y for y in years if y.is_current), None)
            if year is None or Course.objects.filter(school_year=year).exists():
                continue
            rng = random.Random(f"preau-seed:{seed}:timetable:{establishment.external_id}")
            build = _ecole_plan if establishment.kind == Establishment.Kind.ECOLE else _college_plan
            plan, extra = build(establishment, year, rng)
            counts["courses"] += _write(plan, establishment, year, batch_size)
            counts["rooms"] += extra["rooms"]
            counts["unplaced"] += plan.unplaced
            counts["establishments"] += 1
    return counts
