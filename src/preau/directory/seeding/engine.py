"""Deterministic, realistic directory data at any scale, written with bulk inserts.

The unit of work is a *unit*: one collège, and for unit 0 also its neighbouring école (some families have children
in both). Every unit draws from its own `random.Random`, so a unit's people, names and relations depend only on
(seed, unit number); only username suffixes (lea.martin2) depend on what already exists. Each unit is written in
one transaction with `bulk_create` (no `save()`, no signals); a unit whose collège already exists is skipped, which
makes a second run with the same seed a no-op.

External ids: every seeded establishment, subject, class, group and person carries `SEED-<seed>-<unit>-...`.
"""

from __future__ import annotations

import datetime
import math
import random
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

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
    Service,
    StaffFunction,
    Subject,
    TeachingAssignment,
    TeachingGroup,
)

from . import data

DEMO_PASSWORD = "preau-demo-2026"  # noqa: S105 - printed on purpose, demo data only
DEFAULT_PUPILS = 600
SEED_PREFIX = "SEED-"

Relation = GuardianLink.Relation
# What each family situation denies to the restricted adult (see docs/seed.md).
COURT_LIMITED_DENIED = [Service.GRADES, Service.REPORT_CARDS, Service.MESSAGING]
CARER_DENIED = [Service.GRADES, Service.ATTENDANCE, Service.REPORT_CARDS, Service.MESSAGING]
# (situation, weight). "couple": two parents at one address; "separated": two households, both with full rights;
# "single": one parent; "court_limited": separated, a court withdrew one parent's authority (limited rights);
# "foster": the child lives with an assistant familial (carer, homework and timetable only), the mother keeps
# her authority; "tutor": a grandparent is the legal tutor.
FAMILY_SITUATIONS = [("couple", 69), ("separated", 12), ("single", 12), ("court_limited", 3), ("foster", 2),
                     ("tutor", 2)]


def establishment_key(seed: int, unit: int, index: int) -> str:
    return f"{SEED_PREFIX}{seed}-{unit}-E{index}"


def global_admin_key(seed: int) -> str:
    return f"{SEED_PREFIX}{seed}-ADMIN"


def fold(text: str) -> str:
    """ASCII, lower case, words joined by '-': "Le Gall" -> "le-gall", "Anaïs" -> "anais"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    out, dash = [], False
    for char in ascii_text:
        if char.isalnum():
            out.append(char)
            dash = False
        elif not dash and out:
            out.append("-")
            dash = True
    return "".join(out).strip("-")


class Usernames:
    """prenom.nom, made unique with a number suffix (lea.martin, lea.martin2, ...)."""

    def __init__(self, taken: set[str]):
        self.taken = taken
        self.next_suffix: dict[str, int] = {}

    def make(self, first: str, last: str) -> str:
        base = f"{fold(first)}.{fold(last)}"[:140]
        if base not in self.taken:
            self.taken.add(base)
            return base
        n = self.next_suffix.get(base, 2)
        while f"{base}{n}" in self.taken:
            n += 1
        self.next_suffix[base] = n + 1
        name = f"{base}{n}"
        self.taken.add(name)
        return name


def uai_for(number: str) -> str:
    """A UAI with its real check letter: 7 digits + ABCDEFGHJKLMNPRSTUVWXYZ[number % 23]."""
    return number + data.UAI_KEY_LETTERS[int(number) % 23]


@dataclass
class SeedOptions:
    seed: int = 1
    establishments: int = 2  # unit 0 is a collège + an école; every further establishment is a collège
    pupils: int = DEFAULT_PUPILS  # per collège (later units vary by ±20%); an école gets a quarter
    password: str = DEMO_PASSWORD
    batch_size: int = 2000


@dataclass
class UnitResult:
    unit: int
    created: bool
    names: list[str]
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0


@dataclass
class SeedReport:
    units: list[UnitResult]
    counts: Counter
    seconds: float
    global_admin: User | None = None

    @property
    def created_units(self) -> int:
        return sum(1 for u in self.units if u.created)


@dataclass
class _Guardian:
    user: User
    relation: str
    legal_authority: bool = True
    receives_correspondence: bool = True
    denied: list[str] = field(default_factory=list)


@dataclass
class _Family:
    situation: str
    child_last: str
    guardians: list[_Guardian]
    children: list[User] = field(default_factory=list)
    classes: list[SchoolClass] = field(default_factory=list)


class _Context:
    """What every unit shares: the hashes (computed once), the usernames in use, the MEFs."""

    def __init__(self, options: SeedOptions):
        self.options = options
        self.now = timezone.now()
        # One hash for every demo account: hashing 100,000 passwords with Argon2 would take hours (demo only).
        self.password_hash = make_password(options.password)
        self.unusable_hash = make_password(None)
        self.usernames = Usernames(set(User.objects.values_list("username", flat=True)))
        self.taken_uais = set(Establishment.objects.values_list("uai", flat=True))
        self.mefs = self._mefs()

    @staticmethod
    def _mefs() -> dict[str, Mef]:
        existing = {m.code: m for m in Mef.objects.filter(code__in=[lvl[2] for lvl in data.COLLEGE_LEVELS])}
        missing = [Mef(code=code, label=label, short_label=short)
                   for _, _, code, label, short, _ in data.COLLEGE_LEVELS if code not in existing]
        if missing:
            Mef.objects.bulk_create(missing)
            existing.update({m.code: m for m in Mef.objects.filter(code__in=[m.code for m in missing])})
        return existing


class _UnitBuilder:
    """Builds one unit's rows in memory (unsaved model instances linked to each other)."""

    def __init__(self, ctx: _Context, unit: int, with_ecole: bool):
        self.ctx = ctx
        self.seed = ctx.options.seed
        self.unit = unit
        self.with_ecole = with_ecole
        self.rng = random.Random(f"preau-seed:{self.seed}:{unit}")
        self.prefix = f"{SEED_PREFIX}{self.seed}-{unit}"
        self.counters: Counter = Counter()
        self.establishments: list[Establishment] = []
        self.years: list[SchoolYear] = []
        self.periods: list[Period] = []
        self.subjects: list[Subject] = []
        self.classes: list[SchoolClass] = []
        self.groups: list[TeachingGroup] = []
        self.group_classes: list[tuple[TeachingGroup, SchoolClass]] = []
        self.users: list[User] = []
        self.memberships: dict[tuple[int, int, str], Membership] = {}
        self.enrolments: list[ClassEnrolment] = []
        self.group_members: list[GroupMembership] = []
        self.links: list[GuardianLink] = []
        self.assignments: list[TeachingAssignment] = []
        self.families: list[_Family] = []
        self.guardians: list[User] = []
        # The first families of each establishment cover every situation, so even a tiny run has them all.
        self.forced: list[tuple[str, int]] = []
        # Teachers whose own child attends the collège: created as parents, given classes later.
        self.teacher_parents: list[User] = []

    # --- People -------------------------------------------------------------------------------------------------

    def person(self, kind: str, first: str, last: str, *, birth_year: int, contact: bool = True,
               ine: str = "") -> User:
        self.counters[kind] += 1
        username = self.ctx.usernames.make(first, last)
        rng = self.rng
        birth = datetime.date(birth_year, 1, 1) + datetime.timedelta(days=rng.randrange(365))
        user = User(
            username=username, first_name=first, last_name=last, birth_date=birth, ine=ine,
            email=f"{username}@example.org" if contact else "",
            # 06 39 98 xx xx is a range ARCEP reserves for fiction: it never rings anyone.
            phone=f"06 39 98 {rng.randrange(100):02d} {rng.randrange(100):02d}" if contact else "",
            external_id=f"{self.prefix}-{kind}{self.counters[kind]}",
            password=self.ctx.password_hash, is_active=True, date_joined=self.ctx.now, activated_at=self.ctx.now,
        )
        self.users.append(user)
        return user

    def adult(self, kind: str, *, female: bool | None = None, last: str | None = None,
              born: tuple[int, int] = (1968, 1992)) -> User:
        rng = self.rng
        if female is None:
            female = rng.random() < 0.6
        first = rng.choice(data.ADULT_FIRST_NAMES_F if female else data.ADULT_FIRST_NAMES_M)
        return self.person(kind, first, last or rng.choice(data.LAST_NAMES), birth_year=rng.randint(*born))

    def member(self, user: User, establishment: Establishment, role: str, functions=()) -> None:
        key = (id(user), id(establishment), role)
        if key not in self.memberships:
            self.memberships[key] = Membership(user=user, establishment=establishment, role=role,
                                               functions=list(functions))

    # --- Establishments -----------------------------------------------------------------------------------------

    def establishment(self, index: int, kind: str, name: str, city: tuple[str, str, str]) -> Establishment:
        rng = self.rng
        city_name, postal_code, departement = city
        while True:
            uai = uai_for(f"{departement}{rng.randrange(10000):04d}")
            if uai not in self.ctx.taken_uais:
                break
        self.ctx.taken_uais.add(uai)
        establishment = Establishment(
            uai=uai, name=name, kind=kind, address=f"{rng.randint(1, 90)} {rng.choice(data.STREETS)}",
            postal_code=postal_code, city=city_name, external_id=establishment_key(self.seed, self.unit, index),
        )
        self.establishments.append(establishment)
        year = SchoolYear(establishment=establishment, label=data.YEAR_LABEL, start=datetime.date(*data.YEAR_START),
                          end=datetime.date(*data.YEAR_END), is_current=True)
        self.years.append(year)
        for number, (label, start, end) in enumerate(data.TRIMESTERS, start=1):
            self.periods.append(Period(school_year=year, index=number, label=label, start=datetime.date(*start),
                                       end=datetime.date(*end)))
        establishment._seed_year = year
        return establishment

    def subject(self, establishment: Establishment, code: str, label: str, short: str) -> Subject:
        subject = Subject(establishment=establishment, code=code, label=label, short_label=short,
                          external_id=f"{establishment.external_id}-S-{code}")
        self.subjects.append(subject)
        return subject

    def school_class(self, establishment, code, label, level, mef=None) -> SchoolClass:
        school_class = SchoolClass(school_year=establishment._seed_year, establishment=establishment, code=code,
                                   label=label, level=level, mef=mef,
                                   external_id=f"{establishment.external_id}-C-{code}")
        school_class._seed_pupils = []
        self.classes.append(school_class)
        return school_class

    def group(self, establishment, code, label, kind, classes, pupils) -> TeachingGroup:
        group = TeachingGroup(school_year=establishment._seed_year, establishment=establishment, code=code,
                              label=label, kind=kind, external_id=f"{establishment.external_id}-G-{code}")
        self.groups.append(group)
        self.group_classes.extend((group, c) for c in classes)
        self.group_members.extend(GroupMembership(pupil=p, group=group) for p in pupils)
        return group

    def assign(self, teacher, establishment, subject, *, school_class=None, group=None) -> TeachingAssignment:
        assignment = TeachingAssignment(teacher=teacher, establishment=establishment,
                                        school_year=establishment._seed_year, subject=subject,
                                        school_class=school_class, group=group)
        self.assignments.append(assignment)
        return assignment

    # --- Families -----------------------------------------------------------------------------------------------

    def family(self) -> _Family:
        rng = self.rng
        situation = rng.choices([s for s, _ in FAMILY_SITUATIONS], [w for _, w in FAMILY_SITUATIONS])[0]
        if self.forced:
            situation = self.forced[0][0]
        father_last = rng.choice(data.LAST_NAMES)
        mother_last = father_last if situation == "couple" and rng.random() < 0.6 else rng.choice(data.LAST_NAMES)
        guardians: list[_Guardian] = []
        if situation == "teacher_parent":
            teacher = self.adult("T", female=True, born=(1975, 1988))
            self.teacher_parents.append(teacher)
            guardians.append(_Guardian(teacher, Relation.MOTHER))
            guardians.append(_Guardian(self.adult("R", female=False, last=father_last), Relation.FATHER))
            child_last = father_last
        elif situation in ("couple", "separated"):
            guardians.append(_Guardian(self.adult("R", female=True, last=mother_last), Relation.MOTHER))
            guardians.append(_Guardian(self.adult("R", female=False, last=father_last), Relation.FATHER))
            child_last = father_last if rng.random() < 0.85 else mother_last
        elif situation == "single":
            female = rng.random() < 0.82
            last = mother_last if female else father_last
            guardians.append(_Guardian(self.adult("R", female=female, last=last),
                                       Relation.MOTHER if female else Relation.FATHER))
            child_last = last
        elif situation == "court_limited":
            # The child lives with one parent; a court withdrew the other's parental authority.
            limited_is_father = rng.random() < 0.75
            mother = self.adult("R", female=True, last=mother_last)
            father = self.adult("R", female=False, last=father_last)
            resident, limited = (mother, father) if limited_is_father else (father, mother)
            guardians.append(_Guardian(resident, Relation.MOTHER if resident is mother else Relation.FATHER))
            guardians.append(_Guardian(limited, Relation.FATHER if limited is father else Relation.MOTHER,
                                       legal_authority=False, receives_correspondence=False,
                                       denied=list(COURT_LIMITED_DENIED)))
            child_last = father_last
        elif situation == "foster":
            # Placed with an assistant familial; the mother keeps her authority and every right.
            guardians.append(_Guardian(self.adult("R", female=True, last=mother_last), Relation.MOTHER))
            guardians.append(_Guardian(self.adult("R"), Relation.CARER, legal_authority=False,
                                       receives_correspondence=False, denied=list(CARER_DENIED)))
            child_last = mother_last
        else:  # tutor
            guardians.append(_Guardian(self.adult("R", last=father_last, born=(1950, 1962)), Relation.TUTOR))
            child_last = father_last
        family = _Family(situation=situation, child_last=child_last, guardians=guardians)
        self.families.append(family)
        self.guardians.extend(g.user for g in guardians)
        return family

    def child(self, family: _Family, establishment: Establishment, school_class: SchoolClass,
              birth_year: int) -> User:
        rng = self.rng
        female = rng.random() < 0.5
        first = rng.choice(data.CHILD_FIRST_NAMES_F if female else data.CHILD_FIRST_NAMES_M)
        # A few pupils are a year older than their level.
        year = birth_year - 1 if rng.random() < 0.03 else birth_year
        ine = f"{rng.randrange(10**9):09d}{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randrange(10)}"
        pupil = self.person("P", first, family.child_last, birth_year=year, contact=False, ine=ine)
        family.children.append(pupil)
        family.classes.append(school_class)
        school_class._seed_pupils.append(pupil)
        self.member(pupil, establishment, Role.PUPIL)
        self.enrolments.append(ClassEnrolment(pupil=pupil, school_class=school_class))
        for order, guardian in enumerate(family.guardians, start=1):
            self.member(guardian.user, establishment, Role.GUARDIAN)
            self.links.append(GuardianLink(
                guardian=guardian.user, pupil=pupil, relation=guardian.relation,
                legal_authority=guardian.legal_authority, receives_correspondence=guardian.receives_correspondence,
                contact_order=order, denied_services=list(guardian.denied),
            ))
        return pupil

    def class_sizes(self, total: int, count: int) -> list[int]:
        base, extra = divmod(total, count)
        sizes = [base + (1 if i < extra else 0) for i in range(count)]
        if self.unit:
            for i in range(0, count - 1, 2):  # uneven classes, same total
                shift = self.rng.randint(0, 2)
                if sizes[i + 1] - shift > 0:
                    sizes[i] += shift
                    sizes[i + 1] -= shift
        return sizes

    def fill(self, establishment, levels: list[tuple[list[SchoolClass], int]], families_first=()) -> None:
        """Fill every seat of `levels` ([(classes, birth year)]) with children, one family at a time."""
        rng = self.rng
        seats = {id(c): c._seed_size for classes, _ in levels for c in classes}

        def level_left(index):
            return sum(seats[id(c)] for c in levels[index][0])

        def place(family, index, avoid=None):
            classes = [c for c in levels[index][0] if seats[id(c)] > 0 and c is not avoid] or \
                      [c for c in levels[index][0] if seats[id(c)] > 0]
            chosen = rng.choices(classes, [seats[id(c)] for c in classes])[0]
            seats[id(chosen)] -= 1
            self.child(family, establishment, chosen, levels[index][1])
            return chosen

        for family in families_first:
            open_levels = [i for i in range(len(levels)) if level_left(i) > 0]
            if open_levels:
                place(family, rng.choice(open_levels))
        while True:
            open_levels = [i for i in range(len(levels)) if level_left(i) > 0]
            if not open_levels:
                return
            wanted = rng.choices([1, 2, 3], [86, 12, 2])[0]
            if self.forced:
                wanted = self.forced[0][1]
            family = self.family()
            if self.forced:
                self.forced.pop(0)
            if wanted == 2 and rng.random() < 0.05 and len(levels[open_levels[0]][0]) > 1:
                index = rng.choice(open_levels)  # twins: same level, different classes
                first_class = place(family, index)
                if level_left(index) > 0:
                    place(family, index, avoid=first_class)
                continue
            for _ in range(wanted):
                open_levels = [i for i in range(len(levels)) if level_left(i) > 0]
                open_levels = [i for i in open_levels
                               if all(c.level != levels[i][0][0].level for c in family.classes)]
                if not open_levels:
                    break
                place(family, rng.choices(open_levels, [level_left(i) for i in open_levels])[0])

    # --- A collège ----------------------------------------------------------------------------------------------

    def build_college(self, index: int, name: str, city, pupils: int) -> Establishment:
        establishment = self.establishment(index, Establishment.Kind.COLLEGE, name, city)
        subjects = {code: self.subject(establishment, code, label, short)
                    for code, label, short, _, _ in data.COLLEGE_SUBJECTS}
        per_level = max(2, round(pupils / 100))
        sizes = self.class_sizes(pupils, per_level * len(data.COLLEGE_LEVELS))
        levels = []
        for level_index, (level, prefix, mef, _, _, birth_year) in enumerate(data.COLLEGE_LEVELS):
            classes = []
            for i in range(per_level):
                letter = "ABCDEFGHIJKLMNOP"[i]
                school_class = self.school_class(establishment, f"{prefix}{letter}", f"{level} {letter}", level,
                                                 self.ctx.mefs[mef])
                school_class._seed_size = sizes[level_index * per_level + i]
                classes.append(school_class)
            levels.append((classes, birth_year))
        self.forced = [("couple", 2), ("separated", 2), ("court_limited", 1), ("foster", 1), ("single", 1),
                       ("tutor", 1), ("court_limited", 2), ("teacher_parent", 1)]
        self.fill(establishment, levels)
        self.college_groups(establishment, levels)
        self.college_teachers(establishment, subjects, levels)
        self.college_staff(establishment, pupils)
        return establishment

    def college_groups(self, establishment, levels) -> None:
        rng = self.rng
        establishment._seed_lv2 = {"ESP2": [], "ALL2": []}
        establishment._seed_latin = []
        establishment._seed_halves = {}
        for classes, _ in levels:
            level = classes[0].level
            for school_class in classes:  # half-classes for sciences practical work, alphabetical split
                ordered = sorted(school_class._seed_pupils, key=lambda p: (p.last_name, p.first_name))
                half = (len(ordered) + 1) // 2
                establishment._seed_halves[id(school_class)] = [
                    self.group(establishment, f"{school_class.code}-G{n}", f"{school_class.label} groupe {n}",
                               TeachingGroup.Kind.HALF_CLASS, [school_class], part)
                    for n, part in ((1, ordered[:half]), (2, ordered[half:]))
                ]
            if level == "6e":
                continue  # the second modern language starts in 5e
            # LV2: classes are timetabled in blocks of 2-3 ("barrettes"); each block splits by language.
            blocks = [classes[i:i + 3] for i in range(0, len(classes), 3)]
            if len(blocks) > 1 and len(blocks[-1]) == 1:
                blocks[-2:] = [blocks[-2] + blocks[-1]]
            number = Counter()
            for block in blocks:
                pupils = [p for c in block for p in c._seed_pupils]
                chosen = {"ESP2": [], "ALL2": []}
                for pupil in pupils:
                    chosen["ESP2" if rng.random() < 0.7 else "ALL2"].append(pupil)
                for code, members in chosen.items():
                    if not members:
                        continue
                    parts = math.ceil(len(members) / 30)
                    for k in range(parts):
                        number[code] += 1
                        language = "Espagnol" if code == "ESP2" else "Allemand"
                        group = self.group(
                            establishment, f"{code}-{level[0]}-{number[code]}",
                            f"{language} LV2 {level} groupe {number[code]}", TeachingGroup.Kind.LANGUAGE, block,
                            members[k::parts])
                        establishment._seed_lv2[code].append(group)
            latinists = [p for c in classes for p in c._seed_pupils if rng.random() < 0.2]
            if latinists:
                parts = math.ceil(len(latinists) / 32)
                for k in range(parts):
                    suffix = f"-{k + 1}" if parts > 1 else ""
                    establishment._seed_latin.append(self.group(
                        establishment, f"LCALA-{level[0]}{suffix}", f"Latin {level}{suffix.replace('-', ' ')}",
                        TeachingGroup.Kind.OPTION, classes, latinists[k::parts]))

    def college_teachers(self, establishment, subjects, levels) -> None:
        rng = self.rng
        classes = [c for level_classes, _ in levels for c in level_classes]
        teacher_of: dict[tuple[int, str], tuple[User, TeachingAssignment]] = {}
        by_subject: dict[str, list[User]] = {}
        for code, _, _, load, scope in data.COLLEGE_SUBJECTS:
            if scope == "class":
                targets = classes[:]
            elif scope == "lv2":
                targets = establishment._seed_lv2[code][:]
            else:
                targets = establishment._seed_latin[:]
            if not targets:
                continue
            rng.shuffle(targets)
            count = math.ceil(len(targets) / load)
            for k in range(count):
                chunk = targets[k::count]
                if code == "LCALA" and k == 0 and by_subject.get("FRANC"):
                    teacher = by_subject["FRANC"][0]  # latin is taught by a lettres classiques teacher
                else:
                    spare = scope == "class" and self.teacher_parents
                    teacher = self.teacher_parents.pop(0) if spare else self.adult("T", born=(1965, 1998))
                    self.member(teacher, establishment, Role.TEACHER)
                by_subject.setdefault(code, []).append(teacher)
                for target in chunk:
                    if scope == "class":
                        assignment = self.assign(teacher, establishment, subjects[code], school_class=target)
                        teacher_of[(id(target), code)] = (teacher, assignment)
                    else:
                        self.assign(teacher, establishment, subjects[code], group=target)
        for school_class in classes:
            for code in data.HALF_CLASS_SUBJECTS:
                teacher, _ = teacher_of[(id(school_class), code)]
                for group in establishment._seed_halves[id(school_class)]:
                    self.assign(teacher, establishment, subjects[code], group=group)
        main_count: Counter = Counter()
        for school_class in classes:
            candidates = [teacher_of[(id(school_class), code)] for code in data.MAIN_TEACHER_SUBJECTS]
            fewest = min(main_count[id(t)] for t, _ in candidates)
            teacher, assignment = rng.choice([(t, a) for t, a in candidates if main_count[id(t)] == fewest])
            main_count[id(teacher)] += 1
            assignment.is_main_teacher = True

    def college_staff(self, establishment, pupils: int) -> None:
        staff = [(StaffFunction.HEAD, 1), (StaffFunction.DEPUTY, 1), (StaffFunction.CPE, max(1, round(pupils / 300))),
                 (StaffFunction.VIE_SCOLAIRE, max(2, round(pupils / 150))), (StaffFunction.SECRETARY, 2),
                 (StaffFunction.LIBRARIAN, 1), (StaffFunction.NURSE, 1)]
        for function, count in staff:
            for _ in range(count):
                self.member(self.adult("S", born=(1962, 2000)), establishment, Role.STAFF, [function])
        # The ENT admin (administrateur local) is a separate account.
        self.member(self.adult("A", born=(1970, 1995)), establishment, Role.ENT_ADMIN)

    # --- An école -----------------------------------------------------------------------------------------------

    def build_ecole(self, index: int, name: str, city, pupils: int, college: Establishment) -> Establishment:
        rng = self.rng
        establishment = self.establishment(index, Establishment.Kind.ECOLE, name, city)
        subjects = {code: self.subject(establishment, code, label, short) for code, label, short in data.ECOLE_SUBJECTS}
        count = max(len(data.ECOLE_LEVELS), round(pupils / 25))
        per_level = [1] * len(data.ECOLE_LEVELS)
        for i in range(count - len(per_level)):
            per_level[i % len(per_level)] += 1  # the extra classes go to the youngest levels (CP dédoublé...)
        sizes = self.class_sizes(pupils, count)
        levels, position = [], 0
        for (level, birth_year), n in zip(data.ECOLE_LEVELS, per_level, strict=True):
            classes = []
            for i in range(n):
                suffix = f" {'ABCDEFGH'[i]}" if n > 1 else ""
                school_class = self.school_class(establishment, f"{level}{suffix.strip()}", f"{level}{suffix}", level)
                school_class._seed_size = sizes[position]
                position += 1
                classes.append(school_class)
            levels.append((classes, birth_year))
        # A few collège families also have a younger child here: their guardians belong to both establishments.
        college_families = [f for f in self.families if f.children]
        shared = rng.sample(college_families, min(len(college_families), max(3, round(len(college_families) * 0.03))))
        self.fill(establishment, levels, families_first=shared)
        teachers = []
        for classes, _ in levels:
            for school_class in classes:
                teacher = self.adult("T", born=(1965, 1998))
                self.member(teacher, establishment, Role.TEACHER)
                teachers.append(teacher)
                for n, code in enumerate(data.ECOLE_SUBJECTS_BY_LEVEL[school_class.level]):
                    assignment = self.assign(teacher, establishment, subjects[code], school_class=school_class)
                    assignment.is_main_teacher = n == 0
        # The director teaches the oldest class and is the école's ENT admin.
        director = teachers[-1]
        self.member(director, establishment, Role.STAFF, [StaffFunction.DIRECTOR])
        self.member(director, establishment, Role.ENT_ADMIN)
        return establishment

    # --- Accounts left to activate ------------------------------------------------------------------------------

    def leave_some_unactivated(self) -> None:
        rng = self.rng
        # The second parent of a couple is the one who most often never activates.
        seconds = [f.guardians[1].user for f in self.families if f.situation == "couple" and len(f.children) == 1]
        chosen = rng.sample(seconds, min(len(seconds), 4 if self.unit == 0 else 3))
        if self.unit == 0:
            chosen.append(rng.choice([u for u in self.users if u.external_id.split("-")[-1].startswith("P")]))
            parents = {id(u) for u in self.guardians}  # keep the teacher who is also a parent activated
            chosen.append(rng.choice([u for u in self.users if u.external_id.split("-")[-1].startswith("T")
                                      and id(u) not in parents]))
        for user in chosen:
            user.activated_at = None
            user.password = self.ctx.unusable_hash

    # --- Writing ------------------------------------------------------------------------------------------------

    def write(self) -> Counter:
        batch = self.ctx.options.batch_size
        through = TeachingGroup.classes.through
        with transaction.atomic():
            Establishment.objects.bulk_create(self.establishments)
            SchoolYear.objects.bulk_create(self.years)
            Period.objects.bulk_create(self.periods)
            Subject.objects.bulk_create(self.subjects)
            SchoolClass.objects.bulk_create(self.classes, batch_size=batch)
            TeachingGroup.objects.bulk_create(self.groups, batch_size=batch)
            through.objects.bulk_create(
                [through(teachinggroup_id=g.pk, schoolclass_id=c.pk) for g, c in self.group_classes],
                batch_size=batch)
            User.objects.bulk_create(self.users, batch_size=batch)
            Membership.objects.bulk_create(list(self.memberships.values()), batch_size=batch)
            ClassEnrolment.objects.bulk_create(self.enrolments, batch_size=batch)
            GroupMembership.objects.bulk_create(self.group_members, batch_size=batch)
            GuardianLink.objects.bulk_create(self.links, batch_size=batch)
            TeachingAssignment.objects.bulk_create(self.assignments, batch_size=batch)
        roles = Counter(m.role for m in self.memberships.values())
        return Counter({
            "establishments": len(self.establishments), "classes": len(self.classes), "groups": len(self.groups),
            "subjects": len(self.subjects), "users": len(self.users),
            "pupils": self.counters["P"], "guardians": self.counters["R"], "teachers": self.counters["T"],
            "staff": self.counters["S"] + self.counters["A"], "memberships": len(self.memberships),
            "guardian_links": len(self.links), "enrolments": len(self.enrolments),
            "group_memberships": len(self.group_members), "assignments": len(self.assignments),
            "guardian_memberships": roles[Role.GUARDIAN],
        })


def _unit_plan(seed: int, unit: int) -> tuple[str, tuple[str, str, str], int]:
    """(collège name, city, pupils factor in percent) for a unit; unit 0 is the persona collège."""
    if unit == 0:
        return "Collège Jean Moulin", ("Lyon", "69008", "069"), 100
    rng = random.Random(f"preau-seed-plan:{seed}:{unit}")
    return (f"Collège {rng.choice(data.COLLEGE_PATRONS)}", rng.choice(data.CITIES), rng.randint(80, 120))


def seed_directory(options: SeedOptions, progress: Callable[[str], None] | None = None) -> SeedReport:
    """Create (or find) the seeded establishments and people. Safe to run again with the same options."""
    started = time.monotonic()
    say = progress or (lambda message: None)
    ctx = _Context(options)
    global_admin = _global_admin(ctx)
    unit_count = max(1, options.establishments - 1)
    total = Counter()
    results = []
    for unit in range(unit_count):
        unit_started = time.monotonic()
        with_ecole = unit == 0 and options.establishments >= 2
        name, city, factor = _unit_plan(options.seed, unit)
        existing = Establishment.objects.filter(external_id=establishment_key(options.seed, unit, 0)).first()
        if existing is not None:
            results.append(UnitResult(unit=unit, created=False, names=[str(existing)]))
            say(f"[{unit + 1}/{unit_count}] {existing} existe déjà : conservé tel quel.")
            continue
        builder = _UnitBuilder(ctx, unit, with_ecole)
        college = builder.build_college(0, name, city, max(8, options.pupils * factor // 100))
        if with_ecole:
            builder.build_ecole(1, "École élémentaire Jean Jaurès", city, max(5, options.pupils // 4), college)
        builder.leave_some_unactivated()
        counts = builder.write()
        total += counts
        result = UnitResult(unit=unit, created=True, names=[str(e) for e in builder.establishments], counts=counts,
                            seconds=time.monotonic() - unit_started)
        results.append(result)
        say(f"[{unit + 1}/{unit_count}] {', '.join(result.names)} : {counts['pupils']} élèves, "
            f"{counts['guardians']} responsables, {counts['teachers']} enseignants, {counts['staff']} personnels "
            f"({result.seconds:.1f} s)")
    if total:
        _refresh_planner_statistics()
    return SeedReport(units=results, counts=total, seconds=time.monotonic() - started, global_admin=global_admin)


def _refresh_planner_statistics() -> None:
    """After bulk inserts PostgreSQL's statistics are stale (it may plan for 2 rows where there are 100,000)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _global_admin(ctx: _Context) -> User:
    key = global_admin_key(ctx.options.seed)
    admin = User.objects.filter(external_id=key).first()
    if admin is None:
        rng = random.Random(f"preau-seed-admin:{ctx.options.seed}")
        first, last = rng.choice(data.ADULT_FIRST_NAMES_F), rng.choice(data.LAST_NAMES)
        username = ctx.usernames.make(first, last)
        admin = User.objects.create(
            username=username, first_name=first, last_name=last, email=f"{username}@example.org",
            external_id=key, is_global_admin=True, password=ctx.password_hash, activated_at=ctx.now,
            date_joined=ctx.now,
        )
    return admin


def flush_seeded() -> dict[str, int]:
    """Delete every seeded establishment and person (external id SEED-...), with what hangs off them."""
    with transaction.atomic():
        establishments, _ = Establishment.objects.filter(external_id__startswith=SEED_PREFIX).delete()
        users, _ = User.objects.filter(external_id__startswith=SEED_PREFIX).delete()
    return {"establishments": establishments, "users": users}
